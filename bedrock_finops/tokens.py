"""Token estimates for text the logs carry but do not count.

Bedrock logs give exact token totals per request, but not per prompt component. Where the
toolkit needs the tokens of a part (the system prompt, a repeated block, pretty-printing
whitespace), it estimates them as ``ceil(characters / 4)``: about four characters per token
for English text under the Claude and Llama 3 tokenizers. The embedded sample writes its
token counts with the same estimate, so on the sample estimates and logged counts agree.

Moving tokens between tokenizer families (e.g. Claude -> Llama) changes the count for the
same text. ``TOKENIZER_RATIOS`` gives the assumed tokens per Anthropic token; strategies
show it next to any figure it produces, and params can override it.
"""

from __future__ import annotations

import math

CHARS_PER_TOKEN = 4.0

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


def estimate_tokens(text: str | None) -> int:
    """Estimated tokens of ``text``: ceil(len / 4); 0 for empty or missing text."""
    if not text:
        return 0
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def tokenizer_ratio(
    from_family: str, to_family: str, ratios: dict[str, float] | None = None
) -> float:
    """Tokens in ``to_family`` per token in ``from_family`` for the same text."""
    table = {**TOKENIZER_RATIOS, **(ratios or {})}
    try:
        return table[to_family] / table[from_family]
    except KeyError as exc:
        raise KeyError(
            f"no tokenizer ratio for family {exc.args[0]!r}; known: {sorted(table)}. "
            "Pass ratios={'family': tokens_per_anthropic_token} to add one."
        ) from None
