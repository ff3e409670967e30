"""Request and response shapes AWS documents beyond plain text turns.

Reasoning blocks, tool calls (streamed or not), the tier and latency setting a response
reports, the invocation metrics on a stream's last chunk, Mistral's two formats and cache
markers inside an Anthropic tool result: each gives the row an analyst would expect, and the
fast and general parsing paths agree (``row_of`` checks that).
"""

from __future__ import annotations

import pytest
from record_rows import log_record, row_of


def converse_out(*blocks: dict, **extra) -> dict:
    return {"output": {"message": {"role": "assistant", "content": list(blocks)}}, **extra}


REASONING = {"reasoningContent": {"reasoningText": {"text": "Think. x = 1;", "signature": "s"}}}
REDACTED = {"reasoningContent": {"redactedContent": "cmVk"}}
THINKING = {"type": "thinking", "thinking": "Step 1; step 2;\nso {", "signature": "s"}
ASK = {"messages": [{"role": "user", "content": [{"text": "Weather in Paris?"}]}]}


@pytest.mark.parametrize(
    ("out", "shape"),
    [
        (converse_out(REASONING, {"text": "sunny"}), "label"),  # Converse, Nova
        (converse_out(REDACTED, {"text": '{"a": 1}'}), "json"),
        ({"content": [THINKING, {"type": "text", "text": "sunny"}]}, "label"),  # Anthropic
        ({"content": [{"type": "redacted_thinking", "data": "c"}, {"type": "text", "text": "ok"}]},
         "label"),
        (converse_out(REASONING), "empty"),  # stopped while still reasoning: no answer
    ],
)  # fmt: skip
def test_reasoning_is_not_the_answer(out: dict, shape: str) -> None:
    """The output's shape is the answer's; the model's reasoning before it is left out."""
    assert row_of(log_record(ASK, out))["output_shape"] == shape


def json_delta(piece: str) -> dict:
    """An Anthropic stream event carrying part of a tool call's input."""
    delta = {"type": "input_json_delta", "partial_json": piece}
    return {"type": "content_block_delta", "delta": delta}


TOOL_USE = {"toolUse": {"toolUseId": "t1", "name": "weather", "input": {"city": "Paris"}}}


@pytest.mark.parametrize(
    ("out", "op"),
    [
        (converse_out(TOOL_USE), "Converse"),
        (
            [
                {"messageStart": {"role": "assistant"}},
                {"contentBlockStart": {"start": {"toolUse": {"toolUseId": "t1", "name": "w"}}}},
                {"contentBlockDelta": {"delta": {"toolUse": {"input": '{"city": '}}}},
                {"contentBlockDelta": {"delta": {"toolUse": {"input": '"Paris"}'}}}},
                {"messageStop": {"stopReason": "tool_use"}},
            ],
            "ConverseStream",
        ),
        (
            [
                {"type": "content_block_start", "content_block": {"type": "tool_use", "id": "t1"}},
                json_delta('{"city"'),
                json_delta(': "Paris"}'),
                {"type": "message_delta", "delta": {"stop_reason": "tool_use"}},
            ],
            "InvokeModelWithResponseStream",
        ),
        (
            {"choices": [{"message": {"role": "assistant", "content": "", "tool_calls": [
                {"id": "c1", "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}
            ]}, "finish_reason": "tool_calls"}]},
            "InvokeModel",
        ),  # Mistral chat
    ],
)  # fmt: skip
def test_a_tool_call_is_json_streamed_or_not(out, op: str) -> None:
    assert row_of(log_record(ASK, out, op))["output_shape"] == "json"


@pytest.mark.parametrize(
    ("body", "out", "tier"),
    [
        # the service reports the tier it used in a stream's last event
        (
            {**ASK, "serviceTier": {"type": "priority"}},
            [{"contentBlockDelta": {"delta": {"text": "hi"}}},
             {"metadata": {"usage": {}, "serviceTier": {"type": "default"}}}],
            "default",
        ),
        (ASK, [{"metadata": {"performanceConfig": {"latency": "optimized"}}}], "latency-optimized"),
        # asked for optimized latency, served at the standard one
        (
            {**ASK, "performanceConfig": {"latency": "optimized"}},
            converse_out({"text": "hi"}, performanceConfig={"latency": "standard"}),
            "default",
        ),
        ({**ASK, "performanceConfig": {"latency": "optimized"}}, converse_out({"text": "hi"}),
         "latency-optimized"),
        # the standard tier named: its latency setting still counts
        ({**ASK, "serviceTier": {"type": "default"}, "performanceConfig": {"latency": "optimized"}},
         converse_out({"text": "hi"}), "latency-optimized"),
        ({**ASK, "serviceTier": {"type": "priority"}}, converse_out({"text": "hi"}), "priority"),
    ],
)  # fmt: skip
def test_the_response_says_which_tier_served_it(body, out, tier: str) -> None:
    op = "ConverseStream" if isinstance(out, list) else "Converse"
    assert row_of(log_record(body, out, op))["service_tier"] == tier


def test_a_streams_invocation_metrics_give_its_latency() -> None:
    chunks = [
        {"generation": "Hello", "stop_reason": None},
        {
            "generation": "",
            "stop_reason": "stop",
            "amazon-bedrock-invocationMetrics": {"invocationLatency": 1234, "firstByteLatency": 9},
        },
    ]
    body = {"prompt": "Say hello", "max_gen_len": 10}
    row = row_of(log_record(body, chunks, "InvokeModelWithResponseStream"))
    assert (row["latency_ms"], row["stop_reason"]) == (1234.0, "stop")


def _message_tokens(row: dict) -> list[int]:
    return [tokens for kind, _, tokens in row["prefix_hashes"] if kind == "message"]


def test_mistral_inst_answers_are_turns() -> None:
    """``[INST] Q1 [/INST] A1</s>[INST] Q2 [/INST]``: A1 is part of the prompt's prefix."""
    body = {"prompt": "<s>[INST] What is 2+2? [/INST] It is four.</s>[INST] And 3+3? [/INST]"}
    row = row_of(log_record(body, {"outputs": [{"text": "Six."}]}, "InvokeModel"))
    # ceil(12 / 4) for the question, + ceil(11 / 4) for the answer, + ceil(8 / 4)
    assert _message_tokens(row) == [3, 6, 8]
    assert row["user_text"] == "And 3+3?"


def test_mistral_tool_calls_are_prompt() -> None:
    """Two conversations that differ only in the tool an assistant turn called differ."""

    def body(city: str) -> dict:
        call = {"id": "c1", "function": {"name": "weather", "arguments": f'{{"city": "{city}"}}'}}
        return {
            "messages": [
                {"role": "user", "content": "Weather?"},
                {"role": "assistant", "content": "", "tool_calls": [call]},
                {"role": "tool", "content": "21C", "tool_call_id": "c1"},
            ]
        }

    out = {"choices": [{"message": {"content": "It is 21C."}, "finish_reason": "stop"}]}
    paris, rome = (row_of(log_record(body(c), out, "InvokeModel")) for c in ("Paris", "Rome"))
    assert paris["prefix_hashes"][0] == rome["prefix_hashes"][0]  # the first turn
    assert paris["prefix_hashes"][1] != rome["prefix_hashes"][1]  # the calls differ
    assert _message_tokens(paris)[1] > _message_tokens(paris)[0]  # the call counts as text


def test_a_marker_inside_a_tool_result_is_a_marker() -> None:
    """Anthropic takes ``cache_control`` on the blocks inside a tool_result too: turning it on
    changes neither the request hash nor the prompt text, and its TTL is read."""

    def body(marked: bool) -> dict:
        inner = {"type": "text", "text": "21C"}
        if marked:
            inner["cache_control"] = {"type": "ephemeral", "ttl": "1h"}
        result = {"type": "tool_result", "tool_use_id": "t1", "content": [inner]}
        return {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 50,
            "messages": [{"role": "user", "content": [result]}],
        }

    out = {"content": [{"type": "text", "text": "It is 21C."}], "stop_reason": "end_turn"}
    marked, plain = (row_of(log_record(body(m), out, "InvokeModel")) for m in (True, False))
    assert marked["request_hash"] == plain["request_hash"]
    assert marked["prefix_hashes"] == plain["prefix_hashes"]
    assert "cache_control" not in marked["user_text"]
    assert (marked["cache_ttl"], plain["cache_ttl"]) == ("1h", None)  # None: no marker


PREAMBLE = "I will look up the current weather in Paris for you."


def text_delta(text: str) -> dict:
    """An Anthropic stream event carrying part of a text block."""
    return {"type": "content_block_delta", "delta": {"type": "text_delta", "text": text}}


def _text_and_call(text: str) -> list[tuple[object, str]]:
    """The same answer, text then a tool call, in the four forms AWS logs it: Anthropic
    messages (a ``text`` then a ``tool_use`` block; streamed as ``text_delta`` then
    ``input_json_delta`` events, docs.anthropic.com "Streaming Messages") and Converse (a
    ``text`` then a ``toolUse`` block; ConverseStream ``contentBlockDelta`` events)."""
    call = {"type": "tool_use", "id": "t1", "name": "weather", "input": {"city": "Paris"}}
    anthropic = {"content": [{"type": "text", "text": text}, call], "stop_reason": "tool_use"}
    anthropic_stream = [
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text"}},
        text_delta(text),
        {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use"}},
        json_delta('{"city": "Paris"}'),
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}},
    ]
    converse_stream = [
        {"contentBlockDelta": {"delta": {"text": text}, "contentBlockIndex": 0}},
        {"contentBlockStart": {"start": {"toolUse": {"toolUseId": "t1", "name": "weather"}},
                               "contentBlockIndex": 1}},
        {"contentBlockDelta": {"delta": {"toolUse": {"input": '{"city": "Paris"}'}},
                               "contentBlockIndex": 1}},
        {"messageStop": {"stopReason": "tool_use"}},
    ]  # fmt: skip
    return [
        (anthropic, "InvokeModel"),
        (anthropic_stream, "InvokeModelWithResponseStream"),
        (converse_out({"text": text}, TOOL_USE, stopReason="tool_use"), "Converse"),
        (converse_stream, "ConverseStream"),
    ]


@pytest.mark.parametrize(("out", "op"), _text_and_call(PREAMBLE))
def test_text_next_to_a_tool_call_is_the_answer(out, op: str) -> None:
    """Text and a tool call: the shape is the text's (prose here), streamed or not. The tool
    call is an action, not the answer's text; joined after the prose its JSON read as code
    (the non-streamed form was 'code', the streamed one the text's)."""
    assert row_of(log_record(ASK, out, op))["output_shape"] == "prose"


@pytest.mark.parametrize(("out", "op"), _text_and_call("\n\n"))
def test_blank_text_next_to_a_tool_call_leaves_the_call_the_answer(out, op: str) -> None:
    """Only whitespace before the call (no answer text): the call is the answer, json,
    streamed or not (the streamed form was 'empty')."""
    assert row_of(log_record(ASK, out, op))["output_shape"] == "json"


def choice_chunk(delta: dict, finish: str | None = None) -> dict:
    """An OpenAI chat completion chunk (gpt-oss, Jamba and Mistral chat stream this way)."""
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def call_delta(index: int, arguments: str, name: str | None = None) -> dict:
    """A ``delta.tool_calls`` entry: the first names the call, later ones add arguments."""
    call: dict = {"index": index, "function": {"arguments": arguments}}
    if name:
        call.update(id=f"c{index}", type="function")
        call["function"]["name"] = name
    return {"tool_calls": [call]}


WEATHER = {"name": "weather", "parameters": {"city": "Paris"}}  # a Cohere tool call


@pytest.mark.parametrize(
    ("out", "op", "stop"),
    [
        # OpenAI chat stream: choices[0].delta.tool_calls pieces, finish_reason tool_calls
        (
            [
                choice_chunk({"role": "assistant", **call_delta(0, "", "weather")}),
                choice_chunk(call_delta(0, '{"city": ')),
                choice_chunk(call_delta(0, '"Paris"}')),
                choice_chunk({}, "tool_calls"),
            ],
            "InvokeModelWithResponseStream",
            "tool_calls",
        ),
        # Cohere Command R: empty text, the call in tool_calls
        (
            {"text": "", "tool_calls": [WEATHER], "finish_reason": "COMPLETE"},
            "InvokeModel",
            "COMPLETE",
        ),
        # Cohere Command R stream: a tool-calls-generation event
        (
            [
                {"event_type": "stream-start", "is_finished": False},
                {"event_type": "tool-calls-generation", "tool_calls": [WEATHER]},
                {"event_type": "stream-end", "finish_reason": "COMPLETE", "is_finished": True},
            ],
            "InvokeModelWithResponseStream",
            "COMPLETE",
        ),
    ],
)
def test_more_tool_calls_are_json_streamed_or_not(out, op: str, stop: str) -> None:
    """A tool call that is the whole answer is json in the other formats too: OpenAI chat
    streams (``delta.tool_calls`` with an ``index`` and ``function.arguments`` pieces: OpenAI's
    chat completion chunk object; Bedrock's model-parameters-openai.html for gpt-oss, and
    Jamba's and Mistral's chat completion pages) and Cohere Command R (``tool_calls`` with an
    empty ``text``: model-parameters-cohere-command-r-plus.html; streamed, Cohere's v1
    ``tool-calls-generation`` event). Each was 'empty'."""
    row = row_of(log_record(ASK, out, op))
    assert (row["output_shape"], row["stop_reason"]) == ("json", stop)


def _two_calls() -> list[tuple[object, str]]:
    paris = {"type": "tool_use", "id": "t1", "name": "weather", "input": {"city": "Paris"}}
    rome = {"type": "tool_use", "id": "t2", "name": "weather", "input": {"city": "Rome"}}
    start = {"type": "content_block_start", "content_block": {"type": "tool_use"}}
    rome_use = {"toolUse": {"toolUseId": "t2", "name": "weather", "input": {"city": "Rome"}}}

    def converse_delta(index: int, piece: str) -> dict:
        return {"contentBlockDelta": {"delta": {"toolUse": {"input": piece}},
                                      "contentBlockIndex": index}}  # fmt: skip

    return [
        ({"content": [paris, rome], "stop_reason": "tool_use"}, "InvokeModel"),
        (
            [
                {**start, "index": 0},
                {**json_delta('{"city": "Paris"}'), "index": 0},
                {**start, "index": 1},
                {**json_delta('{"city": '), "index": 1},
                {**json_delta('"Rome"}'), "index": 1},
                {"type": "message_delta", "delta": {"stop_reason": "tool_use"}},
            ],
            "InvokeModelWithResponseStream",
        ),
        (converse_out(TOOL_USE, rome_use, stopReason="tool_use"), "Converse"),
        (
            [
                converse_delta(0, '{"city": "Paris"}'),
                converse_delta(1, '{"city": '),
                converse_delta(1, '"Rome"}'),
                {"messageStop": {"stopReason": "tool_use"}},
            ],
            "ConverseStream",
        ),
        (
            [
                choice_chunk(call_delta(0, '{"city": "Paris"}', "weather")),
                choice_chunk(call_delta(1, '{"city": ', "weather")),
                choice_chunk(call_delta(1, '"Rome"}')),
                choice_chunk({}, "tool_calls"),
            ],
            "InvokeModelWithResponseStream",
        ),
    ]


@pytest.mark.parametrize(("out", "op"), _two_calls())
def test_parallel_tool_calls_are_json_streamed_or_not(out, op: str) -> None:
    """Several tool calls in one answer (Anthropic's parallel tool use: several ``tool_use``
    blocks, each streamed under its own ``index``; Converse: several ``toolUse`` blocks, each
    its own ``contentBlockIndex``; OpenAI chat: ``tool_calls`` by ``index``) are the JSON
    list of the calls. Joined back to back they were no JSON ('code' or 'prose')."""
    assert row_of(log_record(ASK, out, op))["output_shape"] == "json"


def test_a_streamed_call_without_arguments_is_json() -> None:
    """A streamed tool call whose input is empty (a tool that takes no arguments: Anthropic's
    SDK reads an empty ``partial_json`` buffer as ``{}``) is json, as the call not streamed."""
    call = {"type": "tool_use", "id": "t", "name": "f", "input": {}}
    start = {"type": "content_block_start", "index": 0, "content_block": call}
    chunks = [start, {**json_delta(""), "index": 0},
              {"type": "message_delta", "delta": {"stop_reason": "tool_use"}}]  # fmt: skip
    plain = {"content": [call], "stop_reason": "tool_use"}
    for out, op in ((chunks, "InvokeModelWithResponseStream"), (plain, "InvokeModel")):
        assert row_of(log_record(ASK, out, op))["output_shape"] == "json", op


def test_calls_by_index_are_kept_apart_however_their_pieces_interleave() -> None:
    """OpenAI chat deltas name each call's ``index``; pieces of two calls may alternate, and
    an ``index`` given as null falls back to the call's place in the list."""
    interleaved = [
        choice_chunk(call_delta(0, '{"loc": ', "weather")),
        choice_chunk(call_delta(1, '{"tz": ', "clock")),
        choice_chunk(call_delta(0, '"Paris"}')),
        choice_chunk(call_delta(1, '"CET"}')),
        choice_chunk({}, "tool_calls"),
    ]
    null_index = [
        choice_chunk({"tool_calls": [
            {"index": None, "function": {"name": "weather", "arguments": '{"loc": "Paris"}'}},
            {"index": None, "function": {"name": "clock", "arguments": '{"tz": "CET"}'}},
        ]}, "tool_calls"),
    ]  # fmt: skip
    for chunks in (interleaved, null_index):
        row = row_of(log_record(ASK, chunks, "InvokeModelWithResponseStream"))
        assert row["output_shape"] == "json"


def test_a_chunk_with_an_event_type_of_its_own_keeps_its_text() -> None:
    """Only Cohere's stream events are read as Cohere's: another format's chunk that happens
    to carry an ``event_type`` key keeps the text of its choices."""
    chunks = [{"event_type": "x", "choices": [{"delta": {"content": "hello"}}]}]
    row = row_of(log_record(ASK, chunks, "InvokeModelWithResponseStream"))
    assert row["output_shape"] == "label"
