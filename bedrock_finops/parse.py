"""One invocation-log record -> one usage row.

Handles the four operations (Converse, ConverseStream, InvokeModel,
InvokeModelWithResponseStream); the request and response bodies (Converse API, Anthropic
messages, Llama, Titan, Mistral, Nova) are reduced to the row's body-derived values in
``parse_body``. A record that cannot give a correct row raises :class:`BadRecord` with a
short reason; the caller quarantines it.

The parts: scalar fields in ``parse_scalars``, request bodies in ``parse_request``, response
bodies and output shapes in ``parse_response``, text features in ``parse_features``, the body
values in ``parse_body``. This module puts them together into rows, twice: ``record_row``
(any record, or the quarantine reason) and ``fast_row`` (the common well-formed record, same
values, no row dict).
"""

from __future__ import annotations

from collections.abc import Iterator
from operator import itemgetter
from typing import Any

from bedrock_finops.app_attribution import identity_app, metadata_app
from bedrock_finops.parse_body import (
    MAX_MEMO_ENTRIES,
    NULL_BODY_FIELDS,
    PromptCache,
    body_fields,
    body_values,
)
from bedrock_finops.parse_request import canonical
from bedrock_finops.parse_response import (
    cache_write_1h_split,
    guardrail_intervened,
    invoke_response_usage,
    output_shape,
    output_text_and_stop,
    routed_model_id,
    writes_no_tokens,
)
from bedrock_finops.parse_scalars import (
    MAX_TOKENS_PER_CALL,
    ROW_VALUE_BOUNDS,
    BadRecord,
    fast_timestamp_ms,
    out_of_bounds,
    parse_timestamp_ms,
    token_count,
    within_bounds,
)
from bedrock_finops.schema import USAGE_SCHEMA

# the two spellings of each cache count: AWS writes the first at the record's input, Converse
# usage the second; either is accepted in both places
CACHE_READ = ("cacheReadInputTokenCount", "cacheReadInputTokens")
CACHE_WRITE = ("cacheWriteInputTokenCount", "cacheWriteInputTokens")
# the same counts in an InvokeModel response (parse_response.invoke_response_usage), as
# Bedrock's stream metrics spell them and as Anthropic's usage does
BODY_CACHE_READ = ("cacheReadInputTokenCount", "cache_read_input_tokens")
BODY_CACHE_WRITE = ("cacheWriteInputTokenCount", "cache_creation_input_tokens")


def response_cache_counts(usage: Any, out_body: Any) -> Iterator[tuple[dict, tuple, tuple]]:
    """Where a response gives the cache counts a record lacks, in the order they are taken:
    Converse's ``usage`` (the record's own names), then an InvokeModel response's
    (:func:`parse_response.invoke_response_usage`). Yields (section, read names, write
    names); each count is taken from the first section that has it."""
    if type(usage) is dict:
        yield usage, CACHE_READ, CACHE_WRITE
    for section in invoke_response_usage(out_body):
        if section is not usage:  # a Converse body's usage is both: read it once
            yield section, BODY_CACHE_READ, BODY_CACHE_WRITE


OPERATIONS = {
    "Converse": False,
    "ConverseStream": True,
    "InvokeModel": False,
    "InvokeModelWithResponseStream": True,
}


def record_row(
    rec: Any,
    *,
    app_key: str,
    identity_app_map: dict[str, str] | None,
    model_key: Any,
    cache: PromptCache,
    rules_key: Any = None,
    nulled: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """A parsed log record -> a usage row (without model/provider/family/geo, set later).

    ``model_key(raw)`` gives the model part of the request hash (``models.request_model_id``);
    ``rules_key(raw)``, when given, the model ID a provider's rules are read for
    (``models.rules_model_id``: an application profile's ``profile_map`` target), else
    ``model_key(raw)`` serves. Raises :class:`BadRecord` when the record cannot give a
    correct row. A value no Bedrock call logs (a negative latency or ``max_tokens``, see
    ``parse_scalars.ROW_VALUE_BOUNDS``) is null in the row, and ``(column, reason)`` is added
    to ``nulled`` when given: the row stays, as its tokens were billed.
    """
    if not isinstance(rec, dict):
        raise BadRecord("record is not a JSON object")
    request_id = rec.get("requestId")
    if not isinstance(request_id, str) or not request_id or request_id.isspace():
        raise BadRecord(_bad_request_id(request_id))
    operation = rec.get("operation")
    if not isinstance(operation, str) or operation not in OPERATIONS:
        raise BadRecord(unknown_operation(operation) if operation else "missing operation")
    model_raw = rec.get("modelId")
    if not isinstance(model_raw, str) or not model_raw:
        raise BadRecord(_bad_field("modelId", model_raw))
    ts = parse_timestamp_ms(rec.get("timestamp"))
    inp = rec.get("input")
    out = rec.get("output")
    _refuse_failed_invocation(rec, inp)
    if not isinstance(inp, dict):
        raise BadRecord("missing input")
    if not isinstance(out, dict):
        raise BadRecord("missing output")
    input_tokens = token_count(inp, "inputTokenCount", True)
    if out.get("outputTokenCount") is None and writes_no_tokens(
        model_raw, inp.get("inputBodyJson"), out.get("outputBodyJson")
    ):
        output_tokens = 0  # no output count for embeddings, images, rerank: no output tokens
    else:
        output_tokens = token_count(out, "outputTokenCount", True)
    cache_read = _cache_count(inp, CACHE_READ)
    cache_write = _cache_count(inp, CACHE_WRITE)

    in_body = inp.get("inputBodyJson")
    out_body = out.get("outputBodyJson")
    body_in_s3 = (in_body is None and bool(inp.get("inputBodyS3Path"))) or (
        out_body is None and bool(out.get("outputBodyS3Path"))
    )
    if in_body is not None and not isinstance(in_body, dict):
        raise BadRecord("inputBodyJson is not a JSON object")
    key = model_key(model_raw)
    rules = _rules_model(model_raw, out_body, model_key, rules_key)
    fields = _body_fields(key, in_body, out_body, cache, rules)
    usage = fields.pop("_usage")
    split = fields.pop("_cache_write_1h")
    if cache_read is None or cache_write is None:  # not on the record: from the response
        for section, reads, writes in response_cache_counts(usage, out_body):
            if cache_read is None:
                cache_read = _cache_count(section, reads)
            if cache_write is None:
                cache_write = _cache_count(section, writes)

    identity = rec.get("identity")
    identity_arn = identity.get("arn") if isinstance(identity, dict) else None
    if not isinstance(identity_arn, str):  # a number where the ARN belongs: no identity
        identity_arn = None
    metadata = rec.get("requestMetadata")
    if not isinstance(metadata, dict):
        metadata = None
    app = metadata_app(metadata.get(app_key)) if metadata else None
    if app is None and identity_arn:
        app = identity_app(identity_arn, identity_app_map)

    row = {
        "request_id": request_id,
        "timestamp": ts,
        "account_id": _str(rec.get("accountId")),
        "region": _str(rec.get("region")),
        "inference_region": _str(rec.get("inferenceRegion")),
        "operation": operation,
        "streaming": OPERATIONS[operation],
        "model_id_raw": model_raw,
        "routed_model_id": _routed(model_raw, out_body),
        "identity_arn": identity_arn,
        "app": _str(app),
        "input_tokens": input_tokens,
        "cache_read_tokens": cache_read or 0,
        "cache_write_tokens": cache_write or 0,
        "cache_write_1h_tokens": cache_write_1h(split, cache_write or 0, fields["cache_ttl"]),
        "output_tokens": output_tokens,
        "body_in_s3": body_in_s3,
        "request_metadata": canonical(metadata).decode() if metadata else None,
    }
    row.update(fields)
    _null_out_of_bounds(row, nulled)
    return row


def _null_out_of_bounds(row: dict[str, Any], nulled: list[tuple[str, str]] | None) -> None:
    """Null each of ``row``'s values outside its bounds, adding ``(column, reason)`` to
    ``nulled`` (when given) for each."""
    for column in ROW_VALUE_BOUNDS:
        reason = out_of_bounds(column, row[column])
        if reason is not None:
            row[column] = None
            if nulled is not None:
                nulled.append((column, reason))


def _bad_request_id(request_id: Any) -> str:
    """The reason for a ``requestId`` that is no usable ID: ``missing requestId`` when it is
    absent, null, empty or only white space (kept, it would make unrelated calls duplicates
    of each other); else that it is not a string, and what JSON value it is (a number)."""
    return _bad_field("requestId", request_id)


def _bad_field(name: str, value: Any) -> str:
    """``missing NAME`` for an absent, null or blank string field; else that it is not a
    string, naming the JSON value it is."""
    if value is None or isinstance(value, str):
        return f"missing {name}"
    return f"{name} is not a string (a JSON {_json_type(value)})"


def _json_type(value: Any) -> str:
    """The JSON name of a parsed value's type: number, boolean, object or array."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "object" if isinstance(value, dict) else "array"


OPERATION_SHOWN = 40  # characters of an unknown operation's name the reason shows


def unknown_operation(operation: Any) -> str:
    """The reason for a record of another operation, naming it (``unknown operation
    'InvokeAgent'``): which API wrote the records tells where they came from, and the field
    sits past the quarantine excerpt. An API name is short; a longer string is cut, and a
    value that is not a string is not shown. The name is kept as logged, as a failed
    invocation's error code is: what prints a reason escapes it for the terminal."""
    if not isinstance(operation, str):
        return "unknown operation"
    if len(operation) > OPERATION_SHOWN:
        return f"unknown operation '{operation[:OPERATION_SHOWN]}'..."
    return f"unknown operation '{operation}'"


def _body_fields(
    key: str, in_body: dict | None, out_body: Any, cache: PromptCache, rules: str
) -> dict:
    """``body_fields``, or what the response alone gives when the request body is absent."""
    if in_body is not None:
        return body_fields(key, in_body, out_body, cache, rules)
    fields = dict(NULL_BODY_FIELDS)
    fields["service_tier"] = "default"
    if out_body is not None:
        text, stop, latency, usage = output_text_and_stop(out_body, rules)
        stop = stop if isinstance(stop, str) else None
        fields.update(output_shape=output_shape(text), stop_reason=stop, latency_ms=latency)
        fields["_usage"] = usage
        fields["_cache_write_1h"] = cache_write_1h_split(usage, out_body)
    return fields


def _routed(model_raw: str, out_body: Any) -> str | None:
    """For a call to a prompt router, the model it chose (the one that ran and is billed)."""
    return routed_model_id(out_body) if "prompt-router/" in model_raw else None


def _rules_model(model_raw: str, out_body: Any, model_key: Any, rules_key: Any) -> str:
    """The model ID a provider's rules are read for (image tokens, ``<think>`` tags, where
    cache checkpoints may go): for a call to a prompt router, the model it chose (a Nova
    router's call ran on Nova), else the logged ID, through ``rules_key`` when given (an
    application profile's ``profile_map`` target), else ``model_key``. The request hash
    keeps the logged ID."""
    raw = _routed(model_raw, out_body) or model_raw
    return model_key(raw) if rules_key is None else rules_key(raw)


def cache_write_1h(split: int | None, cache_write: int, ttl: str | None) -> int:
    """The row's 1-hour cache writes: the response's split (never more than the writes), else
    all of them when a marker asked for 1h, else none."""
    if split is not None:
        return min(split, cache_write)
    return cache_write if ttl == "1h" else 0


def _refuse_failed_invocation(rec: dict, inp: Any) -> None:
    """A failed invocation (``errorCode`` set, e.g. ThrottlingException) logs no token counts
    and is not billed: it gets its own reason, naming the code, rather than "missing
    inputTokenCount". So does a request a guardrail blocked before the model ran, streamed or
    not (:func:`parse_response.guardrail_intervened`): no model tokens (the guardrail bills
    apart). One that logged counts anyway is a row."""
    if isinstance(inp, dict) and inp.get("inputTokenCount") is not None:
        return
    code = rec.get("errorCode")
    if code:
        raise BadRecord(f"failed invocation ({_str(code)}): no token counts, not billed")
    out = rec.get("output")
    if isinstance(out, dict) and guardrail_intervened(out.get("outputBodyJson")):
        raise BadRecord("blocked by a guardrail: no token counts, no model tokens billed")


def _cache_count(section: dict, spellings: tuple[str, str]) -> int | None:
    """A cache token count under either of its spellings (the first wins); None when neither
    is there."""
    value = token_count(section, spellings[0], False)
    return token_count(section, spellings[1], False) if value is None else value


def _str(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(value)


# ---------------------------------------------------------------------------- the fast path
#
# ``fast_row`` gives, for the well-formed records that make up nearly all of a log, the same
# values as ``record_row`` (pinned by tests), as one tuple in ROW_COLUMNS order and without a
# row dict. It returns None for anything unusual (odd types, negative counts, bodies in S3,
# other timestamp forms, a value ``record_row`` nulls); the caller then runs ``record_row``,
# which gives the row or the quarantine reason.

MODEL_COLUMNS = ("model", "provider", "family", "geo")  # filled in by the parent
ROW_COLUMNS = tuple(n for n in USAGE_SCHEMA.names if n not in MODEL_COLUMNS)
_ROW_VALUES = itemgetter(*ROW_COLUMNS)


def row_values(row: dict[str, Any]) -> tuple:
    """A ``record_row`` dict (plus ``source_file``) -> the ``fast_row`` tuple."""
    prefix = row["prefix_hashes"]
    if prefix is not None:
        row["prefix_hashes"] = [(p["kind"], p["hash"], p["tokens"]) for p in prefix]
    return _ROW_VALUES(row)


def _fast_count(section: dict, name: str) -> int | None | bool:
    """An optional token count: the int, None when absent, False when odd (fall back)."""
    value = section.get(name)
    if value is None or (type(value) is int and 0 <= value <= MAX_TOKENS_PER_CALL):
        return value
    return False


def _fast_cache_count(section: dict, spellings: tuple[str, str]) -> int | None | bool:
    """``_cache_count`` as ``_fast_count`` answers: False when odd (fall back)."""
    value = _fast_count(section, spellings[0])
    return _fast_count(section, spellings[1]) if value is None else value


def _fast_app(cache: PromptCache, arn: str, identity_app_map: dict[str, str] | None) -> str | None:
    """``record_row``'s app for a record without the app key in its metadata (memoised)."""
    hit = cache.apps.get(arn, False)
    if hit is False:
        hit = _str(identity_app(arn, identity_app_map))
        if len(cache.apps) >= MAX_MEMO_ENTRIES:
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
    rules_key: Any = None,
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
        or request_id.isspace()
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
    out_body = out.get("outputBodyJson")
    if out_body is None and out.get("outputBodyS3Path"):
        return None  # the response body is under data/: record_row flags the row
    input_tokens = inp.get("inputTokenCount")
    output_tokens = out.get("outputTokenCount")
    if type(input_tokens) is not int or not 0 <= input_tokens <= MAX_TOKENS_PER_CALL:
        return None
    if type(output_tokens) is not int or not 0 <= output_tokens <= MAX_TOKENS_PER_CALL:
        return None
    cache_read = _fast_cache_count(inp, CACHE_READ)
    cache_write = _fast_cache_count(inp, CACHE_WRITE)
    if cache_read is False or cache_write is False:
        return None
    (
        tier, ttl, split, latency, stop, max_tokens, temperature, request_hash, prefix,
        system_hash, tools_hash, system_tokens, user_text, media, shape, pretty, repeated,
        usage,
    ) = body_values(
        model_key(model_raw), in_body, out_body, cache,
        _rules_model(model_raw, out_body, model_key, rules_key),
    )  # fmt: skip
    if not within_bounds(latency, max_tokens, temperature):
        return None  # record_row nulls it and says so
    if cache_read is None or cache_write is None:
        for section, reads, writes in response_cache_counts(usage, out_body):
            if cache_read is None:
                cache_read = _fast_cache_count(section, reads)
            if cache_write is None:
                cache_write = _fast_cache_count(section, writes)
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
    if app is not None:  # strip() gives a clean string back as it is, at no cost
        app = (app.strip() or None) if type(app) is str else None
    if app is None and arn:
        app = _fast_app(cache, arn, identity_app_map)
    return (
        request_id,
        ts,
        _str(get("accountId")),
        _str(get("region")),
        _str(get("inferenceRegion")),
        operation,
        OPERATIONS[operation],
        model_raw,
        _routed(model_raw, out_body),
        tier,
        arn,
        app,
        input_tokens,
        cache_read or 0,
        cache_write or 0,
        ttl,
        cache_write_1h(split, cache_write or 0, ttl),
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
        media,
        shape,
        pretty,
        repeated,
        False,
        canonical(metadata).decode() if metadata else None,
        source,
    )
