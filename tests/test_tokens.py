"""The token estimate: a CJK, kana or Hangul character is one token, any other a quarter.

Values are checked by hand; the compiled count of wide characters and its pure-Python twin
are pinned equal on every code point; the usage row's estimates follow the same rule.
"""

from __future__ import annotations

import math
import random

import pytest
from record_rows import log_record, row_of

from bedrock_finops import line_scan, parse_features, tokens
from bedrock_finops.tokens import estimate_tokens

try:
    from bedrock_finops import _linescan
except ImportError:  # no C compiler at install: only the Python twin is there to test
    _linescan = None

WIDE_COUNTS = [
    pytest.param(tokens.py_wide_chars, id="python"),
    pytest.param(
        getattr(_linescan, "wide_chars", None),
        id="compiled",
        marks=pytest.mark.skipif(_linescan is None, reason="extension not built (no compiler)"),
    ),
]

# 45 kana, kanji and CJK punctuation characters, 44 times: 1,980 characters, all wide
JA_SENTENCE = (
    "あなたは当社のカスタマーサポート担当者です。"  # You are our support agent.
    "お客様の質問に丁寧かつ簡潔に回答してください。"  # Answer politely and briefly.
)
JA_SYSTEM = JA_SENTENCE * 44


def test_the_japanese_system_prompt_is_one_token_a_character():
    assert len(JA_SENTENCE) == 45 and len(JA_SYSTEM) == 1980
    assert tokens.py_wide_chars(JA_SYSTEM) == 1980
    assert estimate_tokens(JA_SYSTEM) == 1980  # was ceil(1980 / 4) = 495


HAND_CHECKED = [
    ("", 0),
    (None, 0),
    ("a", 1),
    ("abcd", 1),
    ("abcde", 2),
    ("Always answer in the customer's language.", 11),  # ASCII: ceil(41 / 4), as before
    ("caf\u00e9 cr\u00e8me br\u00fbl\u00e9e", 5),  # Latin-1, 17 characters: ceil(17 / 4)
    ("\u00a0" * 8 + "\u00ff" * 8, 4),  # the top of Latin-1 holds no wide character
    ("Translate to Chinese: 你好，世界", 11),  # 22 others: 6; 你好，世界: 5 (， is full-width)
    ("我们的退货政策是三十天。Please confirm the order number.", 20),  # 12 + ceil(32 / 4)
    ("안녕하세요, 고객님", 9),  # 8 Hangul syllables + ceil(2 / 4) for ", "
    ("한국어로 답변해 주세요.", 11),  # 10 Hangul + ceil(3 / 4): two spaces and the period
    ("ｶﾀｶﾅ ＡＢＣ", 8),  # half-width katakana and full-width Latin: 7 + ceil(1 / 4)
    ("\U0002000b\U0002a6d6", 2),  # CJK extension B, beyond the BMP: one each
    ("\U0001f600", 1),  # an emoji is not wide: a quarter, rounded up
    ("\U0001f600" * 4, 1),
    ("\U0001f600" * 5, 2),
    ("Great job \U0001f600!", 3),  # 12 characters, none wide
    ("日本語 with an emoji \U0001f600", 7),  # 3 + ceil(16 / 4)
]


@pytest.mark.parametrize(("text", "expected"), HAND_CHECKED)
def test_hand_checked_estimates(text, expected):
    assert estimate_tokens(text) == expected


# the edges of every wide range, and their neighbours outside it
EDGES = [
    (0x2E7F, False), (0x2E80, True), (0x3000, True), (0x3042, True), (0x4E00, True),
    (0x9FFF, True), (0xA000, False), (0xABFF, False), (0xAC00, True), (0xD7AF, True),
    (0xD7B0, False), (0xF8FF, False), (0xF900, True), (0xFAFF, True), (0xFB00, False),
    (0xFEFF, False), (0xFF00, True), (0xFFEF, True), (0xFFF0, False), (0x1F600, False),
    (0x1FFFF, False), (0x20000, True), (0x2A6D6, True), (0x3FFFF, True), (0x40000, False),
    (0x10FFFF, False),
]  # fmt: skip


@pytest.mark.parametrize("count", WIDE_COUNTS)
@pytest.mark.parametrize(("code", "wide"), EDGES)
def test_range_edges(count, code, wide):
    text = chr(code) * 4
    assert count(text) == (4 if wide else 0)
    assert count("ab" + text + "cd") == (4 if wide else 0)  # inside a string of that width
    assert estimate_tokens(text) == (4 if wide else 1)


def _expected_wide(lo: int, hi: int) -> int:
    """Code points of [lo, hi) in WIDE_RANGES, counted from the ranges themselves."""
    return sum(max(0, min(hi, b + 1) - max(lo, a)) for a, b in tokens.WIDE_RANGES)


@pytest.mark.parametrize("count", WIDE_COUNTS)
def test_every_code_point(count):
    """Each block of 4,096 code points, 0 to U+10FFFF (lone surrogates too): the compiled
    count, with its own copy of the ranges, and the regex agree with the table."""
    for lo in range(0, 0x110000, 4096):
        text = "".join(map(chr, range(lo, lo + 4096)))
        assert count(text) == _expected_wide(lo, lo + 4096), hex(lo)


@pytest.mark.parametrize("count", WIDE_COUNTS)
def test_long_texts(count):
    """Past the 32,768 characters the compiled count sums a block at a time."""
    assert count("日" * 70_000) == 70_000
    assert count("日a" * 40_000) == 40_000
    assert count("a" * 70_000 + "日") == 1
    assert count("\U0001f600" + "日" * 70_000) == 70_000  # 4 bytes wide
    assert count("a" * 100_000) == 0


def test_ascii_and_latin1_keep_the_old_estimate():
    rng = random.Random(3)
    latin1 = [chr(c) for c in range(256)]
    for n in range(200):
        ascii_text = "".join(rng.choice(latin1[32:127]) for _ in range(n))
        latin_text = "".join(rng.choice(latin1) for _ in range(n))
        assert estimate_tokens(ascii_text) == math.ceil(n / 4)
        assert estimate_tokens(latin_text) == math.ceil(n / 4)


def test_the_python_twin_gives_the_same_estimates(monkeypatch):
    pieces = ["a", " ", "\n", "é", "日本", "。", "한국", "ＡＢ", "ｶﾀ", "😀", "\U0002000b", "\u2e7f"]
    rng = random.Random(5)
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 60))) for _ in range(500)]
    compiled = [estimate_tokens(t) for t in texts]
    monkeypatch.setattr(tokens, "wide_chars", tokens.py_wide_chars)
    assert [estimate_tokens(t) for t in texts] == compiled


@pytest.mark.parametrize(
    "scan", [line_scan.py_line_features, line_scan.line_features], ids=["python", "in-use"]
)
def test_line_scans_count_cjk_lines_one_token_a_character(scan):
    """Repeated CJK lines: the compiled scan and its Python twin both count each repeat at
    its estimate (the compiled one is checked against the same values in test_line_scan)."""
    text = f"{JA_SENTENCE}\n見出し\n{JA_SENTENCE}\n{JA_SENTENCE}\n"
    assert scan(text)[0] == 2 * 45  # two repeats of 45 wide characters
    mixed = "注意: refunds take 30 days.\n" * 3  # 2 wide + 23 others: 2 + 6, twice
    assert scan(mixed)[0] == 16
    assert scan(mixed)[0] == 2 * estimate_tokens("注意: refunds take 30 days.")


def test_pretty_json_whitespace_around_cjk_values():
    """The whitespace of a pretty-printed span is what it saves; CJK values count in both
    the span and its compact form, so they cancel."""
    span = '{\n  "名前": "山田太郎",\n  "住所": "東京都"\n}'
    compact = '{"名前":"山田太郎","住所":"東京都"}'
    assert estimate_tokens(span) == 11 + math.ceil(22 / 4)  # 11 wide, 22 others
    assert estimate_tokens(compact) == 11 + math.ceil(13 / 4)  # 11 wide, 13 others
    assert parse_features.pretty_json_tokens(f"Customer:\n{span}") == 2


OUT = {
    "output": {"message": {"role": "assistant", "content": [{"text": "はい。"}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 12, "outputTokens": 3, "cacheWriteInputTokens": 2100},
}


def test_a_japanese_system_prompt_in_the_usage_row():
    """A 1,980-character Japanese system prompt before a cache point, its write logged as
    2,100 tokens: the row estimates 1,980 (not 495), above the 1,024-token minimum."""
    body = {
        "system": [{"text": JA_SYSTEM}, {"cachePoint": {"type": "default"}}],
        "messages": [{"role": "user", "content": [{"text": "返品できますか？"}]}],
    }
    rec = log_record(body, OUT)
    rec["input"]["cacheWriteInputTokenCount"] = 2100
    row = row_of(rec)
    assert row["cache_write_tokens"] == 2100
    assert row["system_tokens"] == 1980
    (kind, _, system), (kind2, _, message) = row["prefix_hashes"]
    assert (kind, system) == ("system", 1980)
    assert (kind2, message) == ("message", 1980 + 8)  # 返品できますか？: 8 wide (？ full-width)


def test_japanese_system_blocks_and_repeated_lines_in_the_usage_row():
    """Two system blocks: the block entry after the first has its 1,980 tokens. A Japanese
    line pasted twice into the user turn counts one repeat of its 45 tokens."""
    body = {
        "system": [
            {"text": JA_SYSTEM},
            {"cachePoint": {"type": "default"}},
            {"text": "本日は2026年11月26日です。"},  # 9 wide, 8 digits
        ],
        "messages": [
            {"role": "user", "content": [{"text": f"{JA_SENTENCE}\n質問です。\n{JA_SENTENCE}"}]}
        ],
    }
    row = row_of(log_record(body, OUT))
    kinds = [(kind, n) for kind, _, n in row["prefix_hashes"]]
    # the system prompt is the blocks joined by a newline: 1,989 wide + ceil(9 / 4)
    assert row["system_tokens"] == 1992
    # the user turn: 45 + 5 + 45 wide, two newlines
    assert kinds == [("system_block", 1980), ("system", 1992), ("message", 1992 + 96)]
    assert row["repeated_line_tokens"] == 45
