"""A system prompt of several blocks: each boundary is a cache checkpoint candidate."""

from __future__ import annotations

from record_rows import log_record, row_of

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


def test_the_marker_does_not_change_the_prefixes_and_one_block_has_no_block_entry():
    marked = row_of(log_record(converse("Today is 2026-11-26."), OUT))
    plain = row_of(log_record(converse("Today is 2026-11-26.", marker=False), OUT))
    assert marked["prefix_hashes"] == plain["prefix_hashes"]
    assert marked["cache_ttl"] == "5m" and plain["cache_ttl"] is None
    single = {"system": [{"text": STATIC}], "messages": converse("x")["messages"]}
    kinds = [kind for kind, _, _ in row_of(log_record(single, OUT))["prefix_hashes"]]
    assert kinds == ["system", "message"]
