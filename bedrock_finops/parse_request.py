"""Request bodies: prompt text (tools, system, turns), inference parameters, service tier.

Covers the Converse API, Anthropic messages, Llama (chat header format), Mistral ([INST] and
chat), Titan and Nova request bodies; also the OpenAI chat form (gpt-oss and others on
InvokeModel), Cohere Command R chat and DeepSeek-R1's prompt template.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from bedrock_finops.media_blocks import (
    MediaItem,
    cites,
    document_content_media,
    image_list_placeholders,
    inline_media,
    placeholder,
    referenced_media,
    without_inline_media,
)
from bedrock_finops.parse_scalars import as_float, as_int

_LLAMA_HEADER = "<|start_header_id|>"
_LLAMA_ROLE_RE = re.compile(r"(\w+)<\|end_header_id\|>")
_LLAMA_EOT = "<|eot_id|>"
_LLAMA_EOM = "<|eom_id|>"  # Llama 3.1 ends a turn that calls a tool with it (same length)
# Llama 4's header format: <|header_start|>ROLE<|header_end|>TEXT<|eot|> (<|eom|> after a
# tool's output)
_LLAMA4_HEADER = "<|header_start|>"
_LLAMA4_ROLE_RE = re.compile(r"(\w+)<\|header_end\|>")
_LLAMA4_EOT, _LLAMA4_EOM = "<|eot|>", "<|eom|>"
# DeepSeek-R1's prompt template markers (fullwidth bars, U+2581 for the spaces)
_DS_BEGIN = "<\uff5cbegin\u2581of\u2581sentence\uff5c>"
_DS_END = "<\uff5cend\u2581of\u2581sentence\uff5c>"
_DS_USER = "<\uff5cUser\uff5c>"
_DS_ASSISTANT = "<\uff5cAssistant\uff5c>"
# roles whose message is the system prompt: Mistral chat's "system", OpenAI's "developer"
_SYSTEM_ROLES = frozenset(("system", "developer"))
# Cohere Command R chat_history roles
_COHERE_ROLES = {"USER": "user", "CHATBOT": "assistant", "TOOL": "user"}


def canonical(obj: Any) -> bytes:
    """Canonical JSON: sorted keys, no whitespace, so identical bodies hash alike.

    A value nested deeper than orjson writes (a tool schema 500 levels deep is valid JSON,
    and AWS logs it) is written by :func:`_canonical_deep` instead: the same rules, as
    ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` gives them.
    The result is as deterministic (the same value always takes the same route); only its
    number formatting may differ from orjson's (``1e+20`` for ``1e20``).
    """
    try:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError as exc:
        if not is_too_deep(exc):
            raise
    return _canonical_deep(obj)


def is_too_deep(exc: BaseException) -> bool:
    """Whether orjson refused to write a value for its nesting depth."""
    return isinstance(exc, orjson.JSONEncodeError) and str(exc) == "Recursion limit reached"


class _Raw(str):
    """Output text :func:`_canonical_deep` writes as it stands (not a JSON string value)."""


_OPEN_OBJ, _CLOSE_OBJ, _OPEN_ARR, _CLOSE_ARR = _Raw("{"), _Raw("}"), _Raw("["), _Raw("]")
_COMMA = _Raw(",")
_SCALAR = json.JSONEncoder(ensure_ascii=False).encode  # a string, number, bool or null


def _canonical_deep(obj: Any) -> bytes:
    """``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
    without recursion, so that no depth is too deep (the stdlib encoder recurses, and stops
    near Python's recursion limit, ~1,000 levels less the caller's stack)."""
    out: list[str] = []
    todo: list[Any] = [obj]  # popped from the end: pushed in reverse
    while todo:
        item = todo.pop()
        if type(item) is _Raw:
            out.append(item)
        elif isinstance(item, dict):
            out.append(_OPEN_OBJ)
            todo.append(_CLOSE_OBJ)
            for i, key in enumerate(sorted(item, reverse=True)):
                todo.append(item[key])
                todo.append(_Raw(_SCALAR(key) + ":"))
                if i < len(item) - 1:
                    todo.append(_COMMA)
        elif isinstance(item, (list, tuple)):
            out.append(_OPEN_ARR)
            todo.append(_CLOSE_ARR)
            for i in range(len(item) - 1, -1, -1):
                todo.append(item[i])
                if i:
                    todo.append(_COMMA)
        else:
            out.append(_SCALAR(item))
    return "".join(out).encode()


def canonical_request(body: dict, markers: bool) -> bytes:
    """``canonical(body)`` in its request-hash form: without prompt-cache markers, and with a
    text given in its shorthand written as the one text block it stands for.

    A ``cachePoint`` block or a ``cache_control`` key changes how a request is billed, not
    what it asks: turning caching on must not make the same request look new. ``markers``:
    whether :func:`prompt_parts` met any (it walks every place a marker may be), so a body
    without them is serialised once and not searched. The shorthand: see :func:`_shorthand`
    and, in an Anthropic body, :func:`_tool_result_text`.
    """
    if markers or _shorthand(body) or ("anthropic_version" in body and _tool_result_text(body)):
        body = _request_form(body, markers)
    return canonical(body)


def _text_block(text: str) -> dict:
    return {"type": "text", "text": text}


def _shorthand(body: dict) -> bool:
    """Whether ``body`` gives its ``system`` prompt or a message's ``content`` as a string.

    Anthropic messages take ``"system": "S"`` for ``[{"type": "text", "text": "S"}]`` and
    ``"content": "hi"`` for ``[{"type": "text", "text": "hi"}]`` (and a ``cache_control``
    marker needs the list form), and a ``tool_result`` block's ``"content": "21C"`` for
    ``[{"type": "text", "text": "21C"}]``; the OpenAI chat form (gpt-oss) and Mistral chat take a
    message's content either way too, with the same text block. The request hash reads both
    as the block, as the prompt text already does. Converse and Nova take lists only, and
    the other bodies (Llama, Titan, Cohere, DeepSeek) have no such alternative."""
    if type(body.get("system")) is str:
        return True
    messages = body.get("messages")
    if type(messages) is list:
        for m in messages:
            if type(m) is dict and type(m.get("content")) is str:
                return True
    return False


def _tool_result_text(body: dict) -> bool:
    """Whether an Anthropic ``tool_result`` in a user turn of ``body`` gives its content as
    a string: the shorthand of one text block there too. (Loops, not ``any(map(...))``: it
    runs on every Anthropic body, and a call per block costs more than the check.)"""
    messages = body.get("messages")
    if type(messages) is not list:
        return False
    for m in messages:
        if type(m) is dict and m.get("role") == "user":
            content = m.get("content")
            if type(content) is list:
                for b in content:
                    if (
                        type(b) is dict
                        and b.get("type") == "tool_result"
                        and type(b.get("content")) is str
                    ):
                        return True
    return False


def _is_tool_result_text(block: Any) -> bool:
    return (
        type(block) is dict
        and block.get("type") == "tool_result"
        and type(block.get("content")) is str
    )


def _tool_result_form(block: dict) -> dict:
    return {**block, "content": [_text_block(block["content"])]}


def _request_form(body: dict, markers: bool) -> dict:
    """``body`` as the request hash reads it (see :func:`canonical_request`): a string
    ``system`` or message ``content`` as one text block, and, when it has ``markers``, none
    where Bedrock takes them (and ``prompt_parts`` looks): the tool list, system blocks and
    message content blocks. Only what changes is copied."""
    out = dict(body)
    if markers and isinstance(body.get("tools"), list):
        out["tools"] = _unmarked(body["tools"])
    cfg = body.get("toolConfig")
    if markers and isinstance(cfg, dict) and isinstance(cfg.get("tools"), list):
        out["toolConfig"] = {**cfg, "tools": _unmarked(cfg["tools"])}
    system = body.get("system")
    if isinstance(system, str):
        out["system"] = [_text_block(system)]
    elif markers and isinstance(system, list):
        out["system"] = _unmarked(system)
    messages = body.get("messages")
    if isinstance(messages, list):
        anthropic = "anthropic_version" in body  # as _tool_result_text reads them
        out["messages"] = [_message_form(m, markers, anthropic) for m in messages]
    return out


def _message_form(m: Any, markers: bool, anthropic: bool) -> Any:
    if isinstance(m, dict):
        content = m.get("content")
        if isinstance(content, str):
            return {**m, "content": [_text_block(content)]}
        if isinstance(content, list):
            if anthropic and m.get("role") == "user" and any(map(_is_tool_result_text, content)):
                content = [_tool_result_form(b) if _is_tool_result_text(b) else b for b in content]
            elif not markers:
                return m  # nothing to change
            return {**m, "content": _unmarked(content) if markers else content}
    return m


def _unmarked(blocks: list, ttl: list[str] | None = None) -> list:
    """``blocks`` without ``cachePoint`` blocks and ``cache_control`` keys, also on the blocks
    inside an Anthropic ``tool_result``. Appends each marker's TTL to ``ttl`` when given."""
    out = []
    for b in blocks:
        if isinstance(b, dict):
            if "cachePoint" in b:
                if ttl is not None:
                    ttl.append(_marker_ttl(b["cachePoint"]))
                continue
            if "cache_control" in b:
                if ttl is not None:
                    ttl.append(_marker_ttl(b["cache_control"]))
                b = {k: v for k, v in b.items() if k != "cache_control"}
            if b.get("type") == "tool_result" and isinstance(b.get("content"), list):
                b = {**b, "content": _unmarked(b["content"], ttl)}
        out.append(b)
    return out


def _block_offsets(parts: list[str | None], media_counts: list[int]) -> list[tuple[int, int]]:
    """(length of the joined text, inline media items met) after each block but the last
    that adds text (cache markers are no block; an empty block adds none): where a
    checkpoint between two blocks would fall, and the images and documents before it."""
    offsets: list[tuple[int, int]] = []
    length = 0
    first = True
    pending = None
    for part, media in zip(parts, media_counts, strict=True):
        if part is None:
            continue
        if pending is not None:
            offsets.append(pending)
            pending = None
        length += len(part) + (0 if first else 1)  # the newline joining it to the one before
        first = False
        if part:
            pending = (length, media)
    return offsets


def _marker_ttl(marker: Any) -> str:
    return "1h" if isinstance(marker, dict) and marker.get("ttl") == "1h" else "5m"


def _block_text(block: Any, ttl: list[str], media: list[MediaItem] | None = None) -> str | None:
    """Text of one content block; None for a cache marker (not content).

    Appends each cache marker's TTL ("5m" or "1h") to ``ttl``, and each image or document
    (see :mod:`media_blocks`: inline, or by reference) to ``media`` when given.
    """
    if isinstance(block, str):
        return block
    if not isinstance(block, dict):  # as JSON, as other blocks are: str() of a list nested
        return canonical(block).decode()  # 1,000 deep stops Python 3.11 (3.13 reads it)
    if "cachePoint" in block:  # Converse cache checkpoint
        ttl.append(_marker_ttl(block["cachePoint"]))
        return None
    if "cache_control" in block:  # Anthropic's marker on the block it ends
        ttl.append(_marker_ttl(block["cache_control"]))
    text = block.get("text")
    if isinstance(text, str):
        return text
    if block.get("type") == "text":
        return ""
    guarded = block.get("guardContent")  # Converse: text a guardrail checks is still prompt
    if type(guarded) is dict and type(guarded.get("text")) is dict:
        inner = guarded["text"].get("text")
        if type(inner) is str:
            return inner
    if "reasoningContent" in block or block.get("type") in _THINKING_TYPES:
        return _thinking_text(block)
    found = inline_media(block)
    if found is not None:  # base64 media: a short placeholder, not the bytes as text
        text, item = placeholder(*found)
        if media is not None:
            media.append(item._replace(citations=True) if cites(block) else item)
        return text
    # tool use / tool result / media by reference: canonical JSON without the cache markers
    clean = {k: v for k, v in block.items() if k != "cache_control"}
    if media is not None and (item := referenced_media(clean)) is not None:
        media.append(item)
    if clean.get("type") == "document":  # Anthropic: the images a content source holds
        clean = document_content_media(clean, media)
    if _is_tool_result_text(clean):  # the same text as its one-block form
        clean = _tool_result_form(clean)
    if clean.get("type") == "tool_result" and isinstance(clean.get("content"), list):
        inner = _unmarked(clean["content"], ttl)  # markers on the blocks inside
        clean["content"] = without_inline_media(inner, media)
    result = clean.get("toolResult")  # Converse: images and documents a tool returned
    if isinstance(result, dict) and isinstance(result.get("content"), list):
        clean["toolResult"] = {**result, "content": without_inline_media(result["content"], media)}
    return canonical(clean).decode()


_THINKING_TYPES = frozenset(("thinking", "redacted_thinking"))


def _thinking_text(block: dict) -> str:
    """An earlier answer's reasoning sent back: its text (Anthropic's ``thinking``,
    Converse's ``reasoningContent.reasoningText.text``). The signature that proves it and
    redacted reasoning are encrypted bytes, not text the model reads as tokens: nothing."""
    thinking = block.get("thinking")
    if isinstance(thinking, str):
        return thinking
    reasoning = block.get("reasoningContent")
    if isinstance(reasoning, dict):
        text = reasoning.get("reasoningText")
        if isinstance(text, dict) and isinstance(text.get("text"), str):
            return text["text"]
    return ""


def content_text(
    content: Any,
    ttl: list[str],
    media: list[MediaItem] | None = None,
    marks: list[tuple[int, int]] | None = None,
) -> str:
    """The text of a message's (or system prompt's) content, blocks joined by newlines.

    When ``marks`` is given, it gets (length of the text, media items met) after each block
    but the last (:func:`_block_offsets`): the places a checkpoint inside the message can go
    (``media`` must then start empty: the count is of its items)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        if len(content) == 1:  # the common case, one text block: what _block_text gives it
            only = content[0]
            if type(only) is dict and "cachePoint" not in only and "cache_control" not in only:
                text = only.get("text")
                if type(text) is str:
                    return text
        if marks is None:
            parts = [_block_text(b, ttl, media) for b in content]
        else:
            parts, counts = [], []
            for b in content:
                parts.append(_block_text(b, ttl, media))
                counts.append(0 if media is None else len(media))
            marks.extend(_block_offsets(parts, counts))
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


# the key of ``prompt_parts``'s media for the system prompt's, before every turn's index
SYSTEM_MEDIA = -1


def prompt_parts(
    body: dict,
    ttl: list[str],
    media: dict[int, list[MediaItem]] | None = None,
    system_blocks: list[str] | None = None,
    marks: dict[int, list[tuple[int, int]]] | None = None,
) -> tuple[str | None, str | None, list]:
    """(tools JSON, system text, [(role, text), ...]) from any supported request body.

    An empty system prompt (``"system": []`` or ``""``) is None, as an empty tool list is:
    the prompt is the same as without one.

    Appends the TTL of every cache marker met to ``ttl``. When ``media`` is given, it gets
    ``turn index -> [MediaItem]``: the images and documents of that turn, those sent inline
    held in its text only as placeholders (:mod:`media_blocks`); :data:`SYSTEM_MEDIA` for
    those of the system prompt (an image in a Converse ``guardContent`` block), which add no
    tokens to its position (not estimated). When ``system_blocks`` is given
    and the system prompt has several text blocks, it gets their texts (the system text is
    them joined by newlines): each block boundary is a place a cache checkpoint can go.
    When ``marks`` is given, it gets ``turn index -> [(length of the text, inline media
    items) after each block but the last]`` for each message of several blocks, as
    ``system_blocks`` does for the system prompt.
    """
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
    system_text = None
    held: list[MediaItem] | None = [] if media is not None else None
    if isinstance(system, list) and len(system) > 1 and system_blocks is not None:
        texts = [t for t in (_block_text(b, ttl, held) for b in system) if t]  # "": no block
        system_text = "\n".join(texts)
        if len(texts) > 1:
            system_blocks.extend(texts)
    elif system is not None:
        system_text = content_text(system, ttl, held)
    if held and media is not None:
        media[SYSTEM_MEDIA] = held
    messages = body.get("messages")
    turns: list[tuple[str, str]] = []
    if isinstance(messages, list):
        found: list[MediaItem] = []
        for m in messages:
            if isinstance(m, dict):
                role = m.get("role") or "user"
                if role in _SYSTEM_ROLES:  # Mistral and OpenAI chat: the system prompt is a message
                    text = content_text(m.get("content"), ttl)
                    if text:  # an empty one adds nothing, not a line break
                        system_text = text if not system_text else system_text + "\n" + text
                    continue
                inside: list[tuple[int, int]] | None = [] if marks is not None else None
                text = content_text(m.get("content"), ttl, found, inside)
                if inside:
                    marks[len(turns)] = inside  # type: ignore[index]
                if found:
                    if media is not None:
                        media[len(turns)] = list(found)
                    found.clear()
                calls = m.get("tool_calls")
                if calls:  # Mistral chat: the tools an assistant turn called are prompt too
                    called = canonical(calls).decode()
                    text = f"{text}\n{called}" if text else called
                turns.append((role, text))
    elif isinstance(body.get("prompt"), str):
        prompt = body["prompt"]
        if "max_tokens_to_sample" in body and _HUMAN in prompt:  # Claude's text completions
            system, turns = _human_assistant_turns(prompt)
            system_text = system or system_text
        else:  # another model's prompt may quote the markers
            system_text, turns = _split_raw_prompt(prompt, system_text)
        if body.get("images"):  # Llama 3.2 vision: what the prompt's <|image|> tags stand for
            _add_image_list(body["images"], turns, media)
    elif isinstance(body.get("inputText"), str):
        turns.append(("user", body["inputText"]))
    elif isinstance(body.get("message"), str):  # Cohere Command R chat
        system_text, turns = _cohere_chat(body, system_text)
    else:
        text = _non_chat_prompt(body)
        if text is not None:
            turns.append(("user", text))
    return tools_text, system_text or None, turns  # "": no system prompt


def _non_chat_prompt(body: dict) -> str | None:
    """The text an embedding, image or rerank request sends: Cohere Embed's ``texts`` and
    Stability SDXL's ``text_prompts`` (one per line), Titan Image's and Nova Canvas's
    ``textToImageParams.text``, a rerank query."""
    texts = body.get("texts")
    if isinstance(texts, list) and texts and all(isinstance(t, str) for t in texts):
        return "\n".join(texts)
    prompts = body.get("text_prompts")  # Stability SDXL: [{"text": ..., "weight": ...}]
    if isinstance(prompts, list) and prompts:
        found = [
            p["text"] for p in prompts if isinstance(p, dict) and isinstance(p.get("text"), str)
        ]
        if found:
            return "\n".join(found)
    params = body.get("textToImageParams")
    if isinstance(params, dict) and isinstance(params.get("text"), str):
        return params["text"]
    query = body.get("query")
    return query if isinstance(query, str) else None


def _cohere_chat(body: dict, system_text: str | None) -> tuple[str | None, list]:
    """Cohere Command R: ``preamble`` is the system prompt; ``chat_history`` the earlier turns;
    the ``documents`` to ground on, then ``message``, the last user turn; then the
    ``tool_results`` sent back, a user turn as a TOOL turn of the history is (with them,
    ``message`` may be empty: it is then no turn)."""
    preamble = body.get("preamble")
    if isinstance(preamble, str):
        system_text = preamble
    turns: list[tuple[str, str]] = []
    history = body.get("chat_history")
    for m in history if isinstance(history, list) else ():
        if not isinstance(m, dict):
            continue
        role = str(m.get("role") or "USER").upper()
        text = _cohere_turn_text(m)
        if role == "SYSTEM":
            system_text = text if system_text is None else system_text + "\n" + text
        else:
            turns.append((_COHERE_ROLES.get(role, role.lower()), text))
    if body.get("documents"):  # what the answer is grounded on: prompt, not the question
        turns.append(("documents", canonical(body["documents"]).decode()))
    message = body["message"]
    results = body.get("tool_results")
    if not results or (message and not message.isspace()):
        turns.append(("user", message))
    if results:
        turns.append(("user", canonical(results).decode()))
    return system_text, turns


def _cohere_turn_text(m: dict) -> str:
    """A Cohere chat_history turn's text: its ``message``, then the ``tool_calls`` a CHATBOT
    turn made and the ``tool_results`` a TOOL turn returned, as canonical JSON."""
    text = content_text(m.get("message"), [])
    for key in ("tool_calls", "tool_results"):
        if m.get(key):
            added = canonical(m[key]).decode()
            text = f"{text}\n{added}" if text else added
    return text


def _add_image_list(
    images: Any, turns: list[tuple[str, str]], media: dict[int, list[MediaItem]] | None
) -> None:
    """Llama's ``images`` as placeholders in the turn holding the first ``<|image|>`` tag
    (else the first user turn)."""
    items: list[MediaItem] = []
    shown = image_list_placeholders(images, items)
    if not shown:
        return
    if not turns:
        turns.append(("user", ""))
    tagged = [i for i, (_, text) in enumerate(turns) if "<|image|>" in text]
    users = [i for i, (role, _) in enumerate(turns) if role == "user"]
    at = (tagged or users or [0])[0]
    role, text = turns[at]
    turns[at] = (role, f"{text}\n{shown}" if text else shown)
    if media is not None:
        media[at] = media.get(at, []) + items


def _split_raw_prompt(prompt: str, system_text: str | None) -> tuple[str | None, list]:
    """Llama 3 or Llama 4 header format, Mistral [INST] format or DeepSeek-R1's template ->
    system and turns; else one turn."""
    # the format whose header comes first (a prompt of one may quote the other's markers);
    # Llama 4's is looked for only before Llama 3's, so a Llama 3 prompt is not searched
    i3 = prompt.find(_LLAMA_HEADER)
    if prompt.find(_LLAMA4_HEADER, 0, i3 if i3 >= 0 else len(prompt)) >= 0:
        pairs = _llama4_turns(prompt)
    elif i3 >= 0:
        pairs = _llama_turns(prompt)
    else:
        pairs = None
    if pairs is not None:
        turns = []
        for role, text in pairs:
            text = text.strip()
            if role == "system":
                system_text = text
            elif text or role != "assistant":
                turns.append((role, text))
        if turns or system_text:
            return system_text, turns
    if "[INST]" in prompt:
        system, turns = _inst_turns(prompt)
        if turns:
            return system or system_text, turns
    if _DS_USER in prompt:
        system, turns = _deepseek_turns(prompt)
        if turns:
            return system or system_text, turns
    return system_text, [("user", prompt)]


_HUMAN = "\n\nHuman:"
_HUMAN_ASSISTANT_RE = re.compile(r"\n\n(Human|Assistant):")


def _human_assistant_turns(prompt: str) -> tuple[str | None, list[tuple[str, str]]]:
    """Anthropic's text completions (Claude v2, Instant; the body has ``max_tokens_to_sample``,
    which that API requires): ``SYSTEM\n\nHuman: Q\n\nAssistant: A\n\nHuman: Q2\n\nAssistant:``.
    The text before the first ``Human:`` is the system prompt; an empty ``Assistant:`` (the
    last is where the model starts to write) is no turn."""
    parts = _HUMAN_ASSISTANT_RE.split(prompt)
    system = parts[0].strip() or None
    turns: list[tuple[str, str]] = []
    for marker, text in zip(parts[1::2], parts[2::2], strict=True):
        text = text.strip()
        if marker == "Human":
            turns.append(("user", text))
        elif text:
            turns.append(("assistant", text))
    return system, turns


def _deepseek_turns(prompt: str) -> tuple[str | None, list[tuple[str, str]]]:
    """DeepSeek-R1's template -> (system text, turns): the text before the first user marker
    (after the begin marker) is the system prompt; each ``<｜User｜>`` opens a user turn, each
    ``<｜Assistant｜>`` an assistant turn, which an empty or ``<think>``-only tail does not
    make (it is where the model starts to write)."""
    head, *parts = prompt.split(_DS_USER)
    system = head.replace(_DS_BEGIN, "").strip() or None
    turns: list[tuple[str, str]] = []
    for part in parts:
        user, _, answers = part.partition(_DS_ASSISTANT)
        turns.append(("user", user.strip()))
        for answer in answers.split(_DS_ASSISTANT) if answers else ():
            answer = answer.replace(_DS_END, "").strip()
            if answer and answer != "<think>":
                turns.append(("assistant", answer))
    return system, turns


def _llama_turns(prompt: str) -> list[tuple[str, str]]:
    """``<|start_header_id|>ROLE<|end_header_id|>TEXT<|eot_id|>`` -> [(ROLE, TEXT)].

    TEXT runs to the next ``<|eot_id|>`` (or Llama 3.1's ``<|eom_id|>``, which ends a turn
    that calls a tool, before the ``ipython`` turn with its result) or the end of the prompt.
    """
    return _header_turns(prompt, _LLAMA_HEADER, _LLAMA_ROLE_RE, _LLAMA_EOT, _LLAMA_EOM)


def _llama4_turns(prompt: str) -> list[tuple[str, str]]:
    """``<|header_start|>ROLE<|header_end|>TEXT<|eot|>`` -> [(ROLE, TEXT)] (Llama 4), the
    same way: TEXT runs to the next ``<|eot|>`` or ``<|eom|>``."""
    return _header_turns(prompt, _LLAMA4_HEADER, _LLAMA4_ROLE_RE, _LLAMA4_EOT, _LLAMA4_EOM)


def _header_turns(
    prompt: str, header: str, role_re: re.Pattern[str], eot: str, eom: str
) -> list[tuple[str, str]]:
    """Turns of a Llama header format. A turn's text runs from its header to its end marker
    (string search, not a lazy regex: prompts are long), so a header quoted inside a turn
    stays text. ``eom`` is as long as ``eot``: replacing it keeps every position."""
    if eom in prompt:
        prompt = prompt.replace(eom, eot)
    out = []
    pos = 0
    while (i := prompt.find(header, pos)) >= 0:
        m = role_re.match(prompt, i + len(header))
        if m is None:
            pos = i + 1
            continue
        end = prompt.find(eot, m.end())
        if end < 0:
            out.append((m.group(1), prompt[m.end() :]))
            break
        out.append((m.group(1), prompt[m.end() : end]))
        pos = end + len(eot)
    return out


def _inst_turns(prompt: str) -> tuple[str | None, list[tuple[str, str]]]:
    """``<s>[INST] Q1 [/INST] A1</s>[INST] Q2 [/INST]`` -> user Q1, assistant A1, user Q2.

    A user turn is the text between ``[INST]`` and the next ``[/INST]``; the answer after it
    runs to the next ``[INST]`` (without the ``</s>`` that ends it and the ``<s>`` that opens
    the next) and is a turn when not empty. Llama 2's ``<<SYS>>...<</SYS>>`` at the start of
    the first user turn is the system prompt.
    """
    out = []
    system = None
    pos = 0
    while (i := prompt.find("[INST]", pos)) >= 0:
        end = prompt.find("[/INST]", i + 6)
        if end < 0:
            break
        user = prompt[i + 6 : end].strip()
        if not out and user.startswith(_SYS_OPEN) and _SYS_CLOSE in user:
            head, _, user = user.partition(_SYS_CLOSE)
            system, user = head.removeprefix(_SYS_OPEN).strip() or None, user.strip()
        out.append(("user", user))
        pos = end + 7
        nxt = prompt.find("[INST]", pos)
        answer = prompt[pos : nxt if nxt >= 0 else len(prompt)].strip()
        before = answer.removesuffix("<s>").rstrip()
        if before.endswith("</s>"):  # the end of this answer, the start of the next exchange
            answer = before
        answer = answer.removesuffix("</s>").rstrip()
        if answer:
            out.append(("assistant", answer))
    return system, out


_SYS_OPEN = "<<SYS>>"
_SYS_CLOSE = "<</SYS>>"


_SETTINGS_HOLDERS = frozenset(
    ("tool_choice", "thinking", "output_config", "toolConfig", "additionalModelRequestFields")
)


def message_cache_settings(body: dict) -> bytes | None:
    """The settings that change the message part of a cached prompt without changing its text,
    as canonical JSON; None without any. Anthropic documents that a change of ``tool_choice``,
    of the thinking settings or of the effort level invalidates the cached messages (not the
    tools or the system prompt): Anthropic's ``tool_choice``, ``thinking`` and
    ``output_config.effort``; Converse's ``toolConfig.toolChoice``, and the ``thinking`` (or
    ``reasoning_config``) and ``output_config.effort`` of ``additionalModelRequestFields``."""
    if body.keys().isdisjoint(_SETTINGS_HOLDERS):  # most bodies: one C-speed check
        return None
    found = {}
    for key in ("tool_choice", "thinking"):
        if key in body:
            found[key] = body[key]
    if (effort := _effort(body)) is not None:
        found["effort"] = effort
    cfg = body.get("toolConfig")
    if type(cfg) is dict and "toolChoice" in cfg:
        found["toolChoice"] = cfg["toolChoice"]
    extra = body.get("additionalModelRequestFields")
    if type(extra) is dict:
        for key in ("thinking", "reasoning_config", "reasoningConfig"):
            if key in extra:
                found["extra." + key] = extra[key]
        if (effort := _effort(extra)) is not None:
            found["extra.effort"] = effort
    return canonical(found) if found else None


def _effort(fields: dict) -> Any:
    """``output_config.effort`` of a body (or of Converse's additional fields); None without.
    Only the effort: the rest of ``output_config`` (a structured output's format) is not
    documented as invalidating the cache."""
    cfg = fields.get("output_config")
    return cfg.get("effort") if type(cfg) is dict else None


def request_params(body: dict) -> tuple[int | None, float | None]:
    """(max_tokens, temperature) across Converse, Anthropic, Llama, Titan, Mistral, Nova,
    OpenAI chat, Cohere and AI21."""
    if "inferenceConfig" in body or "textGenerationConfig" in body:  # Converse, Nova; Titan
        cfg = body.get("inferenceConfig")
        if isinstance(cfg, dict):
            mt = cfg.get("maxTokens", cfg.get("max_new_tokens"))
            return as_int(mt), as_float(cfg.get("temperature"))
        tcfg = body.get("textGenerationConfig")
        if isinstance(tcfg, dict):
            return as_int(tcfg.get("maxTokenCount")), as_float(tcfg.get("temperature"))
    mt = body.get("max_tokens", body.get("max_gen_len", body.get("max_tokens_to_sample")))
    if mt is None:  # OpenAI chat (gpt-oss): max_completion_tokens; AI21 Jurassic-2: maxTokens
        mt = body.get("max_completion_tokens", body.get("maxTokens"))
    return as_int(mt), as_float(body.get("temperature"))


def service_tier(in_body: dict, out_body: Any) -> str:
    """The tier the response reports, else the one requested; for the standard tier (named
    ``default`` or not named), latency-optimized when that was set; else default.

    A stream reports its tier in its last event (ConverseStream's ``metadata``). The latency
    setting the response reports also wins over the request's: Bedrock may serve a request
    for optimized latency at the standard one.
    """
    out = _response_settings(out_body)
    if (
        "serviceTier" not in in_body
        and "performanceConfig" not in in_body
        and (out is None or ("serviceTier" not in out and "performanceConfig" not in out))
    ):
        return "default"  # the common case: nothing asks for another tier
    for src in (out or {}, in_body):
        tier = src.get("serviceTier")
        if isinstance(tier, dict):
            tier = tier.get("type")
        if isinstance(tier, str) and tier:
            if tier != "default":
                return tier
            break  # the standard tier, named: its latency setting still says which price
    for src in (out or {}, in_body):
        perf = src.get("performanceConfig")
        if isinstance(perf, dict) and isinstance(perf.get("latency"), str):
            return "latency-optimized" if perf["latency"] == "optimized" else "default"
    return "default"


def _response_settings(out_body: Any) -> dict | None:
    """Where a response reports its tier and latency setting: the body, or a stream's last
    ``metadata`` event."""
    if type(out_body) is dict:
        return out_body
    if type(out_body) is list and out_body and type(out_body[-1]) is dict:
        meta = out_body[-1].get("metadata")
        return meta if type(meta) is dict else None
    return None
