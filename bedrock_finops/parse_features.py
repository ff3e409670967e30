"""Prompt text features, computed once per distinct block of text.

A prompt is a few blocks (system prompt, tool spec, one text per message) joined by newlines.
System prompts, tool specs and retrieved-context messages repeat across thousands of records,
so each block's features (tokens, pretty-printed JSON, lines) are computed once and looked up
by the block's text afterwards; a record's features are then added up from its blocks.

Adding up is exact when no pretty-printed JSON span and no repeated line crosses a block
boundary; :meth:`FeatureCache.prompt_features` checks that and otherwise falls back to the
computation on the joined text (``joined_prompt_features``), so the result is always the same
as the straightforward ``reference_prompt_features``.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, NamedTuple

import orjson

from bedrock_finops.line_scan import line_features, lines_shared, repeated_tokens
from bedrock_finops.parse_request import canonical
from bedrock_finops.tokens import estimate_tokens

MAX_CACHE_CHARS = 1 << 24  # text held by one worker's caches before they are cleared
# entries a FeatureCache holds before it is cleared. It keeps no text, only a digest and a
# small value (~130 bytes an entry with the dicts' slots), so its characters alone would let
# short distinct texts (a user turn "Q1", an output "A1") grow it to millions of entries,
# ~280 MB per worker. 2^17 entries are ~17 MB, and the two bounds meet at texts of 128
# characters on average: longer texts clear it by their characters, as before.
MAX_CACHE_ENTRIES = MAX_CACHE_CHARS // 128


class Block(NamedTuple):
    tokens: int
    pretty: int  # sum over the block's pretty-printed JSON spans (before clamping at 0)
    pretty_alone: bool  # every span opener closes inside the block: it adds up on its own
    lines: Any  # digest of the non-trivial lines: compare with line_scan.lines_shared only
    repeated: int  # repeated-line tokens within the block


def pretty_scan(text: str) -> tuple[int, bool]:
    """(tokens of pretty-printing whitespace, every opener found its closer in ``text``).

    A pretty-printed block opens with ``{`` or ``[`` at the end of a line and closes with the
    matching bracket at the start of a later line, at the opening line's indentation (what
    ``json.dumps(indent=...)`` and its peers write); each candidate must parse as JSON.
    """
    alone = not text.endswith(("{", "["))  # joined to a "\n", it would open a span
    # a one-character search runs at memchr speed; the two-character one is far slower
    if ("{" not in text or "{\n" not in text) and ("[" not in text or "[\n" not in text):
        return 0, alone
    total = 0
    pos = 0
    # Each search result is kept while it is still ahead: a text of code (many "{\n", no
    # "[\n") or of openers that never close (a diff's "+  {") would otherwise be searched to
    # its end once per opener, quadratic in its length. Openers come in increasing order, so a
    # closer found at or after an earlier opener is the next one for a later opener before
    # it, and a closer found nowhere after an earlier opener is nowhere after a later one.
    i_obj = text.find("{\n")
    i_arr = text.find("[\n")
    closers: dict[str, int] = {}
    while True:
        if 0 <= i_obj < pos:
            i_obj = text.find("{\n", pos)
        if 0 <= i_arr < pos:
            i_arr = text.find("[\n", pos)
        if i_obj < 0 and i_arr < 0:
            return total, alone
        start = i_arr if i_obj < 0 or (0 <= i_arr < i_obj) else i_obj
        line_start = text.rfind("\n", 0, start) + 1
        line = text[line_start:start]
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        closer = "\n" + indent + ("}" if text[start] == "{" else "]")
        end = closers.get(closer, -2)
        if end == -2 or 0 <= end < start:
            end = closers[closer] = text.find(closer, start)
        if end < 0:
            alone = False  # in a longer prompt, a later block might close it
            pos = start + 2
            continue
        saved = pretty_span_tokens(text[start : end + len(closer)])
        if saved is None:
            pos = start + 2
            continue
        total += saved
        pos = end + len(closer)


def pretty_span_tokens(span: str) -> int | None:
    """Tokens a candidate span spends on pretty-printing; None when it is not JSON."""
    try:
        obj = orjson.loads(span)
    except orjson.JSONDecodeError:
        return None
    try:
        compact = orjson.dumps(obj)
    except orjson.JSONEncodeError:  # deeper than orjson writes: same text, without recursion
        compact = canonical(obj)  # (its sorted keys do not change the length)
    return estimate_tokens(span) - estimate_tokens(compact.decode())


def pretty_json_tokens(text: str) -> int:
    """Tokens spent on indentation/newlines of pretty-printed JSON objects/arrays in ``text``."""
    return max(pretty_scan(text)[0], 0)


def repeated_line_tokens(text: str) -> int:
    """Tokens of non-trivial lines seen more than once in the prompt (the repeats only)."""
    lines = text.splitlines()
    return repeated_tokens(lines, set(lines))


def _joined(system_text: str | None, texts: list[str]) -> str:
    prompt_text = "\n".join(texts)
    if system_text:
        prompt_text = system_text + "\n" + prompt_text
    return prompt_text


def reference_prompt_features(system_text: str | None, texts: list[str]) -> tuple[int, int]:
    """(pretty_json_tokens, repeated_line_tokens) of the whole prompt, computed directly."""
    prompt_text = _joined(system_text, texts)
    return pretty_json_tokens(prompt_text), repeated_line_tokens(prompt_text)


def joined_prompt_features(system_text: str | None, texts: list[str]) -> tuple[int, int]:
    """``reference_prompt_features``, with the repeated lines from ``line_features``."""
    prompt_text = _joined(system_text, texts)
    return pretty_json_tokens(prompt_text), line_features(prompt_text)[0]


class FeatureCache:
    """Bounded memo of block features and output shapes, keyed by the text or its digest."""

    def __init__(
        self, max_chars: int = MAX_CACHE_CHARS, max_entries: int = MAX_CACHE_ENTRIES
    ) -> None:
        self.blocks: dict[Hashable, Block] = {}
        self.shapes: dict[Hashable, str] = {}
        self.chars = 0
        self.max_chars = max_chars
        self.max_entries = max_entries  # of blocks and shapes together

    def _room(self, n: int) -> None:
        """Make room for a text of ``n`` characters (asked on a miss only): the memo starts
        over once its texts pass ``max_chars`` or it holds ``max_entries``, so memory stays
        flat however many records pass, long texts or short."""
        self.chars += n
        if self.chars > self.max_chars or len(self.blocks) + len(self.shapes) >= self.max_entries:
            self.blocks.clear()
            self.shapes.clear()
            self.chars = n

    def block(self, text: str, key: Hashable | None = None) -> Block:
        """The features of ``text``, memoised under ``key`` (default: the text itself).

        A key that stands for the text (e.g. a 128-bit digest the caller computed anyway)
        saves hashing a long, freshly parsed string for every lookup.
        """
        if key is None:
            key = text
        hit = self.blocks.get(key)
        if hit is None:
            self._room(len(text))
            repeated, lines, may_open_json = line_features(text)
            if may_open_json:
                total, alone = pretty_scan(text)
            else:  # what pretty_scan returns for a text with no "{\n" and no "[\n"
                total, alone = 0, not text.endswith(("{", "["))
            hit = Block(estimate_tokens(text), total, alone, lines, repeated)
            self.blocks[key] = hit
        return hit

    def shape(self, text: str | None, compute, key: Hashable | None = None) -> str:
        """``compute(text)``, memoised under ``key`` (default: the text itself)."""
        if text is None:
            return "unknown"
        if key is None:
            key = text
        hit = self.shapes.get(key)
        if hit is None:
            self._room(len(text))
            hit = self.shapes[key] = compute(text)
        return hit

    def prompt_features(
        self, system_text: str | None, texts: list[str], blocks: list[Block]
    ) -> tuple[int, int]:
        """(pretty_json_tokens, repeated_line_tokens) of ``system_text`` + ``texts`` joined.

        ``blocks`` are the features of the joined parts, in order (system first when truthy).
        """
        if len(blocks) == 1 and (not system_text or not texts):
            b = blocks[0]
            if not system_text or b.pretty_alone:  # a lone system text gets a trailing "\n"
                return max(b.pretty, 0), b.repeated
        pretty = 0
        repeated = 0
        for b in blocks:
            if not b.pretty_alone:
                return joined_prompt_features(system_text, texts)
            pretty += b.pretty
            repeated += b.repeated
        if len(blocks) > 1 and lines_shared([b.lines for b in blocks]):
            return joined_prompt_features(system_text, texts)  # maybe a line across blocks
        return max(pretty, 0), repeated
