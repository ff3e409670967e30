"""Batch inference records: the per-request model input a batch job reads, one JSONL line each::

    {"recordId": "3rc9ZKnWlux", "modelInput": {...}}

``modelInput`` is the request body: for ``modelInvocationType="InvokeModel"`` the model's own
InvokeModel body (Anthropic Messages, Llama ``prompt``, Titan ``inputText``, Nova
``messages-v1``...); for ``"Converse"`` the Converse request body (``messages``, ``system``,
``inferenceConfig``; no ``modelId``, which goes in the job request). Converse traffic gets
Converse records, InvokeModel traffic InvokeModel ones, except for a model whose InvokeModel
body is not written here (OpenAI's gpt-oss, DeepSeek, Qwen, Cohere): AWS takes either record
form in a batch job, and those models take Converse, so theirs are Converse records.

Records are rebuilt from what the usage table keeps: the system prompt (the template text in
``prompts.parquet``) and the last user turn (``user_text``), as text. Earlier turns, tool specs
and media are not kept per request, so a multi-turn or tool-using request is rebuilt only in
part; ``records_for_segment`` counts what it had to leave out or fill with a placeholder. A
user turn that sent images, documents, video or audio holds, in ``user_text``, a placeholder
for each sent inline and the block's JSON for each sent by reference (an S3 location, a URL;
see ``media_blocks``): a record carries neither as the media block it stood for, so the model
would answer its text. The batch strategy leaves every request that sent media (the usage
table's ``media_sent``: in any turn, so also one whose last user turn is plain text), and
those whose turn was not logged, out of its jobs, and batch-export holds back a job whose
records still hold either (``batch_export_submit.placeholder_records``, which reads a
record's turn back with :func:`record_user_text`).

``validate_record`` checks a record against the shape AWS documents; ``read_jsonl`` and
``redacted_record`` read an exported input file back and show a record with its prompt text
redacted. Splitting the records into jobs and writing them out is ``batch_jobs``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from bedrock_finops import segments
from bedrock_finops.column_take import text_parts
from bedrock_finops.media_blocks import any_media, media_sent_by_request
from bedrock_finops.models import known_models

ANTHROPIC_VERSION = "bedrock-2023-05-31"
PLACEHOLDER_USER_TEXT = "{{user_text not logged: supply the document or question here}}"


def turns_without_text(values: Any) -> np.ndarray:
    """Per user turn (a ``pa.Array`` or ``pa.ChunkedArray`` of ``user_text``): none, or empty
    or white space only, so no text a record can send. Bedrock refuses such a text block
    (Converse: "The text field in the ContentBlock object ... is blank"; Anthropic: "text
    content blocks must contain non-whitespace text"), so a turn logged so stood for content
    the table does not keep as text (an empty block, only a cache checkpoint). A record gets
    :data:`PLACEHOLDER_USER_TEXT` for it, and the batch plan leaves it out as a turn not
    logged."""
    if pa.types.is_null(values.type):
        return np.ones(len(values), dtype=bool)
    blank = pc.or_(pc.equal(pc.utf8_length(values), 0), pc.utf8_is_space(values))
    return np.asarray(pc.fill_null(blank, True), dtype=bool)


_RECORD_ID_RE = re.compile(r"^[A-Za-z0-9]{1,64}$")


def invocation_type(operation: str | None) -> str:
    """``Converse`` for Converse/ConverseStream traffic, ``InvokeModel`` otherwise."""
    return "Converse" if operation and operation.startswith("Converse") else "InvokeModel"


def record_style(operation: str | None, provider: str | None, family: str | None) -> str:
    """The record form (a job's ``modelInvocationType``) for a segment's traffic: the one it
    was logged with, or ``Converse`` where :func:`invoke_model_input` has no body for its
    provider."""
    style = invocation_type(operation)
    if style == "InvokeModel" and not has_invoke_model_body(provider, family):
        return "Converse"
    return style


def has_invoke_model_body(provider: str | None, family: str | None) -> bool:
    """:func:`invoke_model_input` writes this provider's (and family's) InvokeModel body."""
    return provider in ("anthropic", "meta", "mistral") or (
        provider == "amazon" and family in ("titan", "nova")
    )


def converse_input(
    system: str | None, user: str, max_tokens: int, temperature: float | None = None
) -> dict[str, Any]:
    """A Converse request body (what a ``Converse``-type batch record carries)."""
    body: dict[str, Any] = {"messages": [{"role": "user", "content": [{"text": user}]}]}
    if system:
        body["system"] = [{"text": system}]
    config: dict[str, Any] = {"maxTokens": int(max_tokens)}
    if temperature is not None:
        config["temperature"] = float(temperature)
    body["inferenceConfig"] = config
    return body


# Mistral models whose InvokeModel body is the chat completion form (AWS model parameters
# pages for Mistral Large (24.07) and Pixtral Large (25.02)); the older ones take [INST] text
MISTRAL_CHAT_MODELS = frozenset({"mistral.mistral-large-2407", "mistral.pixtral-large-2502"})


def invoke_model_input(
    provider: str,
    family: str | None,
    system: str | None,
    user: str,
    max_tokens: int,
    temperature: float | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """The provider's InvokeModel body (what an ``InvokeModel``-type batch record carries).

    ``model`` (the catalog key) picks the form where one provider has several: Llama 4's
    header tokens, Mistral's chat completion form."""
    temp = {} if temperature is None else {"temperature": float(temperature)}
    info = known_models().get(model) if model else None
    if provider == "anthropic":
        body: dict[str, Any] = {"anthropic_version": ANTHROPIC_VERSION, "max_tokens": max_tokens}
        if system:
            body["system"] = system
        body["messages"] = [{"role": "user", "content": [{"type": "text", "text": user}]}]
        return body | temp
    if provider == "meta":
        llama4 = info is not None and info.tokenizer == "llama4"
        prompt = llama4_prompt(system, user) if llama4 else llama3_prompt(system, user)
        return {"prompt": prompt, "max_gen_len": max_tokens} | temp
    if provider == "amazon" and family == "titan":
        text = f"{system}\n\n{user}" if system else user
        return {"inputText": text, "textGenerationConfig": {"maxTokenCount": max_tokens} | temp}
    if provider == "amazon" and family == "nova":
        body = {"schemaVersion": "messages-v1"}
        if system:
            body["system"] = [{"text": system}]
        body["messages"] = [{"role": "user", "content": [{"text": user}]}]
        body["inferenceConfig"] = {"maxTokens": max_tokens} | temp
        return body
    if provider == "mistral" and model in MISTRAL_CHAT_MODELS:
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": user})
        return {"messages": messages, "max_tokens": max_tokens} | temp
    if provider == "mistral":
        text = f"{system}\n\n{user}" if system else user
        return {"prompt": f"<s>[INST] {text} [/INST]", "max_tokens": max_tokens} | temp
    raise ValueError(
        f"no InvokeModel body format for provider {provider!r} (family {family!r}); "
        "write its records with converse_input (record_style picks it)"
    )


def llama3_prompt(system: str | None, user: str) -> str:
    """Llama 3 chat template for a single user turn."""
    return _header_prompt(system, user, ("<|start_header_id|>", "<|end_header_id|>"), "<|eot_id|>")


def llama4_prompt(system: str | None, user: str) -> str:
    """Llama 4 chat template for a single user turn (llama.com, Llama 4 prompt format)."""
    return _header_prompt(system, user, ("<|header_start|>", "<|header_end|>"), "<|eot|>")


def _header_prompt(system: str | None, user: str, header: tuple[str, str], eot: str) -> str:
    start, end = header
    parts = ["<|begin_of_text|>"]
    if system:
        parts.append(f"{start}system{end}\n\n{system}{eot}")
    parts.append(f"{start}user{end}\n\n{user}{eot}")
    parts.append(f"{start}assistant{end}\n\n")
    return "".join(parts)


def record_user_text(body: Any) -> str | None:
    """The user turn a record's ``modelInput`` sends, as text: the last user message's text in
    a messages body (Converse, Anthropic, Nova, Mistral's chat form), the user's part of a
    Llama or Mistral ``prompt``, Titan's ``inputText`` (template and turn). None when the body
    holds none of these. The inverse of what :func:`converse_input` and
    :func:`invoke_model_input` write, so the turn reads as ``user_text`` did."""
    if not isinstance(body, dict):
        return None
    messages = body.get("messages")
    if isinstance(messages, list):
        turns = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        return _message_text(turns[-1].get("content")) if turns else None
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        return _prompt_user_text(prompt)
    text = body.get("inputText")
    return text if isinstance(text, str) else None


def _message_text(content: Any) -> str | None:
    """A message's text: its string, or its text blocks joined by line breaks."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    return "\n".join(
        b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str)
    )


# (the user's header, the end of its turn) in the Llama 3 and Llama 4 chat templates
_LLAMA_USER_TURNS = (
    ("<|start_header_id|>user<|end_header_id|>\n\n", "<|eot_id|>"),
    ("<|header_start|>user<|header_end|>\n\n", "<|eot|>"),
)
_MISTRAL_INST = ("<s>[INST] ", " [/INST]")


def _prompt_user_text(prompt: str) -> str:
    """The user's part of a Llama chat prompt, the text inside a Mistral ``[INST]`` prompt
    (template and turn), else the whole prompt."""
    for header, end in _LLAMA_USER_TURNS:
        if header in prompt:
            return prompt.rsplit(header, 1)[1].split(end, 1)[0]
    start, end = _MISTRAL_INST
    if prompt.startswith(start) and prompt.endswith(end):
        return prompt[len(start) : -len(end)]
    return prompt


# A recordId is 11 letters and digits, the form AWS's batch input pages have given it ("11
# character alphanumeric string"; the current page says "alphanumeric string"), so a job's
# input never depends on a longer ID being taken. In base 62 that holds 65 bits of a SHA-256
# of the request ID: two of a million requests share one with a chance of about 1 in 10^8.
RECORD_ID_LENGTH = 11
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def record_id(request_id: str) -> str:
    """The request's record ID: 11 base-62 digits of a SHA-256 of its request ID (the same
    every export). ``records.csv`` beside each job's input maps it back to the request ID."""
    value = int.from_bytes(hashlib.sha256(str(request_id).encode()).digest()[:12], "big")
    digits = []
    for _ in range(RECORD_ID_LENGTH):
        value, digit = divmod(value, len(_BASE62))
        digits.append(_BASE62[digit])
    return "".join(reversed(digits))


def earlier_record_id(request_id: str) -> str:
    """The record ID versions before :func:`record_id`'s base 62 gave the request: ``R`` and
    10 upper-case hex digits of a SHA-256 of its request ID. Their job names were digests of
    the lines holding these IDs (``batch_jobs.line_digests``)."""
    return "R" + hashlib.sha256(str(request_id).encode()).hexdigest()[:10].upper()


# the bytes of a SHA-256 that stand for one record's work in a job's name
RECORD_DIGEST_SIZE = 16


def record_digest(request_id: str, model_input: dict[str, Any]) -> bytes:
    """What identifies a record's work, however its recordId is spelled: the first
    :data:`RECORD_DIGEST_SIZE` bytes of a SHA-256 of ``[request ID, modelInput]`` as canonical
    JSON (keys sorted, no spaces, UTF-8), as orjson writes it (``json`` takes some 30 times as
    long, as much as building the record). A job's name ends in a digest of its records'
    (``batch_jobs.work_digest``)."""
    text = orjson.dumps([str(request_id), model_input], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(text).digest()[:RECORD_DIGEST_SIZE]


_RECORD_LINE_START = b'{"recordId":"'


def line_with_record_id(line: bytes, new_id: str) -> bytes:
    """A record's JSONL line (as :func:`record_line` writes it) with ``new_id`` for its
    recordId, every other byte as it was."""
    end = line.find(b'"', len(_RECORD_LINE_START))
    if not line.startswith(_RECORD_LINE_START) or end < 0:
        raise ValueError(f"not a batch record's line: {line[:40]!r}")
    return _RECORD_LINE_START + new_id.encode() + line[end:]


def validate_record(record: dict[str, Any], style: str) -> None:
    """Raise ValueError unless ``record`` has the shape AWS documents for ``style``."""
    if set(record) != {"recordId", "modelInput"}:
        raise ValueError(
            f"a batch record has exactly recordId and modelInput, got {sorted(record)}"
        )
    if not isinstance(record["recordId"], str) or not _RECORD_ID_RE.match(record["recordId"]):
        raise ValueError(f"recordId must be an alphanumeric string, got {record['recordId']!r}")
    body = record["modelInput"]
    if not isinstance(body, dict):
        raise ValueError("modelInput must be a JSON object (the request body)")
    if style == "Converse":
        msgs = body.get("messages")
        if not msgs or any(m.get("role") not in ("user", "assistant") for m in msgs):
            raise ValueError("a Converse modelInput needs messages with role user|assistant")
        if any(not isinstance(m.get("content"), list) for m in msgs):
            raise ValueError("Converse message content must be a list of content blocks")
        if "modelId" in body:
            raise ValueError("modelId belongs in the job request, not in a Converse modelInput")
    elif style == "InvokeModel":
        if not ({"messages", "prompt", "inputText"} & set(body)):
            raise ValueError("an InvokeModel modelInput needs messages, prompt or inputText")
        if "anthropic_version" in body and not isinstance(body.get("max_tokens"), int):
            raise ValueError("Anthropic InvokeModel bodies need an integer max_tokens")
    else:
        raise ValueError(f"unknown modelInvocationType {style!r}; use InvokeModel or Converse")


@dataclass
class SegmentRecords:
    """The JSONL records of one segment and what had to be approximated to build them.

    The records are held in ``records``, or, when built with a ``spool`` file, written there
    one line each (``records`` stays empty and ``sizes`` gives each line's bytes): a job
    group's input can be gigabytes, and spooled it never is in memory at once.
    """

    style: str  # InvokeModel | Converse
    records: list[dict[str, Any]]
    request_ids: list[str]
    missing_user_text: int = 0  # rows whose user turn was not logged: placeholder used
    media_user_turns: int = 0  # rows whose user turn sent media, inline or by reference
    missing_system_text: int = 0  # rows whose template text is not in prompts.parquet
    default_max_tokens_used: int = 0  # rows that set no max_tokens
    record_ids: list[str] = field(default_factory=list)
    spool: Path | None = None  # the records as JSONL, when written out instead of held
    sizes: list[int] = field(default_factory=list)  # each spooled line's bytes
    digests: bytearray = field(default_factory=bytearray)  # each record's record_digest

    def record_digests(self) -> bytes:
        """Every record's :func:`record_digest`, one after the other: as built, or, for
        records not built by :class:`RecordBuilder`, from their bodies."""
        if len(self.digests) == RECORD_DIGEST_SIZE * len(self.request_ids):
            return bytes(self.digests)
        return b"".join(
            record_digest(request_id, body)
            for request_id, body in zip(self.request_ids, self._bodies(), strict=True)
        )

    def _bodies(self) -> Iterator[dict[str, Any]]:
        """Every record's ``modelInput``, spooled ones read back a line at a time."""
        if self.spool is None:
            yield from (record["modelInput"] for record in self.records)
            return
        with self.spool.open("rb") as lines:
            yield from (json.loads(line)["modelInput"] for line in lines)

    def lines(self) -> list[bytes]:
        """Every record as a JSONL line, in memory (spooled ones read back from the file:
        for a large group, read the spool file itself instead)."""
        if self.spool is not None:
            return self.spool.read_bytes().splitlines(keepends=True)
        return [record_line(r) for r in self.records]


def record_line(record: dict[str, Any]) -> bytes:
    """One JSONL line of a batch input file."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


# The usage columns a record is rebuilt from (``app`` names the job group's owner).
RECORD_COLUMNS = [
    "request_id", "app", "operation", "model", "provider", "family", "system_hash",
    "user_text", "media_sent", "max_tokens", "temperature",
]  # fmt: skip


def records_for_segment(
    rows: pd.DataFrame,
    prompts: pd.DataFrame | None,
    *,
    style: str | None = None,
    default_max_tokens: int = 4096,
    spool: Path | None = None,
) -> SegmentRecords:
    """Batch records for the usage ``rows`` of one segment (one model, one template).

    The prompt is rebuilt as system template text + ``user_text``; a missing user turn is
    replaced by :data:`PLACEHOLDER_USER_TEXT` and counted, never silently dropped. With
    ``spool``, the records are written to that file as JSONL instead of held (see
    :class:`SegmentRecords`); rows are read a slice at a time either way. To supply the user
    turns apart from ``rows`` (a job group's can be gigabytes), use :class:`RecordBuilder`.
    """
    builder = RecordBuilder(
        rows, prompts, style=style, default_max_tokens=default_max_tokens, spool=spool
    )
    builder.add(len(rows))
    return builder.finish()


def new_spool(folder: Path) -> Path:
    """An empty spool file of its own in ``folder`` (another export may write there too)."""
    handle, name = tempfile.mkstemp(dir=folder, prefix=".spool-", suffix=".jsonl")
    os.close(handle)
    return Path(name)


class RecordBuilder:
    """One segment's records, built a run of rows at a time (``add``), then ``finish``.

    Batch export feeds several job groups' builders from one pass over the user turns, read
    a row group at a time, so no group's turns are read twice and none is held whole.
    """

    def __init__(
        self,
        rows: pd.DataFrame,
        prompts: pd.DataFrame | None,
        *,
        style: str | None = None,
        default_max_tokens: int = 4096,
        spool: Path | None = None,
    ) -> None:
        if rows.empty:
            raise ValueError("no usage rows to export")
        self.rows = rows
        self.templates = segments.template_texts(prompts)
        self.provider = _mode(rows["provider"]) if "provider" in rows.columns else None
        self.family = _mode(rows["family"]) if "family" in rows.columns else None
        self.model = _mode(rows["model"]) if "model" in rows.columns else None
        self.default_max_tokens = default_max_tokens
        style = style or record_style(_mode(rows["operation"]), self.provider, self.family)
        self.out = SegmentRecords(style=style, records=[], request_ids=[], spool=spool)
        if spool is not None:
            spool.write_bytes(b"")  # records are appended by each ``add``
        self.done = 0  # rows built so far

    def add(self, stop: int, user_text: Any = None) -> None:
        """Build the records of ``rows[done:stop]``; ``user_text``: their user turns, when
        ``rows`` does not hold them. Spooled records are appended to the spool file."""
        out = self.out
        sink = out.spool.open("ab") if out.spool is not None else None
        try:
            for start in range(self.done, stop, ROWS_PER_SLICE):
                end = min(start + ROWS_PER_SLICE, stop)
                part = self.rows.iloc[start:end]
                if user_text is not None:
                    part = part.assign(user_text=user_text[start - self.done : end - self.done])
                turns = part["user_text"]
                no_text = np.concatenate([turns_without_text(v) for *_, v in text_parts(turns)])
                sent_media = any_media(media_sent_by_request(part))
                flags = zip(no_text, sent_media, strict=True)
                for row, (blank, media) in zip(part.itertuples(index=False), flags, strict=True):
                    record = _record(
                        row, out, self.templates, (self.provider, self.family, self.model),
                        self.default_max_tokens, no_text=bool(blank), sent_media=bool(media),
                    )  # fmt: skip
                    out.record_ids.append(record["recordId"])
                    out.request_ids.append(str(row.request_id))
                    out.digests += record_digest(out.request_ids[-1], record["modelInput"])
                    if sink is None:
                        out.records.append(record)
                    else:
                        line = record_line(record)
                        sink.write(line)
                        out.sizes.append(len(line))
        finally:
            if sink is not None:
                sink.close()
        self.done = stop

    def finish(self) -> SegmentRecords:
        if self.done != len(self.rows):
            raise ValueError(f"records built for {self.done:,} of {len(self.rows):,} rows")
        out = self.out
        if len(set(out.record_ids)) != len(out.record_ids):
            raise ValueError(_collision(out.record_ids, out.request_ids))
        return out


def _collision(record_ids: list[str], request_ids: list[str]) -> str:
    """Why two records of a job group share a record ID (results come back by record ID, so
    each is unique in a job's input): one request ID in the table twice, or, about as likely
    as 1 in 10^8 for a million requests, two request IDs whose hashes agree."""
    seen: dict[str, str] = {}
    for rec_id, req_id in zip(record_ids, request_ids, strict=True):
        if rec_id not in seen:
            seen[rec_id] = req_id
            continue
        other = seen[rec_id]
        if other == req_id:
            return (
                f"request ID {req_id!r} is in the usage table twice, and a batch job takes one "
                "record per request: check the run's ingest, which keeps one row per request ID"
            )
        return (
            f"request IDs {other!r} and {req_id!r} share the record ID {rec_id!r} (their "
            "hashes agree): export them from runs over different periods"
        )
    return "record IDs collide within the job group"


ROWS_PER_SLICE = 4096  # rows turned into Python objects at a time (a month's text is GBs)


def _record(
    row: Any,
    out: SegmentRecords,
    templates: dict[str, str],
    target: tuple[str | None, str | None, str | None],
    default_max_tokens: int,
    *,
    no_text: bool,
    sent_media: bool,
) -> dict[str, Any]:
    """One validated record from one usage row; counts what it approximates in ``out``.

    ``target``: the segment's (provider, family, catalog key), which pick the body format;
    ``no_text``: the row's user turn holds no text (:func:`turns_without_text`);
    ``sent_media``: it sent media (``media_blocks.media_sent_by_request``)."""
    system = None
    if pd.notna(row.system_hash):
        system = templates.get(str(row.system_hash))
        if system is None:
            out.missing_system_text += 1
    user = str(row.user_text)
    if no_text:
        out.missing_user_text += 1
        user = PLACEHOLDER_USER_TEXT
    elif sent_media:  # a placeholder or a block's JSON, never the media block itself
        out.media_user_turns += 1
    max_tokens = int(row.max_tokens) if pd.notna(row.max_tokens) else None
    if max_tokens is None:
        out.default_max_tokens_used += 1
        max_tokens = default_max_tokens
    temperature = float(row.temperature) if pd.notna(row.temperature) else None
    if out.style == "Converse":
        body = converse_input(system, user, max_tokens, temperature)
    else:
        provider, family, model = target
        body = invoke_model_input(
            str(provider), family, system, user, max_tokens, temperature, model=model
        )
    record = {"recordId": record_id(row.request_id), "modelInput": body}
    validate_record(record, out.style)
    return record


def _mode(series: pd.Series) -> str | None:
    s = series.dropna()
    return None if s.empty else str(s.astype(str).mode().iat[0])


# the keys whose string values are prompt text in the bodies :func:`invoke_model_input` writes
# ("content": a Mistral chat message's text, given as a string)
_TEXT_KEYS = {"text", "system", "prompt", "inputText", "content"}


def redacted_record(record: dict[str, Any], show: bool) -> dict[str, Any]:
    """A copy of a record with prompt text redacted unless ``show`` (for notebook display)."""
    from bedrock_finops.notebook import redact

    def walk(obj: Any, key: str | None = None) -> Any:
        if isinstance(obj, dict):
            return {k: walk(v, k) for k, v in obj.items()}
        if isinstance(obj, list):
            return [walk(v, key) for v in obj]
        if isinstance(obj, str) and key in _TEXT_KEYS:
            return redact(obj, show)
        return obj

    return walk(record)


def read_jsonl(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The records of a batch input file, line by line; the first ``limit`` only if given
    (an input file can be 1 GB: showing one record need not read them all)."""
    out: list[dict[str, Any]] = []
    with Path(path).open(encoding="utf-8") as f:
        for line in f:
            if limit is not None and len(out) >= limit:
                break
            if line.strip():
                out.append(json.loads(line))
    return out
