"""``pretty_scan`` gives what the plain search gives, on texts built to stress its shortcuts.

The plain search below looks for the next opener and its closer afresh each time (quadratic
on code or on openers that never close); ``pretty_scan`` keeps search results while they are
still ahead. The two must agree on every text.
"""

from __future__ import annotations

import random

import pytest

from bedrock_finops.parse_features import pretty_scan, pretty_span_tokens


def plain_scan(text: str) -> tuple[int, bool]:
    alone = not text.endswith(("{", "["))
    total = 0
    pos = 0
    while True:
        i_obj = text.find("{\n", pos)
        i_arr = text.find("[\n", pos)
        if i_obj < 0 and i_arr < 0:
            return total, alone
        start = i_arr if i_obj < 0 or (0 <= i_arr < i_obj) else i_obj
        line = text[text.rfind("\n", 0, start) + 1 : start]
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        closer = "\n" + indent + ("}" if text[start] == "{" else "]")
        end = text.find(closer, start)
        if end < 0:
            alone = False
            pos = start + 2
            continue
        saved = pretty_span_tokens(text[start : end + len(closer)])  # not under test here
        if saved is None:
            pos = start + 2
            continue
        total += saved
        pos = end + len(closer)


PRETTY = '{\n  "a": 1,\n  "b": [\n    1,\n    2\n  ]\n}'
CASES = [
    "",
    PRETTY,
    "x\n" + PRETTY + "\nand again\n" + PRETTY,
    "function f() {\n  if (x) {\n    y();\n  }\n}\n" * 3,  # code: many "{\n", no "[\n"
    "+  foo() {\n+    bar();\n" * 5,  # a diff: openers that never close
    '> {\n>   "a": 1\n> }\n' * 3,  # quoted JSON
    '{\n  "a": [\n    1\n  ]\n}\n[\n  {\n    "b": 2\n  }\n]',
    "{\n  truncated",
]
PIECES = ["{\n", "[\n", "}", "]", "\n", "  ", "\t", '"a": 1', ",", "1", "+ ", "> ", "x", "{", "["]


@pytest.mark.parametrize("text", CASES)
def test_hand_cases(text: str) -> None:
    assert pretty_scan(text) == plain_scan(text)


def test_random_texts() -> None:
    rng = random.Random(3)
    for _ in range(20_000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 40)))
        assert pretty_scan(text) == plain_scan(text), repr(text)


def test_pretty_json_counts() -> None:
    # PRETTY is 39 characters (10 tokens), compact {"a":1,"b":[1,2]} 17 (5 tokens): twice
    assert pretty_scan("x\n" + PRETTY + "\nand again\n" + PRETTY) == (10, True)
