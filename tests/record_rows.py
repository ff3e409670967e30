"""Log records built by hand, and the usage row both parsing paths give for one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from bedrock_finops import models, parse, parse_body, parse_scalars
from bedrock_finops.parse_request import canonical

GOOD_LOGS = Path(__file__).parent / "fixtures" / "logs" / "good"
FIXTURE_RECORD = orjson.loads((GOOD_LOGS / "part-2.json").read_text().splitlines()[0])


def fixture_record(request_id: str, **top: Any) -> dict:
    """A copy of a good fixture record (part-2.json's first) with another requestId and any
    top-level fields replaced."""
    rec = orjson.loads(orjson.dumps(FIXTURE_RECORD))
    rec["requestId"] = request_id
    rec.update(top)
    return rec


def log_record(body: Any, out: Any, op: str = "Converse") -> dict:
    """A minimal well-formed invocation-log record around a request and a response body."""
    return {
        "timestamp": "2026-10-01T00:00:50.803Z",
        "requestId": "r1",
        "operation": op,
        "modelId": "anthropic.claude-3-haiku-20240307-v1:0",
        "identity": {"arn": "arn:aws:sts::1:assumed-role/app-a/s"},
        "input": {"inputBodyJson": body, "inputTokenCount": 10},
        "output": {"outputBodyJson": out, "outputTokenCount": 3},
    }


def invoke_record(
    request_id: str, model_id: str, in_body: Any, out_body: Any, tokens: int = 11, **out: Any
) -> dict:
    """An InvokeModel record as Bedrock logs it (the rag-indexer role's, 2025-06-02) with
    ``tokens`` input tokens; ``out`` adds fields to its output (e.g. ``outputTokenCount``):
    none by default, as an embedding, image or rerank call logs none."""
    return {
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": "2025-06-02T11:01:00Z",
        "accountId": "123456789012",
        "identity": {"arn": "arn:aws:sts::123456789012:assumed-role/rag-indexer/session"},
        "region": "us-east-1",
        "requestId": request_id,
        "operation": "InvokeModel",
        "modelId": model_id,
        "input": {
            "inputContentType": "application/json",
            "inputBodyJson": in_body,
            "inputTokenCount": tokens,
        },
        "output": {"outputContentType": "application/json", "outputBodyJson": out_body, **out},
    }


def _copy(rec: Any) -> Any:
    """``rec`` as a worker reads it, afresh from its JSON (a record nested deeper than orjson
    writes is written by ``canonical``, which sorts its keys)."""
    try:
        return orjson.loads(orjson.dumps(rec))
    except orjson.JSONEncodeError:
        return orjson.loads(canonical(rec))


def both_rows(rec, cache_fast, cache_ref, identity_app_map=None) -> tuple:
    """(fast_row's tuple or None, record_row's as the same tuple or None if quarantined)."""
    # the model part of the request hash as the ingest makes it (no geo prefix or ARN)
    kw = {
        "app_key": "app",
        "identity_app_map": identity_app_map,
        "model_key": models.request_model_id,
    }
    fast = parse.fast_row(_copy(rec), "f", cache=cache_fast, **kw)
    try:
        row = parse.record_row(rec, cache=cache_ref, **kw)
    except parse_scalars.BadRecord:
        return fast, None
    row["source_file"] = "f"
    return fast, parse.row_values(row)


def row_of(rec: dict, identity_app_map: dict[str, str] | None = None) -> dict:
    """The row both paths give (they must agree), by column name."""
    fast, ref = both_rows(rec, parse_body.PromptCache(), parse_body.PromptCache(), identity_app_map)
    assert ref is not None
    if fast is not None:
        assert fast == ref
    return dict(zip(parse.ROW_COLUMNS, ref, strict=True))
