"""One invocation-log record -> one usage row (a dict keyed by USAGE_SCHEMA columns).

Handles the four operations (Converse, ConverseStream, InvokeModel,
InvokeModelWithResponseStream) and the request/response bodies of the Converse API,
Anthropic messages, Llama, Titan, Mistral and Nova. A record that cannot give a correct row
raises :class:`BadRecord` with a short reason; the caller quarantines it.

Prompt text is reduced in the same pass to what the strategies need: chained prefix hashes
at each cache-checkpoint candidate (tools, system, each message), template hashes, the last
user turn, and a few text features (output shape, pretty-printed JSON and repeated lines).

The parts: scalar fields in ``parse_scalars``, request bodies in ``parse_request``, response
bodies and output shapes in ``parse_response``, text features in ``parse_features``. This
module puts them together into rows, twice: ``record_row`` (any record, or the quarantine
reason) and ``fast_row`` (the common well-formed record, same values, no row dict).
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, NamedTuple

import xxhash

from bedrock_finops.parse_features import Block, FeatureCache
from bedrock_finops.parse_request import canonical, prompt_parts, request_params, service_tier
from bedrock_finops.parse_response import output_shape, output_text_and_stop
from bedrock_finops.parse_scalars import (
    BadRecord,
    app_from_identity,
    fast_timestamp_ms,
    parse_timestamp_ms,
    token_count,
)
from bedrock_finops.schema import USAGE_SCHEMA
from bedrock_finops.tokens import estimate_tokens

OPERATIONS = {
    "Converse": False,
    "ConverseStream": True,
    "InvokeModel": False,
    "InvokeModelWithResponseStream": True,
}


def short_hash(data: bytes) -> str:
    """XXH3-128 as 32 hex characters.

    These hashes find repeated requests and prompt prefixes; they guard nothing, so a fast
    non-cryptographic hash serves (128 bits: collisions are not a practical concern). On a
    10 KB request body it is ~25x faster than sha256, which matters at a million records.
    """
    return xxhash.xxh3_128_hexdigest(data)


# ---------------------------------------------------------------------------- the record


class PromptCache:
    """Per-worker memo of prompt components and text features: each computed once.

    ``seen`` collects, for the prompts table, each distinct system prompt and tool spec's
    ``hash -> (kind, tokens, text)``. ``features`` holds per-block text features and output
    shapes. Both memos are bounded, so memory stays flat however many records a worker reads.
    """

    def __init__(self, max_chars: int | None = None) -> None:
        self.memo: dict[tuple[str, str], tuple[str, int]] = {}
        self.seen: dict[str, tuple[str, int, str]] = {}
        self.features = FeatureCache() if max_chars is None else FeatureCache(max_chars)
        self.memo_chars = 0
        self.heads: dict[tuple[int | None, int | None], Any] = {}  # prompt starts, by text_key
        self.apps: dict[str, str | None] = {}  # fast path: identity ARN -> app
        self.hours: dict[str, int] = {}  # fast path: "YYYY-MM-DDTHH" -> epoch seconds

    def component(self, kind: str, text: str) -> tuple[str, int]:
        key = (kind, text)
        hit = self.memo.get(key)
        if hit is None:
            self.memo_chars += len(text)
            if self.memo_chars > self.features.max_chars:
                self.memo.clear()
                self.heads.clear()
                self.memo_chars = len(text)
            hit = (short_hash(text.encode()), estimate_tokens(text))
            self.memo[key] = hit
            self.seen[hit[0]] = (kind, hit[1], text)
        return hit


def body_fields(model_key: str, in_body: dict, out_body: Any, cache: PromptCache) -> dict[str, Any]:
    """Everything the usage row derives from the request and response bodies, by name.

    One implementation serves both paths: this is :func:`body_values` with names attached."""
    values = body_values(model_key, in_body, out_body, cache)
    fields = dict(zip(BODY_VALUE_NAMES, values, strict=True))
    fields["prefix_hashes"] = [
        {"kind": kind, "hash": digest, "tokens": tokens}
        for kind, digest, tokens in fields["prefix_hashes"]
    ]
    return fields


NULL_BODY_FIELDS: dict[str, Any] = {
    "request_hash": None,
    "prefix_hashes": None,
    "system_hash": None,
    "tools_hash": None,
    "system_tokens": None,
    "user_text": None,
    "output_shape": "unknown",
    "pretty_json_tokens": None,
    "repeated_line_tokens": None,
    "stop_reason": None,
    "latency_ms": None,
    "max_tokens": None,
    "temperature": None,
    "cache_ttl": "5m",
    "_usage": None,
}


def record_row(
    rec: Any,
    *,
    app_key: str,
    identity_app_map: dict[str, str] | None,
    model_key: Any,
    cache: PromptCache,
) -> dict[str, Any]:
    """A parsed log record -> a usage row (without model/provider/family/geo, set later).

    ``model_key(raw)`` returns the catalog key or the raw ID, for the request hash.
    Raises :class:`BadRecord` when the record cannot give a correct row.
    """
    if not isinstance(rec, dict):
        raise BadRecord("record is not a JSON object")
    request_id = rec.get("requestId")
    if not isinstance(request_id, str) or not request_id:
        raise BadRecord("missing requestId")
    operation = rec.get("operation")
    if not isinstance(operation, str) or operation not in OPERATIONS:
        raise BadRecord("unknown operation" if operation else "missing operation")
    model_raw = rec.get("modelId")
    if not isinstance(model_raw, str) or not model_raw:
        raise BadRecord("missing modelId")
    ts = parse_timestamp_ms(rec.get("timestamp"))
    inp = rec.get("input")
    out = rec.get("output")
    if not isinstance(inp, dict):
        raise BadRecord("missing input")
    if not isinstance(out, dict):
        raise BadRecord("missing output")
    input_tokens = token_count(inp, "inputTokenCount", True)
    output_tokens = token_count(out, "outputTokenCount", True)
    cache_read = token_count(inp, "cacheReadInputTokenCount", False)
    cache_write = token_count(inp, "cacheWriteInputTokenCount", False)

    in_body = inp.get("inputBodyJson")
    out_body = out.get("outputBodyJson")
    body_in_s3 = in_body is None and bool(inp.get("inputBodyS3Path"))
    if isinstance(in_body, dict):
        fields = body_fields(model_key(model_raw), in_body, out_body, cache)
    elif in_body is None:
        fields = dict(NULL_BODY_FIELDS)
        fields["service_tier"] = "default"
        if out_body is not None:
            text, stop, latency, usage = output_text_and_stop(out_body)
            fields.update(output_shape=output_shape(text), stop_reason=stop, latency_ms=latency)
            fields["_usage"] = usage
    else:
        raise BadRecord("inputBodyJson is not a JSON object")
    usage = fields.pop("_usage")
    if isinstance(usage, dict):  # Converse usage, when the record lacks the *Count fields
        if cache_read is None:
            cache_read = token_count(usage, "cacheReadInputTokens", False)
        if cache_write is None:
            cache_write = token_count(usage, "cacheWriteInputTokens", False)

    identity = rec.get("identity")
    identity_arn = identity.get("arn") if isinstance(identity, dict) else None
    metadata = rec.get("requestMetadata")
    if not isinstance(metadata, dict):
        metadata = None
    app = metadata.get(app_key) if metadata else None
    if not app and identity_arn:
        if identity_app_map:
            role = app_from_identity(identity_arn)
            app = identity_app_map.get(identity_arn) or identity_app_map.get(role or "")
        if not app:
            app = app_from_identity(identity_arn)

    row = {
        "request_id": request_id,
        "timestamp": ts,
        "account_id": _str(rec.get("accountId")),
        "region": _str(rec.get("region")),
        "inference_region": _str(rec.get("inferenceRegion")),
        "operation": operation,
        "streaming": OPERATIONS[operation],
        "model_id_raw": model_raw,
        "identity_arn": _str(identity_arn),
        "app": _str(app),
        "input_tokens": input_tokens,
        "cache_read_tokens": cache_read or 0,
        "cache_write_tokens": cache_write or 0,
        "output_tokens": output_tokens,
        "body_in_s3": body_in_s3,
        "request_metadata": canonical(metadata).decode() if metadata else None,
    }
    row.update(fields)
    return row


def _str(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(value)


# ---------------------------------------------------------------------------- the fast path
#
# ``fast_row`` gives, for the well-formed records that make up nearly all of a log, the same
# values as ``record_row`` (pinned by tests), as one tuple in ROW_COLUMNS order and without a
# row dict. It returns None for anything unusual (odd types, negative counts, bodies in S3,
# other timestamp forms); the caller then runs ``record_row``, which gives the row or the
# quarantine reason.

MODEL_COLUMNS = ("model", "provider", "family", "geo")  # filled in by the parent
ROW_COLUMNS = tuple(n for n in USAGE_SCHEMA.names if n not in MODEL_COLUMNS)
_ROW_VALUES = itemgetter(*ROW_COLUMNS)


def row_values(row: dict[str, Any]) -> tuple:
    """A ``record_row`` dict (plus ``source_file``) -> the ``fast_row`` tuple."""
    prefix = row["prefix_hashes"]
    if prefix is not None:
        row["prefix_hashes"] = [(p["kind"], p["hash"], p["tokens"]) for p in prefix]
    return _ROW_VALUES(row)


_ROLE_BYTES = {"user": b"user", "assistant": b"assistant"}
_MAX_MEMO_ENTRIES = 1 << 16  # entries a fast-path memo holds before it starts over


class _Head(NamedTuple):
    """The cached start of a prompt: tools and system blocks, their hashes and tokens."""

    prefix: tuple[tuple[str, str, int], ...]
    chain: bytes
    tokens: int
    tools_hash: str | None
    system_hash: str | None
    system_tokens: int | None
    blocks: tuple[Block, ...]


def text_key(text: str | None) -> int | None:
    """A memo key for a long text: its XXH3-128 (as ``short_hash``), None for no text.

    Texts parsed from each record are fresh strings, so a dict keyed by the text itself
    hashes all of it on every lookup (SipHash, ~1.5 us for a 4 KB system prompt); the
    digest costs a tenth of that.
    """
    return None if text is None else xxhash.xxh3_128_intdigest(text.encode())


def _head(cache: PromptCache, tools_text: str | None, system_text: str | None) -> _Head:
    key = (text_key(tools_text), text_key(system_text))
    hit = cache.heads.get(key)
    if hit is not None:
        return hit
    prefix = []
    chain = b""
    tokens = 0
    tools_hash = system_hash = None
    system_tokens = 0
    if tools_text is not None:
        tools_hash, t = cache.component("tools", tools_text)
        tokens += t
        chain = short_hash(b"tools\x00" + tools_hash.encode()).encode()
        prefix.append(("tools", chain.decode(), tokens))
    if system_text is not None:
        system_hash, system_tokens = cache.component("system", system_text)
        tokens += system_tokens
        chain = short_hash(chain + b"\x00system\x00" + system_hash.encode()).encode()
        prefix.append(("system", chain.decode(), tokens))
    blocks = (cache.features.block(system_text, key[1]),) if system_text else ()
    hit = _Head(
        tuple(prefix),
        chain,
        tokens,
        tools_hash,
        system_hash,
        system_tokens if system_text is not None else None,
        blocks,
    )
    if len(cache.heads) >= _MAX_MEMO_ENTRIES:
        cache.heads.clear()
    cache.heads[key] = hit
    return hit


BODY_VALUE_NAMES = (
    "service_tier",
    "cache_ttl",
    "latency_ms",
    "stop_reason",
    "max_tokens",
    "temperature",
    "request_hash",
    "prefix_hashes",
    "system_hash",
    "tools_hash",
    "system_tokens",
    "user_text",
    "output_shape",
    "pretty_json_tokens",
    "repeated_line_tokens",
    "_usage",
)


def body_values(model_key: str, in_body: dict, out_body: Any, cache: PromptCache) -> tuple:
    """What :func:`body_fields` gives, as a tuple (see the unpacking in :func:`fast_row`)."""
    ttl: list[str] = []
    tools_text, system_text, turns = prompt_parts(in_body, ttl)
    head = _head(cache, tools_text, system_text)
    block_of = cache.features.block
    prefix = list(head.prefix)
    chain = head.chain
    tokens = head.tokens
    blocks = list(head.blocks)
    texts = []
    user_text = None
    for role, text in turns:
        data = text.encode()
        block = block_of(text, xxhash.xxh3_128_intdigest(data))  # as text_key(text)
        blocks.append(block)
        texts.append(text)
        tokens += block.tokens
        role_bytes = _ROLE_BYTES.get(role) or role.encode()
        chain = short_hash(b"".join((chain, b"\x00", role_bytes, b"\x00", data))).encode()
        prefix.append(("message", chain.decode(), tokens))
        if role == "user":
            user_text = text
    pretty, repeated = cache.features.prompt_features(system_text, texts, blocks)
    out_text, stop, latency, usage = output_text_and_stop(out_body)
    max_tokens, temperature = request_params(in_body)
    return (
        service_tier(in_body, out_body),
        "1h" if ttl else "5m",
        latency,
        stop if isinstance(stop, str) else None,
        max_tokens,
        temperature,
        short_hash(model_key.encode() + b"\x00" + canonical(in_body)),
        prefix,
        head.system_hash,
        head.tools_hash,
        head.system_tokens,
        user_text,
        cache.features.shape(out_text, output_shape, text_key(out_text)),
        pretty,
        repeated,
        usage,
    )


def _fast_count(section: dict, name: str) -> int | None | bool:
    """An optional token count: the int, None when absent, False when odd (fall back)."""
    value = section.get(name)
    if value is None or (type(value) is int and value >= 0):
        return value
    return False


def _fast_app(cache: PromptCache, arn: str, identity_app_map: dict[str, str] | None) -> str | None:
    """``record_row``'s app for a record without the app key in its metadata (memoised)."""
    hit = cache.apps.get(arn, False)
    if hit is False:
        app = None
        if identity_app_map:
            role = app_from_identity(arn)
            app = identity_app_map.get(arn) or identity_app_map.get(role or "")
        if not app:
            app = app_from_identity(arn)
        hit = _str(app)
        if len(cache.apps) >= _MAX_MEMO_ENTRIES:
            cache.apps.clear()
        cache.apps[arn] = hit
    return hit


def fast_row(
    rec: Any,
    source: str,
    *,
    app_key: str,
    identity_app_map: dict[str, str] | None,
    model_key: Any,
    cache: PromptCache,
) -> tuple | None:
    """``record_row`` (plus ``source_file``) as a ROW_COLUMNS tuple; None: use record_row."""
    if type(rec) is not dict:
        return None
    get = rec.get
    request_id = get("requestId")
    operation = get("operation")
    model_raw = get("modelId")
    inp = get("input")
    out = get("output")
    if (
        type(request_id) is not str
        or not request_id
        or type(operation) is not str
        or operation not in OPERATIONS
        or type(model_raw) is not str
        or not model_raw
        or type(inp) is not dict
        or type(out) is not dict
    ):
        return None
    ts = fast_timestamp_ms(get("timestamp"), cache.hours)
    in_body = inp.get("inputBodyJson")
    if ts is None or type(in_body) is not dict:
        return None
    input_tokens = inp.get("inputTokenCount")
    output_tokens = out.get("outputTokenCount")
    if type(input_tokens) is not int or input_tokens < 0:
        return None
    if type(output_tokens) is not int or output_tokens < 0:
        return None
    cache_read = _fast_count(inp, "cacheReadInputTokenCount")
    cache_write = _fast_count(inp, "cacheWriteInputTokenCount")
    if cache_read is False or cache_write is False:
        return None
    (
        tier, ttl, latency, stop, max_tokens, temperature, request_hash, prefix, system_hash,
        tools_hash, system_tokens, user_text, shape, pretty, repeated, usage,
    ) = body_values(model_key(model_raw), in_body, out.get("outputBodyJson"), cache)  # fmt: skip
    if type(usage) is dict:
        if cache_read is None:
            cache_read = _fast_count(usage, "cacheReadInputTokens")
        if cache_write is None:
            cache_write = _fast_count(usage, "cacheWriteInputTokens")
        if cache_read is False or cache_write is False:
            return None
    identity = get("identity")
    arn = identity.get("arn") if type(identity) is dict else None
    if arn is not None and type(arn) is not str:
        return None
    metadata = get("requestMetadata")
    if type(metadata) is not dict or not metadata:
        metadata = None
    app = metadata.get(app_key) if metadata else None
    app = _fast_app(cache, arn, identity_app_map) if not app and arn else _str(app)
    return (
        request_id,
        ts,
        _str(get("accountId")),
        _str(get("region")),
        _str(get("inferenceRegion")),
        operation,
        OPERATIONS[operation],
        model_raw,
        tier,
        arn,
        app,
        input_tokens,
        cache_read or 0,
        cache_write or 0,
        ttl,
        output_tokens,
        latency,
        stop,
        max_tokens,
        temperature,
        request_hash,
        prefix,
        system_hash,
        tools_hash,
        system_tokens,
        user_text,
        shape,
        pretty,
        repeated,
        False,
        canonical(metadata).decode() if metadata else None,
        source,
    )
