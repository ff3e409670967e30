"""Pieces of one invocation-log record: envelope, request bodies and replies per API format.

Shared by every app builder: the record envelope (``_base``), the ``input``/``output`` blocks,
Converse and Anthropic-messages request bodies, Converse and ConverseStream replies, and the S3
hour prefix a record's delivery file (or large request body) lives under.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import Any

from bedrock_finops.sample_workload import ACCOUNT_ID, AppSpec, Ctx


def _iso(ts: float) -> str:
    """The record's ``timestamp`` as AWS writes it: UTC, whole seconds ("...T23:00:17Z")."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


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


def _hour_prefix(region: str, ts: float) -> str:
    dt = datetime.fromtimestamp(ts, UTC)
    return f"AWSLogs/{ACCOUNT_ID}/BedrockModelInvocationLogs/{region}/{dt:%Y/%m/%d/%H}"
