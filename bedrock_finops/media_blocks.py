"""Images, documents, video and audio sent inline, as base64, in a request body.

A request can carry media as base64 text: an Anthropic ``image`` or ``document`` block with a
``base64`` source, a Converse or Nova ``image`` / ``document`` / ``video`` / ``audio`` block
with ``source.bytes``, or a Mistral ``image_url`` with a ``data:`` URL. Read as text, a 45 KB
image would be estimated at ~15,000 tokens and would fill ``user_text``, the text features
and the prompt-prefix positions with base64. Each such block is read as a placeholder::

    [[media image image/png 640x480 34512 bytes ~410 tokens xxh3:9f1c2a7b3d4e5f60]]

The digest is of the decoded bytes, so two requests with the same image share a prefix hash
and two with different images do not. ``request_hash`` is unaffected: it hashes the whole
body as logged.

Token estimates (added to the turn's position in ``prefix_hashes``):

- an image: Anthropic's rule for Claude vision, tokens = width x height / 750 after the
  image is scaled down to a long edge of at most 1,568 px, and at most ~1,600 tokens (the
  size Claude scales larger images down to). The size is read from the image's header with
  Pillow. Other families count image tokens by their own rules; this is the estimate shown;
- a plain-text document (txt, csv, md, html): its text at ~4 characters per token;
- anything else (PDF, Word, video, audio, or an image Pillow cannot read): not estimated,
  and the placeholder says so (``tokens not estimated``). The row's logged token totals are
  exact either way; only the split of a prompt into prefix positions leaves these out.
"""

from __future__ import annotations

import binascii
import io
import math
import warnings
from typing import Any

import xxhash

from bedrock_finops.tokens import estimate_tokens

MEDIA_MARK = "[[media "  # every placeholder starts with this
MEDIA_KINDS = ("image", "document", "video", "audio")
IMAGE_PIXELS_PER_TOKEN = 750
IMAGE_MAX_LONG_EDGE = 1568
IMAGE_MAX_TOKENS = 1600
TEXT_FORMATS = frozenset(
    {"txt", "csv", "md", "html", "text/plain", "text/csv", "text/markdown", "text/html"}
)


def inline_media(block: dict) -> tuple[str, str, str] | None:
    """(kind, format, base64 data) when ``block`` is one inline media block, else None."""
    kind = block.get("type")
    if kind in ("image", "document"):  # Anthropic
        source = block.get("source")
        if isinstance(source, dict) and source.get("type") == "base64":
            data = source.get("data")
            if isinstance(data, str):
                return kind, str(source.get("media_type") or "unknown"), data
        return None
    if kind == "image_url":  # Mistral (OpenAI style)
        url = block.get("image_url")
        if isinstance(url, dict):
            url = url.get("url")
        if isinstance(url, str) and url.startswith("data:") and ";base64," in url:
            head, _, data = url.partition(";base64,")
            return "image", head[5:] or "unknown", data
        return None
    for kind in MEDIA_KINDS:  # Converse and Nova: {"image": {"format": .., "source": {..}}}
        inner = block.get(kind)
        if isinstance(inner, dict):
            source = inner.get("source")
            if isinstance(source, dict) and isinstance(source.get("bytes"), str):
                return kind, str(inner.get("format") or "unknown"), source["bytes"]
    return None


def placeholder(kind: str, fmt: str, data: str) -> tuple[str, int | None]:
    """(placeholder text, estimated tokens or None) for one inline media block."""
    try:
        raw = binascii.a2b_base64(data)
    except (binascii.Error, ValueError):
        digest = xxhash.xxh3_64_hexdigest(data.encode())
        text = f"{MEDIA_MARK}{kind} {fmt} not base64 {len(data)} characters xxh3:{digest}]]"
        return text, None
    size = ""
    tokens: int | None = None
    if kind == "image":
        dims = image_size(raw)
        if dims is not None:
            size = f"{dims[0]}x{dims[1]} "
            tokens = image_tokens(*dims)
    elif fmt.lower() in TEXT_FORMATS:
        tokens = estimate_tokens(raw.decode("utf-8", "replace"))
    estimate = "tokens not estimated" if tokens is None else f"~{tokens} tokens"
    digest = xxhash.xxh3_64_hexdigest(raw)
    return f"{MEDIA_MARK}{kind} {fmt} {size}{len(raw)} bytes {estimate} xxh3:{digest}]]", tokens


def image_size(raw: bytes) -> tuple[int, int] | None:
    """(width, height) from an image's header, None when Pillow cannot read it."""
    from PIL import Image, UnidentifiedImageError  # only records with images pay the import

    try:
        with warnings.catch_warnings():  # a huge size is still a size: no bomb warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as image:  # reads the header, not the pixels
                return image.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


def image_tokens(width: int, height: int) -> int:
    """Claude's image tokens: width x height / 750, after scaling to the size limits."""
    if width <= 0 or height <= 0:
        return 0
    scale = min(1.0, IMAGE_MAX_LONG_EDGE / max(width, height))
    tokens = math.ceil(width * scale * height * scale / IMAGE_PIXELS_PER_TOKEN)
    return min(tokens, IMAGE_MAX_TOKENS)


def without_inline_media(content: list, media: list[int] | None) -> list:
    """``content`` (the blocks inside a tool result) with each inline media block replaced
    by its placeholder text; each estimate is appended to ``media`` when given."""
    out: list[Any] = []
    for b in content:
        found = inline_media(b) if isinstance(b, dict) else None
        if found is None:
            out.append(b)
            continue
        text, tokens = placeholder(*found)
        if media is not None and tokens is not None:
            media.append(tokens)
        out.append(text)
    return out


def has_inline_media(text: Any) -> bool:
    """Whether a prompt text (e.g. ``user_text``) holds a media placeholder."""
    return isinstance(text, str) and MEDIA_MARK in text
