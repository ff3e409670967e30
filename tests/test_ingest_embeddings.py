"""Embedding model invocations: AWS logs no ``outputTokenCount`` for them, and that is no fault."""

from __future__ import annotations

import json

import pyarrow.parquet as pq

from bedrock_finops.ingest import ingest_to_folder

TITAN_TEXT = "Reset a password from Settings > Security."


def _record(request_id: str, model_id: str, in_body: dict, out_body: dict, **out) -> dict:
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
            "inputTokenCount": 11,
        },
        "output": {"outputContentType": "application/json", "outputBodyJson": out_body, **out},
    }


TITAN = _record(
    "e1",
    "amazon.titan-embed-text-v2:0",
    {"inputText": TITAN_TEXT, "dimensions": 4, "normalize": True},
    {"embedding": [0.1, -0.2, 0.3, 0.05], "inputTextTokenCount": 11},
)
COHERE_BEHIND_PROFILE = _record(  # the ARN does not name the model: the body tells
    "e2",
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3",
    {"texts": ["first chunk", "second chunk"], "input_type": "search_document"},
    {"embeddings": [[0.1, 0.2], [0.3, 0.4]], "id": "x", "response_type": "embeddings_floats"},
)
CHAT_WITHOUT_COUNT = _record(  # a text model's record without the count stays a fault
    "c1",
    "anthropic.claude-3-haiku-20240307-v1:0",
    {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": []},
    {"content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn"},
)


def test_embedding_records_are_rows_with_no_output_tokens(tmp_path):
    (tmp_path / "logs").mkdir()
    lines = [TITAN, COHERE_BEHIND_PROFILE, CHAT_WITHOUT_COUNT]
    (tmp_path / "logs" / "a.json").write_text("".join(json.dumps(r) + "\n" for r in lines))
    report = ingest_to_folder(tmp_path / "logs", tmp_path / "out", workers=1, progress=False)
    assert (report.lines_read, report.rows, report.quarantine_by_reason) == (
        3,
        2,
        {"missing outputTokenCount": 1},
    )
    rows = pq.read_table(tmp_path / "out" / "usage.parquet").to_pandas().set_index("request_id")
    assert rows.loc["e1", "input_tokens"] == 11 and rows.loc["e1", "output_tokens"] == 0
    assert rows.loc["e1", "user_text"] == TITAN_TEXT
    assert rows.loc["e1", "output_shape"] == "unknown"
    assert rows.loc["e2", "output_tokens"] == 0 and rows.loc["e2", "app"] == "rag-indexer"
    q = pq.read_table(tmp_path / "out" / "quarantine.parquet").to_pylist()
    assert [(r["line"], r["reason"]) for r in q] == [(3, "missing outputTokenCount")]
