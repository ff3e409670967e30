"""The fast parsing path gives exactly what the straightforward computation gives.

Per-block feature caching, string search instead of lazy regexes, and the chunked worker path
are pinned against plain reference computations on hand-written prompts and records.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import orjson
import pytest
from record_rows import both_rows, log_record, row_of

from bedrock_finops import (
    app_attribution,
    line_scan,
    models,
    parse,
    parse_body,
    parse_request,
    parse_response,
    parse_scalars,
)
from bedrock_finops.parse_features import (
    MAX_CACHE_CHARS,
    MAX_CACHE_ENTRIES,
    FeatureCache,
    pretty_json_tokens,
    reference_prompt_features,
    repeated_line_tokens,
)
from bedrock_finops.sources import invocation_logs as logs

PRETTY = '{\n  "a": 1,\n  "b": [\n    1,\n    2\n  ]\n}'
LINE = "Always answer in the customer's language."  # 41 chars: 11 tokens

# (system text, message texts): each case crosses a block boundary in its own way
PROMPTS = [
    (None, ["hello"]),
    (None, []),
    ("", ["x", "y"]),
    ("You are terse.", []),
    ("Return JSON like:\n" + PRETTY, ["Q: what now?"]),
    (f"{LINE}\n{LINE}", ["unique question"]),  # repeats inside the system prompt
    (LINE, ["Context:", LINE]),  # a line repeated across blocks
    ("short\n\n}", ["short\n\n}"]),  # trivial lines shared: not waste
    ("Example:\n{", ['  "a": 1\n}']),  # a span opened in one block, closed in the next
    ("Example:\n{\n", ['"a": 1\n}']),  # opener with no closer in its own block
    ("Rules", ["Data:\n[\n  1,\n  2\n]", "Again:\n[\n  1,\n  2\n]", "end"]),
    ("sys\r", ["\nnext line that is long enough", "next line that is long enough"]),
    # a long conversation in which turn 3 comes back as turn 57
    ("Be brief.", [f"Turn {i % 54}: a question that is new." for i in range(60)]),
    ("Be brief.", [f"Turn {i}: a question that is new." for i in range(60)]),
]


@pytest.mark.parametrize(("system", "texts"), PROMPTS)
def test_block_features_add_up_to_the_reference(system, texts):
    cache = FeatureCache()
    for _ in range(2):  # the second pass is served from the cache
        blocks = ([cache.block(system)] if system else []) + [cache.block(t) for t in texts]
        assert cache.prompt_features(system, texts, blocks) == reference_prompt_features(
            system, texts
        )


def test_reference_features_hand_computed():
    # PRETTY is 39 chars (10 tokens); compact {"a":1,"b":[1,2]} is 17 chars (5 tokens)
    assert pretty_json_tokens("x\n" + PRETTY) == 5
    assert reference_prompt_features("Example:\n{", ['  "a": 1\n}']) == (1, 0)
    # LINE three times: two repeats of 11 tokens
    assert repeated_line_tokens(f"{LINE}\n{LINE}\nok\n{LINE}") == 22
    assert reference_prompt_features(LINE, ["Context:", LINE]) == (0, 11)
    # turns 54-59 repeat turns 0-5: six repeated lines of 31 characters, 8 tokens each
    long = [f"Turn {i % 54}: a question that is new." for i in range(60)]
    assert reference_prompt_features("Be brief.", long) == (0, 48)


def test_cache_stays_bounded_and_correct():
    cache = FeatureCache(max_chars=64)
    for i in range(50):
        text = f"{LINE}\n{LINE}\nrow {i}"
        assert cache.block(text).repeated == 11
        assert cache.chars <= 64 + len(text)


def test_the_feature_memo_is_bounded_by_its_entries_too():
    """It keeps a digest and a small value per text, not the text: distinct short user turns
    and outputs fill it with entries long before their characters count. Twice its entries'
    bound of them: it never holds more than the bound (~17 MB)."""
    cache = FeatureCache()
    most = 0
    for i in range(MAX_CACHE_ENTRIES):
        turn, out = f"Q{i}", f"A{i}"
        cache.block(turn, parse_body.text_key(turn))
        cache.shape(out, parse_response.output_shape, parse_body.text_key(out))
        most = max(most, len(cache.blocks) + len(cache.shapes))
    assert most == MAX_CACHE_ENTRIES == 131_072
    assert cache.chars < MAX_CACHE_CHARS // 10  # the characters alone never cleared it


def test_features_are_the_same_however_often_the_memo_starts_over():
    texts = [t for system, turns in PROMPTS for t in [system or "", *turns]]
    stream = texts + texts[::-1] + texts  # repeats, hits and misses
    outputs = ["```py\nx = 1;\n```", "Sure.", '{"a": 1}', "- one\n- two"] * 20

    def features(cache: FeatureCache) -> list:
        return [cache.block(t) for t in stream] + [
            cache.shape(t, parse_response.output_shape) for t in outputs
        ]

    small = FeatureCache(max_entries=3)
    assert features(small) == features(FeatureCache())
    assert len(small.blocks) + len(small.shapes) <= 3


def test_prompt_starts_and_components_are_bounded_by_their_entries():
    """Distinct short system prompts of 21 blocks (a prompt start holds a checkpoint entry
    for each of the last 20) and tool specs: no memo passes its bound, and the values are
    those of an unbounded cache."""
    bounded = parse_body.PromptCache(max_entries=64)
    unbounded = parse_body.PromptCache(max_chars=1 << 40, max_entries=1 << 40)
    out = {"output": {"message": {"content": [{"text": "ok"}]}}}
    for i in range(1_000):
        body = {
            "system": [{"text": f"Case {i}."}] + [{"text": "Be brief."}] * 20,
            "toolConfig": {"tools": [{"toolSpec": {"name": f"tool{i % 300}"}}]},
            "messages": [{"role": "user", "content": [{"text": f"Q{i % 500}"}]}],
        }
        model = "anthropic.claude-3-haiku-20240307-v1:0"
        got = parse_body.body_values(model, body, out, bounded)
        assert got == parse_body.body_values(model, body, out, unbounded)
        assert len(got[8]) == 23  # tools, 20 system blocks, system, the message
        assert len(bounded.memo) <= 64
        assert len(bounded.heads) <= 64
        assert bounded.head_checkpoints <= 128
        assert len(bounded.features.blocks) + len(bounded.features.shapes) <= 64
    assert len(unbounded.heads) == 1_000


# the original lazy regexes, as the reference for the string-search splitters
LLAMA_RE = re.compile(
    r"<\|start_header_id\|>(\w+)<\|end_header_id\|>\s*(.*?)(?:<\|eot_id\|>|$)", re.S
)
INST_RE = re.compile(r"\[INST\](.*?)\[/INST\]", re.S)
CODE_RE = re.compile(
    r"(?:[;{}]\s*$|^\s*(?:def |class |import |from \S+ import|return\b|function\b|const |let |"
    r"var |public |private |#include|SELECT |select |if \(|for \(|while \())"
)

LLAMA_PROMPTS = [
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
    "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
    "<|start_header_id|>assistant<|end_header_id|>\n\n",
    "<|start_header_id|>bad-role<|end_header_id|>x<|eot_id|>"
    "<|start_header_id|>user<|end_header_id|> no end, <|start_header_id|>still user\n",
    "<|start_header_id|><|start_header_id|>user<|end_header_id|>a<|eot_id|><|eot_id|>",
]


@pytest.mark.parametrize("prompt", LLAMA_PROMPTS)
def test_llama_split_matches_regex(prompt):
    got = [(r, t.strip()) for r, t in parse_request._llama_turns(prompt)]
    assert got == [(r, t.strip()) for r, t in LLAMA_RE.findall(prompt)]


@pytest.mark.parametrize(
    "prompt", ["<s>[INST] a [/INST] b</s>[INST] c [/INST]", "[INST][INST]x[/INST]", "[INST] open"]
)
def test_inst_split_matches_regex(prompt):
    users = [text for role, text in parse_request._inst_turns(prompt)[1] if role == "user"]
    assert users == [span.strip() for span in INST_RE.findall(prompt)]


@pytest.mark.parametrize(
    ("prompt", "turns"),
    [
        (
            "<s>[INST] Q1 [/INST] A1</s>[INST] Q2 [/INST]",
            [("user", "Q1"), ("assistant", "A1"), ("user", "Q2")],
        ),
        ("<s>[INST] Q [/INST] prefilled", [("user", "Q"), ("assistant", "prefilled")]),
        ("[INST] Q [/INST]</s>", [("user", "Q")]),  # an empty answer is no turn
        ("[INST] open", []),
        # Llama 2 closes an answer with </s> and opens the next instruction with <s>
        (
            "<s>[INST] Hi [/INST] Hello! </s><s>[INST] Capital of France? [/INST]",
            [("user", "Hi"), ("assistant", "Hello!"), ("user", "Capital of France?")],
        ),
        # an answer that ends in the text "<s>" keeps it
        (
            "[INST] Tag? [/INST] wrap it in <s>[INST] ok [/INST]",
            [("user", "Tag?"), ("assistant", "wrap it in <s>"), ("user", "ok")],
        ),
    ],
)
def test_inst_turns_keep_the_answers(prompt, turns):
    """Mistral's [INST] format: the answers between the instructions are assistant turns."""
    assert parse_request._inst_turns(prompt) == (None, turns)


def test_llama2_system_prompt_is_split_out():
    """Llama 2's <<SYS>> block opens the first instruction: it is the system prompt."""
    prompt = (
        "<s>[INST] <<SYS>>\nYou are concise.\n<</SYS>>\n\nHi [/INST] Hello! </s>"
        "<s>[INST] Capital of France? [/INST]"
    )
    assert parse_request.prompt_parts({"prompt": prompt}, []) == (
        None,
        "You are concise.",
        [("user", "Hi"), ("assistant", "Hello!"), ("user", "Capital of France?")],
    )
    # a <<SYS>> quoted in a later instruction stays its text
    later = "[INST] a [/INST] b </s><s>[INST] <<SYS>>x<</SYS>> y [/INST]"
    assert parse_request.prompt_parts({"prompt": later}, [])[1:] == (
        None,
        [("user", "a"), ("assistant", "b"), ("user", "<<SYS>>x<</SYS>> y")],
    )


@pytest.mark.parametrize(
    ("prompt", "system", "turns"),
    [
        (
            "You are a pirate.\n\nHuman: Where is the treasure?\n\nAssistant:",
            "You are a pirate.",
            [("user", "Where is the treasure?")],
        ),
        (
            "\n\nHuman: Hi\n\nAssistant: Ahoy!\n\nHuman: Where?\n\nAssistant: Under",
            None,
            [("user", "Hi"), ("assistant", "Ahoy!"), ("user", "Where?"), ("assistant", "Under")],
        ),
    ],
)
def test_claude_text_completion_prompt_is_split(prompt, system, turns):
    """Claude v2's text completions: the text before the first Human: is the system prompt,
    an empty last Assistant: is no turn, a prefilled one is."""
    body = {"prompt": prompt, "max_tokens_to_sample": 300}
    assert parse_request.prompt_parts(body, []) == (None, system, turns)


def test_another_models_prompt_that_quotes_a_transcript_is_one_turn():
    """Only Claude's text-completion API (max_tokens_to_sample) splits at Human:/Assistant:."""
    prompt = (
        "Transcript follows.\n\nHuman: I want a refund\n\nAssistant: Sure, order number?"
        "\n\nSummarise the transcript above in one line."
    )
    body = {"prompt": prompt, "max_tokens": 100}
    assert parse_request.prompt_parts(body, []) == (None, None, [("user", prompt)])


@pytest.mark.parametrize(
    "line",
    ["x = 1;", "  }  ", "{", "def f():", "   return x", "returned", "from a.b import c",
     "from here to there", "SELECT 1", "if (x)", "plain words", "a; b", "while(x)"],
)  # fmt: skip
def test_code_line_check_matches_regex(line):
    assert line_scan.code_like(line) == bool(CODE_RE.search(line))


@pytest.mark.parametrize(
    "block",
    [{"text": "a"}, {"text": "a", "type": "text"}, {"text": 1}, {"type": "text"},
     {"cachePoint": {"type": "default", "ttl": "1h"}},
     {"text": "a", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
     {"image": {"format": "png"}}, "plain", 5, None],
)  # fmt: skip
def test_one_block_content_is_what_the_block_gives(block):
    """content_text's shortcut for a lone block agrees with the block-by-block path."""
    ttl_fast: list[str] = []
    ttl_blocks: list[str] = []
    part = parse_request._block_text(block, ttl_blocks)
    assert parse_request.content_text([block], ttl_fast) == ("" if part is None else part)
    assert ttl_fast == ttl_blocks


def test_mostly_code_is_the_half_rule():
    """The early-stopping count gives the plain rule: code-like lines * 2 >= lines."""
    pool = ["x = 1;", "def f():", "}", "plain words", "more prose here", "returned"]
    rng = random.Random(5)
    for _ in range(3000):
        lines = [rng.choice(pool) for _ in range(rng.randint(1, 12))]
        plain = sum(line_scan.code_like(x) for x in lines) * 2 >= len(lines)
        assert line_scan.mostly_code(lines) is plain, lines


RECORDS = [
    log_record(
        {
            "system": [{"text": "Return JSON like:\n" + PRETTY}],
            "messages": [
                {"role": "user", "content": [{"text": f"{LINE}\nq1"}]},
                {"role": "assistant", "content": [{"text": "ok"}]},
                {"role": "user", "content": [{"text": f"{LINE}\nq2"}]},
            ],
        },
        {"output": {"message": {"content": [{"text": "```py\nx = 1;\n```"}]}}},
    ),
    log_record(
        {"prompt": LLAMA_PROMPTS[0], "max_gen_len": 64},
        {"generation": "yes", "stop_reason": "stop"},
        "InvokeModel",
    ),
    log_record(
        {"messages": [{"role": "user", "content": [{"text": "hi"}]}]},
        [
            {"contentBlockDelta": {"delta": {"text": "a\nb;"}}},
            {"messageStop": {"stopReason": "end_turn"}},
            {"metadata": {"usage": {"cacheReadInputTokens": 4}, "metrics": {"latencyMs": 9}}},
        ],
        "ConverseStream",
    ),
]


def test_rows_do_not_depend_on_cache_state():
    """Cold cache, warm cache and a cache cleared at every block give the same rows."""

    def rows(cache):
        return [
            parse.record_row(
                orjson.loads(orjson.dumps(r)),
                app_key="app",
                identity_app_map=None,
                model_key=lambda raw: raw,
                cache=cache,
            )
            for r in RECORDS
        ]

    warm = parse_body.PromptCache()
    first = rows(warm)
    assert rows(warm) == first
    assert rows(parse_body.PromptCache(max_chars=1)) == first
    assert rows(parse_body.PromptCache(max_entries=1)) == first
    assert first[0]["repeated_line_tokens"] == 11
    assert first[0]["pretty_json_tokens"] == 5
    assert first[0]["output_shape"] == "code"
    assert first[2]["cache_read_tokens"] == 4
    assert first[2]["stop_reason"] == "end_turn"


# ---------------------------------------------------------------------------- the fast row path

FIXTURES = Path(__file__).parent / "fixtures" / "logs"


def _lines(root: Path, limit: int | None = None) -> list[bytes]:
    out: list[bytes] = []
    for unit in logs.list_local(root, None, None).units[:limit]:
        out.extend(logs.unit_lines(unit).lines)
    return out


def _check_lines(lines: list[bytes], identity_app_map=None) -> tuple[int, int]:
    fast_cache, ref_cache = parse_body.PromptCache(), parse_body.PromptCache()
    n_fast = n_rows = 0
    for line in lines:
        try:
            rec = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        fast, ref = both_rows(rec, fast_cache, ref_cache, identity_app_map)
        if fast is not None:
            assert ref is not None, rec  # the fast path never keeps a record the reference drops
            assert fast == ref
            n_fast += 1
        n_rows += ref is not None
    return n_fast, n_rows


def test_fast_rows_equal_reference_rows_on_the_sample(sample_dir):
    n_fast, n_rows = _check_lines(_lines(sample_dir / "logs", 400))
    assert n_rows > 3000
    assert n_fast >= 0.95 * n_rows  # only large bodies and odd records take the long way


def test_fast_rows_equal_reference_rows_on_fixtures():
    lines = _lines(FIXTURES / "good")
    n_fast, n_rows = _check_lines(lines)
    assert n_fast > 0
    _check_lines(lines, identity_app_map={"app-a": "mapped"})


ODD_RECORDS = [
    {"input": {"inputTokenCount": 5.0}},  # integral float: the reference converts it
    {"input": {"inputTokenCount": -1}},
    {"input": {"inputTokenCount": True}},
    {"input": {"cacheReadInputTokenCount": "3"}},
    {"output": {"outputBodyJson": {"usage": {"cacheReadInputTokens": 2.0}}}},
    {"timestamp": "2026-10-01T00:00:50Z"},
    {"timestamp": "2026-10-01T00:00:50.803+02:00"},
    {"timestamp": "2026-10-01T00:61:50.803Z"},
    {"timestamp": "2026-13-01T00:00:50.803Z"},
    {"timestamp": "2026-10-01T00:00:5٣.803Z"},  # a non-ASCII digit
    {"identity": {"arn": 7}, "requestMetadata": {"app": "a"}},
    {"requestMetadata": {"app": ""}, "identity": None},
    {"operation": ["Converse"]},
]


@pytest.mark.parametrize("patch", ODD_RECORDS)
def test_odd_records_take_the_reference_path_or_agree(patch):
    rec = log_record({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}, {})
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(rec.get(key), dict):
            for k, v in value.items():
                if isinstance(v, dict) and isinstance(rec[key].get(k), dict):
                    rec[key][k].update(v)
                else:
                    rec[key][k] = v
        else:
            rec[key] = value
    fast, ref = both_rows(rec, parse_body.PromptCache(), parse_body.PromptCache())
    assert fast is None or fast == ref


try:
    from bedrock_finops._timestamps import fast_timestamp_ms as compiled_timestamp_ms
except ImportError:  # no C compiler at install: only the Python twin is there to test
    compiled_timestamp_ms = None

TIMESTAMP_PARSERS = [
    pytest.param(parse_scalars.py_fast_timestamp_ms, id="python"),
    pytest.param(
        compiled_timestamp_ms,
        id="compiled",
        marks=pytest.mark.skipif(compiled_timestamp_ms is None, reason="extension not built"),
    ),
]


@pytest.mark.parametrize("fast", TIMESTAMP_PARSERS)
@pytest.mark.parametrize(
    "ts",
    ["2026-10-01T00:00:50.803Z", "2026-03-29T01:59:59.999Z", "1970-01-01T00:00:00.001Z",
     "2024-02-29T23:59:59.000Z", "2026-12-31T23:00:00.290Z", "2026-10-01T07:31:12.577Z",
     "1969-12-31T23:59:59.999Z", "2000-02-29T12:00:00.500Z", "2255-06-01T00:00:00.000Z",
     "2025-04-09T23:00:17Z", "2024-02-29T23:59:59Z", "1969-12-31T23:59:59Z",
     "1970-01-01T00:00:00Z", "2255-06-01T00:00:00Z"],
)  # fmt: skip
def test_fast_timestamps_equal_the_full_parser(fast, ts):
    """Both forms: AWS writes whole seconds ("...T23:00:17Z"); milliseconds are accepted too."""
    hours: dict[str, int] = {}
    assert fast(ts, hours) == parse_scalars.parse_timestamp_ms(ts)
    assert fast(ts, hours) == parse_scalars.parse_timestamp_ms(ts)  # memo hit


@pytest.mark.parametrize("fast", TIMESTAMP_PARSERS)
@pytest.mark.parametrize(
    "ts",
    ["2025-02-29T00:00:00.000Z", "2026-04-31T00:00:00.000Z", "2026-13-01T00:00:00.000Z",
     "2026-00-10T00:00:00.000Z", "2026-10-00T00:00:00.000Z", "2026-10-01T24:00:00.000Z",
     "2026-10-01T00:60:00.000Z", "2026-10-01T00:00:60.000Z", "2026-10-01T00:00:00.000z",
     "2026-10-01 00:00:00.000Z", "2026-10-01T00:00:00,000Z", "2026-10-01T00:00:00.00Z",
     "2026-10-01T00:00:00.0000Z", "2026-10-01T00:00:00.000+00:00", "2026-1O-01T00:00:00.000Z",
     "２０２６-10-01T00:00:00.000Z", "0000-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z",
     "0001-01-01T00:00:00.000Z", 1759276800000, None, b"2026-10-01T00:00:00.000Z",
     "2025-02-29T00:00:00Z", "2026-10-01T00:00:60Z", "2026-10-01T00:00:00z", "2026-10-01T00:00Z",
     "2026-10-01T00:00:00.Z", "2026-10-01 00:00:00Z", "2026-10-01T00:00:0aZ",
     "2026-10-01T00:00:00+0Z"],
)  # fmt: skip
def test_fast_timestamps_leave_other_forms_to_the_full_parser(fast, ts):
    """None (the full parser decides) or exactly the full parser's value, never another;
    always None for what the full parser refuses."""
    got = fast(ts, {})
    try:
        full = parse_scalars.parse_timestamp_ms(ts)
    except parse_scalars.BadRecord:
        full = None
    assert got is None or got == full
    if full is None:
        assert got is None


@pytest.mark.parametrize("fast", TIMESTAMP_PARSERS)
def test_fast_timestamps_every_millisecond_of_a_second(fast):
    hours: dict[str, int] = {}
    for ms in range(1000):
        ts = f"2026-10-01T13:45:07.{ms:03d}Z"
        assert fast(ts, hours) == parse_scalars.parse_timestamp_ms(ts)


@pytest.mark.parametrize("fast", TIMESTAMP_PARSERS)
def test_fast_timestamps_random_instants(fast):
    from datetime import UTC, datetime

    rng = random.Random(11)
    hours: dict[str, int] = {}
    for _ in range(3000):
        instant = datetime.fromtimestamp(rng.randint(-2_000_000_000, 8_000_000_000), UTC)
        ts = instant.strftime("%Y-%m-%dT%H:%M:%S") + f".{rng.randint(0, 999):03d}Z"
        assert fast(ts, hours) == parse_scalars.parse_timestamp_ms(ts), ts
        whole = ts[:19] + "Z"
        assert fast(whole, hours) == parse_scalars.parse_timestamp_ms(whole), whole


@pytest.mark.parametrize(
    ("text", "shape"),
    [("a b c d\ne f g h", "prose"), ("a b c d\nx = 1;", "code"), ("a b c d\rdef f(x):", "code"),
     ("a b c d\u2028return x", "code"), ("one two three four\nfive six", "prose")],
)  # fmt: skip
def test_output_shape_line_boundaries(text, shape):
    assert parse_response.output_shape(text) == shape


@pytest.mark.parametrize(
    "text",
    ["def f():\n  pass", "  return x", "text\n\n   import os", "a\r\nconst x = 1", "a\x0cfor (i)",
     "a\u2029while (x)", "a\x85let y", "returned home\nplain", "say def later", "no code here",
     "x\n\t\nfrom a import b", "x\nfrom here to there", "", "\n\n"],
)  # fmt: skip
def test_code_start_search_matches_line_by_line(text):
    by_line = any(line_scan.CODE_START_RE.match(line) for line in text.splitlines())
    assert line_scan.may_start_code(text) is by_line


HAND_RECORDS = [
    *RECORDS,
    log_record(
        {
            "system": [{"text": "Be brief."}, {"cachePoint": {"type": "default", "ttl": "1h"}}],
            "toolConfig": {"tools": [{"toolSpec": {"name": "t", "inputSchema": {"json": {}}}}]},
            "messages": [{"role": "user", "content": [{"text": "hi"}]}],
            "inferenceConfig": {"maxTokens": 50, "temperature": 0.2},
        },
        {"output": {"message": {"content": [{"text": "A label"}]}}, "stopReason": "end_turn"},
    ),
]


@pytest.mark.parametrize("rec", HAND_RECORDS)
def test_fast_rows_equal_reference_rows_on_hand_records(rec):
    fast, ref = both_rows(rec, parse_body.PromptCache(), parse_body.PromptCache())
    assert fast is not None
    assert fast == ref


def test_fast_row_hand_checked_values():
    fast, _ = both_rows(HAND_RECORDS[-1], parse_body.PromptCache(), parse_body.PromptCache())
    row = dict(zip(parse.ROW_COLUMNS, fast, strict=True))
    assert row["cache_ttl"] == "1h"
    assert row["timestamp"] == 1790812850803  # 2026-10-01T00:00:50.803Z
    assert [p[0] for p in row["prefix_hashes"]] == ["tools", "system", "message"]
    assert [p[2] for p in row["prefix_hashes"]] == [14, 17, 18]  # 53 chars, then +9, +2
    assert (row["max_tokens"], row["temperature"]) == (50, 0.2)
    assert (row["output_shape"], row["stop_reason"], row["app"]) == ("label", "end_turn", "app-a")


def test_aws_whole_second_timestamps_take_the_fast_path():
    """AWS writes ``timestamp`` in whole seconds ("2025-04-09T23:00:17Z"): such records, all
    of a real log, must not fall back to the reference path."""
    rec = log_record({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}, {})
    rec["timestamp"] = "2026-10-01T00:00:50Z"
    fast, ref = both_rows(rec, parse_body.PromptCache(), parse_body.PromptCache())
    assert fast is not None
    assert fast == ref
    assert dict(zip(parse.ROW_COLUMNS, fast, strict=True))["timestamp"] == 1790812850000


def test_repeated_lines_with_blank_lines():
    # blank lines repeat but are not waste; LINE twice more is (2 x 11 tokens)
    assert repeated_line_tokens(f"a\n\n\nb\n\n{LINE}") == 0
    assert repeated_line_tokens(f"a\n\n\n{LINE}\n\n{LINE}\n{LINE}") == 22
    assert repeated_line_tokens("x\n\ny\n\nshort\nshort") == 0


def test_anthropic_stream_chunks_with_legacy_keys_are_read():
    chunks = [
        {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "ab"}},
        {"type": "message_delta", "delta": {"stop_reason": "max_tokens"}},
        {"type": "legacy", "completion": "c", "stop_reason": "end"},
    ]
    assert parse_response._chunk_text_and_stop(chunks)[:2] == ("abc", "end")


# ------------------------------------------- identity mapping, cache spellings, bodies in S3


SESSION_ARN = "arn:aws:sts::111122223333:assumed-role/support-bot-role/i-0abc"


@pytest.mark.parametrize(
    ("mapping", "app"),
    [
        ({SESSION_ARN: "by-session"}, "by-session"),
        ({"arn:aws:iam::111122223333:role/support-bot-role": "support"}, "support"),
        ({"arn:aws:iam::111122223333:role/service-role/support-bot-role": "pathed"}, "pathed"),
        ({"support-bot-role": "by-name"}, "by-name"),
        ({"arn:aws:iam::999999999999:role/support-bot-role": "other-account"}, "support-bot-role"),
        ({"arn:aws:iam::111122223333:role/support-bot": "prefix-only"}, "support-bot-role"),
        ({}, "support-bot-role"),
    ],
)
@pytest.mark.parametrize("indexed", [False, True], ids=["dict", "indexed"])
def test_identity_app_map_by_session_role_arn_or_name(mapping, app, indexed):
    """The same apps from a plain dict and from the indexed map the ingest builds."""
    rec = log_record({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}, {})
    rec["identity"] = {"arn": SESSION_ARN}
    if indexed:
        mapping = app_attribution.IdentityAppMap(mapping)
    assert row_of(rec, mapping)["app"] == app


def test_role_arn_of_a_session():
    role = "arn:aws:iam::111122223333:role/support-bot-role"
    assert app_attribution.role_arn(SESSION_ARN) == role
    gov = "arn:aws-us-gov:sts::1:assumed-role/r/s"
    assert app_attribution.role_arn(gov) == "arn:aws-us-gov:iam::1:role/r"
    assert app_attribution.role_arn("arn:aws:iam::1:user/alice") is None


@pytest.mark.parametrize(
    ("inp", "usage", "counts"),
    [
        ({"cacheReadInputTokenCount": 7, "cacheWriteInputTokenCount": 5}, None, (7, 5)),
        ({"cacheReadInputTokens": 7, "cacheWriteInputTokens": 5}, None, (7, 5)),
        ({}, {"cacheReadInputTokens": 3, "cacheWriteInputTokens": 2}, (3, 2)),
        ({}, {"cacheReadInputTokenCount": 3, "cacheWriteInputTokenCount": 2}, (3, 2)),
        ({"cacheReadInputTokenCount": 7}, {"cacheWriteInputTokens": 2}, (7, 2)),
        ({}, None, (0, 0)),
    ],
)
def test_cache_counts_under_either_spelling_in_either_place(inp, usage, counts):
    out = {"output": {"message": {"content": [{"text": "ok"}]}}}
    if usage is not None:
        out["usage"] = usage
    rec = log_record({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}, out)
    rec["input"].update(inp)
    row = row_of(rec)
    assert (row["cache_read_tokens"], row["cache_write_tokens"]) == counts


def test_a_response_body_left_in_s3_is_flagged():
    rec = log_record({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}, {})
    rec["output"] = {
        "outputBodyS3Path": "s3://bucket/AWSLogs/1/BedrockModelInvocationLogs/data/r1_output.json.gz",
        "outputTokenCount": 3,
    }
    fast, ref = both_rows(rec, parse_body.PromptCache(), parse_body.PromptCache())
    assert fast is None  # the fast path leaves it to record_row, which flags it
    row = dict(zip(parse.ROW_COLUMNS, ref, strict=True))
    assert (row["body_in_s3"], row["output_shape"], row["stop_reason"]) == (True, "unknown", None)
    assert row["user_text"] == "hi"  # the request body was inline: its values are there


def _request_hash(body: dict, model: str = "anthropic.claude-3-haiku-20240307-v1:0") -> str:
    """The request hash both paths give, with the model part the ingest's workers use."""
    rec = log_record(body, {"output": {"message": {"content": [{"text": "ok"}]}}})
    rec["modelId"] = model
    kw = {"app_key": "app", "identity_app_map": None, "model_key": models.request_model_id}
    fast = parse.fast_row(rec, "f", cache=parse_body.PromptCache(), **kw)
    ref = parse.record_row(rec, cache=parse_body.PromptCache(), **kw)
    assert fast[parse.ROW_COLUMNS.index("request_hash")] == ref["request_hash"]
    return ref["request_hash"]


def test_cache_markers_do_not_change_the_request_hash():
    plain = {
        "system": [{"text": "Be brief."}],
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
    }
    marked = {
        "system": [{"text": "Be brief."}, {"cachePoint": {"type": "default"}}],
        "messages": [
            {"role": "user", "content": [{"text": "hi"}, {"cachePoint": {"type": "default"}}]}
        ],
    }
    anthropic = {"system": [{"type": "text", "text": "Be brief."}], "max_tokens": 9}
    anthropic_marked = {
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "max_tokens": 9,
    }
    tool = {"toolSpec": {"name": "t", "inputSchema": {"json": {}}}}
    tools = {**plain, "toolConfig": {"tools": [tool]}}
    tools_marked = {**plain, "toolConfig": {"tools": [tool, {"cachePoint": {"type": "default"}}]}}
    ant_tool = {"name": "t", "input_schema": {"type": "object"}}
    ant_tools = {**anthropic, "tools": [ant_tool]}
    ant_tools_marked = {
        **anthropic,
        "tools": [{**ant_tool, "cache_control": {"type": "ephemeral"}}],
    }
    assert _request_hash(marked) == _request_hash(plain)
    assert _request_hash(anthropic_marked) == _request_hash(anthropic)
    assert _request_hash(tools_marked) == _request_hash(tools) != _request_hash(plain)
    assert _request_hash(ant_tools_marked) == _request_hash(ant_tools) != _request_hash(anthropic)
    assert _request_hash(anthropic) != _request_hash(plain)
    # what the request asks still counts: another message is another request
    other = {**plain, "messages": [{"role": "user", "content": [{"text": "hello"}]}]}
    assert _request_hash(other) != _request_hash(plain)


def test_the_request_hash_tells_model_versions_apart_but_not_routes():
    body = {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}
    v1 = _request_hash(body, "anthropic.claude-3-5-sonnet-20240620-v1:0")
    v2 = _request_hash(body, "anthropic.claude-3-5-sonnet-20241022-v2:0")
    us_v2 = _request_hash(body, "us.anthropic.claude-3-5-sonnet-20241022-v2:0")
    assert v1 != v2
    assert us_v2 == v2
