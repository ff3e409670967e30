"""Repeated lines in a block of prompt text, and a digest to spot lines shared between blocks.

``line_features(text) -> (repeated_tokens, digest, may_open_json)``: the estimated tokens
(``tokens.estimate_tokens``: a CJK character one, any other a quarter) of the non-trivial
lines of ``text`` (those of ``str.splitlines``) that repeat (each repeat after the first,
stripped), an opaque digest of its non-trivial lines, and whether ``"{\\n"`` or ``"[\\n"``
occurs (where a pretty-printed JSON span can open; found in the same pass).
``lines_shared(digests)`` tells whether two of the digests may share a non-trivial line, in one
pass over them all (a conversation of n turns costs O(n), not a comparison of every pair); it
may say yes when they do not, never the reverse, and callers then take the exact slow path,
so results never depend on it. ``looks_like_code(text, max_lines)`` tells whether at least
two, and at least half, of the non-blank lines among the first ``max_lines`` are code-like
(``code_like``): ``output_shape`` asks it of every model output that is not JSON or a label.

Splitting every distinct user turn into line strings was the largest single cost of the ingest
(about 12 us of a worker's ~63 us per record, measured on the 1M-record benchmark). The
compiled ``_linescan`` extension does the same in one pass without creating a string per line;
it is built at install time when a C compiler is present. Deciding whether a prose output
looks like code cost ~10 us (splitting it into lines, a regex on each); compiled, ~1 us.
Without a compiler, the pure-Python twins below run: same results, slower (``COMPILED``
tells which). Tests pin the two equal.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from bedrock_finops.tokens import estimate_tokens

MIN_REPEATED_LINE_CHARS = 16  # shorter lines (blank, "}", "---", "Answer:") are not waste


def nontrivial(line: str) -> bool:
    """A line long enough, stripped and not, for its repeats to count as waste."""
    return len(line) >= MIN_REPEATED_LINE_CHARS and len(line.strip()) >= MIN_REPEATED_LINE_CHARS


def repeated_tokens(lines: list[str], distinct: set[str]) -> int:
    """Tokens of the repeats of non-trivial ``lines`` (``distinct`` is ``set(lines)``)."""
    if len(distinct) == len(lines):  # the common case, decided at C speed
        return 0
    if "" in distinct and len(lines) - len(distinct) == lines.count("") - 1:
        return 0  # only blank lines repeat (also decided at C speed)
    lines = [line for line in lines if len(line) >= MIN_REPEATED_LINE_CHARS]
    if len(set(lines)) == len(lines):  # only short lines (blank ones, "}") repeat
        return 0
    total = 0
    for line, k in Counter(lines).items():
        if k > 1:
            stripped = line.strip()
            if len(stripped) >= MIN_REPEATED_LINE_CHARS:
                total += (k - 1) * estimate_tokens(stripped)
    return total


def py_line_features(text: str) -> tuple[int, frozenset[str], bool]:
    """The pure-Python ``line_features``: its digest is the set of the text's lines."""
    lines = text.splitlines()
    distinct = frozenset(lines)
    return repeated_tokens(lines, distinct), distinct, "{\n" in text or "[\n" in text


def py_lines_shared(digests: list[Any]) -> bool:
    """The pure-Python ``lines_shared``, for ``py_line_features`` digests (sets of lines)."""
    if len(digests) <= 3:  # a few blocks (most prompts): comparing pairs copies no set
        return any(
            not a.isdisjoint(b) and any(nontrivial(x) for x in a & b)
            for i, a in enumerate(digests)
            for b in digests[i + 1 :]
        )
    seen: set[str] = set()  # every line of the blocks before, trivial ones too (set speed)
    for lines in digests:
        if not seen.isdisjoint(lines) and any(nontrivial(x) for x in seen & lines):
            return True
        seen |= lines
    return False


# ------------------------------------------------------------------- code-like lines
# A code-like line ends with ; { or } (before trailing space), or starts like a statement.
CODE_ENDINGS = (";", "{", "}")
CODE_START_RE = re.compile(
    r"\s*(?:def |class |import |from \S+ import|return\b|function\b|const |let |"
    r"var |public |private |#include|SELECT |select |if \(|for \(|while \()"
)
# the same starts at the text's start or after any line boundary str.splitlines knows. A
# pattern that begins with a character class is searched for with a fast scan for that class;
# the equivalent "(?:^|[...])" form (re.M) costs ~4x more, as each position tries both arms.
_LINE_BREAK_CLASS = "[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]"
_CODE_START_AFTER_BREAK_RE = re.compile(_LINE_BREAK_CLASS + CODE_START_RE.pattern)


def code_like(line: str) -> bool:
    return line.rstrip().endswith(CODE_ENDINGS) or CODE_START_RE.match(line) is not None


def may_start_code(text: str) -> bool:
    """Whether some line of ``text`` starts like a statement (``CODE_START_RE``)."""
    return (
        CODE_START_RE.match(text) is not None or _CODE_START_AFTER_BREAK_RE.search(text) is not None
    )


def mostly_code(lines: list[str]) -> bool:
    """Whether at least half of ``lines`` look like code; stops as soon as that is decided."""
    need = (len(lines) + 1) // 2  # code-like lines * 2 >= len(lines)
    left = len(lines)
    found = 0
    for line in lines:
        left -= 1
        if code_like(line):
            found += 1
            if found >= need:
                return True
        elif found + left < need:
            return False
    return found >= need


def py_looks_like_code(text: str, max_lines: int) -> bool:
    """Of the non-blank lines among the first ``max_lines`` of ``text``: at least two, and
    at least half of them code-like (``code_like``)."""
    if max_lines < 0:
        raise ValueError("looks_like_code() wants max_lines >= 0")
    if ";" not in text and "{" not in text and "}" not in text and not may_start_code(text):
        return False  # no line can be code-like
    lines = [line for line in text.splitlines()[:max_lines] if line.strip()]
    return len(lines) >= 2 and mostly_code(lines)


line_features: Callable[[str], tuple[int, Any, bool]]
lines_shared: Callable[[list[Any]], bool]
looks_like_code: Callable[[str, int], bool]
try:
    from bedrock_finops._linescan import line_features, lines_shared, looks_like_code

    COMPILED = True
except ImportError:  # no C compiler at install time: same results, slower
    line_features, lines_shared = py_line_features, py_lines_shared
    looks_like_code = py_looks_like_code
    COMPILED = False
