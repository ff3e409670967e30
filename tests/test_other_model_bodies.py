"""Bodies of models beyond the six main formats, as AWS documents them for InvokeModel.

OpenAI chat (gpt-oss: a ``developer`` message, ``max_completion_tokens``, reasoning written
before the answer), DeepSeek-R1's prompt template and ``</think>``, Cohere Command R chat
(``preamble``, ``chat_history``, ``documents``, ``message``) and Converse answers with
citations. Each gives the row an analyst would expect; ``row_of`` checks that the fast and
general parsing paths agree.
"""

from __future__ import annotations

from record_rows import log_record, row_of

GPT_OSS = "openai.gpt-oss-120b-1:0"


def _tokens(row: dict) -> list[int]:
    return [tokens for _, _, tokens in row["prefix_hashes"]]


def test_openai_chat_body_gpt_oss() -> None:
    body = {
        "messages": [
            {"role": "developer", "content": "You are a JSON API. Reply with JSON only."},
            {"role": "user", "content": "Reply with the word pong as JSON."},
        ],
        "max_completion_tokens": 200,
        "temperature": 0.1,
        "reasoning_effort": "low",
    }
    out = {
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": '<reasoning>They want JSON with pong.</reasoning>{"word": "pong"}',
                },
                "finish_reason": "stop",
            }
        ],
    }
    rec = log_record(body, out, "InvokeModel")
    rec["modelId"] = GPT_OSS
    row = row_of(rec)
    assert row["system_tokens"] == 11  # the developer message, 41 characters: the system prompt
    assert row["user_text"] == "Reply with the word pong as JSON."
    assert (row["max_tokens"], row["temperature"]) == (200, 0.1)
    assert (row["output_shape"], row["stop_reason"]) == ("json", "stop")  # the answer, after
    assert _tokens(row) == [11, 20]  # + 33 characters


def test_openai_chat_stream_reasoning_split_across_chunks() -> None:
    body = {"messages": [{"role": "user", "content": "pong?"}]}
    pieces = ["<reason", "ing>Sure.</reas", 'oning>{"word": ', '"pong"}']
    chunks = [{"choices": [{"index": 0, "delta": {"content": p}}]} for p in pieces]
    chunks[-1]["choices"][0]["finish_reason"] = "stop"
    rec = log_record(body, chunks, "InvokeModelWithResponseStream")
    rec["modelId"] = GPT_OSS
    row = row_of(rec)
    assert (row["output_shape"], row["stop_reason"]) == ("json", "stop")


def test_other_streams_keep_a_literal_think_tag() -> None:
    """Only a choice's text is cut at ``</think>``: a Claude answer about the tag is kept."""
    body = {"messages": [{"role": "user", "content": [{"text": "Which tag ends it?"}]}]}
    text = "The tag that closes the block is </think> written as is."
    chunks = [
        {"type": "content_block_delta", "delta": {"type": "text_delta", "text": text}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}},
    ]
    row = row_of(log_record(body, chunks, "InvokeModelWithResponseStream"))
    assert row["output_shape"] == "prose"  # cut at the tag it would be three words: a label


def test_deepseek_r1_template() -> None:
    bos = "<\uff5cbegin\u2581of\u2581sentence\uff5c>"
    eos = "<\uff5cend\u2581of\u2581sentence\uff5c>"
    user, assistant = "<\uff5cUser\uff5c>", "<\uff5cAssistant\uff5c>"
    prompt = (
        f"{bos}Answer briefly.{user}Name a fruit.{assistant}Apple{eos}"
        f"{user}Name a color.{assistant}<think>\n"
    )
    thinking = "The user wants a color.\n</think>\n\n"
    out = {"choices": [{"text": thinking + "Blue", "stop_reason": "stop"}]}
    rec = log_record({"prompt": prompt, "max_tokens": 512, "temperature": 0.5}, out, "InvokeModel")
    rec["modelId"] = "us.deepseek.r1-v1:0"
    row = row_of(rec)
    assert row["user_text"] == "Name a color."  # not the template's markers
    assert row["system_tokens"] == 4  # "Answer briefly." (15 characters)
    assert _tokens(row) == [4, 8, 10, 14]  # + "Name a fruit." 13, "Apple" 5, "Name a color." 13
    # the answer "Blue", not the thinking before it
    assert (row["output_shape"], row["stop_reason"]) == ("label", "stop")
    assert row["max_tokens"] == 512


def test_cohere_command_r_chat() -> None:
    body = {
        "message": "Write a short joke about software engineers.",
        "preamble": "You are a comedian.",
        "chat_history": [
            {"role": "USER", "message": "Hi"},
            {"role": "CHATBOT", "message": "Hello! Want a joke?"},
        ],
        "max_tokens": 256,
        "temperature": 0.7,
    }
    out = {
        "response_id": "x",
        "text": "Why did the engineer break up? Because they couldn't commit.",
        "generation_id": "g",
        "finish_reason": "COMPLETE",
    }
    rec = log_record(body, out, "InvokeModel")
    rec["modelId"] = "cohere.command-r-plus-v1:0"
    row = row_of(rec)
    assert row["system_tokens"] == 5  # the preamble, 19 characters
    assert row["user_text"] == "Write a short joke about software engineers."
    assert _tokens(row) == [5, 6, 11, 22]  # + "Hi", the answer (19), the message (44)
    assert (row["output_shape"], row["stop_reason"]) == ("prose", "COMPLETE")
    assert (row["max_tokens"], row["temperature"]) == (256, 0.7)


def test_cohere_documents_are_prompt_not_the_question() -> None:
    docs = [{"title": "Policy", "snippet": "Refunds within 30 days."}]
    body = {"message": "Refund window?", "documents": docs}
    out = {"text": "30 days.", "finish_reason": "COMPLETE"}
    row = row_of(log_record(body, out, "InvokeModel"))
    assert row["user_text"] == "Refund window?"
    # the documents' canonical JSON (55 characters) comes before the question (14)
    assert _tokens(row) == [14, 18]


def test_converse_citations_are_the_answers_text() -> None:
    body = {"messages": [{"role": "user", "content": [{"text": "What is the refund window?"}]}]}
    cited = {
        "citationsContent": {
            "content": [{"text": "Refunds are accepted within 30 days of purchase, per policy."}],
            "citations": [{"title": "policy", "sourceContent": [{"text": "Refunds within 30."}]}],
        }
    }
    out = {"output": {"message": {"content": [cited]}}, "stopReason": "end_turn"}
    assert row_of(log_record(body, out))["output_shape"] == "prose"  # was "json": the block


ROUTER = "arn:aws:bedrock:us-east-1:111122223333:default-prompt-router/anthropic.claude:1"
CHOSEN = (
    "arn:aws:bedrock:us-east-1:111122223333:inference-profile/"
    "us.anthropic.claude-3-5-haiku-20241022-v1:0"
)


def _routed_call(request_id: str, streamed: bool) -> dict:
    body = {"messages": [{"role": "user", "content": [{"text": "Describe hello world."}]}]}
    trace = {"promptRouter": {"invokedModelId": CHOSEN}}
    if streamed:
        out = [
            {"contentBlockDelta": {"delta": {"text": "It prints Hello, World."}}},
            {"messageStop": {"stopReason": "end_turn"}},
            {"metadata": {"usage": {"inputTokens": 20, "outputTokens": 8}, "trace": trace}},
        ]
    else:
        text = {"text": "It prints Hello, World."}
        out = {"output": {"message": {"content": [text]}}, "stopReason": "end_turn", "trace": trace}
    rec = log_record(body, out, "ConverseStream" if streamed else "Converse")
    rec.update(modelId=ROUTER, requestId=request_id, region="us-east-1")
    return rec


def test_a_prompt_routers_choice_is_the_model(tmp_path) -> None:
    """The router ARN stays the logged ID; the model columns describe the model it chose,
    which is the one billed (Claude 3.5 Haiku on the us. profile), streamed or not."""
    import json

    import pandas as pd

    from bedrock_finops.ingest import ingest_to_folder

    assert row_of(_routed_call("r1", False))["routed_model_id"] == CHOSEN
    plain = log_record({"messages": [{"role": "user", "content": "hi"}]}, {"trace": {}})
    assert row_of(plain)["routed_model_id"] is None
    logs = tmp_path / "logs"
    logs.mkdir()
    lines = [json.dumps(_routed_call(f"r{i}", streamed=i == 2)) for i in (1, 2)]
    (logs / "routed.json").write_text("\n".join(lines) + "\n")
    report = ingest_to_folder(logs, tmp_path / "out", workers=1, progress=False)
    assert report.rows == 2 and not report.unknown_models
    usage = pd.read_parquet(tmp_path / "out" / "usage.parquet")
    assert usage["model_id_raw"].tolist() == [ROUTER, ROUTER]
    assert usage["routed_model_id"].tolist() == [CHOSEN, CHOSEN]
    assert usage["model"].tolist() == ["anthropic.claude-3-5-haiku"] * 2
    assert usage["geo"].tolist() == ["us", "us"]


def test_guard_content_text_is_the_turns_text() -> None:
    """Converse ``guardContent``: the text a guardrail checks is the user's text, not JSON."""
    guarded = {"guardContent": {"text": {"text": "How do I reset it?", "qualifiers": ["query"]}}}
    body = {"messages": [{"role": "user", "content": [{"text": "Context."}, guarded]}]}
    out = {"output": {"message": {"content": [{"text": "Press the button."}]}}}
    row = row_of(log_record(body, out))
    assert row["user_text"] == "Context.\nHow do I reset it?"
    assert _tokens(row) == [2, 7]  # after "Context." (8 characters), then all 27


def test_only_models_that_think_in_tags_are_cut_at_the_tag() -> None:
    """A Mistral answer that mentions ``</think>`` is the answer; DeepSeek's is cut there."""
    from bedrock_finops.parse_response import output_text_and_stop

    body = {"outputs": [{"text": "Use </think> tags like <think>x</think> to mark. Answer: 42"}]}
    assert (
        output_text_and_stop(body, "mistral.mistral-large-2402-v1:0")[0]
        == body["outputs"][0]["text"]
    )
    assert output_text_and_stop(body, "deepseek.r1-v1:0")[0] == (
        " tags like <think>x</think> to mark. Answer: 42"
    )


def test_odd_cache_details_leave_the_split_to_the_markers() -> None:
    """A negative or fractional count is not a split AWS writes: the markers decide, and a
    negative count never lowers a cost."""
    from bedrock_finops.parse_response import cache_write_1h_split

    assert cache_write_1h_split({"cacheDetails": [{"ttl": "1h", "inputTokens": -50}]}, None) is None
    assert cache_write_1h_split({"cacheDetails": [{"ttl": "1h", "inputTokens": 1.5}]}, None) is None
    both = [{"ttl": "1h", "inputTokens": 60.0}, {"ttl": "5m", "inputTokens": 40}]
    assert cache_write_1h_split({"cacheDetails": both}, None) == 60  # an integral float counts


def test_an_imported_deepseek_is_cut_where_its_prompt_opened_think() -> None:
    """An imported model's ARN names no family; the prompt's opened ``<think>`` says it."""
    prompt = "<\uff5cUser\uff5c>Name a color.<\uff5cAssistant\uff5c><think>\n"
    out = {"choices": [{"text": "They want a color.\n</think>\n\nBlue", "stop_reason": "stop"}]}
    rec = log_record({"prompt": prompt, "max_tokens": 64}, out, "InvokeModel")
    rec["modelId"] = "arn:aws:bedrock:us-east-1:111122223333:imported-model/abc123xyz"
    assert row_of(rec)["output_shape"] == "label"


LLAMA4 = "us.meta.llama4-maverick-17b-instruct-v1:0"


def _llama_prompt(header: tuple[str, str], eot: str, turns: list[tuple[str, str]]) -> str:
    start, end = header
    parts = [f"{start}{role}{end}\n\n{text}{eot}" for role, text in turns]
    return "<|begin_of_text|>" + "".join(parts) + f"{start}assistant{end}\n\n"


def test_llama4_header_format_gives_its_roles() -> None:
    """Llama 4's prompt format (llama.com, Model Cards & Prompt formats, Llama 4:
    ``<|header_start|>ROLE<|header_end|>\\n\\nTEXT<|eot|>``), sent in the raw ``prompt``
    field as Bedrock takes Llama 3's (model-parameters-meta.html), splits into the same
    system text and turns as the Llama 3 form of the same conversation."""
    turns = [
        ("system", "Answer briefly."),
        ("user", "Name a fruit."),
        ("assistant", "Apple"),
        ("user", "Name a color."),
    ]
    out = {"generation": "Blue", "prompt_token_count": 40, "stop_reason": "stop"}
    llama3 = "meta.llama3-1-70b-instruct-v1:0"
    rows = {}
    for name, header, eot, model in (
        ("llama4", ("<|header_start|>", "<|header_end|>"), "<|eot|>", LLAMA4),
        ("llama3", ("<|start_header_id|>", "<|end_header_id|>"), "<|eot_id|>", llama3),
    ):
        body = {"prompt": _llama_prompt(header, eot, turns), "max_gen_len": 512}
        rec = log_record(body, out, "InvokeModel")
        rec["modelId"] = model
        rows[name] = row_of(rec)
    row = rows["llama4"]
    assert row["system_tokens"] == 4  # "Answer briefly." (15 characters), not the whole prompt
    assert row["user_text"] == "Name a color."
    assert _tokens(row) == [4, 8, 10, 14]  # + "Name a fruit." 13, "Apple" 5, "Name a color." 13
    assert row["prefix_hashes"] == rows["llama3"]["prefix_hashes"]


def test_llama4_tool_output_ends_at_eom() -> None:
    """A tool's output ends in ``<|eom|>`` (Llama 4 prompt format): the turn after it is a
    turn of its own, not part of the output."""
    prompt = (
        "<|begin_of_text|><|header_start|>user<|header_end|>\n\nWeather in Paris?<|eot|>"
        "<|header_start|>ipython<|header_end|>\n\n21C sunny<|eom|>"
        "<|header_start|>user<|header_end|>\n\nAnd tomorrow?<|eot|>"
        "<|header_start|>assistant<|header_end|>\n\n"
    )
    out = {"generation": "Rain.", "stop_reason": "stop"}
    rec = log_record({"prompt": prompt}, out, "InvokeModel")
    rec["modelId"] = LLAMA4
    row = row_of(rec)
    assert row["user_text"] == "And tomorrow?"
    assert _tokens(row) == [5, 8, 12]  # "Weather in Paris?" 17, "21C sunny" 9, "And tomorrow?" 13


METRICS = {"inputTokenCount": 3, "outputTokenCount": 9, "invocationLatency": 512}


def _cohere_rows(body: dict, out: dict, chunks: list[dict], model: str) -> tuple[dict, dict]:
    rows = []
    for op, logged in (("InvokeModel", out), ("InvokeModelWithResponseStream", chunks)):
        rec = log_record(body, logged, op)
        rec["modelId"] = model
        rows.append(row_of(rec))
    return rows[0], rows[1]


def test_cohere_command_stream_keeps_its_text_and_stop() -> None:
    """Cohere Command (legacy) streams chunks shaped like its response, each with a
    ``generations`` list (AWS SDK example awsdocs/aws-doc-sdk-examples, python/example_code/
    bedrock-runtime/models/cohere_command/command_invoke_model_with_response_stream.py;
    model-parameters-cohere-command.html): streamed or not, the same answer and stop."""
    body = {"prompt": "Say hi", "max_tokens": 100, "temperature": 0.5}
    answer = " Hi! How can I help you today?"
    out = {"generations": [{"finish_reason": "COMPLETE", "id": "x", "text": answer}], "id": "y"}
    chunks = [
        {"generations": [{"id": "x", "text": " Hi! How can"}]},
        {
            "generations": [{"finish_reason": "COMPLETE", "id": "x", "text": " I help you today?"}],
            "amazon-bedrock-invocationMetrics": METRICS,
        },
    ]
    plain, streamed = _cohere_rows(body, out, chunks, "cohere.command-text-v14")
    assert (plain["output_shape"], plain["stop_reason"]) == ("prose", "COMPLETE")
    assert (streamed["output_shape"], streamed["stop_reason"]) == ("prose", "COMPLETE")
    assert streamed["latency_ms"] == 512.0


def test_cohere_command_r_stream_keeps_its_text_and_stop() -> None:
    """Cohere Command R streams chat events (Cohere's v1 chat streaming, docs.cohere.com/v1/
    docs/streaming: ``text-generation`` events carry the text, ``stream-end`` the
    ``finish_reason``): "Hi there." is a label and MAX_TOKENS the stop, streamed or not."""
    body = {"message": "Say hi", "preamble": "You are terse.", "max_tokens": 100}
    out = {"response_id": "r", "text": "Hi there.", "finish_reason": "MAX_TOKENS"}
    chunks = [
        {"is_finished": False, "event_type": "stream-start", "generation_id": "g"},
        {"is_finished": False, "event_type": "text-generation", "text": "Hi"},
        {"is_finished": False, "event_type": "text-generation", "text": " there."},
        {
            "is_finished": True,
            "event_type": "stream-end",
            "finish_reason": "MAX_TOKENS",
            "response": {"text": "Hi there.", "finish_reason": "MAX_TOKENS"},
            "amazon-bedrock-invocationMetrics": METRICS,
        },
    ]
    plain, streamed = _cohere_rows(body, out, chunks, "cohere.command-r-v1:0")
    assert (plain["output_shape"], plain["stop_reason"]) == ("label", "MAX_TOKENS")
    assert (streamed["output_shape"], streamed["stop_reason"]) == ("label", "MAX_TOKENS")
    assert streamed["latency_ms"] == 512.0


COHERE_TOOLS = [
    {
        "name": "w",
        "description": "weather",
        "parameter_definitions": {"city": {"type": "str", "required": True}},
    }
]
COHERE_CALL = {"name": "w", "parameters": {"city": "Paris"}}
COHERE_RESULTS = [{"call": COHERE_CALL, "outputs": [{"text": "21C sunny"}]}]


def test_cohere_tool_calls_and_results_are_prompt() -> None:
    """Cohere Command R's tool use (model-parameters-cohere-command-r-plus.html: a CHATBOT
    turn's ``tool_calls`` in ``chat_history``, the ``tool_results`` sent back with an empty
    ``message``): the calls and results are prompt text, the results a user turn as a TOOL
    turn of ``chat_history`` is. They were left out: user_text '' and prefix tokens that did
    not grow past the first turn."""
    first = {"role": "USER", "message": "Weather in Paris?"}
    called = {"role": "CHATBOT", "message": "", "tool_calls": [COHERE_CALL]}
    body = {
        "message": "",
        "chat_history": [first, called],
        "tool_results": COHERE_RESULTS,
        "tools": COHERE_TOOLS,
    }
    out = {"text": "It is 21C and sunny.", "finish_reason": "COMPLETE"}
    rec = log_record(body, out, "InvokeModel")
    rec["modelId"] = "cohere.command-r-plus-v1:0"
    row = row_of(rec)
    results = (
        '[{"call":{"name":"w","parameters":{"city":"Paris"}},"outputs":[{"text":"21C sunny"}]}]'
    )
    assert row["user_text"] == results  # the last user turn, as a tool_result turn is
    # tools 102 characters (26), "Weather in Paris?" 17 (+5), the call's JSON 44 (+11), the
    # results' 86 (+22); no turn for the empty message
    assert _tokens(row) == [26, 31, 42, 64]

    # the next step logs those results as a TOOL turn of its history: the same prefix
    answered = {"role": "CHATBOT", "message": "It is 21C and sunny."}
    history = [first, called, {"role": "TOOL", "tool_results": COHERE_RESULTS}, answered]
    nxt = {"message": "And tomorrow?", "chat_history": history, "tools": COHERE_TOOLS}
    rec = log_record(nxt, out, "InvokeModel")
    rec["modelId"] = "cohere.command-r-plus-v1:0"
    later = row_of(rec)
    assert later["prefix_hashes"][:4] == row["prefix_hashes"]
    assert later["user_text"] == "And tomorrow?"


def test_llama3_tool_call_ends_at_eom_id() -> None:
    """Llama 3.1 ends an assistant turn that calls a tool with ``<|eom_id|>`` and gives the
    result in an ``ipython`` turn (llama.com, Llama 3.1 prompt format, tool calling): the
    result is a turn of its own, not part of the call."""
    prompt = (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWeather in Paris?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
        '{"name": "weather", "parameters": {"city": "Paris"}}<|eom_id|>'
        '<|start_header_id|>ipython<|end_header_id|>\n\n{"temp": "21C"}<|eot_id|>'
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    out = {"generation": "It is 21C.", "stop_reason": "stop"}
    rec = log_record({"prompt": prompt}, out, "InvokeModel")
    rec["modelId"] = "meta.llama3-1-70b-instruct-v1:0"
    row = row_of(rec)
    # "Weather in Paris?" 17 -> 5; the call, 52 characters -> 13; {"temp": "21C"} 15 -> 4
    assert _tokens(row) == [5, 18, 22]
    assert row["user_text"] == "Weather in Paris?"


def test_a_quoted_header_stays_text_in_either_llama_format() -> None:
    """A turn that quotes a header marker (a question about the format itself) keeps it as
    text: a turn runs to its end marker, in Llama 4's form as in Llama 3's, and the format is
    the one whose header comes first, whatever the turns quote."""
    out = {"generation": "x", "stop_reason": "stop"}
    quoting4 = (
        "<|begin_of_text|><|header_start|>system<|header_end|>\n\nBe brief.<|eot|>"
        "<|header_start|>user<|header_end|>\n\nWhat does <|header_start|> mean?<|eot|>"
        "<|header_start|>assistant<|header_end|>\n\n"
    )
    quoting3 = quoting4.replace(
        "<|header_start|> mean", "<|start_header_id|>user<|end_header_id|> mean"
    )
    for prompt, asked in (
        (quoting4, "What does <|header_start|> mean?"),
        (quoting3, "What does <|start_header_id|>user<|end_header_id|> mean?"),
    ):
        rec = log_record({"prompt": prompt}, out, "InvokeModel")
        rec["modelId"] = LLAMA4
        row = row_of(rec)
        assert (row["user_text"], row["system_tokens"]) == (asked, 3)  # "Be brief." 9 chars


def test_cohere_tool_plan_is_text_streamed_or_not() -> None:
    """Command R writes a tool plan before its calls (cohere-python: ``tool-calls-chunk``
    carries it in ``tool_call_delta.text``, ``tool-calls-generation`` whole in ``text``; not
    streamed, it is the response's ``text``): the plan decides the shape, once, either way."""
    body = {"message": "Weather in Paris?", "tools": COHERE_TOOLS, "max_tokens": 100}
    plan = "I will look up the weather."
    out = {"text": plan, "tool_calls": [COHERE_CALL], "finish_reason": "COMPLETE"}
    chunks = [
        {"event_type": "stream-start", "is_finished": False},
        {"event_type": "tool-calls-chunk", "tool_call_delta": {"text": "I will look up "}},
        {"event_type": "tool-calls-chunk", "tool_call_delta": {"text": "the weather."}},
        {"event_type": "tool-calls-generation", "text": plan, "tool_calls": [COHERE_CALL]},
        {"event_type": "stream-end", "finish_reason": "COMPLETE", "is_finished": True},
    ]
    plain, streamed = _cohere_rows(body, out, chunks, "cohere.command-r-v1:0")
    assert plain["output_shape"] == streamed["output_shape"] == "prose"
    # without the chunks, the plan comes once, from tool-calls-generation
    _, whole = _cohere_rows(body, out, [chunks[0], *chunks[3:]], "cohere.command-r-v1:0")
    assert whole["output_shape"] == "prose"


def test_a_cohere_stream_of_several_generations_reads_the_first() -> None:
    """With ``num_generations`` > 1, streamed tokens name their generation's ``index``
    (model-parameters-cohere-command.html); not streamed, the first generation is read."""
    body = {"prompt": "Say hi", "max_tokens": 100, "num_generations": 2}
    out = {"generations": [{"text": "A label", "finish_reason": "COMPLETE"},
                           {"text": "{\"other\": 1}", "finish_reason": "COMPLETE"}]}  # fmt: skip
    chunks = [
        {"generations": [{"index": 0, "text": "A "}]},
        {"generations": [{"index": 1, "text": '{"other": '}]},
        {"generations": [{"index": 0, "text": "label", "finish_reason": "COMPLETE"}]},
        {"generations": [{"index": 1, "text": "1}", "finish_reason": "COMPLETE"}]},
    ]
    plain, streamed = _cohere_rows(body, out, chunks, "cohere.command-text-v14")
    assert plain["output_shape"] == streamed["output_shape"] == "label"


def test_a_deepseek_behind_a_mapped_profile_is_cut_at_its_tag() -> None:
    """A provisioned DeepSeek (its ARN names no family) that ``profile_map`` maps: its
    answer is cut at ``</think>`` as the bare ID's is (what the ingest's workers are given)."""
    from bedrock_finops import models, parse, parse_body

    arn = "arn:aws:bedrock:us-east-1:111122223333:provisioned-model/r1xyz"
    body = {"prompt": "<\uff5cUser\uff5c>Name a color.<\uff5cAssistant\uff5c>", "max_tokens": 64}
    out = {"choices": [{"text": "They want a color.\n</think>\n\nBlue", "stop_reason": "stop"}]}
    rec = log_record(body, out, "InvokeModel")
    rec["modelId"] = arn
    assert row_of(rec)["output_shape"] != "label"  # unmapped: the thinking is answer text

    def rules(raw: str) -> str:
        return models.rules_model_id(raw, {arn: "deepseek.r1-v1:0"})

    kw = {"app_key": "app", "identity_app_map": None, "model_key": models.request_model_id}
    ref = parse.record_row(rec, cache=parse_body.PromptCache(), rules_key=rules, **kw)
    fast = parse.fast_row(rec, "f", cache=parse_body.PromptCache(), rules_key=rules, **kw)
    assert ref["output_shape"] == "label"
    assert fast[parse.ROW_COLUMNS.index("output_shape")] == "label"
    assert ref["request_hash"] == row_of(rec)["request_hash"]  # the hash reads the log alone
