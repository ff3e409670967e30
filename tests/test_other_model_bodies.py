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
