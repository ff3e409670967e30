"""Repeated lines in a block of prompt text, and a digest to spot lines shared between blocks.

``line_features(text) -> (repeated_tokens, digest, may_open_json)``: the tokens of the
non-trivial lines of ``text`` (those of ``str.splitlines``) that repeat (each repeat after the
first, stripped), an opaque digest of its non-trivial lines, and whether ``"{\\n"`` or
``"[\\n"`` occurs (where a pretty-printed JSON span can open; found in the same pass).
``lines_overlap(a, b)`` tells whether two digests may share a non-trivial line; it may say yes
when they do not, never the reverse, and callers then take the exact slow path, so results
never depend on it.

Splitting every distinct user turn into line strings was the largest single cost of the ingest
(about 12 us of a worker's ~63 us per record, measured on the 1M-record benchmark). The
compiled ``_linescan`` extension does the same in one pass without creating a string per line;
it is built at install time when a C compiler is present. Without one, the pure-Python twin
below runs: same results, slower (``COMPILED`` tells which). Tests pin the two equal.
"""

from __future__ import annotations

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


def py_lines_overlap(a: Any, b: Any) -> bool:
    """The pure-Python ``lines_overlap``, for ``py_line_features`` digests."""
    return not a.isdisjoint(b) and any(nontrivial(x) for x in a & b)


line_features: Callable[[str], tuple[int, Any, bool]]
lines_overlap: Callable[[Any, Any], bool]
try:
    from bedrock_finops._linescan import line_features, lines_overlap

    COMPILED = True
except ImportError:  # no C compiler at install time: same results, slower
    line_features, lines_overlap = py_line_features, py_lines_overlap
    COMPILED = False
