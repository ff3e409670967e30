"""Images, documents, video and audio sent inline, as base64, in a request body.

A request can carry media as base64 text: an Anthropic ``image`` or ``document`` block with a
``base64`` source, a Converse or Nova ``image`` / ``document`` / ``video`` / ``audio`` block
with ``source.bytes`` (also inside a ``guardContent`` block), a Mistral ``image_url`` with a
``data:`` URL, or Llama 3.2's ``images`` list. Read as text, a 45 KB image would be estimated
at ~15,000 tokens and would fill ``user_text``, the text features and the prompt-prefix
positions with base64. Each is read as a placeholder::

    [[media image png 640x480 34512 bytes xxh3:9f1c2a7b3d4e5f60]]

The digest is of the decoded bytes, so two requests with the same image share a prefix hash
and two with different images do not. ``request_hash`` is unaffected: it hashes the whole
body as logged.

Token estimates, added to the turn's position in ``prefix_hashes`` (:func:`media_tokens`):

- an image sent to an Anthropic model (by its logged ID, or through a profile or provisioned
  model ``profile_map`` maps to one: ``models.rules_model_id``): Anthropic's rule for the
  Claude models 3 to 4.6, width x height / 750 after the image is scaled
  down to a long edge of at most 1,568 px, and at most ~1,600 tokens
  (docs.anthropic.com/en/docs/vision). The size is read
  from the image's header with Pillow. Later Claude models (Opus 4.7: up to 2,576 px, on a
  new tokenizer) read larger images (more tokens),
  and other families count by their own rules (Nova by a table of sizes, Llama and Mistral
  undocumented), so their images are not estimated;
- a plain-text document (txt, csv, md, html): its text by ``tokens.estimate_tokens``;
- anything else (PDF, Word, video, audio, an image Pillow cannot read): not estimated. The
  row's logged token totals are exact either way; only the split of a prompt into prefix
  positions leaves these out.
"""

from __future__ import annotations

import binascii
import io
import math
import re
import warnings
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import xxhash

from bedrock_finops.tokens import estimate_tokens

if TYPE_CHECKING:
    import pandas as pd

    from bedrock_finops.column_take import ParquetColumn

MEDIA_MARK = "[[media "  # every placeholder starts with this
MEDIA_KINDS = ("image", "document", "video", "audio")
IMAGE_PIXELS_PER_TOKEN = 750
IMAGE_MAX_LONG_EDGE = 1568
IMAGE_MAX_TOKENS = 1600
TEXT_FORMATS = frozenset(
    {"txt", "csv", "md", "html", "text/plain", "text/csv", "text/markdown", "text/html"}
)


class MediaItem(NamedTuple):
    """What a placeholder stands for: enough to estimate its tokens for a given model, and
    what changes a cached prompt without changing its text (:func:`media_flags`)."""

    kind: str  # image | document | video | audio
    size: tuple[int, int] | None  # an image's width and height, when readable
    text_tokens: int | None  # a plain-text document's tokens (tokens.estimate_tokens)
    citations: bool = False  # a document that enables citations (:func:`cites`)


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
        if isinstance(url, str) and url[:5].lower() == "data:":
            head, sep, data = url.partition(",")
            params = head[5:].split(";")
            if sep and params[-1].lower() == "base64":  # RFC 2397: data:[type][;k=v];base64,
                return "image", params[0] or "unknown", data
        return None
    guarded = block.get("guardContent")  # Converse: an image a guardrail checks
    if isinstance(guarded, dict):
        block = guarded
    for kind in MEDIA_KINDS:  # Converse and Nova: {"image": {"format": .., "source": {..}}}
        inner = block.get(kind)
        if isinstance(inner, dict):
            source = inner.get("source")
            if isinstance(source, dict) and isinstance(source.get("bytes"), str):
                return kind, str(inner.get("format") or "unknown"), source["bytes"]
    return None


def cites(block: dict) -> bool:
    """Whether a document block enables citations: Anthropic's ``citations`` on the block,
    Converse's on its ``document``. Anthropic adds citation instructions to the system prompt
    then, which a placeholder or the text alone does not show."""
    inner = block.get("document")
    flag = (inner if type(inner) is dict else block).get("citations")
    return type(flag) is dict and flag.get("enabled") is True


def referenced_media(block: dict) -> MediaItem | None:
    """A media block that is not inline (an image by S3 location or by a URL, a Mistral or
    OpenAI-style ``image_url`` whose URL is not base64 data, a document with a text or
    content source; its JSON is its text): its kind and whether it enables citations, no
    tokens of its own. None for any other block (a tool call, a tool result)."""
    kind = block.get("type")
    if kind == "image_url":
        return MediaItem("image", None, None)
    if kind != "image" and kind != "document":
        kind = next((k for k in MEDIA_KINDS if type(block.get(k)) is dict), None)
        if kind is None:
            return None
    return MediaItem(kind, None, None, kind == "document" and cites(block))


def media_flags(media: dict[int, list[MediaItem]]) -> tuple[bool, bool]:
    """(an image anywhere in the prompt, a document that enables citations anywhere): what
    Anthropic documents as invalidating a cached prompt without changing its text."""
    items = [item for turn in media.values() for item in turn]
    return any(i.kind == "image" for i in items), any(i.citations for i in items)


def media_sent(media: dict[int, list[MediaItem]]) -> str:
    """The usage table's ``media_sent``: the kinds of media in ``media`` (any turn), in
    ``MEDIA_KINDS`` order, joined by "|"; "" for none."""
    kinds = {item.kind for turn in media.values() for item in turn}
    return "|".join(kind for kind in MEDIA_KINDS if kind in kinds)


def placeholder(kind: str, fmt: str, data: str) -> tuple[str, MediaItem]:
    """(placeholder text, what it stands for) for one inline media block.

    An image's media type is written as Converse names the format (``image/png`` -> ``png``),
    so the same image sent through Converse and InvokeModel is the same text."""
    if kind == "image":
        fmt = fmt.removeprefix("image/")
    try:  # strict: prose in a base64 field is not quietly read as bytes; line breaks are fine
        raw = binascii.a2b_base64("".join(data.split()), strict_mode=True)
    except (binascii.Error, ValueError):
        digest = xxhash.xxh3_64_hexdigest(data.encode())
        text = f"{MEDIA_MARK}{kind} {fmt} not base64 {len(data)} characters xxh3:{digest}]]"
        return text, MediaItem(kind, None, None)
    size = image_size(raw) if kind == "image" else None
    text_tokens = None
    if kind == "document" and fmt.lower() in TEXT_FORMATS:
        text_tokens = estimate_tokens(raw.decode("utf-8", "replace"))
    shown = "" if size is None else f"{size[0]}x{size[1]} "
    digest = xxhash.xxh3_64_hexdigest(raw)
    text = f"{MEDIA_MARK}{kind} {fmt} {shown}{len(raw)} bytes xxh3:{digest}]]"
    return text, MediaItem(kind, size, text_tokens)


# the Claude models whose images follow the 1,568 px / ~1,600-token rule: Claude 3, 3.5 and
# 3.7, and Opus, Sonnet and Haiku 4 to 4.6 (a version, a date or nothing after the 4); Opus
# 4.7 reads images up to 2,576 px on a new tokenizer, and later models are not known here
_CLASSIC_VISION = re.compile(
    r"anthropic\.claude-(?:3|(?:opus|sonnet|haiku)-4(?:-[1-6](?![0-9])|-\d{8}|-v\d|:|$))"
)


def media_tokens(model_key: str, items: list[MediaItem]) -> int:
    """Estimated tokens of ``items`` sent to ``model_key`` (0 for what is not estimated)."""
    total = 0
    claude = None
    for item in items:
        if item.text_tokens is not None:
            total += item.text_tokens
        elif item.size is not None:
            if claude is None:
                claude = _CLASSIC_VISION.match(model_key) is not None
            if claude:
                total += image_tokens(*item.size)
    return total


# the image formats Bedrock's models take; Pillow is not asked to read any other (its other
# readers raise errors of their own on odd bytes, and write warnings to stderr)
IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "WEBP")


def image_size(raw: bytes) -> tuple[int, int] | None:
    """(width, height) from an image's header, None when Pillow cannot read it as one of
    :data:`IMAGE_FORMATS`."""
    from PIL import Image  # only records with images pay the import

    try:  # over ~179M pixels Pillow refuses even the header (Claude takes 8000x8000 at most)
        with warnings.catch_warnings():  # a size under that is still a size: no warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            # reads the header, not the pixels
            with Image.open(io.BytesIO(raw), formats=IMAGE_FORMATS) as image:
                return image.size
    except Exception:  # any header Pillow cannot read: the image is not estimated, the
        return None  # record stays a row (a reader's own error must not end the run)


def image_tokens(width: int, height: int) -> int:
    """Claude's image tokens: width x height / 750, after scaling to the size limits."""
    if width <= 0 or height <= 0:
        return 0
    scale = min(1.0, IMAGE_MAX_LONG_EDGE / max(width, height))
    tokens = math.ceil(width * scale * height * scale / IMAGE_PIXELS_PER_TOKEN)
    return min(tokens, IMAGE_MAX_TOKENS)


def without_inline_media(content: list, media: list[MediaItem] | None) -> list:
    """``content`` (the blocks inside a tool result) with each inline media block replaced
    by its placeholder text, also inside a document of a content source
    (:func:`document_content_media`); what each stands for (and what a media block by
    reference is, for the chain's image and citation flags) is appended to ``media`` when
    given."""
    out = _placeholders_for_inline_media(content, media)
    for i, b in enumerate(out):
        if type(b) is dict and b.get("type") == "document":
            out[i] = document_content_media(b, media)
    return out


def document_content_media(block: dict, media: list[MediaItem] | None) -> dict:
    """``block``, an Anthropic document whose source is ``content`` (text and image blocks),
    with the images in it read as a turn's are: one sent inline as its placeholder, one by
    reference as its JSON, each appended to ``media`` when given. Any other block as it is.
    A document's images are not searched for documents in turn (Anthropic takes none)."""
    source = block.get("source")
    if type(source) is not dict or source.get("type") != "content":
        return block
    inner = source.get("content")
    if type(inner) is not list:
        return block
    return {**block, "source": {**source, "content": _placeholders_for_inline_media(inner, media)}}


def _placeholders_for_inline_media(content: list, media: list[MediaItem] | None) -> list:
    out: list[Any] = []
    for b in content:
        found = inline_media(b) if isinstance(b, dict) else None
        if found is None:
            if media is not None and isinstance(b, dict) and (item := referenced_media(b)):
                media.append(item)
            out.append(b)
            continue
        text, item = placeholder(*found)
        if media is not None:
            media.append(item._replace(citations=True) if cites(b) else item)
        out.append(text)
    return out


def image_list_placeholders(images: Any, media: list[MediaItem] | None) -> str:
    """Placeholders for Llama 3.2's ``images`` (base64 strings), one per line; "" if none."""
    if not isinstance(images, list):
        return ""
    texts = []
    for data in images:
        if isinstance(data, str):
            text, item = placeholder("image", "unknown", data)
            texts.append(text)
            if media is not None:
                media.append(item)
    return "\n".join(texts)


PLACEHOLDER_RE = re.compile(
    r"\[\[media (?:image|document|video|audio) [^\]\n]* xxh3:[0-9a-f]{16}\]\]"
)


def has_inline_media(text: Any) -> bool:
    """Whether a prompt text (e.g. ``user_text``) holds a media placeholder (as written by
    :func:`placeholder`: a user's own "[[media " is not one)."""
    return isinstance(text, str) and MEDIA_MARK in text and PLACEHOLDER_RE.search(text) is not None


# What a user turn's text holds for each kind of media it sent: the placeholder of one sent
# inline (as :data:`PLACEHOLDER_RE` finds them), or the canonical JSON of a block sent by
# reference, on a line of its own: a Converse or Nova block (``{"video":{"format":"mp4",
# "source":{"s3Location":{...}}}}``) or an Anthropic one (``{"source":{"type":"url",...},
# "type":"image"}``) or a Mistral one (``{"image_url":{"url":"https://..."},"type":
# "image_url"}``), also inside the tool result that returned it (a line of its own too:
# ``{"toolResult":{"content":[{"image":{...}}],...}}``, ``{"content":[{"source":{...},
# "type":"image"}],...,"type":"tool_result"}``). RE2 syntax, for pyarrow.
_INLINE_PATTERNS = {
    kind: rf"\[\[media {kind} [^\]\n]* xxh3:[0-9a-f]{{16}}\]\]" for kind in MEDIA_KINDS
}


def _reference_pattern(kind: str) -> str:
    """The lines of a user turn that are a ``kind`` block sent by reference, or a tool result
    holding one. In canonical JSON a quote is escaped inside a string, so ``{"image":{`` or
    ``,"type":"image"}`` is the JSON's own structure, not text a tool returned; a tool's
    ``json`` result that nests such an object in a list is read as one too."""
    patterns = [
        rf'^\{{"{kind}":\{{.*\}}\}}$',  # Converse, Nova
        rf'^\{{"toolResult":\{{.*[\[,]\{{"{kind}":\{{.*\}}\}}$',  # ... in a tool result
    ]
    if kind in ("image", "document"):  # Anthropic: the block, or a tool_result holding one
        # (or a document holding an image)
        patterns.append(rf'^\{{".*,"type":"{kind}"\}}(.*,"type":"(?:tool_result|document)"\}})?$')
    if kind == "image":  # Mistral, OpenAI chat: an image_url that is not a data: URL
        patterns.append(r'^\{"image_url":.*,"type":"image_url"\}$')
    return "|".join(patterns)


_REFERENCE_PATTERNS = {kind: _reference_pattern(kind) for kind in MEDIA_KINDS}
_INLINE_HINT, _REFERENCE_HINT = MEDIA_MARK, '{"'  # in every text each pattern matches
# both hints in one regex: one pass over a month's gigabytes of user turns, not two
_EITHER_HINT = re.escape(MEDIA_MARK).replace("\\ ", " ") + r'|\{"'


def media_sent_by_row(
    column: pd.Series | ParquetColumn, *, inline: bool = True, by_reference: bool = True
) -> dict[str, np.ndarray]:
    """Per kind of media (image, document, video, audio), whether each row's text (the usage
    table's ``user_text``, in memory or read from ``usage.parquet`` a row group at a time)
    shows one sent: a placeholder of that kind (``inline``), or a block of it sent by
    reference (an S3 location, a URL), which the ingest keeps as its JSON (``by_reference``).
    What each request sent in its last user turn; :func:`media_sent_in` reads one part."""
    from bedrock_finops.column_take import text_parts

    found = {kind: np.zeros(len(column), dtype=bool) for kind in MEDIA_KINDS}
    for start, stop, values in text_parts(column):
        for kind, rows in media_sent_in(values, inline=inline, by_reference=by_reference).items():
            found[kind][start:stop] = rows
    return found


def media_sent_in(
    values: Any, *, inline: bool = True, by_reference: bool = True
) -> dict[str, np.ndarray]:
    """:func:`media_sent_by_row` for one part of a text column (a ``pa.Array`` or
    ``pa.ChunkedArray``): per kind, per value (a null is none). Arrow's own search, not a
    Python loop: a month's user turns are gigabytes.

    Only the values holding a placeholder's mark or a JSON object are searched for each
    kind, so a month of plain-text traffic costs two substring scans."""
    import pyarrow as pa
    import pyarrow.compute as pc

    found = {kind: np.zeros(len(values), dtype=bool) for kind in MEDIA_KINDS}
    if pa.types.is_null(values.type) or not (inline or by_reference):
        return found  # a column of None only (an older or redacted table): no text, no media
    if inline and by_reference:
        marked = pc.match_substring_regex(values, _EITHER_HINT)
    else:
        marked = pc.match_substring(values, _INLINE_HINT if inline else _REFERENCE_HINT)
    at = np.flatnonzero(np.asarray(pc.fill_null(marked, False)))
    if not len(at):
        return found
    texts = values.take(pa.array(at))
    for kind in MEDIA_KINDS:
        patterns = [_INLINE_PATTERNS[kind]] * inline + [_REFERENCE_PATTERNS[kind]] * by_reference
        holds = pc.match_substring_regex(texts, "(?m)" + "|".join(patterns))
        found[kind][at[np.asarray(pc.fill_null(holds, False))]] = True
    return found


def media_sent_by_request(
    usage: pd.DataFrame, user_text: pd.Series | ParquetColumn | None = None
) -> dict[str, np.ndarray]:
    """Per kind of media, whether each request of ``usage`` sent it: its ``media_sent``
    column, which the ingest fills from every turn of the request body (a null, where no body
    was read, is none). A table without the column (written by an earlier version, or built
    by hand) has its user turns searched instead (:func:`media_sent_by_row`: the last user
    turn only); ``user_text``: those turns when ``usage`` was read without them."""
    if "media_sent" not in usage.columns:
        from bedrock_finops.column_take import user_turns

        return media_sent_by_row(user_turns(usage, user_text))
    return media_kinds_in(usage["media_sent"])


MEDIA_FROM_COLUMN = "media_sent: what each request sent, in any turn, read by the ingest"
MEDIA_FROM_LAST_TURN = (
    "the last user turn only: this usage table predates media_sent, so media a request sent "
    "in an earlier turn is not seen (ingest the logs again to read every turn)"
)


def media_found_in(usage: pd.DataFrame) -> str:
    """Where :func:`media_sent_by_request` finds the media of ``usage``'s requests, for the
    data-quality line beside the figures it changes."""
    return MEDIA_FROM_COLUMN if "media_sent" in usage.columns else MEDIA_FROM_LAST_TURN


def requests_with_media(usage: pd.DataFrame) -> np.ndarray | None:
    """Per request, whether it sent media of any kind (``media_sent``, any turn); None for a
    table without the column, whose user turns must then be searched
    (:func:`media_sent_in`)."""
    if "media_sent" not in usage.columns:
        return None
    return any_media(media_kinds_in(usage["media_sent"]))


def media_kinds_in(column: pd.Series) -> dict[str, np.ndarray]:
    """Per kind, whether each value of a ``media_sent`` column names it (null: none)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pa.array(column.array) if hasattr(column, "array") else pa.array(column)
    if pa.types.is_null(values.type):
        return {kind: np.zeros(len(values), dtype=bool) for kind in MEDIA_KINDS}
    return {
        kind: np.asarray(
            pc.fill_null(pc.match_substring_regex(values, rf"(^|\|){kind}(\||$)"), False),
            dtype=bool,
        )
        for kind in MEDIA_KINDS
    }


def any_media(found: dict[str, np.ndarray]) -> np.ndarray:
    """Per row: whether it sent media of any kind (``found``: :func:`media_sent_by_row`'s or
    :func:`media_sent_in`'s answer)."""
    return np.logical_or.reduce(list(found.values()))
