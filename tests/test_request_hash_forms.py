"""``request_hash`` reads a text given in its shorthand as the one text block it stands for.

Anthropic messages take ``"system": "S"`` for ``[{"type": "text", "text": "S"}]`` and a
message's ``"content": "hi"`` for ``[{"type": "text", "text": "hi"}]``; a ``cache_control``
marker needs the list form, so without this, turning caching on for a string system prompt
made the request look new. The OpenAI chat form (gpt-oss) takes a message's content both ways
too. The expected hashes are of canonical JSON written out by hand.
"""

from __future__ import annotations

import xxhash
from record_rows import log_record, row_of

MODEL_KEY = b"anthropic.claude-3-haiku-20240307-v1:0"  # log_record's model, as the hash names it
ANSWER = {"content": [{"type": "text", "text": "Hello."}], "stop_reason": "end_turn"}
ASKED = (
    b'{"anthropic_version":"bedrock-2023-05-31","max_tokens":50,'
    b'"messages":[{"content":[{"text":"hi","type":"text"}],"role":"user"}],'
    b'"system":[{"text":"S","type":"text"}]}'
)


def _hash_of(canonical_body: bytes) -> str:
    return xxhash.xxh3_128_hexdigest(MODEL_KEY + b"\x00" + canonical_body)


def _anthropic(system, content) -> dict:
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 50,
        "system": system,
        "messages": [{"role": "user", "content": content}],
    }


def test_anthropic_shorthand_and_block_forms_hash_alike() -> None:
    block = {"type": "text", "text": "S"}
    marked = {**block, "cache_control": {"type": "ephemeral"}}
    hi = [{"type": "text", "text": "hi"}]
    forms = [
        _anthropic("S", "hi"),
        _anthropic([block], "hi"),
        _anthropic([marked], "hi"),  # caching turned on for the string system prompt
        _anthropic("S", hi),
        _anthropic([marked], [{**hi[0], "cache_control": {"type": "ephemeral"}}]),
    ]
    rows = [row_of(log_record(body, ANSWER, "InvokeModel")) for body in forms]  # both paths
    assert {r["request_hash"] for r in rows} == {_hash_of(ASKED)}
    assert len({(r["system_hash"], tuple(r["prefix_hashes"])) for r in rows}) == 1


def test_only_one_block_is_the_shorthand() -> None:
    """Two system blocks are not the string of their texts joined: that is another request."""
    two = _anthropic([{"type": "text", "text": "S"}, {"type": "text", "text": "T"}], "hi")
    joined = _anthropic("S\nT", "hi")
    hashes = [row_of(log_record(b, ANSWER, "InvokeModel"))["request_hash"] for b in (two, joined)]
    assert hashes[0] != hashes[1]
    assert hashes[1] == _hash_of(ASKED.replace(b'"text":"S"', b'"text":"S\\nT"'))


def test_every_turn_of_a_conversation() -> None:
    def body(as_blocks: bool) -> dict:
        turns = [("user", "hi"), ("assistant", "Hello."), ("user", "Bye")]
        return {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 50,
            "messages": [
                {"role": r, "content": [{"type": "text", "text": t}] if as_blocks else t}
                for r, t in turns
            ],
        }

    expected = _hash_of(
        b'{"anthropic_version":"bedrock-2023-05-31","max_tokens":50,"messages":['
        b'{"content":[{"text":"hi","type":"text"}],"role":"user"},'
        b'{"content":[{"text":"Hello.","type":"text"}],"role":"assistant"},'
        b'{"content":[{"text":"Bye","type":"text"}],"role":"user"}]}'
    )
    for as_blocks in (False, True):
        assert (
            row_of(log_record(body(as_blocks), ANSWER, "InvokeModel"))["request_hash"] == expected
        )


def test_openai_chat_content_as_string_or_parts() -> None:
    """gpt-oss on InvokeModel: a message's content is a string or a list of text parts."""

    def body(as_parts: bool) -> dict:
        def content(text: str):
            return [{"type": "text", "text": text}] if as_parts else text

        return {
            "messages": [
                {"role": "developer", "content": content("Be brief.")},
                {"role": "user", "content": content("hi")},
            ],
            "max_completion_tokens": 50,
        }

    out = {"choices": [{"message": {"content": "Hello."}, "finish_reason": "stop"}]}
    expected = _hash_of(
        b'{"max_completion_tokens":50,"messages":['
        b'{"content":[{"text":"Be brief.","type":"text"}],"role":"developer"},'
        b'{"content":[{"text":"hi","type":"text"}],"role":"user"}]}'
    )
    for as_parts in (False, True):
        row = row_of(log_record(body(as_parts), out, "InvokeModel"))
        assert row["request_hash"] == expected
        assert (row["user_text"], row["system_tokens"]) == ("hi", 3)  # ceil(9 / 4)


def test_a_converse_body_is_hashed_as_logged() -> None:
    """Converse and Nova take lists only: their bodies are hashed as they stand."""
    body = {
        "system": [{"text": "S"}],
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "inferenceConfig": {"maxTokens": 50},
    }
    out = {"output": {"message": {"content": [{"text": "Hello."}]}}, "stopReason": "end_turn"}
    expected = _hash_of(
        b'{"inferenceConfig":{"maxTokens":50},'
        b'"messages":[{"content":[{"text":"hi"}],"role":"user"}],"system":[{"text":"S"}]}'
    )
    assert row_of(log_record(body, out))["request_hash"] == expected


def test_a_tool_result_given_as_a_string() -> None:
    """Anthropic takes a ``tool_result``'s content as a string or as blocks: the same request,
    the same prompt text, whichever form a client sends."""

    def body(as_blocks: bool) -> dict:
        result = "21C"
        if as_blocks:
            result = [{"type": "text", "text": "21C"}]
        return {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 50,
            "messages": [
                {"role": "user", "content": "Weather?"},
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "t1", "name": "weather", "input": {}},
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": result},
                ]},
            ],
        }  # fmt: skip

    expected = _hash_of(
        b'{"anthropic_version":"bedrock-2023-05-31","max_tokens":50,"messages":['
        b'{"content":[{"text":"Weather?","type":"text"}],"role":"user"},'
        b'{"content":[{"id":"t1","input":{},"name":"weather","type":"tool_use"}],'
        b'"role":"assistant"},'
        b'{"content":[{"content":[{"text":"21C","type":"text"}],"tool_use_id":"t1",'
        b'"type":"tool_result"}],"role":"user"}]}'
    )
    rows = [row_of(log_record(body(b), ANSWER, "InvokeModel")) for b in (False, True)]
    assert [r["request_hash"] for r in rows] == [expected, expected]
    # the same where every other content is a list: the tool result is the only shorthand
    listed = [body(b) for b in (False, True)]
    for b in listed:
        b["messages"][0]["content"] = [{"type": "text", "text": "Weather?"}]
    assert {row_of(log_record(b, ANSWER, "InvokeModel"))["request_hash"] for b in listed} == {
        expected
    }
    assert rows[0]["prefix_hashes"] == rows[1]["prefix_hashes"]
    assert (
        rows[0]["user_text"]
        == rows[1]["user_text"]
        == '{"content":[{"text":"21C","type":"text"}],"tool_use_id":"t1","type":"tool_result"}'
    )


def test_odd_messages_in_an_anthropic_body_are_still_a_row() -> None:
    """The tool-result check reads only a list of messages: a body whose ``messages`` is not
    one stays a row (as it was), whatever its text names."""
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 10,
        "messages": 5,
        "metadata": {"user_id": "tool_result"},
    }
    assert row_of(log_record(body, ANSWER, "InvokeModel"))["request_hash"] is not None
