"""Token estimates for text the logs carry but do not count.

Bedrock logs give exact token totals per request, but not per prompt component. Where the
toolkit needs the tokens of a part (the system prompt, a repeated block, pretty-printing
whitespace), it estimates them with one rule, :func:`estimate_tokens`: a character of
Chinese, Japanese or Korean script (``WIDE_RANGES``: CJK ideographs and symbols, kana,
Hangul, full-width forms) counts one token, any other character a quarter of one, and the
total is rounded up::

    ceil(other_chars / 4) + wide_chars

The rule is an assumption, not a measurement, and the ratios are approximate. About four
characters per token fits English under the Claude and Llama 3 tokenizers, and CJK text
costs about a token per character; but a common CJK word can be a single token, and other
scripts (Cyrillic, Greek, Arabic, Thai, Devanagari) and emoji often cost more than the
quarter token a character they are counted at. A per-part estimate is therefore rough
outside English and CJK; the logged per-request totals stay exact. ASCII and Latin-1 text
hold no wide character, so for them the rule is ``ceil(characters / 4)``. The embedded
sample writes its token counts with the same estimate (its text is ASCII), so on the sample
a row's last ``prefix_hashes`` count equals its logged input tokens (cached ones included),
except on Llama rows: the sample counts a Llama prompt whole, header markers
(``<|start_header_id|>...``) included, while the estimates read only the system and turn
texts between them (on one such row, 202 of 244 tokens).

Everything that estimates tokens of text uses this rule: the usage row's ``system_tokens``
and the cumulative counts in ``prefix_hashes``, the text features ``pretty_json_tokens`` and
``repeated_line_tokens`` (``line_scan`` applies it to each repeated line, compiled and in
Python alike), and plain-text documents sent inline. Counting the wide characters is
compiled (``_linescan.wide_chars``) where the extension was built, with ``py_wide_chars``
as the pure-Python twin; ASCII text needs no counting at all.

Moving tokens between tokenizer families (e.g. Claude -> Llama) changes the count for the
same text. ``TOKENIZER_RATIOS`` gives the assumed tokens per Anthropic token; strategies
show it next to any figure it produces, and params can override it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

CHARS_PER_TOKEN = 4  # of characters outside WIDE_RANGES

# Code points counted as one token each (inclusive). line_scan's compiled twin (_linescan.c,
# is_wide) holds the same table; tests pin the two equal.
WIDE_RANGES: tuple[tuple[int, int], ...] = (
    # CJK radicals, CJK symbols and punctuation (、。「」, the ideographic space), hiragana,
    # katakana, bopomofo, Hangul compatibility jamo, CJK extension A, CJK unified ideographs
    (0x2E80, 0x9FFF),
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF00, 0xFFEF),  # half-width and full-width forms (ＡＢＣ, ！, half-width katakana)
    (0x20000, 0x3FFFF),  # the ideographic planes: CJK extensions B to H
)
_NOT_WIDE_RUN = re.compile("[^" + "".join(f"{chr(a)}-{chr(b)}" for a, b in WIDE_RANGES) + "]+")

# Tokens a text costs in each family, relative to the Anthropic (Claude) tokenizer.
# Assumptions, not measurements: Llama 3's 128K vocabulary packs English ~15% tighter than
# Claude's; Titan, Mistral (32K SentencePiece) and Nova are taken at parity or slightly worse.
TOKENIZER_RATIOS: dict[str, float] = {
    "anthropic": 1.00,
    "llama3": 0.85,
    "titan": 1.00,
    "mistral": 1.05,
    "nova": 1.00,
}


def py_wide_chars(text: str) -> int:
    """How many characters of ``text`` fall in ``WIDE_RANGES`` (the pure-Python twin)."""
    # what is left once the runs of other characters are cut out; the fastest of the regex
    # forms tried on English, Latin-1, Japanese and mixed text (10-25 us for 4 KB)
    return len(_NOT_WIDE_RUN.sub("", text))


wide_chars: Callable[[str], int]
try:
    from bedrock_finops._linescan import wide_chars
except ImportError:  # no C compiler at install time: same counts, slower
    wide_chars = py_wide_chars


def estimate_tokens(text: str | None) -> int:
    """Estimated tokens of ``text``: ceil(other characters / 4) + characters in
    ``WIDE_RANGES``; 0 for empty or missing text. ASCII text: ceil(len / 4)."""
    if not text:
        return 0
    # 4 is CHARS_PER_TOKEN, written out: looking the name up would cost the ASCII path ~10 ns
    if text.isascii():  # O(1): the string knows; no character to count
        return (len(text) + 3) // 4
    wide = wide_chars(text)
    return (len(text) - wide + 3) // 4 + wide


class UnknownTokenizerRatio(KeyError):
    """No ratio is known for a tokenizer (a catalog model's, or one params name)."""

    def __str__(self) -> str:  # KeyError's own quotes the message
        return str(self.args[0])


def tokenizer_ratio(
    from_family: str, to_family: str, ratios: dict[str, float] | None = None
) -> float:
    """Tokens in ``to_family`` per token in ``from_family`` for the same text (1 for the same
    tokenizer, whether or not a ratio is known for it)."""
    if from_family == to_family:
        return 1.0
    table = {**TOKENIZER_RATIOS, **(ratios or {})}
    try:
        return table[to_family] / table[from_family]
    except KeyError as exc:
        raise UnknownTokenizerRatio(
            f"no tokenizer ratio for {exc.args[0]!r} (known: {', '.join(sorted(table))}); "
            "give one in the params' tokenizer_ratios, as tokens per Anthropic token"
        ) from None
