"""A system prompt of several blocks: each boundary is a cache checkpoint candidate."""

from __future__ import annotations

import base64

from record_rows import log_record, row_of

from bedrock_finops import models, parse
from bedrock_finops.parse_body import BODY_VALUE_NAMES, PromptCache, body_values
from bedrock_finops.tokens import estimate_tokens

STATIC = "You answer questions about Brightdesk's refund policy. " * 40  # 2,200 characters
OUT = {"output": {"message": {"role": "assistant", "content": [{"text": "Yes."}]}}}


def converse(dynamic: str, marker: bool = True) -> dict:
    system = [{"text": STATIC}]
    if marker:
        system.append({"cachePoint": {"type": "default"}})
    system.append({"text": dynamic})
    return {
        "system": system,
        "messages": [{"role": "user", "content": [{"text": "Can I get a refund?"}]}],
    }


def test_a_static_block_before_a_changing_one_is_a_shared_prefix():
    """Two requests share their first system block and differ in the second (today's date):
    the `system_block` entry after the first is the same, with the first block's tokens; the
    whole system prompt, and so everything after it, differs."""
    a = row_of(log_record(converse("Today is 2026-11-26."), OUT))
    b = row_of(log_record(converse("Today is 2026-11-27."), OUT))
    kinds = [kind for kind, _, _ in a["prefix_hashes"]]
    assert kinds == ["system_block", "system", "message"]
    first_a, first_b = a["prefix_hashes"][0], b["prefix_hashes"][0]
    assert first_a == first_b and first_a[2] == estimate_tokens(STATIC) == 550
    assert a["prefix_hashes"][1][1] != b["prefix_hashes"][1][1]
    assert a["system_hash"] != b["system_hash"]
    assert a["system_tokens"] == estimate_tokens(STATIC + "\nToday is 2026-11-26.")


def test_a_system_block_entry_is_the_system_entry_of_a_prompt_that_ends_there():
    """A request whose system prompt is the static block alone (a pre-warm) and one that adds
    today's date after the checkpoint share the prompt up to it: the first's ``system`` entry
    is the second's ``system_block`` entry, hash and tokens."""
    alone = {"system": [{"text": STATIC}, {"cachePoint": {"type": "default"}}]}
    alone["messages"] = converse("x")["messages"]
    warm = row_of(log_record(alone, OUT))["prefix_hashes"]
    dated = row_of(log_record(converse("Today is 2026-11-26."), OUT))["prefix_hashes"]
    assert warm[0][0] == "system" and dated[0][0] == "system_block"
    assert warm[0][1:] == dated[0][1:] and warm[0][2] == 550


def test_the_marker_does_not_change_the_prefixes_and_one_block_has_no_block_entry():
    marked = row_of(log_record(converse("Today is 2026-11-26."), OUT))
    plain = row_of(log_record(converse("Today is 2026-11-26.", marker=False), OUT))
    assert marked["prefix_hashes"] == plain["prefix_hashes"]
    assert marked["cache_ttl"] == "5m" and plain["cache_ttl"] is None
    single = {"system": [{"text": STATIC}], "messages": converse("x")["messages"]}
    kinds = [kind for kind, _, _ in row_of(log_record(single, OUT))["prefix_hashes"]]
    assert kinds == ["system", "message"]


DOCUMENT = "Brightdesk refunds an annual plan pro rata within 30 days of renewal. " * 30


def anthropic_rag(question: str, marker: bool = True) -> dict:
    """A document block marked for caching, then the question, in one user message."""
    doc = {"type": "text", "text": DOCUMENT}
    if marker:
        doc["cache_control"] = {"type": "ephemeral"}
    content = [doc, {"type": "text", "text": question}]
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 100,
        "system": "Answer from the document.",
        "messages": [{"role": "user", "content": content}],
    }


ANTHROPIC_OUT = {"content": [{"type": "text", "text": "Yes."}], "stop_reason": "end_turn"}


def test_a_block_inside_a_message_is_a_checkpoint_candidate():
    """Two questions about one document in the same message share the entry after the
    document, with the tokens up to it; the markers do not change the entries."""
    a = row_of(log_record(anthropic_rag("Is a monthly plan refunded?"), ANTHROPIC_OUT))
    b = row_of(log_record(anthropic_rag("What about after 30 days?"), ANTHROPIC_OUT))
    plain = row_of(log_record(anthropic_rag("Is a monthly plan refunded?", False), ANTHROPIC_OUT))
    assert [kind for kind, _, _ in a["prefix_hashes"]] == ["system", "message_block", "message"]
    system_tokens = estimate_tokens("Answer from the document.")
    assert a["prefix_hashes"][1] == b["prefix_hashes"][1]
    assert a["prefix_hashes"][1][2] == system_tokens + estimate_tokens(DOCUMENT) == 532
    assert a["prefix_hashes"][2][1] != b["prefix_hashes"][2][1]
    assert a["prefix_hashes"][2][2] == system_tokens + estimate_tokens(
        DOCUMENT + "\nIs a monthly plan refunded?"
    )
    assert plain["prefix_hashes"] == a["prefix_hashes"] and plain["cache_ttl"] is None


def test_a_converse_cache_point_is_no_block_of_its_own():
    body = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"text": DOCUMENT},
                    {"cachePoint": {"type": "default"}},
                    {"text": "Q?"},
                ],
            }
        ]
    }
    row = row_of(log_record(body, OUT))
    entries = row["prefix_hashes"]
    assert [kind for kind, _, _ in entries] == ["message_block", "message"]
    assert entries[0][2] == estimate_tokens(DOCUMENT) and entries[1][2] == estimate_tokens(
        DOCUMENT + "\nQ?"
    )


def test_a_message_block_entry_is_the_message_entry_of_a_message_that_ends_there():
    """A user message of the document alone, marked, and one of the document then a
    question share the prompt up to the checkpoint: the first's ``message`` entry is the
    second's ``message_block`` entry (Converse and Anthropic alike)."""
    marker = {"cachePoint": {"type": "default"}}
    doc_only = {"messages": [{"role": "user", "content": [{"text": DOCUMENT}, marker]}]}
    asked = {
        "messages": [{"role": "user", "content": [{"text": DOCUMENT}, marker, {"text": "Q?"}]}]
    }
    warm = row_of(log_record(doc_only, OUT))["prefix_hashes"]
    question = row_of(log_record(asked, OUT))["prefix_hashes"]
    assert [k for k, _, _ in warm] == ["message"]
    assert question[0][0] == "message_block" and question[0][1:] == warm[0][1:]
    body = anthropic_rag("Is a monthly plan refunded?")
    body["messages"][0]["content"].pop()  # the document alone, with its marker
    anthropic_warm = row_of(log_record(body, ANTHROPIC_OUT))["prefix_hashes"]
    anthropic_asked = row_of(log_record(anthropic_rag("Q?"), ANTHROPIC_OUT))["prefix_hashes"]
    assert [k for k, _, _ in anthropic_warm] == ["system", "message"]
    assert anthropic_asked[1][0] == "message_block"
    assert anthropic_asked[1][1:] == anthropic_warm[1][1:]


def test_earlier_reasoning_counts_its_text_not_its_signature():
    """A thinking block sent back in an earlier assistant turn: its text is prompt; the
    signature and redacted reasoning are encrypted bytes, not tokens the model reads."""
    thought = {"type": "thinking", "thinking": "Check the plan.", "signature": "S" * 800}
    redacted = {"type": "redacted_thinking", "data": "R" * 4000}
    answer = {"type": "text", "text": "Refunded."}
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "Refund?"},
            {"role": "assistant", "content": [thought, redacted, answer]},
            {"role": "user", "content": "Thanks."},
        ],
    }
    entries = row_of(log_record(body, ANTHROPIC_OUT))["prefix_hashes"]
    assert [(k, t) for k, _, t in entries] == [
        ("message", 2),  # "Refund?"
        ("message", 2 + estimate_tokens("Check the plan.\n\nRefunded.")),  # 9, not ~1,200
        ("message", 2 + estimate_tokens("Check the plan.\n\nRefunded.") + 2),
    ]


REFUND_TOOL = {"name": "refund", "description": "Refund an order.", "input_schema": {}}


def refund_body(**settings) -> dict:
    """An Anthropic request with one tool, a system prompt and one turn, and ``settings``."""
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 2000,
        "tools": [REFUND_TOOL],
        "system": "Answer from the document.",
        "messages": [{"role": "user", "content": "Refund order 7."}],
        **settings,
    }


def test_tool_choice_and_thinking_start_the_messages_part_of_the_chain():
    """Anthropic: a change of tool_choice or of the thinking settings invalidates the cached
    messages, not the tools or the system prompt: the entries say the same."""

    def entries(**settings) -> list:
        return row_of(log_record(refund_body(**settings), ANTHROPIC_OUT))["prefix_hashes"]

    auto, anyt = entries(tool_choice={"type": "auto"}), entries(tool_choice={"type": "any"})
    think = entries(thinking={"type": "enabled", "budget_tokens": 1024})
    plain = entries()
    assert [k for k, _, _ in auto] == ["tools", "system", "message"]
    assert auto[:2] == anyt[:2] == think[:2] == plain[:2]  # tools and system: the same
    assert len({auto[2][1], anyt[2][1], think[2][1], plain[2][1]}) == 4
    assert auto[2][2] == anyt[2][2] == plain[2][2]  # the same text: the same tokens
    assert entries(tool_choice={"type": "auto"}) == auto


def test_converse_tool_choice_and_thinking_fields_are_read_too():
    def body(**extra) -> dict:
        return {
            "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
            "toolConfig": {"tools": [{"toolSpec": {"name": "t"}}], **extra.get("cfg", {})},
            **({"additionalModelRequestFields": extra["fields"]} if "fields" in extra else {}),
        }

    plain = row_of(log_record(body(), OUT))["prefix_hashes"]
    choice = row_of(log_record(body(cfg={"toolChoice": {"any": {}}}), OUT))["prefix_hashes"]
    fields = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
    think = row_of(log_record(body(fields=fields), OUT))["prefix_hashes"]
    assert plain[0] == choice[0] == think[0]
    assert len({plain[1][1], choice[1][1], think[1][1]}) == 3


def test_a_block_entry_counts_the_image_or_document_before_it():
    """A document sent inline, then the question: the entry after the document has the
    document's tokens, not only its placeholder's."""
    text = "Refunds are pro rata. " * 900  # 19,800 characters
    doc = {
        "document": {
            "format": "txt",
            "name": "policy",
            "source": {"bytes": base64.b64encode(text.encode()).decode()},
        }
    }
    body = {"messages": [{"role": "user", "content": [doc, {"text": "Summarise."}]}]}
    entries = row_of(log_record(body, OUT))["prefix_hashes"]
    assert [k for k, _, _ in entries] == ["message_block", "message"]
    block, message = entries[0][2], entries[1][2]
    assert block >= estimate_tokens(text) == 4950
    assert 0 < message - block <= estimate_tokens("\nSummarise.") + 1  # the question only


def test_empty_blocks_and_other_roles_add_no_block_entry_and_a_message_keeps_its_last_20():
    empty_first = {"messages": [{"role": "user", "content": [{"text": ""}, {"text": "X"}]}]}
    assert [k for k, _, _ in row_of(log_record(empty_first, OUT))["prefix_hashes"]] == ["message"]
    calls = [{"toolUse": {"toolUseId": f"t{i}", "name": "f", "input": {}}} for i in range(3)]
    assistant = {
        "messages": [
            {"role": "user", "content": [{"text": "Go."}]},
            {"role": "assistant", "content": [{"text": "Calling."}, *calls]},
        ]
    }
    kinds = [k for k, _, _ in row_of(log_record(assistant, OUT))["prefix_hashes"]]
    assert kinds == ["message", "message"]
    many = {"messages": [{"role": "user", "content": [{"text": f"b{i}"} for i in range(100)]}]}
    entries = row_of(log_record(many, OUT))["prefix_hashes"]
    assert [k for k, _, _ in entries] == ["message_block"] * 20 + ["message"]
    text = "\n".join(f"b{i}" for i in range(100))
    assert entries[0][2] == estimate_tokens(text[: text.index("\nb80")])  # after block 79


def with_tools(tools: list[str] | None, system: str = "Answer from the policy.") -> dict:
    """A Converse request: tools (by name; None: no toolConfig), a system prompt, one turn."""
    body: dict = {
        "system": [{"text": system}],
        "messages": [{"role": "user", "content": [{"text": "Can I get a refund?"}]}],
    }
    if tools is not None:
        specs = [{"toolSpec": {"name": n, "inputSchema": {"json": {}}}} for n in tools]
        body["toolConfig"] = {"tools": specs}
    return body


def test_the_system_and_message_entries_are_chained_on_the_tools():
    """Bedrock caches the tools, then the system prompt, then the messages: an entry stands for
    everything before it. Other tools in front of the same system prompt and turn make every
    entry other (only the system prompt's own hash stays); the same tools, every entry the
    same."""
    refund = row_of(log_record(with_tools(["refund"]), OUT))
    lookup = row_of(log_record(with_tools(["lookup"]), OUT))
    again = row_of(log_record(with_tools(["refund"]), OUT))
    assert [k for k, _, _ in refund["prefix_hashes"]] == ["tools", "system", "message"]
    assert refund["system_hash"] == lookup["system_hash"]
    for mine, theirs in zip(refund["prefix_hashes"], lookup["prefix_hashes"], strict=True):
        assert mine[1] != theirs[1], mine[0]
    assert again["prefix_hashes"] == refund["prefix_hashes"]


def test_the_message_entries_are_chained_on_the_system_prompt():
    """No tools: two system prompts before the same turn give other system and message
    entries; the same system prompt, the same entries."""
    policy = row_of(log_record(with_tools(None, "Answer from the policy."), OUT))
    terms = row_of(log_record(with_tools(None, "Answer from the terms."), OUT))
    again = row_of(log_record(with_tools(None, "Answer from the policy."), OUT))
    assert [k for k, _, _ in policy["prefix_hashes"]] == ["system", "message"]
    assert policy["system_hash"] != terms["system_hash"]
    for mine, theirs in zip(policy["prefix_hashes"], terms["prefix_hashes"], strict=True):
        assert mine[1] != theirs[1], mine[0]
    assert again["prefix_hashes"] == policy["prefix_hashes"]


def test_the_effort_level_starts_the_messages_part_of_the_chain():
    """Anthropic's ``output_config.effort`` (Converse: in ``additionalModelRequestFields``):
    another level shares the tools and system entries, not the message entries."""

    def entries(b: dict, out: dict = ANTHROPIC_OUT) -> list:
        return row_of(log_record(b, out))["prefix_hashes"]

    high = entries(refund_body(output_config={"effort": "high"}))
    low = entries(refund_body(output_config={"effort": "low"}))
    plain = entries(refund_body())
    assert high[:2] == low[:2] == plain[:2]
    assert len({high[2][1], low[2][1], plain[2][1]}) == 3
    assert entries(refund_body(output_config={"effort": "low"})) == low
    schema = {"format": {"type": "json_schema", "schema": {}}}  # no effort: not a setting
    assert entries(refund_body(output_config=schema)) == plain

    def converse(effort: str) -> dict:
        return {
            "system": [{"text": "Answer from the document."}],
            "messages": [{"role": "user", "content": [{"text": "Refund order 7."}]}],
            "additionalModelRequestFields": {"output_config": {"effort": effort}},
        }

    c_high, c_low = entries(converse("high"), OUT), entries(converse("low"), OUT)
    assert c_high[0] == c_low[0] and c_high[1][1] != c_low[1][1]


def _png(width: int = 8) -> str:
    from io import BytesIO

    from PIL import Image

    buf = BytesIO()
    Image.new("RGB", (width, 8), (9, 9, 9)).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


HISTORY = [
    {"role": "user", "content": [{"type": "text", "text": DOCUMENT}]},
    {"role": "assistant", "content": [{"type": "text", "text": "Noted."}]},
]


def anthropic_turns(*last: dict, system: str = "Answer from the document.") -> dict:
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 100,
        "system": system,
        "messages": [*HISTORY, {"role": "user", "content": list(last)}],
    }


def test_an_image_anywhere_starts_the_messages_part_of_the_chain():
    """Adding an image in a later turn changes every message entry (Anthropic: images
    anywhere in the prompt invalidate the cached messages), not the system entry; two
    requests that both hold an image share their earlier message entries."""
    question = {"type": "text", "text": "And this one?"}

    def image(data: str) -> dict:
        source = {"type": "base64", "media_type": "image/png", "data": data}
        return {"type": "image", "source": source}

    def entries(*last: dict) -> list:
        return row_of(log_record(anthropic_turns(*last), ANTHROPIC_OUT))["prefix_hashes"]

    text = entries(question)
    red, blue = entries(image(_png(8)), question), entries(image(_png(9)), question)
    assert [k for k, _, _ in text] == ["system", "message", "message", "message"]
    assert text[0] == red[0]
    assert all(t[1] != r[1] for t, r in zip(text[1:], red[1:4], strict=False))
    assert red[1:3] == blue[1:3] and red[-1][1] != blue[-1][1]
    by_s3 = {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://b/k.png"}}}}
    converse = {"messages": [{"role": "user", "content": [{"text": "Hi"}]}]}
    plain = row_of(log_record(converse, OUT))["prefix_hashes"]
    converse["messages"].append({"role": "user", "content": [by_s3, {"text": "And?"}]})
    with_s3 = row_of(log_record(converse, OUT))["prefix_hashes"]
    assert plain[0][1] != with_s3[0][1]  # an image by reference counts too


def test_citations_on_a_document_start_the_system_part_of_the_chain():
    """Enabling citations on a document changes the system prompt Anthropic builds: the
    tools entry stays, the system and message entries change. With them off, the system
    entry is as without them (the document's JSON, its text here, says "enabled": false)."""
    tool = {"name": "refund", "description": "Refund an order.", "input_schema": {}}

    def document(**extra) -> dict:
        source = {"type": "text", "media_type": "text/plain", "data": "Refunds: 30 days."}
        return {"type": "document", "source": source, **extra}

    def entries(doc: dict) -> list:
        body = anthropic_turns(doc, {"type": "text", "text": "How long?"})
        body["tools"] = [tool]
        return row_of(log_record(body, ANTHROPIC_OUT))["prefix_hashes"]

    plain, off = entries(document()), entries(document(citations={"enabled": False}))
    on = entries(document(citations={"enabled": True}))
    assert [k for k, _, _ in on][:2] == ["tools", "system"]
    assert plain[:3] == off[:3]  # tools, system, the first message
    assert on[0] == off[0] and on[1][1] != off[1][1]
    assert all(a[1] != b[1] for a, b in zip(on[1:], off[1:], strict=True))
    assert [t for _, _, t in on][:3] == [t for _, _, t in off][:3]  # only a hash changes
    inline = {"format": "txt", "name": "p", "source": {"bytes": base64.b64encode(b"30").decode()}}

    def converse(doc: dict) -> list:
        content = [{"document": doc}, {"text": "How long?"}]
        body = {
            "system": [{"text": "Be brief."}],
            "messages": [{"role": "user", "content": content}],
        }
        return row_of(log_record(body, OUT))["prefix_hashes"]

    cited = converse({**inline, "citations": {"enabled": True}})
    assert converse(inline)[0][1] != cited[0][1]  # Converse: on the document block


def test_a_document_a_tool_returns_by_text_source_enables_citations_too():
    """A tool result may hold a document: one with a text source (no bytes, so no
    placeholder) that enables citations starts the system part of the chain as the same
    document in a turn does, in both APIs; an image by S3 location there marks the messages."""

    def anthropic(**extra) -> list:
        source = {"type": "text", "media_type": "text/plain", "data": "Refunds: 30 days."}
        doc = {"type": "document", "source": source, **extra}
        result = {"type": "tool_result", "tool_use_id": "t1", "content": [doc]}
        return row_of(log_record(anthropic_turns(result), ANTHROPIC_OUT))["prefix_hashes"]

    off, on = anthropic(), anthropic(citations={"enabled": True})
    assert off[0][0] == on[0][0] == "system" and off[0][1] != on[0][1]

    def converse(block: dict) -> list:
        result = {"toolResult": {"toolUseId": "t1", "content": [block]}}
        body = {
            "system": [{"text": "Be brief."}],
            "messages": [
                {"role": "user", "content": [{"text": "Look it up."}]},
                {"role": "user", "content": [result]},
            ],
        }
        return row_of(log_record(body, OUT))["prefix_hashes"]

    text_doc = {"format": "txt", "name": "p", "source": {"text": "Refunds: 30 days."}}
    plain = converse({"document": text_doc})
    cited = converse({"document": {**text_doc, "citations": {"enabled": True}}})
    assert plain[0][1] != cited[0][1]
    by_s3 = {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://b/k.png"}}}}
    with_image, as_text = converse(by_s3), converse({"text": "k.png"})
    # the image marks the messages' part: the first turn, the same text, is another entry
    assert with_image[0] == as_text[0] and with_image[1][1] != as_text[1][1]


NOVA = "us.amazon.nova-pro-v1:0"
NOVA_OUT = {"output": {"message": {"role": "assistant", "content": [{"text": "Yes."}]}}}


def nova_invoke(system: list | None = None) -> dict:
    """A Nova InvokeModel body: its own schema, with a ``toolConfig`` as Converse has."""
    body = with_tools(["refund"])
    body["schemaVersion"] = "messages-v1"
    if system is not None:
        body["system"] = system
    return body


def row_for(model_id: str, body: dict, op: str = "Converse") -> dict:
    rec = log_record(body, NOVA_OUT, op)
    rec["modelId"] = model_id
    return row_of(rec)


def test_nova_has_no_tools_entry_but_reads_the_tools():
    """Nova takes checkpoints in the system prompt and the messages only: no ``tools``
    entry, in Converse and InvokeModel alike. The tool specs are still prompt: the entries
    that follow are the ones a Claude request with the same prompt gets, tokens included."""
    claude = row_for("anthropic.claude-3-haiku-20240307-v1:0", with_tools(["refund"]))
    converse = row_for(NOVA, with_tools(["refund"]))
    invoke = row_for(NOVA, nova_invoke(), "InvokeModel")
    assert [k for k, _, _ in claude["prefix_hashes"]] == ["tools", "system", "message"]
    assert converse["prefix_hashes"] == claude["prefix_hashes"][1:]
    assert invoke["prefix_hashes"] == claude["prefix_hashes"][1:]
    tools_tokens = claude["prefix_hashes"][0][2]
    assert tools_tokens > 0
    assert converse["prefix_hashes"][0][2] == tools_tokens + estimate_tokens(
        "Answer from the policy."
    )
    assert converse["tools_hash"] == invoke["tools_hash"] == claude["tools_hash"] is not None


def test_whether_the_tools_get_an_entry_is_part_of_the_memo_key():
    """One worker's cache, the same prompt to Nova and then to Claude (and back): each gets
    its own start of the prompt, not the other's remembered one."""
    cache = PromptCache()
    body = with_tools(["refund"])

    def kinds(model: str) -> list[str]:
        prefix = body_values(model, body, NOVA_OUT, cache)[BODY_VALUE_NAMES.index("prefix_hashes")]
        return [k for k, _, _ in prefix]

    assert kinds("amazon.nova-pro-v1:0") == ["system", "message"]
    assert kinds("anthropic.claude-3-haiku-20240307-v1:0") == ["tools", "system", "message"]
    assert kinds("amazon.nova-lite-v1:0") == ["system", "message"]


def test_an_application_profile_mapped_to_nova_has_no_tools_entry():
    """The rule follows the model ``profile_map`` maps a profile to, as the image rules do."""
    profile = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/nova01"
    rec = log_record(with_tools(["refund"]), NOVA_OUT)
    rec["modelId"] = profile
    kw = {
        "app_key": "app",
        "identity_app_map": None,
        "model_key": models.request_model_id,
        "rules_key": lambda raw: models.rules_model_id(raw, {profile: NOVA}),
    }
    row = parse.record_row(rec, cache=PromptCache(), **kw)
    fast = parse.fast_row(rec, "f", cache=PromptCache(), **kw)
    assert [p["kind"] for p in row["prefix_hashes"]] == ["system", "message"]
    assert fast[parse.ROW_COLUMNS.index("prefix_hashes")] == [
        (p["kind"], p["hash"], p["tokens"]) for p in row["prefix_hashes"]
    ]
    unmapped = parse.record_row(rec, cache=PromptCache(), **{**kw, "rules_key": None})
    assert [p["kind"] for p in unmapped["prefix_hashes"]] == ["tools", "system", "message"]


def test_a_prompt_router_call_follows_the_rules_of_the_model_it_chose():
    """A call to Nova's default prompt router ran on the model the response names
    (``trace.promptRouter.invokedModelId``): a router that chose Nova Pro gets Nova's entries
    (no ``tools`` entry), on both paths, with or without a profile_map; a Claude router's
    choice keeps its ``tools`` entry. The request hash still names the router."""
    router = "arn:aws:bedrock:us-east-1:111122223333:default-prompt-router/amazon.nova:1"
    chose = "arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.amazon.nova-pro-v1:0"
    out = {**NOVA_OUT, "trace": {"promptRouter": {"invokedModelId": chose}}}
    rec = log_record(with_tools(["refund"]), out)
    rec["modelId"] = router
    direct = log_record(with_tools(["refund"]), NOVA_OUT)
    direct["modelId"] = "us.amazon.nova-pro-v1:0"
    for rules_key in (None, lambda raw: models.rules_model_id(raw, {"x": NOVA})):
        kw = {"app_key": "app", "identity_app_map": None, "rules_key": rules_key,
              "model_key": models.request_model_id}  # fmt: skip
        row = parse.record_row(rec, cache=PromptCache(), **kw)
        fast = parse.fast_row(rec, "f", cache=PromptCache(), **kw)
        assert [p["kind"] for p in row["prefix_hashes"]] == ["system", "message"]
        assert (
            row["prefix_hashes"]
            == parse.record_row(direct, cache=PromptCache(), **kw)["prefix_hashes"]
        )
        assert fast[parse.ROW_COLUMNS.index("prefix_hashes")] == [
            (p["kind"], p["hash"], p["tokens"]) for p in row["prefix_hashes"]
        ]
        assert (
            row["request_hash"]
            != parse.record_row(direct, cache=PromptCache(), **kw)["request_hash"]
        )
    claude = "arn:aws:bedrock:us-east-1:111122223333:default-prompt-router/anthropic.claude:1"
    rec["modelId"] = claude
    rec["output"]["outputBodyJson"]["trace"]["promptRouter"]["invokedModelId"] = (
        "arn:aws:bedrock:us-east-1:111122223333:inference-profile/"
        "us.anthropic.claude-3-haiku-20240307-v1:0"
    )
    kw = {"app_key": "app", "identity_app_map": None, "model_key": models.request_model_id}
    row = parse.record_row(rec, cache=PromptCache(), **kw)
    assert [p["kind"] for p in row["prefix_hashes"]] == ["tools", "system", "message"]


def test_an_empty_system_prompt_is_none():
    """``"system": []`` or ``""`` is no system prompt: the same entries as without one, no
    system hash or tokens, and nothing for the prompts table (Converse, Anthropic, Nova)."""
    turn = [{"role": "user", "content": [{"text": "Can I get a refund?"}]}]
    anthropic = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "Can I get a refund?"}],
    }
    nova = {k: v for k, v in nova_invoke().items() if k != "system"}
    for bare, empties, op in (
        ({"messages": turn}, ([], [{"text": ""}]), "Converse"),
        (anthropic, ("", []), "InvokeModel"),
        (nova, ([],), "InvokeModel"),
    ):
        none = row_for(NOVA, bare, op)
        for empty in empties:
            blank = row_for(NOVA, {**bare, "system": empty}, op)
            assert blank["prefix_hashes"] == none["prefix_hashes"], (op, empty)
            assert [k for k, _, _ in blank["prefix_hashes"]][-1:] == ["message"]
            assert (blank["system_hash"], blank["system_tokens"]) == (None, None)
            cache = PromptCache()
            body_values(NOVA, {**bare, "system": empty}, NOVA_OUT, cache)
            assert "system" not in [kind for kind, _, _ in cache.seen.values()]


def test_empty_system_blocks_are_no_blocks():
    """Empty text blocks in a system prompt are no blocks: two of them are no system prompt,
    and one beside a real block changes no entry (Bedrock refuses blank blocks, so only
    hand-made or altered records hold them). A Mistral-style empty system message adds no
    line break to the system prompt the next one gives."""
    turn = [{"role": "user", "content": [{"text": "Can I get a refund?"}]}]
    bare = row_for(NOVA, {"messages": turn})
    blanks = row_for(NOVA, {"messages": turn, "system": [{"text": ""}, {"text": ""}]})
    assert blanks["prefix_hashes"] == bare["prefix_hashes"]
    assert blanks["system_hash"] is None
    one = row_for(NOVA, {"messages": turn, "system": [{"text": "A"}]})
    padded = row_for(NOVA, {"messages": turn, "system": [{"text": "A"}, {"text": ""}]})
    assert padded["prefix_hashes"] == one["prefix_hashes"]
    assert padded["system_hash"] == one["system_hash"] is not None
    mistral = "mistral.mistral-large-2407-v1:0"
    chat = [{"role": "system", "content": ""}, {"role": "system", "content": "X"},
            {"role": "user", "content": "Hi"}]  # fmt: skip
    plain = [{"role": "system", "content": "X"}, {"role": "user", "content": "Hi"}]
    assert (
        row_for(mistral, {"messages": chat}, "InvokeModel")["prefix_hashes"]
        == row_for(mistral, {"messages": plain}, "InvokeModel")["prefix_hashes"]
    )


def test_a_system_prompt_of_thousands_of_blocks_keeps_its_last_20_block_entries():
    """Each kept ``system_block`` entry is the ``system`` entry of a request whose system
    prompt ends at that block, hash and tokens, as with a few blocks."""
    blocks = [f"Rule {i}: answer in the customer's language." for i in range(5000)]

    def converse(system: list[str]) -> dict:
        return {
            "system": [{"text": b} for b in system],
            "messages": [{"role": "user", "content": [{"text": "Can I get a refund?"}]}],
        }

    entries = row_of(log_record(converse(blocks), OUT))["prefix_hashes"]
    assert [k for k, _, _ in entries] == ["system_block"] * 20 + ["system", "message"]
    for kept, ends_after in ((entries[0], 4980), (entries[18], 4998), (entries[19], 4999)):
        alone = row_of(log_record(converse(blocks[:ends_after]), OUT))["prefix_hashes"]
        assert alone[-2][0] == "system" and kept[1:] == alone[-2][1:]
    assert entries[19][2] == estimate_tokens("\n".join(blocks[:4999]))
    assert entries[-2][2] == estimate_tokens("\n".join(blocks))
