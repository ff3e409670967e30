"""The fast parsing path gives exactly what the straightforward computation gives.

Per-block feature caching, string search instead of lazy regexes, and the chunked worker path
are pinned against plain reference computations on hand-written prompts and records.
"""

from __future__ import annotations

import re

import orjson
import pytest

from bedrock_finops import parse
from bedrock_finops.parse_features import (
    FeatureCache,
    pretty_json_tokens,
    reference_prompt_features,
    repeated_line_tokens,
)

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


def test_cache_stays_bounded_and_correct():
    cache = FeatureCache(max_chars=64)
    for i in range(50):
        text = f"{LINE}\n{LINE}\nrow {i}"
        assert cache.block(text).repeated == 11
        assert cache.chars <= 64 + len(text)


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
    got = [(r, t.strip()) for r, t in parse._llama_turns(prompt)]
    assert got == [(r, t.strip()) for r, t in LLAMA_RE.findall(prompt)]


@pytest.mark.parametrize(
    "prompt", ["<s>[INST] a [/INST] b</s>[INST] c [/INST]", "[INST][INST]x[/INST]", "[INST] open"]
)
def test_inst_split_matches_regex(prompt):
    assert parse._inst_spans(prompt) == INST_RE.findall(prompt)


@pytest.mark.parametrize(
    "line",
    ["x = 1;", "  }  ", "{", "def f():", "   return x", "returned", "from a.b import c",
     "from here to there", "SELECT 1", "if (x)", "plain words", "a; b", "while(x)"],
)  # fmt: skip
def test_code_line_check_matches_regex(line):
    assert parse._code_like(line) == bool(CODE_RE.search(line))


def _record(body: dict, out: dict, op: str = "Converse") -> dict:
    return {
        "timestamp": "2026-10-01T00:00:50.803Z",
        "requestId": "r1",
        "operation": op,
        "modelId": "anthropic.claude-3-haiku-20240307-v1:0",
        "identity": {"arn": "arn:aws:sts::1:assumed-role/app-a/s"},
        "input": {"inputBodyJson": body, "inputTokenCount": 10},
        "output": {"outputBodyJson": out, "outputTokenCount": 3},
    }


RECORDS = [
    _record(
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
    _record(
        {"prompt": LLAMA_PROMPTS[0], "max_gen_len": 64},
        {"generation": "yes", "stop_reason": "stop"},
        "InvokeModel",
    ),
    _record(
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

    warm = parse.PromptCache()
    first = rows(warm)
    assert rows(warm) == first
    assert rows(parse.PromptCache(max_chars=1)) == first
    assert first[0]["repeated_line_tokens"] == 11
    assert first[0]["pretty_json_tokens"] == 5
    assert first[0]["output_shape"] == "code"
    assert first[2]["cache_read_tokens"] == 4
    assert first[2]["stop_reason"] == "end_turn"
