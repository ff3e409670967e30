"""The embedded sample: a month of synthetic Bedrock invocation logs with planted truths.

``generate(out)`` writes what S3 delivery of model invocation logs looks like for one
fictional company (account 123456789012, mostly us-east-1) and ``out/truth.json``, the list of
every planted opportunity and fault that a correct analysis must find. The toolkit runs on it
with no AWS account, and its tests compare their findings with the truth.

Layout (keys relative to ``out/logs``, i.e. the bucket with an empty key prefix):
``AWSLogs/<acct>/BedrockModelInvocationLogs/<region>/YYYY/MM/DD/HH/<YYYYMMDDTHHMMSSmmmZ>_<hex>.json.gz``
(gzipped newline-delimited JSON, records of a ten-minute window per file), large request bodies
at ``.../HH/data/<requestId>_input.json.gz`` referenced by ``input.inputBodyS3Path``, and the
empty ``amazon-bedrock-logs-permission-check`` object Bedrock writes when logging is
configured. It sits at ``AWSLogs/<acct>/BedrockModelInvocationLogs/``, the only place Bedrock's
documented bucket policy lets it write.

Token counts agree with the text: every text part of a request (each system block, each
message text, a Llama ``prompt``, a Titan ``inputText``) is counted with
``tokens.estimate_tokens`` (ceil(chars / 4)) and the parts are summed; the output count is the
estimate of the whole reply text. ``inputTokenCount`` is the uncached part only: for calls that
read or write the prompt cache the cached prefix (the system blocks before the ``cachePoint``)
moves to ``cacheReadInputTokenCount`` / ``cacheWriteInputTokenCount``.

Counting rules in ``truth.json`` ("requests" everywhere): unique ``requestId`` values a correct
ingest keeps. A malformed line is not a request (it is the half-written copy of a record that
exists nowhere else); a duplicate delivery is counted once; records of the truncated file count
only if their line survives the cut whole (``faults.truncated_files[].kept_request_ids``), and
the partial line at the cut is neither a record nor one of ``lines_total``. So:
``lines_total == requests_total + duplicates.count + len(faults.malformed_lines)``.

Determinism: one ``random.Random(seed)`` drives everything in a fixed order, gzip members carry
mtime 0, and nothing reads the clock or depends on hash order. Memory stays flat with
``scale``: the month is generated and written one hour at a time; the truth keeps counters and
the (small) plant lists only.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import uuid
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from isal import igzip

from bedrock_finops import sample_corpus as corpus
from bedrock_finops.models import resolve
from bedrock_finops.tokens import estimate_tokens

ACCOUNT_ID = "123456789012"
BUCKET = "brightdesk-bedrock-invocation-logs"
HOME_REGION = "us-east-1"
PERMISSION_CHECK_KEY = f"AWSLogs/{ACCOUNT_ID}/BedrockModelInvocationLogs/" + (
    "amazon-bedrock-logs-permission-check"
)
LARGE_BODY_BYTES = 100_000  # Bedrock moves bodies above 100 KB to data/
FILE_WINDOW_S = 600  # one delivery file per ten minutes of traffic (per region)
GZIP_LEVEL = 1

SONNET_4 = "us.anthropic.claude-sonnet-4-20250514-v1:0"
OPUS_4 = "us.anthropic.claude-opus-4-20250514-v1:0"
OPUS_4_ARN = f"arn:aws:bedrock:us-east-1:{ACCOUNT_ID}:inference-profile/{OPUS_4}"
OPUS_41 = "us.anthropic.claude-opus-4-1-20250805-v1:0"
SONNET_4_ARN = f"arn:aws:bedrock:us-east-1:{ACCOUNT_ID}:inference-profile/{SONNET_4}"
LLAMA_70B = "meta.llama3-1-70b-instruct-v1:0"
TITAN_EXPRESS = "amazon.titan-text-express-v1"
UNKNOWN_MODEL = "ai21.jamba-1-5-large-v1:0"  # real Bedrock ID, absent from the catalog

# Approximate on-demand list prices, USD per 1M tokens (input, output, cache write 5 min,
# cache read), us-east-1, from shared reference notes. Only for the truth's bill estimate;
# the toolkit prices with its own catalog. Unknown models get None, never $0.
APPROX_PRICES: dict[str, tuple[float, float, float, float]] = {
    "anthropic.claude-sonnet-4": (3.0, 15.0, 3.75, 0.30),
    "anthropic.claude-opus-4": (15.0, 75.0, 18.75, 1.50),
    "anthropic.claude-opus-4-1": (15.0, 75.0, 18.75, 1.50),
    "meta.llama3-1-70b-instruct": (0.72, 0.72, 0.72, 0.72),
    "amazon.titan-text-express": (0.20, 0.60, 0.20, 0.20),
}

# Relative load by UTC hour for US business hours (ET/PT working day = 13:00-01:00 UTC).
US_BUSINESS_HOURS = (
    0.6,
    0.4,
    0.25,
    0.15,
    0.1,
    0.08,
    0.08,
    0.1,
    0.15,
    0.2,
    0.3,
    0.45,
    0.7,
    0.95,
    1.0,
    1.0,
    1.0,
    0.95,
    0.95,
    1.0,
    0.95,
    0.85,
    0.75,
    0.7,
)
FLAT = (1.0,) * 24
NIGHT_BATCH = tuple(1.0 if h in (1, 2, 3) else 0.0 for h in range(24))  # 01:00-04:00 UTC

LLAMA_PROMPT = (
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n{system}<|eot_id|>"
    "<|start_header_id|>user<|end_header_id|>\n\n{user}<|eot_id|>"
    "<|start_header_id|>assistant<|end_header_id|>\n\n"
)


@dataclass(frozen=True)
class AppSpec:
    """One application of the fictional company and how it calls Bedrock."""

    name: str
    operation: str
    region: str
    role: str
    session: str
    task_type: str
    per_day: float  # requests per weekday at scale 1.0
    hours: tuple[float, ...]
    weekend: float  # weekend volume relative to a weekday
    sets_app_metadata: bool

    @property
    def identity_arn(self) -> str:
        return f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{self.role}/{self.session}"


APPS: tuple[AppSpec, ...] = (
    AppSpec(
        "support-chat",
        "Converse",
        HOME_REGION,
        "support-chat-api",
        "support-chat-ecs",
        "simple_qa",
        560,
        US_BUSINESS_HOURS,
        0.35,
        True,
    ),
    AppSpec(
        "ticket-router",
        "InvokeModel",
        HOME_REGION,
        "ticket-router",
        "ticket-router-fn",
        "classification",
        300,
        US_BUSINESS_HOURS,
        0.5,
        False,
    ),
    AppSpec(
        "doc-summarizer",
        "Converse",
        HOME_REGION,
        "doc-summarizer-pipeline",
        "nightly-batch",
        "summarisation",
        90,
        NIGHT_BATCH,
        1.0,
        True,
    ),
    AppSpec(
        "code-assistant",
        "ConverseStream",
        HOME_REGION,
        "code-assistant",
        "code-assistant-ecs",
        "reasoning_coding",
        170,
        US_BUSINESS_HOURS,
        0.15,
        True,
    ),
    AppSpec(
        "marketing-writer",
        "InvokeModelWithResponseStream",
        "us-west-2",
        "marketing-writer",
        "marketing-writer-fn",
        "creative",
        50,
        US_BUSINESS_HOURS,
        0.1,
        False,
    ),
    AppSpec(
        "entity-extractor",
        "InvokeModel",
        HOME_REGION,
        "entity-extractor",
        "entity-extractor-ecs",
        "extraction",
        480,
        FLAT,
        1.0,
        False,
    ),
    AppSpec(
        "report-bot",
        "Converse",
        HOME_REGION,
        "report-bot",
        "report-bot-fn",
        "generation",
        40,
        US_BUSINESS_HOURS,
        0.2,
        False,
    ),
    AppSpec(
        "faq-helper",
        "InvokeModel",
        HOME_REGION,
        "faq-helper",
        "faq-helper-fn",
        "simple_qa",
        12,
        US_BUSINESS_HOURS,
        0.5,
        False,
    ),
    AppSpec(
        "eval-harness",
        "Converse",
        HOME_REGION,
        "eval-harness",
        "eval-runner",
        "evaluation",
        4,
        US_BUSINESS_HOURS,
        0.0,
        True,
    ),
)
APP_BY_NAME = {a.name: a for a in APPS}

RESEND_SHARE = 0.03  # support-chat requests re-sent by the mobile client
MOBILE_SHARE = 0.5
DUP_DELIVERY_P = 0.002
CODE_MAX_TOKENS = 2048
CODE_TRUNCATED_P = 0.05
ANOMALY_APP = "report-bot"
ANOMALY_FACTOR = 10
ANOMALY_HOURS = (15, 16, 17)


@dataclass
class Planned:
    """One record about to be written, with what the truth needs to know about it."""

    ts: float
    record: dict[str, Any]
    app: str
    input_tokens: int
    output_tokens: int
    cache_read: int = 0
    cache_write: int = 0
    intent: str | None = None
    resend_of: str | None = None
    large_body: bytes | None = None
    extras: dict[str, int] = field(default_factory=dict)
    line: bytes = b""

    @property
    def request_id(self) -> str:
        return self.record["requestId"]


@dataclass
class Ctx:
    """Generator state that crosses hours: the RNG and the prompt-cache clock."""

    rng: random.Random
    code_cache_ts: float = -1e18


# --------------------------------------------------------------------------- small helpers
def _iso(ts: float) -> str:
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 40:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _chunks(text: str, size: int = 160) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _cut_to_tokens(text: str, tokens: int) -> str:
    """The prefix of ``text`` whose estimate is exactly ``tokens`` (text must be longer)."""
    return text[: tokens * 4]


def _inference_region(rng: random.Random, model_id: str, region: str) -> str:
    if ".anthropic." not in model_id and not model_id.startswith("us."):
        return region
    r = rng.random()
    others = [x for x in ("us-east-1", "us-east-2", "us-west-2") if x != region]
    return region if r < 0.7 else others[0] if r < 0.85 else others[1]


def _latency(rng: random.Random, out_tokens: int, per_token_ms: float = 18.0) -> int:
    return int(350 + out_tokens * per_token_ms * rng.uniform(0.8, 1.25))


def _base(ctx: Ctx, app: AppSpec, ts: float, model_id: str, operation: str) -> dict:
    return {
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": _iso(ts),
        "accountId": ACCOUNT_ID,
        "identity": {"arn": app.identity_arn},
        "region": app.region,
        "requestId": _uuid(ctx.rng),
        "operation": operation,
        "modelId": model_id,
    }


def _input(body: dict, uncached: int, read: int = 0, write: int = 0) -> dict:
    return {
        "inputContentType": "application/json",
        "inputBodyJson": body,
        "inputTokenCount": uncached,
        "cacheReadInputTokenCount": read,
        "cacheWriteInputTokenCount": write,
    }


def _usage(uncached: int, out: int, read: int, write: int, with_cache: bool) -> dict:
    usage = {
        "inputTokens": uncached,
        "outputTokens": out,
        "totalTokens": uncached + out + read + write,
    }
    if with_cache:
        usage["cacheReadInputTokens"] = read
        usage["cacheWriteInputTokens"] = write
    return usage


def _converse_body(
    system: list[str],
    user: str,
    max_tokens: int | None,
    temperature: float,
    cache_point: bool = False,
) -> dict:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": [{"text": user}]}]}
    if system:
        blocks: list[dict] = [{"text": s} for s in system]
        if cache_point:
            blocks.append({"cachePoint": {"type": "default"}})
        body["system"] = blocks
    config: dict[str, Any] = {"temperature": temperature}
    if max_tokens is not None:
        config["maxTokens"] = max_tokens
    body["inferenceConfig"] = config
    return body


def _anthropic_body(system: str, user: str, *, max_tokens: int, temperature: float) -> dict:
    """An InvokeModel request body in Anthropic's messages format, one user turn."""
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": max_tokens,
        "temperature": temperature,
        "system": system,
        "messages": [{"role": "user", "content": [{"type": "text", "text": user}]}],
    }


def _converse_output(text: str, stop: str, usage: dict, latency: int) -> dict:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop,
        "usage": usage,
        "metrics": {"latencyMs": latency},
    }


def _converse_stream_output(text: str, stop: str, usage: dict, latency: int) -> list[dict]:
    chunks: list[dict] = [{"messageStart": {"role": "assistant"}}]
    chunks += [
        {"contentBlockDelta": {"delta": {"text": c}, "contentBlockIndex": 0}} for c in _chunks(text)
    ]
    chunks += [
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"messageStop": {"stopReason": stop}},
        {"metadata": {"usage": usage, "metrics": {"latencyMs": latency}}},
    ]
    return chunks


def _finish(
    rec: dict,
    inp: dict,
    out_body: Any,
    out_tokens: int,
    inference_region: str,
    metadata: dict | None,
) -> dict:
    rec["input"] = inp
    rec["output"] = {
        "outputContentType": "application/json",
        "outputBodyJson": out_body,
        "outputTokenCount": out_tokens,
    }
    rec["inferenceRegion"] = inference_region
    if metadata:
        rec["requestMetadata"] = metadata
    return rec


# --------------------------------------------------------------------------- app builders
def _support_chat(ctx: Ctx, app: AppSpec, ts: float) -> list[Planned]:
    rng = ctx.rng
    intent = rng.choice(INTENT_KEYS)
    question = rng.choice(PARAPHRASES[intent])
    context = "\n\n".join(KB[intent])
    user = f"<context>\n{context}\n</context>\n\nCustomer question: {question}"
    body = _converse_body([SUPPORT_SYSTEM], user, 1024, 0.3)
    tokens_in = SUPPORT_SYSTEM_TOKENS + estimate_tokens(user)
    client = "mobile" if rng.random() < MOBILE_SHARE else "web"
    meta = {"app": app.name, "client": client, "tenant": f"ws-{rng.randrange(1, 400):04d}"}
    first = _support_record(ctx, app, ts, body, tokens_in, intent, meta)
    out = [first]
    if client == "mobile" and rng.random() < RESEND_SHARE / MOBILE_SHARE:
        resend = _support_record(
            ctx, app, ts + rng.uniform(0.15, 1.9), body, tokens_in, intent, meta
        )
        resend.resend_of = first.request_id
        out.append(resend)
    return out


def _support_record(
    ctx: Ctx, app: AppSpec, ts: float, body: dict, tokens_in: int, intent: str, meta: dict
) -> Planned:
    rng = ctx.rng
    rec = _base(ctx, app, ts, SONNET_4, "Converse")
    answer = rng.choice(ANSWERS[intent])
    n_out = estimate_tokens(answer)
    usage = _usage(tokens_in, n_out, 0, 0, False)
    output = _converse_output(answer, "end_turn", usage, _latency(rng, n_out))
    _finish(
        rec,
        _input(body, tokens_in),
        output,
        n_out,
        _inference_region(rng, SONNET_4, app.region),
        meta,
    )
    return Planned(ts, rec, app.name, tokens_in, n_out, intent=intent)


def _ticket_router(ctx: Ctx, app: AppSpec, ts: float) -> list[Planned]:
    rng = ctx.rng
    label = rng.choice(corpus.TICKET_LABELS)
    sentences = rng.sample(corpus.TICKET_SENTENCES[label], rng.randint(2, 4))
    filler = rng.sample(corpus.TICKET_FILLER, rng.randint(1, 3))
    ticket = "\n".join(
        [
            rng.choice(corpus.TICKET_GREETINGS),
            " ".join(sentences + filler),
            rng.choice(corpus.TICKET_SIGNATURES),
        ]
    )
    history = [
        " ".join(rng.sample(corpus.TICKET_SENTENCES[rng.choice(corpus.TICKET_LABELS)], 3))
        for _ in range(rng.randint(0, 4))
    ]
    thread = "".join(f"\nEarlier message {i + 1}: {h}" for i, h in enumerate(history))
    user = f"Ticket #{rng.randrange(100000, 999999)}:\n{ticket}{thread}"
    body = _anthropic_body(corpus.TICKET_INSTRUCTIONS, user, max_tokens=10, temperature=0)
    tokens_in = TICKET_INSTRUCTION_TOKENS + estimate_tokens(user)
    reply = label if rng.random() < 0.9 else label.capitalize() + "."
    n_out = estimate_tokens(reply)
    model_id = OPUS_4 if rng.random() < 0.8 else OPUS_4_ARN
    output = {
        "id": f"msg_bdrk_{rng.getrandbits(96):024x}",
        "type": "message",
        "role": "assistant",
        "model": "claude-opus-4-20250514",
        "content": [{"type": "text", "text": reply}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": tokens_in, "output_tokens": n_out},
    }
    rec = _base(ctx, app, ts, model_id, "InvokeModel")
    _finish(
        rec,
        _input(body, tokens_in),
        output,
        n_out,
        _inference_region(rng, OPUS_4, app.region),
        None,
    )
    return [Planned(ts, rec, app.name, tokens_in, n_out)]


def _document(rng: random.Random, tokens: int) -> str:
    title = f"{rng.choice(corpus.DOC_KINDS).title()} {rng.randrange(100, 999)}"
    parts = [title]
    size = len(title)
    while size < tokens * 4:
        s = rng.choice(corpus.DOC_SENTENCES).format(
            n=rng.randrange(120, 9000),
            p=rng.randrange(2, 40),
            h=rng.randrange(1, 12),
            y=rng.randrange(1, 4),
            d=rng.randrange(5, 60),
        )
        parts.append(s)
        size += len(s) + 1
    return " ".join(parts)


def _doc_summarizer(ctx: Ctx, app: AppSpec, ts: float, large: bool = False) -> list[Planned]:
    rng = ctx.rng
    doc = _document(rng, 30_000 if large else rng.randint(3_000, 8_000))
    user = f"Summarise this document.\n\n<document>\n{doc}\n</document>"
    body = _converse_body([corpus.SUMMARIZER_SYSTEM], user, 1200, 0.2)
    tokens_in = SUMMARIZER_SYSTEM_TOKENS + estimate_tokens(user)
    bullets = rng.sample(corpus.SUMMARY_BULLETS, rng.randint(5, 8))
    summary = "\n".join(bullets) + "\nOpen questions: who owns the follow-up review?"
    n_out = estimate_tokens(summary)
    rec = _base(ctx, app, ts, SONNET_4, "Converse")
    usage = _usage(tokens_in, n_out, 0, 0, False)
    output = _converse_output(summary, "end_turn", usage, _latency(rng, n_out) + tokens_in // 8)
    inp = _input(body, tokens_in)
    payload = None
    if large:
        payload = orjson.dumps(body)
        hour_prefix = _hour_prefix(app.region, ts)
        del inp["inputBodyJson"]
        inp["inputBodyS3Path"] = (
            f"s3://{BUCKET}/{hour_prefix}/data/{rec['requestId']}_input.json.gz"
        )
    _finish(
        rec,
        inp,
        output,
        n_out,
        _inference_region(rng, SONNET_4, app.region),
        {"app": app.name, "pipeline": "nightly-docs"},
    )
    return [Planned(ts, rec, app.name, tokens_in, n_out, large_body=payload)]


def _code_reply(rng: random.Random, blocks: int) -> str:
    parts = rng.sample(corpus.CODE_EXPLANATIONS, 3)
    for _ in range(blocks):
        name = rng.choice(corpus.CODE_NAMES)
        parts.append(corpus.CODE_REPLY_BLOCK.replace("paid_minutes", name))
        parts.append(rng.choice(corpus.CODE_EXPLANATIONS))
    return "\n\n".join(parts)


def _code_assistant(ctx: Ctx, app: AppSpec, ts: float) -> list[Planned]:
    rng = ctx.rng
    files = [
        corpus.CODE_SNIPPET.format(
            name=rng.choice(corpus.CODE_NAMES), cls=rng.choice(corpus.CODE_CLASSES)
        )
        for _ in range(rng.randint(3, 12))
    ]
    user = rng.choice(corpus.CODE_TASKS) + "\n\n```python\n" + "\n\n".join(files) + "\n```"
    body = _converse_body([corpus.CODE_SYSTEM], user, CODE_MAX_TOKENS, 0.2, cache_point=True)
    user_tokens = estimate_tokens(user)
    if ts - ctx.code_cache_ts <= 300:  # 5-minute TTL, refreshed on every hit
        read, write = CODE_SYSTEM_TOKENS, 0
    else:
        read, write = 0, CODE_SYSTEM_TOKENS
    ctx.code_cache_ts = ts
    if rng.random() < CODE_TRUNCATED_P:
        reply, stop = _cut_to_tokens(_code_reply(rng, 10), CODE_MAX_TOKENS), "max_tokens"
    else:
        reply, stop = _code_reply(rng, rng.randint(1, 5)), "end_turn"
    n_out = estimate_tokens(reply)
    usage = _usage(user_tokens, n_out, read, write, True)
    rec = _base(ctx, app, ts, SONNET_4, "ConverseStream")
    output = _converse_stream_output(reply, stop, usage, _latency(rng, n_out, 12.0))
    _finish(
        rec,
        _input(body, user_tokens, read, write),
        output,
        n_out,
        _inference_region(rng, SONNET_4, app.region),
        {"app": app.name, "ide": rng.choice(("vscode", "jetbrains"))},
    )
    return [Planned(ts, rec, app.name, user_tokens, n_out, read, write)]


def _marketing_writer(ctx: Ctx, app: AppSpec, ts: float) -> list[Planned]:
    rng = ctx.rng
    brief = rng.choice(corpus.MARKETING_BRIEFS)
    user = f"{brief}\nAudience: managers of shift-based teams. Length: about 1,000 words."
    body = _anthropic_body(corpus.MARKETING_SYSTEM, user, max_tokens=4096, temperature=0.9)
    tokens_in = MARKETING_SYSTEM_TOKENS + estimate_tokens(user)
    paragraphs = []
    for _ in range(rng.randint(8, 14)):
        paragraphs.append(" ".join(rng.sample(corpus.MARKETING_SENTENCES, 5)))
    text = "\n\n".join(paragraphs)
    n_out = estimate_tokens(text)
    first_byte = rng.randint(600, 1400)
    chunks: list[dict] = [
        {
            "type": "message_start",
            "message": {
                "id": f"msg_bdrk_{rng.getrandbits(96):024x}",
                "type": "message",
                "role": "assistant",
                "model": "claude-opus-4-1-20250805",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": tokens_in, "output_tokens": 1},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    chunks += [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": c}}
        for c in _chunks(text)
    ]
    chunks += [
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": n_out},
        },
        {
            "type": "message_stop",
            "amazon-bedrock-invocationMetrics": {
                "inputTokenCount": tokens_in,
                "outputTokenCount": n_out,
                "invocationLatency": first_byte + _latency(rng, n_out, 25.0),
                "firstByteLatency": first_byte,
            },
        },
    ]
    rec = _base(ctx, app, ts, OPUS_41, "InvokeModelWithResponseStream")
    _finish(
        rec,
        _input(body, tokens_in),
        chunks,
        n_out,
        _inference_region(rng, OPUS_41, app.region),
        None,
    )
    return [Planned(ts, rec, app.name, tokens_in, n_out)]


def _extraction_text(rng: random.Random) -> tuple[str, dict]:
    people, orgs, places, dates = [], [], [], []
    sentences = []
    for _ in range(rng.randint(4, 9)):
        v = {
            "p1": rng.choice(corpus.PEOPLE),
            "p2": rng.choice(corpus.PEOPLE),
            "o1": rng.choice(corpus.ORGS),
            "o2": rng.choice(corpus.ORGS),
            "l1": rng.choice(corpus.PLACES),
            "l2": rng.choice(corpus.PLACES),
            "m": rng.choice(corpus.MONTHS),
            "d": rng.randint(1, 28),
            "n": rng.randint(3, 90),
        }
        tpl = rng.choice(corpus.EXTRACT_TEMPLATES)
        sentences.append(tpl.format(**v))
        for key, bucket in (
            ("p1", people),
            ("p2", people),
            ("o1", orgs),
            ("o2", orgs),
            ("l1", places),
            ("l2", places),
        ):
            if "{" + key + "}" in tpl and v[key] not in bucket:
                bucket.append(v[key])
        if "{m}" in tpl:
            dates.append(f"{v['m']} {v['d']}")
    found = {"people": people, "organizations": orgs, "locations": places, "dates": dates}
    return " ".join(sentences), found


def _entity_extractor(ctx: Ctx, app: AppSpec, ts: float) -> list[Planned]:
    rng = ctx.rng
    text, found = _extraction_text(rng)
    prompt = LLAMA_PROMPT.format(system=corpus.EXTRACTOR_SYSTEM, user=text)
    body = {"prompt": prompt, "max_gen_len": 512, "temperature": 0}
    tokens_in = estimate_tokens(prompt)
    generation = json.dumps(found)
    n_out = estimate_tokens(generation)
    output = {
        "generation": generation,
        "prompt_token_count": tokens_in,
        "generation_token_count": n_out,
        "stop_reason": "stop",
    }
    rec = _base(ctx, app, ts, LLAMA_70B, "InvokeModel")
    _finish(rec, _input(body, tokens_in), output, n_out, app.region, None)
    return [Planned(ts, rec, app.name, tokens_in, n_out)]


def _report_data(rng: random.Random) -> dict:
    staff = [
        {
            "name": f"Staff {i + 1:02d}",
            "role": rng.choice(("barista", "cook", "host", "shift lead")),
            "scheduled_hours": round(rng.uniform(12, 44), 1),
            "worked_hours": round(rng.uniform(10, 46), 1),
            "overtime_hours": round(max(0.0, rng.uniform(-6, 4)), 1),
            "absences": rng.randint(0, 2),
        }
        for i in range(rng.randint(8, 16))
    ]
    days = [
        {
            "day": d,
            "sales_forecast": rng.randint(3000, 9000),
            "labor_cost": rng.randint(900, 2600),
            "open_shifts": rng.randint(0, 4),
        }
        for d in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    ]
    return {
        "location": f"Store {rng.randrange(1, 60):02d}",
        "week": rng.randint(40, 45),
        "currency": "USD",
        "days": days,
        "staff": staff,
    }


def _report_bot(ctx: Ctx, app: AppSpec, ts: float) -> list[Planned]:
    rng = ctx.rng
    data = _report_data(rng)
    pretty = corpus.pretty_json(data)
    compact = json.dumps(data, separators=(",", ":"))
    system = "You write weekly operations reports for Brightdesk customers.\n\n" + (
        corpus.REPORT_INSTRUCTIONS
    )
    user = f"{corpus.REPORT_INSTRUCTIONS}\n\nData:\n{pretty}"
    body = _converse_body([system], user, None, 0.7)
    tokens_in = estimate_tokens(system) + estimate_tokens(user)
    fill = {
        "h": rng.randint(300, 700),
        "h2": rng.randint(300, 700),
        "s": len(data["staff"]),
        "c": sum(d["labor_cost"] for d in data["days"]),
        "p": rng.randint(18, 32),
        "o": rng.randint(0, 30),
        "a": rng.randint(0, 9),
        "os": rng.randint(2, 20),
    }
    sections = [s.format(**fill) for s in corpus.REPORT_SECTIONS]
    notes = [
        f"### {d['day']}\nForecast sales were {d['sales_forecast']} dollars and labor "
        f"cost was {d['labor_cost']} dollars, with {d['open_shifts']} open shifts. The "
        "team handled the day well, and there is nothing unusual to report beyond the "
        "figures above."
        for d in data["days"]
    ]
    reply = "\n\n".join(sections[:-1] + ["## Day by day"] + notes + sections[-1:])
    n_out = estimate_tokens(reply)
    usage = _usage(tokens_in, n_out, 0, 0, False)
    rec = _base(ctx, app, ts, SONNET_4_ARN, "Converse")
    output = _converse_output(reply, "end_turn", usage, _latency(rng, n_out))
    _finish(
        rec,
        _input(body, tokens_in),
        output,
        n_out,
        _inference_region(rng, SONNET_4, app.region),
        None,
    )
    extras = {
        "duplicated_instruction_tokens": REPORT_INSTRUCTION_TOKENS,
        "json_whitespace_tokens": estimate_tokens(pretty) - estimate_tokens(compact),
    }
    return [Planned(ts, rec, app.name, tokens_in, n_out, extras=extras)]


def _faq_helper(ctx: Ctx, app: AppSpec, ts: float) -> list[Planned]:
    rng = ctx.rng
    question = rng.choice(PARAPHRASES[rng.choice(INTENT_KEYS)])
    text = corpus.FAQ_PROMPT.format(q=question)
    body = {
        "inputText": text,
        "textGenerationConfig": {
            "maxTokenCount": 256,
            "temperature": 0.3,
            "topP": 0.9,
            "stopSequences": [],
        },
    }
    tokens_in = estimate_tokens(text)
    answer = rng.choice(corpus.FAQ_ANSWERS)
    n_out = estimate_tokens(answer)
    output = {
        "inputTextTokenCount": tokens_in,
        "results": [{"tokenCount": n_out, "outputText": answer, "completionReason": "FINISH"}],
    }
    rec = _base(ctx, app, ts, TITAN_EXPRESS, "InvokeModel")
    _finish(rec, _input(body, tokens_in), output, n_out, app.region, None)
    return [Planned(ts, rec, app.name, tokens_in, n_out)]


def _eval_harness(ctx: Ctx, app: AppSpec, ts: float) -> list[Planned]:
    rng = ctx.rng
    article = rng.choice(KB[rng.choice(INTENT_KEYS)])
    user = rng.choice(corpus.EVAL_PROMPTS).format(a=article)
    body = _converse_body([], user, 300, 0.0)
    tokens_in = estimate_tokens(user)
    reply = rng.choice(corpus.FAQ_ANSWERS)
    n_out = estimate_tokens(reply)
    usage = _usage(tokens_in, n_out, 0, 0, False)
    rec = _base(ctx, app, ts, UNKNOWN_MODEL, "Converse")
    _finish(
        rec,
        _input(body, tokens_in),
        _converse_output(reply, "end_turn", usage, _latency(rng, n_out)),
        n_out,
        app.region,
        {"app": app.name, "suite": "answer-quality"},
    )
    return [Planned(ts, rec, app.name, tokens_in, n_out)]


BUILDERS: dict[str, Callable[[Ctx, AppSpec, float], list[Planned]]] = {
    "support-chat": _support_chat,
    "ticket-router": _ticket_router,
    "doc-summarizer": _doc_summarizer,
    "code-assistant": _code_assistant,
    "marketing-writer": _marketing_writer,
    "entity-extractor": _entity_extractor,
    "report-bot": _report_bot,
    "faq-helper": _faq_helper,
    "eval-harness": _eval_harness,
}

# Fixed text, built once (the same for every seed).
INTENT_KEYS = list(corpus.INTENTS)
PARAPHRASES = {k: corpus.paraphrases(k) for k in INTENT_KEYS}
KB = {k: corpus.kb_articles(k) for k in INTENT_KEYS}
ANSWERS = {k: corpus.support_answers(k) for k in INTENT_KEYS}
SUPPORT_SYSTEM = corpus.support_system_prompt()
SUPPORT_SYSTEM_TOKENS = estimate_tokens(SUPPORT_SYSTEM)
TICKET_INSTRUCTION_TOKENS = estimate_tokens(corpus.TICKET_INSTRUCTIONS)
SUMMARIZER_SYSTEM_TOKENS = estimate_tokens(corpus.SUMMARIZER_SYSTEM)
CODE_SYSTEM_TOKENS = estimate_tokens(corpus.CODE_SYSTEM)
MARKETING_SYSTEM_TOKENS = estimate_tokens(corpus.MARKETING_SYSTEM)
REPORT_INSTRUCTION_TOKENS = estimate_tokens(corpus.REPORT_INSTRUCTIONS)


# --------------------------------------------------------------------------- the plan
@dataclass(frozen=True)
class Plan:
    """Where the planted faults and events fall for a given period."""

    days: int
    start: date

    @property
    def anomaly_day(self) -> int:
        return self.days // 2

    @property
    def truncated_slot(self) -> tuple[int, int]:
        return (min(2, self.days - 1), 10)

    def malformed_at(self, day: int, hour: int) -> bool:
        return hour == 12 and day % 7 == 1

    def large_body_at(self, day: int, hour: int) -> bool:
        return hour == 2 and day % 6 == 2


def _hour_prefix(region: str, ts: float) -> str:
    dt = datetime.fromtimestamp(ts, UTC)
    return f"AWSLogs/{ACCOUNT_ID}/BedrockModelInvocationLogs/{region}/{dt:%Y/%m/%d/%H}"


def _timestamps(rng: random.Random, app: AppSpec, n: int) -> list[float]:
    """Offsets into the hour, sorted."""
    if app.name == "doc-summarizer":  # bursts: the nightly pipeline fans out in waves
        centers = [rng.uniform(0, 3000) for _ in range(3)]
        return sorted(rng.choice(centers) + rng.uniform(0, 540) for _ in range(n))
    limit = 3598.0 if app.name == "support-chat" else 3599.999  # resends stay in the hour
    return sorted(rng.uniform(0, limit) for _ in range(n))


def _plan_hour(ctx: Ctx, plan: Plan, day: int, hour: int, scale: float) -> list[Planned]:
    rng = ctx.rng
    hour_start = datetime.combine(plan.start, datetime.min.time(), UTC).timestamp() + (
        day * 86400 + hour * 3600
    )
    weekend = (plan.start + timedelta(days=day)).weekday() >= 5
    out: list[Planned] = []
    for app in APPS:
        weight = app.hours[hour] / sum(app.hours)
        lam = app.per_day * weight * (app.weekend if weekend else 1.0) * scale
        if app.name == ANOMALY_APP and day == plan.anomaly_day and hour in ANOMALY_HOURS:
            lam *= ANOMALY_FACTOR
        n = _poisson(rng, lam)
        offsets = _timestamps(rng, app, n)
        builder = BUILDERS[app.name]
        for k, off in enumerate(offsets):
            ts = hour_start + min(off, 3599.999)
            if app.name == "doc-summarizer" and k == 0 and plan.large_body_at(day, hour):
                out.extend(_doc_summarizer(ctx, app, ts, large=True))
            else:
                out.extend(builder(ctx, app, ts))
    out.sort(key=lambda p: (p.ts, p.request_id))
    for p in out:
        p.line = orjson.dumps(p.record) + b"\n"
    return out


# --------------------------------------------------------------------------- writing
@dataclass
class LogFile:
    key: str
    lines: list[bytes]
    planned: list[Planned | None]  # None marks a malformed or duplicate line


def _file_name(rng: random.Random, ts: float) -> str:
    dt = datetime.fromtimestamp(ts, UTC)
    return f"{dt:%Y%m%dT%H%M%S}{dt.microsecond // 1000:03d}Z_{rng.getrandbits(64):016x}.json.gz"


def _group_files(rng: random.Random, planned: list[Planned]) -> list[LogFile]:
    groups: dict[tuple[str, int], list[Planned]] = {}
    for p in planned:
        region = p.record["region"]
        groups.setdefault((region, int(p.ts // FILE_WINDOW_S)), []).append(p)
    files = []
    for (region, _), items in sorted(groups.items()):
        key = f"{_hour_prefix(region, items[0].ts)}/{_file_name(rng, items[0].ts)}"
        files.append(LogFile(key, [p.line for p in items], list(items)))
    return files


class Truth:
    """Counters and plant lists, updated per kept record; serialised as truth.json."""

    def __init__(self, seed: int, start: date, days: int, scale: float) -> None:
        self.meta = {
            "seed": seed,
            "start": start.isoformat(),
            "days": days,
            "scale": scale,
            "account_id": ACCOUNT_ID,
            "bucket": BUCKET,
            "permission_check_key": PERMISSION_CHECK_KEY,
        }
        self.apps: dict[str, dict[str, Any]] = {}
        self.model_ids: dict[str, Counter] = {a.name: Counter() for a in APPS}
        self.hours: dict[str, set[int]] = {a.name: set() for a in APPS}
        self.stops: dict[str, Counter] = {a.name: Counter() for a in APPS}
        self.intents: Counter = Counter()
        self.dedup_pairs: list[list[str]] = []
        self.duplicates: list[str] = []
        self.malformed: list[dict] = []
        self.truncated: list[dict] = []
        self.unknown_ids: list[str] = []
        self.large: list[str] = []
        self.anomaly_requests = 0
        self.anomaly_baseline: Counter = Counter()  # (day) -> report-bot requests in window
        self.lines_total = 0
        self.records_written = 0
        self.files = 0
        self.data_files = 0
        self.bytes = 0
        self.trim = Counter()
        for a in APPS:
            self.apps[a.name] = {
                "requests": 0,
                "operation": a.operation,
                "model_id": None,
                "model_ids": [],
                "expected_task_type": a.task_type,
                "input_tokens": 0,
                "cache_read_tokens": 0,
                "cache_write_tokens": 0,
                "output_tokens": 0,
                "identity_arn": a.identity_arn,
                "role_name": a.role,
                "region": a.region,
                "request_metadata_app": a.sets_app_metadata,
                "approx_on_demand_usd": 0.0,
            }

    def add(self, p: Planned, plan: Plan, day: int, hour: int) -> None:
        a = self.apps[p.app]
        a["requests"] += 1
        a["input_tokens"] += p.input_tokens
        a["output_tokens"] += p.output_tokens
        a["cache_read_tokens"] += p.cache_read
        a["cache_write_tokens"] += p.cache_write
        model_id = p.record["modelId"]
        self.model_ids[p.app][model_id] += 1
        self.hours[p.app].add(hour)
        self.stops[p.app][_stop_reason(p.record)] += 1
        price = _approx_price(model_id)
        if price is None:
            a["approx_on_demand_usd"] = None
        elif a["approx_on_demand_usd"] is not None:
            a["approx_on_demand_usd"] += (
                p.input_tokens * price[0]
                + p.output_tokens * price[1]
                + p.cache_write * price[2]
                + p.cache_read * price[3]
            ) / 1e6
        if p.intent and p.resend_of is None:
            self.intents[p.intent] += 1
        if model_id == UNKNOWN_MODEL:
            self.unknown_ids.append(p.request_id)
        if p.large_body is not None:
            self.large.append(p.request_id)
        for k, v in p.extras.items():
            self.trim[k] += v
        if p.app == ANOMALY_APP and hour in ANOMALY_HOURS:
            if day == plan.anomaly_day:
                self.anomaly_requests += 1
            else:
                self.anomaly_baseline[day] += 1

    def to_dict(self, plan: Plan) -> dict:
        apps = {}
        for name, a in self.apps.items():
            ids = self.model_ids[name]
            a = dict(a)
            a["model_id"] = ids.most_common(1)[0][0] if ids else None
            a["model_ids"] = sorted(ids)
            a["hours_utc"] = sorted(self.hours[name])
            a["stop_reasons"] = dict(sorted(self.stops[name].items()))
            if a["approx_on_demand_usd"] is not None:
                a["approx_on_demand_usd"] = round(a["approx_on_demand_usd"], 2)
            apps[name] = a
        apps["report-bot"].update({k: int(v) for k, v in sorted(self.trim.items())})
        priced = [
            a["approx_on_demand_usd"]
            for a in apps.values()
            if a["approx_on_demand_usd"] is not None
        ]
        other_days = max(1, plan.days - 1)
        start_dt = datetime.combine(
            plan.start + timedelta(days=plan.anomaly_day), datetime.min.time(), UTC
        )
        requests_total = sum(a["requests"] for a in apps.values())
        return {
            **self.meta,
            "requests_total": requests_total,
            "approx_on_demand_usd_priced": round(sum(priced), 2),
            "apps": apps,
            "system_prompts": {
                "support-chat": {
                    "tokens": SUPPORT_SYSTEM_TOKENS,
                    "shared_by_all_calls": True,
                    "cached_today": False,
                },
                "code-assistant": {
                    "tokens": CODE_SYSTEM_TOKENS,
                    "cache_point": True,
                    "cache_ttl": "5m",
                },
                "ticket-router": {"tokens": TICKET_INSTRUCTION_TOKENS},
                "doc-summarizer": {"tokens": SUMMARIZER_SYSTEM_TOKENS},
            },
            "duplicates": {"request_ids": sorted(self.duplicates), "count": len(self.duplicates)},
            "dedup_pairs": self.dedup_pairs,
            "dedup": {
                "app": "support-chat",
                "client": "mobile",
                "max_gap_s": 2.0,
                "pairs": len(self.dedup_pairs),
            },
            "paraphrase_groups": {k: PARAPHRASES[k] for k in INTENT_KEYS},
            "intent_requests": {k: self.intents[k] for k in INTENT_KEYS},
            "anomaly": {
                "app": ANOMALY_APP,
                "factor": ANOMALY_FACTOR,
                "start": _iso(start_dt.timestamp() + ANOMALY_HOURS[0] * 3600),
                "end": _iso(start_dt.timestamp() + (ANOMALY_HOURS[-1] + 1) * 3600),
                "requests": self.anomaly_requests,
                "baseline_requests_per_day_same_hours": round(
                    sum(self.anomaly_baseline.values()) / other_days, 2
                ),
            },
            "faults": {
                "malformed_lines": self.malformed,
                "truncated_files": self.truncated,
                "unknown_model": {
                    "model_id": UNKNOWN_MODEL,
                    "app": "eval-harness",
                    "request_ids": self.unknown_ids,
                },
                "large_bodies": self.large,
            },
            "lines_total": self.lines_total,
            "records_written": self.records_written,
            "files": self.files,
            "data_files": self.data_files,
            "bytes": self.bytes,
        }


def _stop_reason(rec: dict) -> str:
    out = rec["output"]["outputBodyJson"]
    if isinstance(out, list):
        for c in out:
            if "messageStop" in c:
                return c["messageStop"]["stopReason"]
            if c.get("type") == "message_delta":
                return c["delta"]["stop_reason"]
        return "unknown"
    return (
        out.get("stopReason")
        or out.get("stop_reason")
        or (out.get("results") or [{}])[0].get("completionReason")
        or "unknown"
    )


def _approx_price(model_id: str) -> tuple[float, float, float, float] | None:
    ref = resolve(model_id)
    return APPROX_PRICES.get(ref.key) if ref.known else None


def _surviving_lines(data: bytes) -> tuple[int, int]:
    """Complete lines a streaming gzip reader recovers from a cut file, and tail bytes."""
    text = zlib.decompressobj(wbits=31).decompress(data)
    complete = text.count(b"\n")
    return complete, len(text) - (text.rfind(b"\n") + 1)


class Writer:
    """Writes one hour's files and feeds the truth with what survives."""

    def __init__(self, root: Path, truth: Truth, plan: Plan, ctx: Ctx) -> None:
        self.root, self.truth, self.plan, self.ctx = root, truth, plan, ctx

    def _put(self, key: str, data: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.truth.bytes += len(data)

    def hour(self, day: int, hour: int, planned: list[Planned]) -> None:
        rng = self.ctx.rng
        files = _group_files(rng, planned)
        if not files:
            return
        truncated = (day, hour) == self.plan.truncated_slot
        if not truncated:
            self._add_duplicates(rng, files)
        if self.plan.malformed_at(day, hour):
            self._add_malformed(day, hour, files[0])
        lost: set[str] = set()
        for i, f in enumerate(files):
            data = igzip.compress(b"".join(f.lines), compresslevel=GZIP_LEVEL, mtime=0)
            readable = len(f.lines)
            if truncated and i == 0:
                data, lost, readable = self._truncate(f, data)
            self._put(f.key, data)
            self.truth.files += 1
            self.truth.lines_total += readable
        for p in planned:
            self.truth.records_written += 1
            if p.request_id in lost:
                continue
            self.truth.add(p, self.plan, day, hour)
            if p.resend_of and p.resend_of not in lost:
                self.truth.dedup_pairs.append([p.resend_of, p.request_id])
            if p.large_body is not None:
                key = p.record["input"]["inputBodyS3Path"].split("/", 3)[3]
                self._put(key, igzip.compress(p.large_body, compresslevel=GZIP_LEVEL, mtime=0))
                self.truth.data_files += 1

    def _add_duplicates(self, rng: random.Random, files: list[LogFile]) -> None:
        extra: list[LogFile] = []
        for i, f in enumerate(files):
            for p in list(f.planned):
                if p is None or rng.random() >= DUP_DELIVERY_P:
                    continue
                same_region = [
                    g
                    for g in files
                    if g is not f and g.key.rsplit("/", 1)[0] == f.key.rsplit("/", 1)[0]
                ]
                if same_region:
                    target = same_region[(i + 1) % len(same_region)]
                else:
                    key = f"{f.key.rsplit('/', 1)[0]}/{_file_name(rng, p.ts + 120)}"
                    target = LogFile(key, [], [])
                    extra.append(target)
                target.lines.append(p.line)
                target.planned.append(None)
                self.truth.duplicates.append(p.request_id)
        files.extend(extra)

    def _add_malformed(self, day: int, hour: int, f: LogFile) -> None:
        """A half-written copy of a record that exists nowhere else (not a request)."""
        app = APP_BY_NAME["entity-extractor"]
        ghost = _entity_extractor(self.ctx, app, f.planned[0].ts if f.planned[0] else 0.0)[0]
        line = orjson.dumps(ghost.record)
        at = min(1, len(f.lines))
        f.lines.insert(at, line[: len(line) // 2] + b"\n")
        f.planned.insert(at, None)
        self.truth.malformed.append({"file": f.key, "line": at + 1})

    def _truncate(self, f: LogFile, data: bytes) -> tuple[bytes, set[str], int]:
        cut = data[: int(len(data) * 0.6)]
        complete, tail = _surviving_lines(cut)
        kept = [p.request_id for p in f.planned[:complete] if p is not None]
        lost = {p.request_id for p in f.planned[complete:] if p is not None}
        self.truth.truncated.append(
            {
                "file": f.key,
                "bytes_written": len(cut),
                "bytes_full": len(data),
                "complete_lines": complete,
                "partial_tail_bytes": tail,
                "kept_request_ids": kept,
                "lost_request_ids": sorted(lost),
            }
        )
        return cut, lost, complete


# --------------------------------------------------------------------------- entry points
def generate(
    out: Path, *, days: int = 30, scale: float = 1.0, seed: int = 7, start: date = date(2026, 10, 1)
) -> dict:
    """Write the sample under ``out`` (``logs/`` and ``truth.json``); return the truth."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    out = Path(out)
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    (logs / PERMISSION_CHECK_KEY).parent.mkdir(parents=True, exist_ok=True)
    (logs / PERMISSION_CHECK_KEY).write_bytes(b"")
    plan = Plan(days, start)
    ctx = Ctx(random.Random(seed))
    truth = Truth(seed, start, days, scale)
    writer = Writer(logs, truth, plan, ctx)
    for day in range(days):
        for hour in range(24):
            writer.hour(day, hour, _plan_hour(ctx, plan, day, hour, scale))
    result = truth.to_dict(plan)
    (out / "truth.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    return result


def _run(args: argparse.Namespace) -> int:
    start = date.fromisoformat(args.start)
    truth = generate(Path(args.out), days=args.days, scale=args.scale, seed=args.seed, start=start)
    print(
        f"sample: {truth['requests_total']} requests, {truth['lines_total']} lines in "
        f"{truth['files']} files, {truth['bytes']:,} bytes -> {args.out} "
        f"(~${truth['approx_on_demand_usd_priced']:,.0f} on-demand)"
    )
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "sample", help="write the embedded sample workload (synthetic invocation logs)"
    )
    p.add_argument("--out", required=True, help="output folder (logs/ and truth.json)")
    p.add_argument("--days", type=int, default=30, help="days of traffic (default 30)")
    p.add_argument("--scale", type=float, default=1.0, help="request volume multiplier")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--start", default="2026-10-01", help="first day, YYYY-MM-DD")
    p.set_defaults(func=_run)
