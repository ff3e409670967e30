"""A request/response body pair -> the usage row's body-derived values.

Prompt text is reduced in one pass to what the strategies need: chained prefix hashes at each
cache-checkpoint candidate (tools, system, each message, in the order Bedrock processes
them), the system and tool hashes, the last user turn, and a few text features (output
shape, pretty-printed JSON and repeated lines). A per-worker :class:`PromptCache` computes
each repeated component (system prompt, tool spec, text block) once.
"""

from __future__ import annotations

from itertools import accumulate
from typing import Any, NamedTuple

import xxhash

from bedrock_finops.media_blocks import MediaItem, media_flags, media_sent, media_tokens
from bedrock_finops.parse_features import (
    MAX_CACHE_CHARS,
    MAX_CACHE_ENTRIES,
    Block,
    FeatureCache,
)
from bedrock_finops.parse_request import (
    canonical_request,
    message_cache_settings,
    prompt_parts,
    request_params,
    service_tier,
)
from bedrock_finops.parse_response import (
    cache_write_1h_split,
    opens_think,
    output_shape,
    output_text_and_stop,
)
from bedrock_finops.tokens import estimate_tokens

# entries a memo holds before it starts over: the fast path's, and PromptCache's components
# (~300 bytes an entry besides its text: ~20 MB) and prompt starts (~350 bytes, ~175 more a
# checkpoint entry: ~45 MB at most, see PromptCache.add_head). Fed a distinct short system
# prompt, user turn and output per record, a worker's memos peak at ~80 MB together.
MAX_MEMO_ENTRIES = 1 << 16


def short_hash(data: bytes) -> str:
    """XXH3-128 as 32 hex characters.

    These hashes find repeated requests and prompt prefixes; they guard nothing, so a fast
    non-cryptographic hash serves (128 bits: collisions are not a practical concern). On a
    10 KB request body it is ~25x faster than sha256, which matters at a million records.
    """
    return xxhash.xxh3_128_hexdigest(data)


class PromptCache:
    """Per-worker memo of prompt components and text features: each computed once.

    ``seen`` collects, for the prompts table, each distinct system prompt and tool spec's
    ``hash -> (kind, tokens, text)`` (emptied after each chunk). ``features`` holds per-block
    text features and output shapes. Every memo is bounded by its entries, and those of texts
    by their characters too, so memory stays flat however many records a worker reads, and
    whatever their texts' lengths.

    ``max_chars`` and ``max_entries`` lower the bounds (tests): the memos then start over
    sooner, with the same results.
    """

    def __init__(self, max_chars: int | None = None, max_entries: int | None = None) -> None:
        self.memo: dict[tuple[str, str], tuple[str, int]] = {}
        self.seen: dict[str, tuple[str, int, str]] = {}
        self.features = FeatureCache(
            MAX_CACHE_CHARS if max_chars is None else max_chars,
            MAX_CACHE_ENTRIES if max_entries is None else max_entries,
        )
        self.memo_chars = 0
        self.max_entries = MAX_MEMO_ENTRIES if max_entries is None else max_entries
        self.heads: dict[tuple, _Head] = {}  # prompt starts, by _head's key
        self.head_checkpoints = 0  # the checkpoint entries (``_Head.prefix``) the heads hold
        self.apps: dict[str, str | None] = {}  # fast path: identity ARN -> app
        self.hours: dict[str, int] = {}  # fast path: "YYYY-MM-DDTHH" -> epoch seconds

    def component(self, kind: str, text: str) -> tuple[str, int]:
        key = (kind, text)
        hit = self.memo.get(key)
        if hit is None:
            self.memo_chars += len(text)
            if self.memo_chars > self.features.max_chars or len(self.memo) >= self.max_entries:
                self.memo.clear()
                self._clear_heads()
                self.memo_chars = len(text)
            hit = (short_hash(text.encode()), estimate_tokens(text))
            self.memo[key] = hit
            self.seen[hit[0]] = (kind, hit[1], text)
        return hit

    def add_head(self, key: tuple, head: _Head) -> None:
        """Memoise a prompt's start. The heads start over once they hold ``max_entries``
        starts or twice as many checkpoint entries: a start's are few (tools, system), but a
        system prompt of many blocks has one for each of its last 20 (~4 KB a start)."""
        held = self.head_checkpoints + len(head.prefix)
        if len(self.heads) >= self.max_entries or held > 2 * self.max_entries:
            self._clear_heads()
        self.heads[key] = head
        self.head_checkpoints += len(head.prefix)

    def _clear_heads(self) -> None:
        self.heads.clear()
        self.head_checkpoints = 0


_ROLE_BYTES = {"user": b"user", "assistant": b"assistant"}


class _Head(NamedTuple):
    """The cached start of a prompt: tools and system blocks, their hashes and tokens."""

    prefix: tuple[tuple[str, str, int], ...]
    chain: bytes
    tokens: int
    tools_hash: str | None
    system_hash: str | None
    system_tokens: int | None
    blocks: tuple[Block, ...]


def text_key(text: str | None) -> int | None:
    """A memo key for a long text: its XXH3-128 (as ``short_hash``), None for no text.

    Texts parsed from each record are fresh strings, so a dict keyed by the text itself
    hashes all of it on every lookup (SipHash, ~1.5 us for a 4 KB system prompt); the
    digest costs a tenth of that.
    """
    return None if text is None else xxhash.xxh3_128_intdigest(text.encode())


# block entries per message or system prompt at most, the last ones: Anthropic looks for a
# cached prefix about 20 blocks back from a checkpoint, and a message or system prompt of a
# thousand blocks would otherwise cost a thousand entries a row
MAX_MESSAGE_BLOCKS = 20

# models whose tool specs take no cache checkpoint (Nova: in the system prompt and the
# messages only): the specs are still prompt, counted and chained, but no ``tools`` entry
NO_TOOLS_CHECKPOINT_MODELS = ("amazon.nova-",)


def tools_checkpoint(rules_key: str) -> bool:
    """Whether a checkpoint may go after the tool specs for the model ``rules_key`` names."""
    return not rules_key.startswith(NO_TOOLS_CHECKPOINT_MODELS)


def _head(
    cache: PromptCache,
    tools_text: str | None,
    system_text: str | None,
    system_blocks: list[str] | None = None,
    citations: bool = False,
    tools_entry: bool = True,
) -> _Head:
    """The prompt's start: tools, then the system prompt. ``citations`` (a document in the
    messages enables them) starts the system prompt's part of the chain: Anthropic then adds
    citation instructions to the system prompt, so its cached system prompt and messages are
    not reused (the tools are). ``tools_entry``: whether the tool specs get an entry of their
    own (:func:`tools_checkpoint`); they are part of the chain and the tokens either way. A
    system prompt of several blocks also gets ``system_block`` entries
    (:func:`_system_block_entries`); the ``system`` entry is the whole."""
    if not system_blocks or "\n".join(system_blocks) != system_text:
        system_blocks = None
    splits = tuple(len(b) for b in system_blocks) if system_blocks else ()
    key = (text_key(tools_text), text_key(system_text), splits, citations, tools_entry)
    hit = cache.heads.get(key)
    if hit is not None:
        return hit
    prefix = []
    chain = b""
    tokens = 0
    tools_hash = system_hash = None
    system_tokens = 0
    if tools_text is not None:
        tools_hash, t = cache.component("tools", tools_text)
        tokens += t
        chain = short_hash(b"tools\x00" + tools_hash.encode()).encode()
        if tools_entry:
            prefix.append(("tools", chain.decode(), tokens))
    if citations:
        chain = short_hash(chain + b"\x00citations").encode()
    if system_text is not None:
        prefix += _system_block_entries(chain, tokens, system_text, splits)
        system_hash, system_tokens = cache.component("system", system_text)
        tokens += system_tokens
        chain = short_hash(chain + b"\x00system\x00" + system_hash.encode()).encode()
        prefix.append(("system", chain.decode(), tokens))
    blocks = (cache.features.block(system_text, key[1]),) if system_text else ()
    hit = _Head(
        tuple(prefix),
        chain,
        tokens,
        tools_hash,
        system_hash,
        system_tokens if system_text is not None else None,
        blocks,
    )
    cache.add_head(key, hit)
    return hit


def _system_block_entries(
    chain: bytes, tokens: int, system_text: str, splits: tuple[int, ...]
) -> list[tuple[str, str, int]]:
    """A ``system_block`` entry after each block of the system prompt but the last, for its
    last :data:`MAX_MESSAGE_BLOCKS` boundaries (``splits``: the blocks' lengths; the text is
    them joined by newlines). A checkpoint there caches a static block ahead of a changing
    one. An entry hashes as the ``system`` entry of a request whose system prompt ends at
    that block: the prompt up to a checkpoint is all the cache compares. The block ends are
    summed once, and only the entries kept read their text: a system prompt of thousands of
    blocks costs as many entries as one of 21."""
    ends = list(accumulate(splits, lambda end, length: end + 1 + length))  # +1: the newline
    out = []
    for end in ends[-MAX_MESSAGE_BLOCKS - 1 : -1]:
        start = system_text[:end]
        digest = short_hash(start.encode()).encode()  # as cache.component's
        block_chain = short_hash(chain + b"\x00system\x00" + digest)
        out.append(("system_block", block_chain, tokens + estimate_tokens(start)))
    return out


def _marked_blocks(
    chain: bytes,
    tokens: int,
    role: bytes,
    text: str,
    offsets: list[tuple[int, int]],
    rules_key: str,
    media: list[MediaItem],
) -> list[tuple[str, str, int]]:
    """A ``message_block`` entry after each block of a user message but the last (a
    document, then the question asked about it: a checkpoint after the document caches it for
    every question): the message's text up to there, chained on the entries before the
    message, with its estimated tokens and those of the images and documents before it. It
    hashes as the ``message`` entry of a request whose message ends at that block (the prompt
    up to a checkpoint is all the cache compares). The message's own entry follows, as it
    would without them."""
    out = []
    for offset, n_media in offsets[-MAX_MESSAGE_BLOCKS:]:
        start = text[:offset]
        digest = short_hash(b"".join((chain, b"\x00", role, b"\x00", start.encode())))
        media_part = media_tokens(rules_key, media[:n_media]) if n_media else 0
        out.append(("message_block", digest, tokens + estimate_tokens(start) + media_part))
    return out


BODY_VALUE_NAMES = (
    "service_tier",
    "cache_ttl",
    "_cache_write_1h",  # the response's split, or None: the row's value needs the write count
    "latency_ms",
    "stop_reason",
    "max_tokens",
    "temperature",
    "request_hash",
    "prefix_hashes",
    "system_hash",
    "tools_hash",
    "system_tokens",
    "user_text",
    "media_sent",
    "output_shape",
    "pretty_json_tokens",
    "repeated_line_tokens",
    "_usage",
)


def body_values(
    model_key: str, in_body: dict, out_body: Any, cache: PromptCache, rules_key: str | None = None
) -> tuple:
    """What :func:`body_fields` gives, as a tuple (see the unpacking in :func:`fast_row`).

    ``model_key`` is the model part of ``request_hash`` (the logged ID alone); ``rules_key``
    the model ID a provider's rules are read for (image tokens, ``<think>`` tags): the
    ``profile_map`` target of an application profile or provisioned model, else
    ``model_key``."""
    if rules_key is None:
        rules_key = model_key
    ttl: list[str] = []
    media: dict[int, list[MediaItem]] = {}  # turn -> its inline images and documents
    system_blocks: list[str] = []
    marks: dict[int, list[tuple[int, int]]] = {}  # turn -> its blocks' ends (but the last)
    tools_text, system_text, turns = prompt_parts(in_body, ttl, media, system_blocks, marks)
    images, citations = media_flags(media) if media else (False, False)
    head = _head(
        cache, tools_text, system_text, system_blocks, citations, tools_checkpoint(rules_key)
    )
    block_of = cache.features.block
    prefix = list(head.prefix)
    chain = head.chain
    settings = message_cache_settings(in_body)
    if settings is not None:  # they start the messages' part of the chain
        chain = short_hash(chain + b"\x00settings\x00" + settings).encode()
    if images:  # an image anywhere in the prompt: Anthropic's cached messages are not reused
        chain = short_hash(chain + b"\x00images").encode()
    tokens = head.tokens
    blocks = list(head.blocks)
    texts = []
    user_text = None
    for role, text in turns:
        data = text.encode()
        block = block_of(text, xxhash.xxh3_128_intdigest(data))  # as text_key(text)
        role_bytes = _ROLE_BYTES.get(role) or role.encode()
        if marks and role == "user" and len(texts) in marks:
            items = media.get(len(texts), []) if media else []
            prefix += _marked_blocks(
                chain, tokens, role_bytes, text, marks[len(texts)], rules_key, items
            )
        blocks.append(block)
        texts.append(text)
        tokens += block.tokens
        if media:
            tokens += media_tokens(rules_key, media.get(len(texts) - 1, []))
        chain = short_hash(b"".join((chain, b"\x00", role_bytes, b"\x00", data))).encode()
        prefix.append(("message", chain.decode(), tokens))
        if role == "user":
            user_text = text
    pretty, repeated = cache.features.prompt_features(system_text, texts, blocks)
    out_text, stop, latency, usage = output_text_and_stop(out_body, rules_key, opens_think(in_body))
    max_tokens, temperature = request_params(in_body)
    return (
        service_tier(in_body, out_body),
        ("1h" if "1h" in ttl else "5m") if ttl else None,  # None: no cache marker
        cache_write_1h_split(usage, out_body),
        latency,
        stop if isinstance(stop, str) else None,
        max_tokens,
        temperature,
        short_hash(model_key.encode() + b"\x00" + canonical_request(in_body, bool(ttl))),
        prefix,
        head.system_hash,
        head.tools_hash,
        head.system_tokens,
        user_text,
        media_sent(media) if media else "",
        cache.features.shape(out_text, output_shape, text_key(out_text)),
        pretty,
        repeated,
        usage,
    )


def body_fields(
    model_key: str, in_body: dict, out_body: Any, cache: PromptCache, rules_key: str | None = None
) -> dict[str, Any]:
    """Everything the usage row derives from the request and response bodies, by name.

    One implementation serves both paths: this is :func:`body_values` with names attached."""
    values = body_values(model_key, in_body, out_body, cache, rules_key)
    fields = dict(zip(BODY_VALUE_NAMES, values, strict=True))
    fields["prefix_hashes"] = [
        {"kind": kind, "hash": digest, "tokens": tokens}
        for kind, digest, tokens in fields["prefix_hashes"]
    ]
    return fields


NULL_BODY_FIELDS: dict[str, Any] = {
    "request_hash": None,
    "prefix_hashes": None,
    "system_hash": None,
    "tools_hash": None,
    "system_tokens": None,
    "user_text": None,
    "media_sent": None,
    "output_shape": "unknown",
    "pretty_json_tokens": None,
    "repeated_line_tokens": None,
    "stop_reason": None,
    "latency_ms": None,
    "max_tokens": None,
    "temperature": None,
    "cache_ttl": None,
    "_cache_write_1h": None,
    "_usage": None,
}
