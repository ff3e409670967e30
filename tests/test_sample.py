"""The embedded sample: AWS record shapes, determinism, and truth.json against the files.

Files are read back with plain gzip/zlib + json (not the package's ingest), so these tests
check the generator on its own terms.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import zlib
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path

import pytest

from bedrock_finops import sample
from bedrock_finops.cli import main
from bedrock_finops.tokens import estimate_tokens

LOG_KEY = re.compile(
    r"^AWSLogs/123456789012/BedrockModelInvocationLogs/(us-east-1|us-west-2)/"
    r"\d{4}/\d{2}/\d{2}/\d{2}/\d{8}T\d{9}Z_[0-9a-f]{16}\.json\.gz$"
)
DATA_KEY = re.compile(
    r"^AWSLogs/123456789012/BedrockModelInvocationLogs/us-east-1/"
    r"\d{4}/\d{2}/\d{2}/\d{2}/data/[0-9a-f-]{36}_input\.json\.gz$"
)
TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")  # as AWS writes it: whole seconds
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Three days (Thu-Sat) at scale 1: every plant and fault is present."""
    out = tmp_path_factory.mktemp("sample3")
    return out, sample.generate(out, days=3)


def _read_lines(root: Path) -> list[tuple[str, int, bytes]]:
    """(key, 1-based line, raw line) for every complete line in every log file."""
    rows = []
    for path in sorted((root / "logs").rglob("*.json.gz")):
        key = path.relative_to(root / "logs").as_posix()
        if "/data/" in key:
            continue
        text = zlib.decompressobj(wbits=31).decompress(path.read_bytes())
        for i, line in enumerate(text.split(b"\n")[:-1]):
            rows.append((key, i + 1, line))
    return rows


def _records(root: Path) -> tuple[dict[str, dict], list[tuple[str, int]], list[str]]:
    """Unique records by requestId, malformed (key, line) and duplicate request IDs."""
    unique: dict[str, dict] = {}
    malformed, dups = [], []
    for key, n, line in _read_lines(root):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            malformed.append((key, n))
            continue
        if rec["requestId"] in unique:
            assert unique[rec["requestId"]] == rec, "a re-delivery must be identical"
            dups.append(rec["requestId"])
        else:
            unique[rec["requestId"]] = rec
    return unique, malformed, dups


def _app(rec: dict) -> str:
    meta = rec.get("requestMetadata") or {}
    return meta.get("app") or rec["identity"]["arn"].split("/")[1]


def _input_body(root: Path, rec: dict) -> dict:
    inp = rec["input"]
    if "inputBodyJson" in inp:
        return inp["inputBodyJson"]
    key = inp["inputBodyS3Path"].split("/", 3)[3]
    return json.loads(gzip.decompress((root / "logs" / key).read_bytes()))


def _input_texts(body: dict) -> list[str]:
    if "prompt" in body:
        return [body["prompt"]]
    if "inputText" in body:
        return [body["inputText"]]
    system = body.get("system") or []
    texts = [system] if isinstance(system, str) else [b["text"] for b in system if "text" in b]
    for m in body["messages"]:
        texts += [c["text"] for c in m["content"] if "text" in c]
    return texts


def _output_text(out) -> str:
    if isinstance(out, list):
        parts = []
        for c in out:
            if "contentBlockDelta" in c:
                parts.append(c["contentBlockDelta"]["delta"]["text"])
            elif c.get("type") == "content_block_delta":
                parts.append(c["delta"]["text"])
        return "".join(parts)
    if "output" in out:
        return "".join(c["text"] for c in out["output"]["message"]["content"])
    if "generation" in out:
        return out["generation"]
    if "results" in out:
        return out["results"][0]["outputText"]
    return "".join(c["text"] for c in out["content"])


# --------------------------------------------------------------------------- layout, shape
def test_key_layout_and_permission_check(small) -> None:
    root, truth = small
    keys = [
        p.relative_to(root / "logs").as_posix() for p in (root / "logs").rglob("*") if p.is_file()
    ]
    check = "AWSLogs/123456789012/BedrockModelInvocationLogs/amazon-bedrock-logs-permission-check"
    assert check in keys and (root / "logs" / check).stat().st_size == 0
    logs = [k for k in keys if LOG_KEY.match(k)]
    data = [k for k in keys if DATA_KEY.match(k)]
    assert sorted(logs + data + [check]) == sorted(keys)
    assert len(logs) == truth["files"] and len(data) == truth["data_files"] == 1
    assert truth["bucket"] == sample.BUCKET


def test_records_have_aws_shape(small) -> None:
    root, _ = small
    unique, _, _ = _records(root)
    ops = Counter()
    for rec in unique.values():
        assert rec["schemaType"] == "ModelInvocationLog" and rec["schemaVersion"] == "1.0"
        assert TS.match(rec["timestamp"]) and UUID4.match(rec["requestId"])
        assert rec["accountId"] == "123456789012"
        assert rec["identity"]["arn"].startswith("arn:aws:sts::123456789012:assumed-role/")
        assert rec["region"] in ("us-east-1", "us-west-2")
        assert rec["inferenceRegion"].startswith("us-")
        inp, out = rec["input"], rec["output"]
        assert inp["inputContentType"] == "application/json"
        for k in ("inputTokenCount", "cacheReadInputTokenCount", "cacheWriteInputTokenCount"):
            assert isinstance(inp[k], int) and inp[k] >= 0
        assert ("inputBodyJson" in inp) != ("inputBodyS3Path" in inp)
        assert isinstance(out["outputTokenCount"], int)
        op = rec["operation"]
        ops[op] += 1
        body = out["outputBodyJson"]
        if op.endswith("Stream"):
            assert isinstance(body, list) and "latencyMs" not in json.dumps(body[:-1])
        else:
            assert isinstance(body, dict)
        if op == "ConverseStream":
            assert list(body[0]) == ["messageStart"] and "metadata" in body[-1]
            assert body[-1]["metadata"]["usage"]["outputTokens"] == out["outputTokenCount"]
        if op == "Converse":
            assert set(body) == {"output", "stopReason", "usage", "metrics"}
            assert body["usage"]["inputTokens"] == inp["inputTokenCount"]
            assert body["usage"]["outputTokens"] == out["outputTokenCount"]
        if op == "InvokeModelWithResponseStream":
            assert body[-1]["type"] == "message_stop"
            assert (
                body[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"]
                == (out["outputTokenCount"])
            )
    assert set(ops) == {
        "Converse",
        "ConverseStream",
        "InvokeModel",
        "InvokeModelWithResponseStream",
    }


def test_model_id_forms_and_bodies(small) -> None:
    root, _ = small
    unique, _, _ = _records(root)
    by_app = defaultdict(set)
    for rec in unique.values():
        by_app[_app(rec)].add(rec["modelId"])
    assert by_app["support-chat"] == {"us.anthropic.claude-sonnet-4-20250514-v1:0"}
    assert by_app["ticket-router"] == {sample.OPUS_4, sample.OPUS_4_ARN}
    assert by_app["entity-extractor"] == {"meta.llama3-1-70b-instruct-v1:0"}
    assert by_app["faq-helper"] == {"amazon.titan-text-express-v1"}
    llama = next(r for r in unique.values() if _app(r) == "entity-extractor")
    body = llama["input"]["inputBodyJson"]
    assert body["prompt"].startswith("<|begin_of_text|><|start_header_id|>system")
    assert set(llama["output"]["outputBodyJson"]) == {
        "generation",
        "prompt_token_count",
        "generation_token_count",
        "stop_reason",
    }
    titan = next(r for r in unique.values() if _app(r) == "faq-helper")
    assert set(titan["input"]["inputBodyJson"]["textGenerationConfig"]) >= {
        "maxTokenCount",
        "temperature",
    }
    router = next(r for r in unique.values() if _app(r) == "ticket-router")
    assert router["input"]["inputBodyJson"]["anthropic_version"] == "bedrock-2023-05-31"
    assert "requestMetadata" not in router  # its app comes from the role name


# --------------------------------------------------------------------------- determinism
def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    sample.generate(a, days=1, scale=0.3)
    sample.generate(b, days=1, scale=0.3)
    sample.generate(c, days=1, scale=0.3, seed=8)
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)


# --------------------------------------------------------------------------- truth vs files
def test_truth_counts_match_files(small) -> None:
    root, truth = small
    unique, malformed, dups = _records(root)
    assert json.loads((root / "truth.json").read_text()) == truth
    assert len(unique) == truth["requests_total"]
    assert sorted(dups) == truth["duplicates"]["request_ids"] and dups
    assert [{"file": k, "line": n} for k, n in malformed] == truth["faults"]["malformed_lines"]
    assert (
        len(_read_lines(root))
        == truth["lines_total"]
        == (truth["requests_total"] + truth["duplicates"]["count"] + len(malformed))
    )
    sums = defaultdict(Counter)
    for rec in unique.values():
        s = sums[_app(rec)]
        s["requests"] += 1
        s["input_tokens"] += rec["input"]["inputTokenCount"]
        s["cache_read_tokens"] += rec["input"]["cacheReadInputTokenCount"]
        s["cache_write_tokens"] += rec["input"]["cacheWriteInputTokenCount"]
        s["output_tokens"] += rec["output"]["outputTokenCount"]
    for app, expected in truth["apps"].items():
        for k, v in sums[app].items():
            assert expected[k] == v, (app, k)
    unknown = sorted(
        r["requestId"] for r in unique.values() if r["modelId"] == "ai21.jamba-1-5-large-v1:0"
    )
    assert unknown == sorted(truth["faults"]["unknown_model"]["request_ids"]) and unknown


def test_truncated_file_keeps_exactly_the_listed_records(small) -> None:
    root, truth = small
    [t] = truth["faults"]["truncated_files"]
    raw = (root / "logs" / t["file"]).read_bytes()
    assert len(raw) == t["bytes_written"] < t["bytes_full"]
    with pytest.raises(EOFError):  # a whole-file reader fails: the file really is cut
        gzip.decompress(raw)
    text = zlib.decompressobj(wbits=31).decompress(raw)
    lines = text.split(b"\n")
    kept = [json.loads(x)["requestId"] for x in lines[:-1]]
    assert kept == t["kept_request_ids"] and len(lines[-1]) == t["partial_tail_bytes"] > 0
    unique, _, _ = _records(root)
    assert not set(t["lost_request_ids"]) & set(unique)


# --------------------------------------------------------------------------- tokens vs text
def test_token_counts_agree_with_text(small) -> None:
    root, _ = small
    unique, _, _ = _records(root)
    for rec in unique.values():
        inp = rec["input"]
        body = _input_body(root, rec)
        total = (
            inp["inputTokenCount"]
            + inp["cacheReadInputTokenCount"]
            + (inp["cacheWriteInputTokenCount"])
        )
        assert total == sum(estimate_tokens(t) for t in _input_texts(body)), rec["requestId"]
        text = _output_text(rec["output"]["outputBodyJson"])
        assert rec["output"]["outputTokenCount"] == estimate_tokens(text), rec["requestId"]


# --------------------------------------------------------------------------- planted truths
def _ts(rec: dict) -> float:
    return datetime.fromisoformat(rec["timestamp"].replace("Z", "+00:00")).timestamp()


def test_resends_are_identical_within_two_seconds(small) -> None:
    root, truth = small
    unique, _, _ = _records(root)
    pairs = truth["dedup_pairs"]
    support = truth["apps"]["support-chat"]["requests"]
    assert 0.015 < len(pairs) / support < 0.05
    for first, resend in pairs:
        a, b = unique[first], unique[resend]
        assert a["input"]["inputBodyJson"] == b["input"]["inputBodyJson"]
        # sent 0-2 s apart; AWS logs whole seconds, so the logged gap is 0, 1 or 2 s
        assert 0 <= _ts(b) - _ts(a) <= 2.0
        assert b["requestMetadata"]["client"] == "mobile"


def test_batch_window_caching_and_sizing_plants(small) -> None:
    root, truth = small
    unique, _, _ = _records(root)
    apps = truth["apps"]
    assert apps["doc-summarizer"]["hours_utc"] == [1, 2, 3]
    by_app = defaultdict(list)
    for rec in unique.values():
        by_app[_app(rec)].append(rec)
    assert {int(r["timestamp"][11:13]) for r in by_app["doc-summarizer"]} == {1, 2, 3}
    assert max(r["output"]["outputTokenCount"] for r in by_app["ticket-router"]) <= 3
    cached = {
        _app(r)
        for r in unique.values()
        if r["input"]["cacheReadInputTokenCount"] or r["input"]["cacheWriteInputTokenCount"]
    }
    assert cached == {"code-assistant"}
    stops = apps["code-assistant"]["stop_reasons"]
    assert 0.02 < stops["max_tokens"] / apps["code-assistant"]["requests"] < 0.1
    support_systems = {
        json.dumps(r["input"]["inputBodyJson"]["system"]) for r in by_app["support-chat"]
    }
    assert len(support_systems) == 1
    assert truth["system_prompts"]["support-chat"]["tokens"] >= 3000
    [large] = truth["faults"]["large_bodies"]
    key = unique[large]["input"]["inputBodyS3Path"].split("/", 3)[3]
    assert len(gzip.decompress((root / "logs" / key).read_bytes())) > 100_000


def test_runaway_loop_is_about_ten_times_normal(small) -> None:
    _, truth = small
    anomaly = truth["anomaly"]
    assert anomaly["start"] == "2026-10-02T15:00:00Z"
    assert anomaly["end"] == "2026-10-02T18:00:00Z"
    assert anomaly["requests"] >= 5 * anomaly["baseline_requests_per_day_same_hours"]


# --------------------------------------------------------------------------- small pieces
def test_iso_and_truncation_helpers() -> None:
    assert sample._iso(86400 * 365 + 0.75) == "1971-01-01T00:00:00Z"  # whole seconds, as AWS
    data = gzip.compress(b'{"a":1}\n{"b":2}\n', mtime=0)
    assert sample._surviving_lines(data) == (2, 0)


def test_bad_arguments_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="days must be at least 1"):
        sample.generate(tmp_path, days=0)
    with pytest.raises(ValueError, match="scale must be positive"):
        sample.generate(tmp_path, scale=0)


def test_cli_prints_one_line_summary(tmp_path: Path, capsys) -> None:
    rc = main(
        ["sample", "--out", str(tmp_path), "--days", "1", "--scale", "0.1", "--start", "2026-11-02"]
    )
    line = capsys.readouterr().out.strip()
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert rc == 0 and "\n" not in line
    assert f"{truth['requests_total']} requests" in line and f"{truth['files']} files" in line
    assert truth["start"] == date(2026, 11, 2).isoformat()
