"""Response bodies: output text, stop reason, latency and usage; the shape of the output.

Reads non-streamed bodies of every supported format and streamed chunk lists (ConverseStream
events, Anthropic, Llama, Titan, Mistral, Cohere and legacy completion chunks); also OpenAI
chat (gpt-oss), DeepSeek and Cohere responses.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from bedrock_finops.line_scan import looks_like_code
from bedrock_finops.parse_request import canonical, content_text
from bedrock_finops.parse_scalars import as_float

_FENCE_RE = re.compile(r"^```[\w+-]*\s*\n(.*?)\n?```\s*$", re.S)
_PUNCT = "{}[]()<>;:=\"'`|\\/*&^%$#@!?,."
_DROP_PUNCT = str.maketrans("", "", _PUNCT)  # counting by deleting: C speed, not per character

CODE_SAMPLE_LINES = 40  # output_shape looks at the first lines only


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
    if "\n" not in s and len(s.split(maxsplit=3)) <= 3:  # at most three words, one line
        punct = len(s) - len(s.translate(_DROP_PUNCT))
        if punct <= max(1, len(s) // 10):
            return "label"
    return "code" if looks_like_code(s, CODE_SAMPLE_LINES) else "prose"


# calls whose models write no tokens: embeddings (Titan, Cohere, Nova multimodal), images
# (Titan Image, Nova Canvas, Stability) and rerank scores (Amazon, Cohere), told by the words
# of a Bedrock model ID, the response's keys, or, when the response was not read (it is under
# data/), the request's keys
NO_OUTPUT_TOKEN_MODEL_WORDS = ("embed", "image", "canvas", "rerank", "stability.")
# ARN resources whose name is a Bedrock model ID (a custom model's starts with its base's)
MODEL_ID_RESOURCES = ("foundation-model/", "inference-profile/", "custom-model/")
EMBEDDING_OUTPUT_KEYS = ("embedding", "embeddings", "embeddingsByType")
IMAGE_OUTPUT_KEYS = ("images", "artifacts")  # "artifacts": Stability's SDXL
NO_OUTPUT_TOKEN_REQUEST_KEYS = (
    "texts",  # Cohere Embed
    "dimensions",  # Titan Text Embeddings V2
    "embeddingConfig",  # Titan Multimodal Embeddings
    "textToImageParams",  # Titan Image, Nova Canvas (and their other task params below)
    "imageVariationParams",
    "inPaintingParams",
    "outPaintingParams",
    "colorGuidedGenerationParams",
    "backgroundRemovalParams",
    "text_prompts",  # Stability SDXL
)
EMBEDDING_TASKS = ("SINGLE_EMBEDDING", "SEGMENTED_EMBEDDING")  # Nova multimodal embeddings


def writes_no_tokens(model_raw: str, in_body: Any, out_body: Any) -> bool:
    """Whether a record is a call whose model writes no tokens: embeddings, images, rerank.

    AWS leaves ``outputTokenCount`` out of embedding records (they are billed on input tokens
    only); image and rerank models are billed per image or per query, not per output token.
    Such a record without the count is a row with 0 output tokens, not a fault. A chat body
    (messages, or Cohere's message) is a text model's, whatever its ID says; a ``prompt``
    (Stability takes one too) is decided by the ID or the response, not by other request keys.
    """
    if isinstance(in_body, dict) and ("messages" in in_body or "message" in in_body):
        return False
    if _model_id_words(model_raw):
        return True
    if isinstance(out_body, dict):
        if any(k in out_body for k in EMBEDDING_OUTPUT_KEYS + IMAGE_OUTPUT_KEYS):
            return True
        return _rerank_results(out_body.get("results"))
    if out_body is None and isinstance(in_body, dict) and "prompt" not in in_body:
        if any(k in in_body for k in NO_OUTPUT_TOKEN_REQUEST_KEYS):
            return True
        if "query" in in_body and "documents" in in_body:  # rerank
            return True
        return in_body.get("taskType") in EMBEDDING_TASKS
    return False


def _model_id_words(model_raw: str) -> bool:
    """Whether a Bedrock model ID (bare, or the model or system profile an ARN names) names an
    embedding, image or rerank model. Names users choose (an application profile's, an
    imported model's, a SageMaker endpoint's) say nothing."""
    lowered = model_raw.lower()
    if lowered.startswith("arn:"):
        resource = lowered.split(":", 5)[-1]
        if not resource.startswith(MODEL_ID_RESOURCES):
            return False
        lowered = resource.partition("/")[2]
    return any(word in lowered for word in NO_OUTPUT_TOKEN_MODEL_WORDS)


def _rerank_results(results: Any) -> bool:
    """A rerank response's results: entries with a relevance score (Cohere's and Amazon's)."""
    return (
        isinstance(results, list)
        and bool(results)
        and isinstance(results[0], dict)
        and ("relevance_score" in results[0] or "relevanceScore" in results[0])
    )


# keys of the non-Converse stream chunk formats (Anthropic, Llama, Titan, Mistral, legacy;
# Cohere Command's "generations", Command R's "event_type")
_OTHER_CHUNK_KEYS = frozenset(
    ("type", "generation", "outputText", "completion", "stop_reason", "completionReason")
    + ("outputs", "choices", "generations", "event_type")
)


_TEXT_CHUNK_KEYS = _OTHER_CHUNK_KEYS - {"type"}


# what Bedrock adds to the last chunk of an InvokeModelWithResponseStream response
INVOCATION_METRICS = "amazon-bedrock-invocationMetrics"


def _chunk_text_and_stop(
    chunks: list, think_tags: bool = False
) -> tuple[str, str | None, float | None, dict | None]:
    """Streamed chunks -> (text, stop reason, latency if a chunk has it, usage).

    The text is the answer's text deltas; a response that streamed only a tool call (Converse
    ``toolUse`` input, Anthropic ``input_json_delta``) gives the tool input's JSON instead, as
    the same call not streamed gives its tool-use block (text next to a tool call is the
    answer, streamed or not). Reasoning deltas are not the answer.
    """
    texts: list[str] = []
    calls: dict[int, list[str]] = {}  # each tool call's input pieces, by its index
    stop = None
    usage = None
    latency = None
    chose = False  # any text came from a choice (Mistral, OpenAI chat, DeepSeek)
    plan = False  # a Cohere tool plan's text came in tool-calls-chunk events
    for ch in chunks:
        if not isinstance(ch, dict):
            continue
        if "contentBlockDelta" in ch:  # ConverseStream
            delta = (ch["contentBlockDelta"] or {}).get("delta") or {}
            if isinstance(delta.get("text"), str):
                texts.append(delta["text"])
            elif isinstance(delta.get("toolUse"), dict):
                piece = delta["toolUse"].get("input")
                if isinstance(piece, str):
                    _add_piece(calls, ch["contentBlockDelta"].get("contentBlockIndex"), piece)
        elif "messageStop" in ch:
            stop = (ch["messageStop"] or {}).get("stopReason") or stop
        elif "metadata" in ch:
            meta = ch["metadata"] or {}
            usage = meta.get("usage") or usage
            latency = as_float((meta.get("metrics") or {}).get("latencyMs"))
        if _OTHER_CHUNK_KEYS.isdisjoint(ch):  # a Converse stream event: nothing more to read
            continue
        ctype = ch.get("type")
        if ctype == "content_block_delta":  # Anthropic messages stream
            delta = ch.get("delta") or {}
            if isinstance(delta.get("text"), str):
                texts.append(delta["text"])
            elif isinstance(delta.get("partial_json"), str):
                _add_piece(calls, ch.get("index"), delta["partial_json"])
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
        if ch.get("event_type") in COHERE_EVENTS:  # Cohere Command R
            plan = _cohere_event(ch, texts, calls, plan)
            stop = ch.get("finish_reason") or stop
            continue
        for key in ("outputs", "choices", "generations"):  # Mistral, OpenAI chat; Cohere
            items = ch.get(key)
            if isinstance(items, list) and items and isinstance(items[0], dict):
                item = items[0]
                if key == "generations" and item.get("index") not in (None, 0):
                    continue  # num_generations > 1: the first is the answer, as not streamed
                piece = item.get("text")
                if piece is None:
                    message = item.get("delta") or item.get("message") or {}
                    piece = message.get("content")
                    if message.get("tool_calls"):  # OpenAI chat: pieces of the calls' arguments
                        _choice_calls(message["tool_calls"], calls)
                if isinstance(piece, str):
                    texts.append(piece)
                    chose = True
                stop = item.get("stop_reason") or item.get("finish_reason") or stop
    if latency is None and chunks and isinstance(chunks[-1], dict):
        metrics = chunks[-1].get(INVOCATION_METRICS)
        if isinstance(metrics, dict):  # InvokeModelWithResponseStream: ms to the last token
            latency = as_float(metrics.get("invocationLatency"))
    text = "".join(texts)
    if chose:  # reasoning before the answer is only ever written in a choice's text
        text = _answer_text(text, think_tags)
    if calls and _blank(text):  # the tool calls are the answer
        text = _calls_json(calls)
    return text, stop, latency, usage


def _add_piece(calls: dict[int, list[str]], index: Any, piece: str) -> None:
    """A piece of a streamed tool call's input, to the call at ``index`` (0 when absent)."""
    calls.setdefault(index if type(index) is int else 0, []).append(piece)


def _choice_calls(tool_calls: Any, calls: dict[int, list[str]]) -> None:
    """OpenAI chat ``tool_calls`` (a stream's deltas, each naming its call's ``index``): the
    pieces of each call's ``function.arguments``."""
    for i, call in enumerate(tool_calls if type(tool_calls) is list else ()):
        function = call.get("function") if type(call) is dict else None
        arguments = function.get("arguments") if type(function) is dict else None
        if type(arguments) is str:
            index = call.get("index")
            _add_piece(calls, index if type(index) is int else i, arguments)


def _calls_json(calls: dict[int, list[str]]) -> str:
    """Streamed tool calls as JSON: one call's input, several calls' inputs as a list."""
    inputs = ["".join(pieces) or "{}" for pieces in calls.values()]  # no arguments: {}
    if len(inputs) == 1:
        return inputs[0]
    return "[" + ",".join(inputs) + "]"


# Cohere's v1 chat stream events (cohere-python, types/streamed_chat_response.py)
COHERE_EVENTS = frozenset(
    ("stream-start", "search-queries-generation", "search-results", "text-generation",
     "citation-generation", "tool-calls-generation", "tool-calls-chunk", "stream-end")
)  # fmt: skip


def _cohere_event(ch: dict, texts: list[str], calls: dict[int, list[str]], plan: bool) -> bool:
    """A Cohere Command R stream event: its answer text to ``texts``, its tool calls to
    ``calls``. ``text-generation`` carries a ``text`` piece; ``tool-calls-chunk`` a piece of
    the tool plan (``tool_call_delta.text``); ``tool-calls-generation`` the ``tool_calls``
    and the whole plan again as ``text``, taken only when no piece came (``plan``: whether
    one did, returned updated). The plan is text, as the same response not streamed gives
    it in ``text`` next to its ``tool_calls``."""
    event = ch["event_type"]
    if event == "text-generation" and isinstance(ch.get("text"), str):
        texts.append(ch["text"])
    elif event == "tool-calls-chunk":
        delta = ch.get("tool_call_delta")
        if type(delta) is dict and isinstance(delta.get("text"), str):
            texts.append(delta["text"])
            plan = True
    elif event == "tool-calls-generation":
        if not plan and isinstance(ch.get("text"), str):
            texts.append(ch["text"])
        if type(ch.get("tool_calls")) is list and ch["tool_calls"]:
            # the list, as the response not streamed gives its tool_calls
            _add_piece(calls, len(calls), canonical(ch["tool_calls"]).decode())
    return plan


# content blocks that hold a model's reasoning, not its answer (Converse and Nova; Anthropic)
_REASONING_TYPES = frozenset(("thinking", "redacted_thinking"))


_NO_CALLS: tuple = ()


def _answer_blocks(content: Any) -> tuple[Any, list | tuple]:
    """Response content -> (its answer blocks, its tool calls): without the reasoning blocks,
    a Converse ``citationsContent`` block as its text (the citations are where it came from),
    and the tool-call blocks (Converse ``toolUse``, Anthropic ``tool_use``) apart."""
    if type(content) is not list or (
        len(content) == 1 and type(content[0]) is dict and "text" in content[0]
    ):
        return content, _NO_CALLS  # the common case, one text block: nothing to leave out
    out = []
    calls = []
    for b in content:
        if type(b) is dict:
            if "reasoningContent" in b or b.get("type") in _REASONING_TYPES:
                continue
            if "toolUse" in b or b.get("type") == "tool_use":
                calls.append(b)
                continue
            cited = b.get("citationsContent")
            if type(cited) is dict and type(cited.get("content")) is list:
                parts = cited["content"]
                b = {"text": "".join(c.get("text") or "" for c in parts if type(c) is dict)}
        out.append(b)
    return out, calls


def _blank(text: Any) -> bool:
    """Whether an answer's text is empty or only whitespace (a tool call is then the answer)."""
    return not text or text.isspace()


def _content_answer(content: Any, ttl: list[str]) -> str:
    """The answer's text from response content blocks: its text, or, when it has none, its
    tool calls' canonical JSON. A tool call next to text is an action the answer takes, not
    the answer's shape (its JSON after prose would read as code); streams read the same."""
    blocks, calls = _answer_blocks(content)
    text = content_text(blocks, ttl)
    if calls and _blank(text):  # one call as its block, several as the list of them
        return canonical(calls[0] if len(calls) == 1 else calls).decode()
    return text


# models whose prompt template opens a <think> block the answer closes (DeepSeek-R1, Qwen3)
THINK_TAG_MODELS = ("deepseek.", "qwen.")


def _answer_text(text: Any, think_tags: bool) -> Any:
    """A choice's text without the reasoning some models write before the answer: gpt-oss's
    leading ``<reasoning>...</reasoning>``, and, for a model that thinks in tags
    (``think_tags``), everything up to the first ``</think>``."""
    if type(text) is not str or "</" not in text:
        return text
    if text.lstrip().startswith("<reasoning>") and "</reasoning>" in text:
        return text.split("</reasoning>", 1)[1]
    if think_tags and "</think>" in text:
        return text.split("</think>", 1)[1]
    return text


# what Bedrock adds to an InvokeModel body, or to a chunk of a stream, when a guardrail acted
GUARDRAIL_ACTION = "amazon-bedrock-guardrailAction"
GUARDRAIL_STOP = "guardrail_intervened"  # Converse's stop reason when a guardrail acted


def guardrail_intervened(out_body: Any) -> bool:
    """Whether the response says a guardrail intervened: ``amazon-bedrock-guardrailAction:
    INTERVENED`` on an InvokeModel body or on any chunk of a stream (Bedrock adds its own
    fields to a chunk, as it does ``amazon-bedrock-invocationMetrics`` to the last), or the
    stop reason ``guardrail_intervened`` of a Converse body or of a ConverseStream's
    ``messageStop`` event."""
    if isinstance(out_body, dict):
        return out_body.get(GUARDRAIL_ACTION) == "INTERVENED" or (
            out_body.get("stopReason") == GUARDRAIL_STOP
        )
    if isinstance(out_body, list):
        return any(isinstance(chunk, dict) and _chunk_intervened(chunk) for chunk in out_body)
    return False


def _chunk_intervened(chunk: dict) -> bool:
    """Whether one streamed chunk carries a guardrail's intervention."""
    stop = chunk.get("messageStop")
    return chunk.get(GUARDRAIL_ACTION) == "INTERVENED" or (
        isinstance(stop, dict) and stop.get("stopReason") == GUARDRAIL_STOP
    )


def routed_model_id(out_body: Any) -> str | None:
    """The model a prompt router chose for this request: Converse's
    ``trace.promptRouter.invokedModelId`` (a ConverseStream's last ``metadata`` event)."""
    if type(out_body) is dict:
        trace = out_body.get("trace")
    elif type(out_body) is list and out_body and type(out_body[-1]) is dict:
        meta = out_body[-1].get("metadata")
        trace = meta.get("trace") if type(meta) is dict else None
    else:
        return None
    router = trace.get("promptRouter") if type(trace) is dict else None
    chosen = router.get("invokedModelId") if type(router) is dict else None
    return chosen if type(chosen) is str and chosen else None


def cache_write_1h_split(usage: Any, out_body: Any) -> int | None:
    """Of the cache writes, the tokens written with the 1-hour TTL, when the response says:
    Converse ``usage.cacheDetails`` (one entry per TTL), Anthropic ``usage.cache_creation``
    (``ephemeral_1h_input_tokens``; a stream's ``message_start``). None when it does not.

    A request can write both TTLs (a 1h system prompt, 5m turns); the two are priced apart.
    """
    if type(usage) is dict:
        details = usage.get("cacheDetails")
        if type(details) is list:
            hour = 0
            for d in details:
                n = d.get("inputTokens") if type(d) is dict else None
                if type(n) is float and n.is_integer():
                    n = int(n)
                if type(n) is not int or n < 0:
                    return None  # not a split AWS writes: the markers decide
                hour += n if d.get("ttl") == "1h" else 0
            return hour
    if type(out_body) is dict:
        anthropic = out_body.get("usage")
    elif type(out_body) is list and out_body and type(out_body[0]) is dict:
        start = out_body[0].get("message") if out_body[0].get("type") == "message_start" else None
        anthropic = start.get("usage") if type(start) is dict else None
    else:
        return None
    creation = anthropic.get("cache_creation") if type(anthropic) is dict else None
    if type(creation) is dict:
        hour = creation.get("ephemeral_1h_input_tokens")
        if type(hour) is float and hour.is_integer():
            hour = int(hour)
        return hour if type(hour) is int and hour >= 0 else None
    return None


def invoke_response_usage(out_body: Any) -> tuple[dict, ...]:
    """Where an InvokeModel response reports its cache counts, the first place first: an
    Anthropic body's ``usage`` (``cache_read_input_tokens``, ``cache_creation_input_tokens``);
    for a stream, the ``amazon-bedrock-invocationMetrics`` Bedrock adds to the last chunk
    (``cacheReadInputTokenCount``, ``cacheWriteInputTokenCount``), then Anthropic's
    ``message_start`` chunk's ``message.usage``, then its ``message_delta`` chunk's ``usage``
    (cumulative counts, in Anthropic's streaming docs). The record's own counts and Converse's
    ``usage``, where logged, come before all these; each count is taken from one place only.
    """
    if type(out_body) is dict:
        usage = out_body.get("usage")
        return (usage,) if type(usage) is dict else ()
    if type(out_body) is not list or not out_body:
        return ()
    found = []
    last = out_body[-1]
    metrics = last.get(INVOCATION_METRICS) if type(last) is dict else None
    if type(metrics) is dict:
        found.append(metrics)
    first = out_body[0]
    if type(first) is dict and first.get("type") == "message_start":
        start = first.get("message")
        usage = start.get("usage") if type(start) is dict else None
        if type(usage) is dict:
            found.append(usage)
        for chunk in reversed(out_body[-3:]):  # message_delta, then message_stop at the end
            if type(chunk) is dict and chunk.get("type") == "message_delta":
                if type(chunk.get("usage")) is dict:
                    found.append(chunk["usage"])
                break
    return tuple(found)


def opens_think(in_body: Any) -> bool:
    """Whether the request's prompt ends in an opened ``<think>`` (DeepSeek-R1's template):
    the answer then follows the thinking, whatever the model ID (an imported model, an
    application profile) says."""
    prompt = in_body.get("prompt") if type(in_body) is dict else None
    return type(prompt) is str and prompt.rstrip().endswith("<think>")


def output_text_and_stop(
    body: Any, model_key: str = "", think_tags: bool = False
) -> tuple[str | None, str | None, float | None, dict | None]:
    """(text, stop_reason, latency_ms, converse usage) from an output body or chunk list.

    The answer follows thinking in ``<think>`` tags when ``think_tags`` (the request opened
    one: :func:`opens_think`) or ``model_key`` (the model ID without its geo prefix: the
    ``profile_map`` target of a mapped profile, :func:`models.rules_model_id`) names a model
    that thinks so."""
    think_tags = think_tags or model_key.startswith(THINK_TAG_MODELS)
    if isinstance(body, list):
        return _chunk_text_and_stop(body, think_tags)
    if not isinstance(body, dict):
        return None, None, None, None
    ttl: list[str] = []
    if "output" in body and isinstance(body["output"], dict):  # Converse and Nova
        msg = body["output"].get("message") or {}
        text = _content_answer(msg.get("content"), ttl)
        latency = as_float((body.get("metrics") or {}).get("latencyMs"))
        return text, body.get("stopReason"), latency, body.get("usage")
    if "content" in body:  # Anthropic messages
        text = _content_answer(body.get("content"), ttl)
        return text, body.get("stop_reason"), None, None
    if "generation" in body:  # Llama
        return body.get("generation"), body.get("stop_reason"), None, None
    results = body.get("results")
    if isinstance(results, list) and results and not _rerank_results(results):  # Titan
        r = results[0] if isinstance(results[0], dict) else {}
        text = "".join(x.get("outputText") or "" for x in results if isinstance(x, dict))
        return text, r.get("completionReason"), None, None
    for key in ("outputs", "choices", "generations"):  # Mistral, OpenAI chat, DeepSeek; Cohere
        items = body.get(key)
        if isinstance(items, list) and items and isinstance(items[0], dict):
            it = items[0]
            text = it.get("text")
            if text is None:
                message = it.get("message") or {}
                text = content_text(message.get("content"), ttl)
                if _blank(text) and message.get("tool_calls"):  # a tool call is the answer
                    text = canonical(message["tool_calls"]).decode()
            stop = it.get("stop_reason") or it.get("finish_reason")
            return _answer_text(text, think_tags), stop, None, None
    if "completion" in body:
        return body.get("completion"), body.get("stop_reason"), None, None
    completions = body.get("completions")
    if isinstance(completions, list) and completions and isinstance(completions[0], dict):
        return _jurassic_answer(completions[0])
    reasons = body.get("finish_reasons")  # Stability: null, or why an image was filtered
    if isinstance(reasons, list):
        return None, next((r for r in reasons if isinstance(r, str)), None), None, None
    if isinstance(body.get("text"), str):  # Cohere Command R chat
        text = body["text"]
        if _blank(text) and body.get("tool_calls"):  # a tool call is the answer
            text = canonical(body["tool_calls"]).decode()
        return text, body.get("finish_reason"), None, None
    return None, body.get("stopReason") or body.get("stop_reason"), None, None


def _jurassic_answer(first: dict) -> tuple[str | None, str | None, None, None]:
    """AI21 Jurassic-2's first completion: ``data.text`` and ``finishReason.reason``."""
    data = first.get("data")
    text = data.get("text") if isinstance(data, dict) else None
    reason = first.get("finishReason")
    stop = reason.get("reason") if isinstance(reason, dict) else None
    return text if isinstance(text, str) else None, stop, None, None
