"""One invocation-log record -> one usage row (a dict keyed by USAGE_SCHEMA columns).

Handles the four operations (Converse, ConverseStream, InvokeModel,
InvokeModelWithResponseStream) and the request/response bodies of the Converse API,
Anthropic messages, Llama, Titan, Mistral and Nova. A record that cannot give a correct row
raises :class:`BadRecord` with a short reason; the caller quarantines it.

Prompt text is reduced in the same pass to what the strategies need: chained prefix hashes
at each cache-checkpoint candidate (tools, system, each message), template hashes, the last
user turn, and a few text features (output shape, pretty-printed JSON and repeated lines).
"""

from __future__ import annotations

import re
from datetime import datetime
from operator import itemgetter
from typing import Any, NamedTuple

import orjson
import xxhash

from bedrock_finops.parse_features import Block, FeatureCache
from bedrock_finops.schema import USAGE_SCHEMA
from bedrock_finops.tokens import estimate_tokens

OPERATIONS = {
    "Converse": False,
    "ConverseStream": True,
    "InvokeModel": False,
    "InvokeModelWithResponseStream": True,
}

# ISO-8601 as AWS writes it: date 'T' time, optional fraction, then Z or a +HH:MM offset.
_TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})$")
_FENCE_RE = re.compile(r"^```[\w+-]*\s*\n(.*?)\n?```\s*$", re.S)
# a code-like line: ends with ; { or } (before trailing space), or starts like a statement
_CODE_ENDINGS = (";", "{", "}")
_CODE_START_RE = re.compile(
    r"\s*(?:def |class |import |from \S+ import|return\b|function\b|const |let |"
    r"var |public |private |#include|SELECT |select |if \(|for \(|while \()"
)
# the same starts at the text's start or after any line boundary str.splitlines knows. A
# pattern that begins with a character class is searched for with a fast scan for that class;
# the equivalent "(?:^|[...])" form (re.M) costs ~4x more, as each position tries both arms.
_LINE_BREAK_CLASS = "[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]"
_CODE_START_AFTER_BREAK_RE = re.compile(_LINE_BREAK_CLASS + _CODE_START_RE.pattern)
_LLAMA_HEADER = "<|start_header_id|>"
_LLAMA_ROLE_RE = re.compile(r"(\w+)<\|end_header_id\|>")
_LLAMA_EOT = "<|eot_id|>"
_PUNCT = frozenset("{}[]()<>;:=\"'`|\\/*&^%$#@!?,.")

CODE_SAMPLE_LINES = 40  # output_shape looks at the first lines only


class BadRecord(ValueError):
    """A record that cannot become a row; ``args[0]`` is the quarantine reason."""


def short_hash(data: bytes) -> str:
    """XXH3-128 as 32 hex characters.

    These hashes find repeated requests and prompt prefixes; they guard nothing, so a fast
    non-cryptographic hash serves (128 bits: collisions are not a practical concern). On a
    10 KB request body it is ~25x faster than sha256, which matters at a million records.
    """
    return xxhash.xxh3_128_hexdigest(data)


def canonical(obj: Any) -> bytes:
    """Canonical JSON: sorted keys, no whitespace, so identical bodies hash alike."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


# ---------------------------------------------------------------------------- scalars


def parse_timestamp_ms(value: Any) -> int:
    """ISO-8601 (with or without fraction, Z or offset) -> epoch milliseconds, UTC."""
    if not isinstance(value, str) or not _TS_RE.match(value):
        raise BadRecord("bad timestamp")
    text = value
    if "." in text:  # fromisoformat takes at most 6 fraction digits
        head, _, rest = text.partition(".")
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = head + "." + (rest[:digits] + "000000")[:6] + rest[digits:]
    try:
        return int(datetime.fromisoformat(text).timestamp() * 1000)
    except ValueError:
        raise BadRecord("bad timestamp") from None


def _count(section: dict, name: str, required: bool) -> int | None:
    value = section.get(name)
    if value is None:
        if required:
            raise BadRecord(f"missing {name}")
        return None
    if type(value) is not int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise BadRecord(f"non-integer {name}")
    if value < 0:
        raise BadRecord(f"negative {name}")
    return value


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def app_from_identity(arn: str | None) -> str | None:
    """``...:assumed-role/ROLE/SESSION`` -> ROLE; ``...:user/NAME`` -> NAME; ``role/R`` -> R."""
    if not arn:
        return None
    _, _, resource = arn.rpartition(":")
    parts = resource.split("/")
    if parts[0] == "assumed-role" and len(parts) >= 2:
        return parts[1]
    if parts[0] in ("user", "role") and len(parts) >= 2:
        return parts[-1]
    return resource or None


# ---------------------------------------------------------------------------- prompt text


def _block_text(block: Any, ttl: list[str]) -> str | None:
    """Text of one content block; None for a cache marker (not content). Notes 1h TTLs."""
    if isinstance(block, str):
        return block
    if not isinstance(block, dict):
        return str(block)
    if "cachePoint" in block:  # Converse cache checkpoint
        cp = block["cachePoint"]
        if isinstance(cp, dict) and cp.get("ttl") == "1h":
            ttl.append("1h")
        return None
    cc = block.get("cache_control")
    if isinstance(cc, dict) and cc.get("ttl") == "1h":
        ttl.append("1h")
    text = block.get("text")
    if isinstance(text, str):
        return text
    if block.get("type") == "text":
        return ""
    # tool use / tool result / images / documents: canonical JSON without the cache marker
    clean = {k: v for k, v in block.items() if k != "cache_control"}
    return canonical(clean).decode()


def _content_text(content: Any, ttl: list[str]) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [_block_text(b, ttl) for b in content]
        return "\n".join(p for p in parts if p is not None)
    if content is None:
        return ""
    return canonical(content).decode()


def _tools_list(body: dict) -> list | None:
    tools = body.get("tools")
    if tools is None:
        cfg = body.get("toolConfig")
        if isinstance(cfg, dict):
            tools = cfg.get("tools")
    if not tools:
        return None
    if not isinstance(tools, list):
        return [tools]
    return tools


def _prompt_parts(body: dict, ttl: list[str]) -> tuple[str | None, str | None, list]:
    """(tools JSON, system text, [(role, text), ...]) from any supported request body."""
    tools = _tools_list(body)
    tools_text = None
    if tools is not None:
        clean = []
        for t in tools:
            if isinstance(t, dict) and "cachePoint" in t:
                _block_text(t, ttl)
                continue
            if isinstance(t, dict) and "cache_control" in t:
                _block_text(t, ttl)
                t = {k: v for k, v in t.items() if k != "cache_control"}
            clean.append(t)
        tools_text = canonical(clean).decode() if clean else None
    system = body.get("system")
    system_text = _content_text(system, ttl) if system is not None else None
    messages = body.get("messages")
    turns: list[tuple[str, str]] = []
    if isinstance(messages, list):
        for m in messages:
            if isinstance(m, dict):
                role = m.get("role") or "user"
                if role == "system":  # Mistral chat puts the system prompt in messages
                    text = _content_text(m.get("content"), ttl)
                    system_text = text if system_text is None else system_text + "\n" + text
                    continue
                turns.append((role, _content_text(m.get("content"), ttl)))
    elif isinstance(body.get("prompt"), str):
        system_text, turns = _split_raw_prompt(body["prompt"], system_text)
    elif isinstance(body.get("inputText"), str):
        turns.append(("user", body["inputText"]))
    return tools_text, system_text, turns


def _split_raw_prompt(prompt: str, system_text: str | None) -> tuple[str | None, list]:
    """Llama 3 header format or Mistral [INST] format -> system and turns; else one turn."""
    if _LLAMA_HEADER in prompt:
        turns = []
        for role, text in _llama_turns(prompt):
            text = text.strip()
            if role == "system":
                system_text = text
            elif text or role != "assistant":
                turns.append((role, text))
        if turns or system_text:
            return system_text, turns
    if "[INST]" in prompt:
        insts = [t.strip() for t in _inst_spans(prompt)]
        if insts:
            return system_text, [("user", t) for t in insts]
    return system_text, [("user", prompt)]


def _llama_turns(prompt: str) -> list[tuple[str, str]]:
    """``<|start_header_id|>ROLE<|end_header_id|>TEXT<|eot_id|>`` -> [(ROLE, TEXT)].

    TEXT runs to the next ``<|eot_id|>`` or the end of the prompt (string search, not a lazy
    regex: prompts are long).
    """
    out = []
    pos = 0
    while (i := prompt.find(_LLAMA_HEADER, pos)) >= 0:
        m = _LLAMA_ROLE_RE.match(prompt, i + len(_LLAMA_HEADER))
        if m is None:
            pos = i + 1
            continue
        end = prompt.find(_LLAMA_EOT, m.end())
        if end < 0:
            out.append((m.group(1), prompt[m.end() :]))
            break
        out.append((m.group(1), prompt[m.end() : end]))
        pos = end + len(_LLAMA_EOT)
    return out


def _inst_spans(prompt: str) -> list[str]:
    """The texts between ``[INST]`` and the next ``[/INST]``."""
    out = []
    pos = 0
    while (i := prompt.find("[INST]", pos)) >= 0:
        end = prompt.find("[/INST]", i + 6)
        if end < 0:
            break
        out.append(prompt[i + 6 : end])
        pos = end + 7
    return out


def output_shape(text: str | None) -> str:
    """label | json | code | prose | empty for a model's output text; unknown when absent."""
    if text is None:
        return "unknown"
    s = text.strip()
    if not s:
        return "empty"
    fenced = _FENCE_RE.match(s) if s.startswith("```") else None
    inner = fenced.group(1).strip() if fenced else s
    if inner[:1] in "{[":
        try:
            if isinstance(orjson.loads(inner), (dict, list)):
                return "json"
        except orjson.JSONDecodeError:
            pass
    if fenced:
        return "code"
    words = s.split(maxsplit=3)
    if len(words) <= 3 and "\n" not in s:
        punct = sum(c in _PUNCT for c in s)
        if punct <= max(1, len(s) // 10):
            return "label"
    if ";" not in s and "{" not in s and "}" not in s and not _may_start_code(s):
        return "prose"  # no line can look like code: skip the line by line check
    lines = [ln for ln in s.splitlines()[:CODE_SAMPLE_LINES] if ln.strip()]
    if len(lines) >= 2:
        code_like = sum(1 for ln in lines if _code_like(ln))
        if code_like * 2 >= len(lines):
            return "code"
    return "prose"


def _may_start_code(text: str) -> bool:
    """Whether some line of ``text`` starts like a statement (``_CODE_START_RE``)."""
    return (
        _CODE_START_RE.match(text) is not None
        or _CODE_START_AFTER_BREAK_RE.search(text) is not None
    )


def _code_like(line: str) -> bool:
    return line.rstrip().endswith(_CODE_ENDINGS) or _CODE_START_RE.match(line) is not None


# ---------------------------------------------------------------------------- output bodies


# keys of the non-Converse stream chunk formats (Anthropic, Llama, Titan, Mistral, legacy)
_OTHER_CHUNK_KEYS = frozenset(
    ("type", "generation", "outputText", "completion", "stop_reason", "completionReason")
    + ("outputs", "choices")
)


_TEXT_CHUNK_KEYS = _OTHER_CHUNK_KEYS - {"type"}


def _chunk_text_and_stop(chunks: list) -> tuple[str, str | None, float | None, dict | None]:
    """Streamed chunks -> (text, stop reason, latency if a metadata chunk has it, usage)."""
    texts: list[str] = []
    stop = None
    usage = None
    latency = None
    for ch in chunks:
        if not isinstance(ch, dict):
            continue
        if "contentBlockDelta" in ch:  # ConverseStream
            delta = (ch["contentBlockDelta"] or {}).get("delta") or {}
            if isinstance(delta.get("text"), str):
                texts.append(delta["text"])
        elif "messageStop" in ch:
            stop = (ch["messageStop"] or {}).get("stopReason") or stop
        elif "metadata" in ch:
            meta = ch["metadata"] or {}
            usage = meta.get("usage") or usage
            latency = _num((meta.get("metrics") or {}).get("latencyMs"))
        if _OTHER_CHUNK_KEYS.isdisjoint(ch):  # a Converse stream event: nothing more to read
            continue
        ctype = ch.get("type")
        if ctype == "content_block_delta":  # Anthropic messages stream
            delta = ch.get("delta") or {}
            if isinstance(delta.get("text"), str):
                texts.append(delta["text"])
        elif ctype == "message_delta":
            stop = (ch.get("delta") or {}).get("stop_reason") or stop
        if _TEXT_CHUNK_KEYS.isdisjoint(ch):  # an Anthropic event: nothing more to read
            continue
        for key in ("generation", "outputText", "completion"):  # Llama, Titan, legacy
            if isinstance(ch.get(key), str):
                texts.append(ch[key])
        for key in ("stop_reason", "completionReason"):
            if ch.get(key):
                stop = ch[key]
        for key in ("outputs", "choices"):  # Mistral
            items = ch.get(key)
            if isinstance(items, list) and items and isinstance(items[0], dict):
                item = items[0]
                piece = item.get("text")
                if piece is None:
                    piece = (item.get("delta") or item.get("message") or {}).get("content")
                if isinstance(piece, str):
                    texts.append(piece)
                stop = item.get("stop_reason") or item.get("finish_reason") or stop
    return "".join(texts), stop, latency, usage


def _output_text_and_stop(body: Any) -> tuple[str | None, str | None, float | None, dict | None]:
    """(text, stop_reason, latency_ms, converse usage) from a non-streamed output body."""
    if isinstance(body, list):
        return _chunk_text_and_stop(body)
    if not isinstance(body, dict):
        return None, None, None, None
    ttl: list[str] = []
    if "output" in body and isinstance(body["output"], dict):  # Converse and Nova
        msg = body["output"].get("message") or {}
        text = _content_text(msg.get("content"), ttl)
        latency = _num((body.get("metrics") or {}).get("latencyMs"))
        return text, body.get("stopReason"), latency, body.get("usage")
    if "content" in body:  # Anthropic messages
        return _content_text(body.get("content"), ttl), body.get("stop_reason"), None, None
    if "generation" in body:  # Llama
        return body.get("generation"), body.get("stop_reason"), None, None
    results = body.get("results")
    if isinstance(results, list) and results:  # Titan
        r = results[0] if isinstance(results[0], dict) else {}
        text = "".join(x.get("outputText") or "" for x in results if isinstance(x, dict))
        return text, r.get("completionReason"), None, None
    for key in ("outputs", "choices"):  # Mistral
        items = body.get(key)
        if isinstance(items, list) and items and isinstance(items[0], dict):
            it = items[0]
            text = it.get("text")
            if text is None:
                text = _content_text((it.get("message") or {}).get("content"), ttl)
            return text, it.get("stop_reason") or it.get("finish_reason"), None, None
    if "completion" in body:
        return body.get("completion"), body.get("stop_reason"), None, None
    return None, body.get("stopReason") or body.get("stop_reason"), None, None


# ---------------------------------------------------------------------------- request params


def _request_params(body: dict) -> tuple[int | None, float | None]:
    """(max_tokens, temperature) across Converse, Anthropic, Llama, Titan, Mistral, Nova."""
    cfg = body.get("inferenceConfig")
    if isinstance(cfg, dict):
        mt = cfg.get("maxTokens", cfg.get("max_new_tokens"))
        return _int(mt), _num(cfg.get("temperature"))
    tcfg = body.get("textGenerationConfig")
    if isinstance(tcfg, dict):
        return _int(tcfg.get("maxTokenCount")), _num(tcfg.get("temperature"))
    mt = body.get("max_tokens", body.get("max_gen_len", body.get("max_tokens_to_sample")))
    return _int(mt), _num(body.get("temperature"))


def _service_tier(in_body: dict, out_body: Any) -> str:
    for src in (out_body if isinstance(out_body, dict) else {}, in_body):
        tier = src.get("serviceTier")
        if isinstance(tier, dict):
            tier = tier.get("type")
        if isinstance(tier, str) and tier:
            return tier
    perf = in_body.get("performanceConfig")
    if isinstance(perf, dict) and perf.get("latency") == "optimized":
        return "latency-optimized"
    return "default"


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
        self.heads: dict[tuple[str | None, str | None], Any] = {}  # fast path: prompt starts
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
    input_tokens = _count(inp, "inputTokenCount", True)
    output_tokens = _count(out, "outputTokenCount", True)
    cache_read = _count(inp, "cacheReadInputTokenCount", False)
    cache_write = _count(inp, "cacheWriteInputTokenCount", False)

    in_body = inp.get("inputBodyJson")
    out_body = out.get("outputBodyJson")
    body_in_s3 = in_body is None and bool(inp.get("inputBodyS3Path"))
    if isinstance(in_body, dict):
        fields = body_fields(model_key(model_raw), in_body, out_body, cache)
    elif in_body is None:
        fields = dict(NULL_BODY_FIELDS)
        fields["service_tier"] = "default"
        if out_body is not None:
            text, stop, latency, usage = _output_text_and_stop(out_body)
            fields.update(output_shape=output_shape(text), stop_reason=stop, latency_ms=latency)
            fields["_usage"] = usage
    else:
        raise BadRecord("inputBodyJson is not a JSON object")
    usage = fields.pop("_usage")
    if isinstance(usage, dict):  # Converse usage, when the record lacks the *Count fields
        if cache_read is None:
            cache_read = _count(usage, "cacheReadInputTokens", False)
        if cache_write is None:
            cache_write = _count(usage, "cacheWriteInputTokens", False)

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
_MAX_MEMO_ENTRIES = 1 << 16


def fast_timestamp_ms(value: Any, hours: dict[str, int]) -> int | None:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` -> epoch ms, as :func:`parse_timestamp_ms` computes it.

    The date and hour are parsed once per distinct hour (``hours`` memo), minutes and seconds
    by slicing; the result repeats ``parse_timestamp_ms``'s float arithmetic exactly
    (microseconds / 1e6 * 1000, truncated). None for any other form: the caller falls back
    to the full parser.
    """
    if (
        type(value) is not str
        or len(value) != 24
        or value[23] != "Z"
        or value[19] != "."
        or value[16] != ":"
        or value[13] != ":"
    ):
        return None
    digits = value[14:16] + value[17:19] + value[20:23]
    if not (digits.isascii() and digits.isdigit()):
        return None
    minute = int(digits[:2])
    second = int(digits[2:4])
    if minute > 59 or second > 59:
        return None
    head = value[:13]
    hour = hours.get(head)
    if hour is None:
        text = head + ":00:00Z"
        if not _TS_RE.match(text):
            return None
        try:
            hour = parse_timestamp_ms(text) // 1000
        except BadRecord:
            return None
        if len(hours) >= _MAX_MEMO_ENTRIES:
            hours.clear()
        hours[head] = hour
    us = (hour + minute * 60 + second) * 1_000_000 + int(digits[4:]) * 1000
    return int(us / 1_000_000 * 1000)


class _Head(NamedTuple):
    """The cached start of a prompt: tools and system blocks, their hashes and tokens."""

    prefix: tuple[tuple[str, str, int], ...]
    chain: bytes
    tokens: int
    tools_hash: str | None
    system_hash: str | None
    system_tokens: int | None
    blocks: tuple[Block, ...]


def _head(cache: PromptCache, tools_text: str | None, system_text: str | None) -> _Head:
    key = (tools_text, system_text)
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
    blocks = (cache.features.block(system_text),) if system_text else ()
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
    tools_text, system_text, turns = _prompt_parts(in_body, ttl)
    head = _head(cache, tools_text, system_text)
    block_of = cache.features.block
    prefix = list(head.prefix)
    chain = head.chain
    tokens = head.tokens
    blocks = list(head.blocks)
    texts = []
    user_text = None
    for role, text in turns:
        block = block_of(text)
        blocks.append(block)
        texts.append(text)
        tokens += block.tokens
        role_bytes = _ROLE_BYTES.get(role) or role.encode()
        chain = short_hash(b"".join((chain, b"\x00", role_bytes, b"\x00", text.encode()))).encode()
        prefix.append(("message", chain.decode(), tokens))
        if role == "user":
            user_text = text
    pretty, repeated = cache.features.prompt_features(system_text, texts, blocks)
    out_text, stop, latency, usage = _output_text_and_stop(out_body)
    max_tokens, temperature = _request_params(in_body)
    return (
        _service_tier(in_body, out_body),
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
        cache.features.shape(out_text, output_shape),
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
