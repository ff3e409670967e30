"""The compiled line scanner and its pure-Python twin give the same answers.

``line_features`` counts repeated non-trivial lines exactly; ``lines_shared`` may say "maybe"
(equal hashes) but never misses a shared line. Both are checked against the plain definition
on hand-made texts that cover every line break ``str.splitlines`` knows, Unicode whitespace
and every internal string width, then on many random texts built from the same pieces.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from bedrock_finops import line_scan, tokens

try:
    from bedrock_finops import _linescan
except ImportError:  # no C compiler at install: only the Python twin is there to test
    _linescan = None

IMPLEMENTATIONS = [
    pytest.param((line_scan.py_line_features, line_scan.py_lines_shared), id="python"),
    pytest.param(
        (getattr(_linescan, "line_features", None), getattr(_linescan, "lines_shared", None)),
        id="compiled",
        marks=pytest.mark.skipif(_linescan is None, reason="extension not built (no compiler)"),
    ),
]

LINE = "Always answer in the customer's language."  # 41 chars: 11 tokens


def line_tokens(line: str) -> int:
    """The token estimate, straight from its words: a character in ``WIDE_RANGES`` is one
    token, any other a quarter of one, rounded up."""
    wide = sum(any(a <= ord(ch) <= b for a, b in tokens.WIDE_RANGES) for ch in line)
    return -(-(len(line) - wide) // 4) + wide


def definition(text: str) -> int:
    """Repeated-line tokens, straight from the words of the docstring."""
    counts = Counter(line for line in text.splitlines() if line_scan.nontrivial(line))
    return sum((k - 1) * line_tokens(line.strip()) for line, k in counts.items())


def shares_a_line(a: str, b: str) -> bool:
    ours = {x for x in a.splitlines() if line_scan.nontrivial(x)}
    return not ours.isdisjoint(x for x in b.splitlines() if line_scan.nontrivial(x))


CASES = [
    ("", 0),
    ("short\nshort\nshort", 0),  # below 16 characters: not waste
    (f"{LINE}\n{LINE}\nok\n{LINE}", 22),
    (f"{LINE}\r\n{LINE}\r{LINE}\x0b{LINE}\x0c{LINE}", 44),  # CRLF counts as one break
    (f"{LINE}\x1c{LINE}\x1d{LINE}\x1e{LINE}\x85{LINE}", 44),
    (f"{LINE}\u2028{LINE}\u2029{LINE}", 22),  # wide-string breaks
    (f"  {LINE}  \n\t{LINE}", 0),  # lines differ by their padding: not the same line
    (f"  {LINE}  \n  {LINE}  ", 11),  # tokens of the stripped line
    ("\u3000" * 14 + "ab\n" + "\u3000" * 14 + "ab", 0),  # 16 long, 2 once stripped
    ("日本語のテキストです。繰り返し。\n" * 3, 32),  # 16 wide characters: 16 tokens, twice
    ("  \u3000日本語のテキストです。繰り返し。\u3000\n" * 2, 16),  # the ideographic spaces strip
    ("Answer in 日本語 (Japanese) only.\n" * 2, 10),  # 3 wide + 27 others: 3 + 7
    ("한국어로 답변해 주세요. 고객 번호를 확인합니다.\n" * 2, 22),  # 20 Hangul + 7 others: 20 + 2
    ("全角ＡＢＣ１２３ｶﾀｶﾅ and a 𠀋 line\r\n" * 2, 16),  # 4-byte wide: 13 wide + 12 others
    ("emoji 😀 line long enough\n" * 2, 6),  # 4-byte-wide string
    ("caf\u00e9 au lait, s'il vous pla\u00eet\n" * 2 + "x", 8),  # latin-1, 1 byte wide
]


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize(("text", "tokens"), CASES)
def test_repeated_tokens_hand_checked(impl, text, tokens):
    features, _ = impl
    assert definition(text) == tokens
    assert features(text)[0] == tokens


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_shared_across_string_widths(impl):
    features, shared = impl
    narrow = features(f"intro\n{LINE}\nend")[1]
    wide = features(f"日本\n{LINE}\n😀")[1]  # the same line inside a 4-byte-wide string
    other = features("日本\nA different line, long enough\n😀")[1]
    assert shared([narrow, wide]) and shared([wide, narrow])
    assert not shared([narrow, other])
    assert shared([other, narrow, features("x")[1], wide])  # the first and the last
    assert not shared([features("short\n}")[1], features("short\n}")[1]])  # trivial lines
    assert not shared([narrow]) and not shared([])
    assert not shared([features(f"{LINE}\n{LINE}")[1]])  # a repeat within one block: not shared


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_shared_among_many_blocks(impl):
    """A conversation of hundreds of turns: one shared line anywhere is found."""
    features, shared = impl
    turns = [features(f"Turn number {i} says something new.\nAnd line two of turn {i}.")[1]
             for i in range(400)]  # fmt: skip
    assert not shared(turns)
    repeat = features("intro\nAnd line two of turn 7.")[1]
    assert shared([*turns[:300], repeat, *turns[300:]])
    assert shared([repeat, *turns])


PIECES = [
    "a" * 16, "b" * 20, "   ", "\t", "\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x85",
    "\u2028", "\u2029", "\u00e9", "\u00a0", "日本", "😀", "x", "  padded line of text  ",
    "a line of sixteen+", "\x1f", "\u3000", "한국어", "ｶﾀｶﾅ", "\U0002000b", "\u2e7f", "\ud7b0",
]  # fmt: skip


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_random_texts_match_the_definition(impl):
    features, shared = impl
    rng = random.Random(7)
    for _ in range(3000):
        texts = [
            "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 30)))
            for _ in range(rng.randint(1, 5))
        ]
        for text in texts:
            assert features(text)[0] == definition(text), repr(text)
        pairs = any(shares_a_line(a, b) for i, a in enumerate(texts) for b in texts[i + 1 :])
        # never missed; a false "maybe" would need a hash collision
        assert shared([features(t)[1] for t in texts]) is pairs, texts


OPENERS = [
    ("", False),
    ('{"a": 1}', False),  # no line break after the brace
    ("intro {\n  1\n}", True),
    ("list [\n1]", True),
    ("{\r\n}", False),  # CRLF: the character before "\n" is "\r"
    ("{\x0b}", False),  # other line breaks do not open a span
    ("日本 {\n}", True),  # 2-byte-wide string
    ("😀 [\n]", True),  # 4-byte-wide string
    ("{", False),
    ("\n{", False),
]


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize(("text", "opens"), OPENERS)
def test_may_open_json_hand_checked(impl, text, opens):
    features, _ = impl
    assert ("{\n" in text or "[\n" in text) == opens
    assert features(text)[2] is opens


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_may_open_json_on_random_texts(impl):
    features, _ = impl
    pieces = [*PIECES, "{", "[", "}", "]", "{\n", "[\r\n"]
    rng = random.Random(11)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        assert features(text)[2] is ("{\n" in text or "[\n" in text), repr(text)


def test_sample_rows_are_the_same_with_either_scanner(sample_dir, monkeypatch):
    """The usage rows of a slice of the sample do not depend on which scanner ran."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from bedrock_finops import parse_features
    from bedrock_finops.ingest_worker import Options, process_chunk
    from bedrock_finops.sources import invocation_logs as logs

    units = logs.list_local(sample_dir / "logs", None, None).units[::10]

    def rows(token: str) -> pa.Table:
        return pa.Table.from_batches(process_chunk(units, Options(token=token)).batches)

    compiled = rows("compiled")
    monkeypatch.setattr(parse_features, "line_features", line_scan.py_line_features)
    monkeypatch.setattr(parse_features, "lines_shared", line_scan.py_lines_shared)
    python = rows("python")
    assert compiled.num_rows > 2000
    assert pc.sum(compiled["repeated_line_tokens"]).as_py() > 0  # lines do repeat
    assert compiled.equals(python)


# ------------------------------------------------------------------- code-like lines

VERDICTS = [
    pytest.param(line_scan.py_looks_like_code, id="python"),
    pytest.param(
        getattr(_linescan, "looks_like_code", None),
        id="compiled",
        marks=pytest.mark.skipif(_linescan is None, reason="extension not built (no compiler)"),
    ),
]


def code_verdict(text: str, max_lines: int) -> bool:
    """The rule, straight from its words: of the non-blank lines among the first
    ``max_lines``, at least two, and at least half of them code-like."""
    lines = [line for line in text.splitlines()[:max_lines] if line.strip()]
    code = [line for line in lines if line_scan.code_like(line)]
    return len(lines) >= 2 and 2 * len(code) >= len(lines)


# one line after a line of prose: the text looks like code exactly when that line does
LINE_CASES = [
    ("x = 1;", True),
    ("  }  ", True),
    ("\t{ \u3000", True),  # an ending before trailing (Unicode) white space
    ("a; b", False),
    ("def f():", True),
    ("   return x", True),
    ("returned home", False),  # \b: "return" then a word character
    ("return_value", False),  # "_" is a word character
    ("return(x)", True),
    ("return", True),  # the end of the line is a boundary
    ("function\u00e9", False),  # é is a word character
    ("function-y", True),
    ("from a.b import c", True),
    ("from here to there", False),
    ("from\u00a0x import y", False),  # "from " needs a plain space
    ("from x\u00a0y import z", False),  # \S+ stops at a no-break space
    ("from  a import b", False),  # \S+ needs one character at least
    ("if (x)", True),
    ("while(x)", False),
    ("SELECT 1", True),
    ("select 2", True),
    ("#include <x>", True),
    ("var y", True),
    ("variable", False),
    ("\u3000\u3000const x", True),  # Unicode white space before the statement
    ("日本語;", True),
    ("emoji 😀 {", True),
    ("plain 😀", False),
]


@pytest.mark.parametrize("verdict", VERDICTS)
@pytest.mark.parametrize(("line", "code"), LINE_CASES)
def test_looks_like_code_line_by_line(verdict, line: str, code: bool) -> None:
    assert line_scan.code_like(line) is code  # the cases are right by the rule itself
    assert verdict("plain words\n" + line, 40) is code


TEXT_CASES = [
    ("", False),
    ("x = 1;", False),  # one line is not enough
    ("x = 1;\nplain words\nmore words", False),  # one of three
    ("a\r\nconst x = 1\r\nlet y\r\npublic z", True),
    ("a;\x0bb;\x0cc\x1cd;\x1de\x1ef;\x85g", True),  # every break splitlines knows
    ("a\u2028b;\u2029c;", True),
    ("\n\n\n;\n\n;", True),  # blank lines are not counted
    ("prose\n" * 40 + "x;\n" * 80, False),  # only the first 40 lines are looked at
    ("x;\n" * 20 + "prose\n" * 20 + "y;\n" * 5, True),
]


@pytest.mark.parametrize("verdict", VERDICTS)
@pytest.mark.parametrize(("text", "code"), TEXT_CASES)
def test_looks_like_code_texts(verdict, text: str, code: bool) -> None:
    assert code_verdict(text, 40) is code
    assert verdict(text, 40) is code


CODE_PIECES = [
    "def ", "class ", "import ", "from ", " import", "return", "function", "const ", "let ",
    "var ", "public ", "private ", "#include", "SELECT ", "select ", "if (", "for (",
    "while (", "returned", "_", "(", "x", "é", "日本", "😀", ";", "{", "}", " ", "\t",
    "\u00a0", "\u3000", "\n", "\r\n", "\r", "\x0b", "\x85", "\u2028", "a.b", "words",
]  # fmt: skip


@pytest.mark.parametrize("verdict", VERDICTS)
def test_looks_like_code_random_texts(verdict) -> None:
    rng = random.Random(11)
    for _ in range(20_000):
        text = "".join(rng.choice(CODE_PIECES) for _ in range(rng.randint(0, 24)))
        max_lines = rng.choice((1, 2, 3, 40))
        assert verdict(text, max_lines) is code_verdict(text, max_lines), (text, max_lines)


@pytest.mark.parametrize("verdict", VERDICTS)
def test_looks_like_code_wants_a_count_of_lines(verdict) -> None:
    with pytest.raises(ValueError, match="max_lines >= 0"):
        verdict("a;\nb;\nc", -1)
    assert verdict("a;\nb;\nc", 0) is False
