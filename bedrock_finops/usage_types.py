"""Bedrock billing usage types and product names -> what they bill and for which model.

Two shapes appear in the AWS Price List API, CUR 2.0 and Cost Explorer:

- ``AmazonBedrock`` (first-party and open-weight models), ``{region}-{model}-{token}[-{tier}]``
  with an optional ``-cross-region-global`` routing suffix, e.g.
  ``USE1-NovaPro-input-tokens``, ``USE1-NovaPro-cache-read-input-token-count``,
  ``USE1-Nova2.0Lite-input-tokens-flex``, ``USE1-NovaMicro-input-tokens-batch``,
  ``USE1-NovaPro-input-tokens-latency-optimized``,
  ``USE1-Claude4.6Sonnet-output-tokens-cross-region-global``,
  ``USE1-openai.gpt-oss-120b-mantle-input-tokens-standard``. The Reserved tier's
  tokens-per-minute commitments name the model, then the term, before the token marker
  (``USE1-Claude4.5Sonnet-reserved-1-month-input-tokens-per-minute-cross-region-global``):
  they bill capacity, not tokens processed, so they parse as ``token_kind="other"``,
  ``mode="provisioned"``, the model fragment without the term (``Claude4.5Sonnet``).
- Marketplace (``AmazonBedrockFoundationModels``: Claude 3.5+ and other third-party models),
  ``{region}-MP:{region}_{dimension}-Units`` in two spellings, CamelCase
  (``InputTokenCount``, ``InputTokenCount_Global``, ``InputTokenCount_Global_Batch``,
  ``InputTokenCount_LatencyOptimized``, ``CacheReadInputTokenCount``,
  ``CacheWrite1hInputTokenCount_Global``) and snake case for
  newer models (``input_tokens_standard``, ``input_tokens_global_standard``,
  ``input_tokens_batch``, ``cache_write_tokens_1h_global_standard``).

The model in a Marketplace usage type is not in the string: it is the product's name
("Claude Sonnet 4.5 (Amazon Bedrock Edition)"); :func:`model_key_from_product` maps both that
name and the AmazonBedrock ``model`` attribute / usage-type fragment to a catalog key.

Spellings were taken from the Amazon Bedrock user guide ("Understanding your Amazon Bedrock
Cost and Usage Report data") and from public code that reads real Price List responses.
Anything not recognised is reported as ``token_kind="other"``, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from bedrock_finops.models import ModelInfo, known_models, resolve, stem

# AWS billing region codes (the usage-type prefix). Not derivable from the region name
# (ap-south-1 bills as APS3). "EU" is the legacy code for eu-west-1.
REGION_CODES: dict[str, str] = {
    "USE1": "us-east-1",
    "USE2": "us-east-2",
    "USW1": "us-west-1",
    "USW2": "us-west-2",
    "CAN1": "ca-central-1",
    "CAN2": "ca-west-1",
    "SAE1": "sa-east-1",
    "MXC1": "mx-central-1",
    "EU": "eu-west-1",
    "EUW1": "eu-west-1",
    "EUW2": "eu-west-2",
    "EUW3": "eu-west-3",
    "EUC1": "eu-central-1",
    "EUC2": "eu-central-2",
    "EUN1": "eu-north-1",
    "EUS1": "eu-south-1",
    "EUS2": "eu-south-2",
    "APN1": "ap-northeast-1",
    "APN2": "ap-northeast-2",
    "APN3": "ap-northeast-3",
    "APS1": "ap-southeast-1",
    "APS2": "ap-southeast-2",
    "APS3": "ap-south-1",
    "APS4": "ap-southeast-3",
    "APS5": "ap-south-2",
    "APS6": "ap-southeast-4",
    "APS7": "ap-southeast-5",
    "APE1": "ap-east-1",
    "MES1": "me-south-1",
    "MEC1": "me-central-1",
    "ILC1": "il-central-1",
    "AFS1": "af-south-1",
    "UGW1": "us-gov-west-1",
    "UGE1": "us-gov-east-1",
}
REGION_TO_CODE: dict[str, str] = {
    region: code for code, region in REGION_CODES.items() if code != "EU"
}

TOKEN_KINDS = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "other")
MODES = ("on_demand", "batch", "flex", "priority", "latency_optimized", "provisioned")


@dataclass(frozen=True)
class UsageType:
    """One parsed usage type. ``region`` is None when the code is not a known region code."""

    raw: str
    region_code: str | None
    region: str | None
    token_kind: str  # input | output | cache_read | cache_write_5m | cache_write_1h | other
    mode: str  # on_demand | batch | flex | priority | latency_optimized | provisioned
    geo: str  # none (in-region) | global | geo (a geographic cross-region profile)
    model_fragment: str | None  # AmazonBedrock shape only: "NovaPro", "Claude4.6Sonnet"
    shape: str = "bedrock"  # bedrock | marketplace
    long_context: bool = False  # a long-context (e.g. > 200K) rate


_REGION_PREFIX = re.compile(r"^(?P<code>[A-Z]{2,4}\d?)-(?P<rest>.+)$")
_MP = re.compile(r"^MP:(?:(?P<code>[A-Z]{2,4}\d?)_)?(?P<dim>.+?)(?:-Units)?$")
# AmazonBedrock token markers, most specific first.
_BEDROCK_TOKEN = re.compile(
    r"-(?:mantle-|text-)?(?P<tok>cache-read-input-token-count|cache-read-input-tokens"
    r"|cache-write-input-token-count|cache-write-input-tokens"
    r"|input-token-count|output-token-count|input-tokens|output-tokens)(?P<suffix>(?:-.*)?)$"
)
_NON_TOKEN = ("image", "audio", "video", "speech", "tpm", "modelunit", "search", "request")


def _split_region(raw: str) -> tuple[str | None, str | None, str]:
    m = _REGION_PREFIX.match(raw)
    if m and (m["code"] in REGION_CODES or re.fullmatch(r"[A-Z]{3}\d", m["code"])):
        return m["code"], REGION_CODES.get(m["code"]), m["rest"]
    return None, None, raw


def _is_latency_optimized(text: str) -> bool:
    """``-latency-optimized`` (AmazonBedrock) or ``_LatencyOptimized`` (Marketplace): the
    latency-optimized inference meters, billed at their own, higher rate."""
    return "latencyoptimized" in re.sub(r"[-_]", "", text)


def _mode_of(words: set[str], text: str) -> str:
    if "provisionedthroughput" in text or "reserved" in words or "modelunits" in text:
        return "provisioned"
    for mode in ("batch", "flex", "priority"):
        if mode in words:
            return mode
    if _is_latency_optimized(text):
        return "latency_optimized"
    return "on_demand"


def _cache_write_kind(text: str) -> str:
    return "cache_write_1h" if "1h" in text else "cache_write_5m"


def _parse_marketplace(raw: str, code: str | None, region: str | None, dim: str) -> UsageType:
    words = set(re.split(r"[_\-]", dim.lower()))
    flat = dim.lower().replace("_", "")
    if any(w in flat for w in _NON_TOKEN) or "provisionedthroughput" in flat:
        kind = "other"
    elif flat.startswith("cachewrite"):
        kind = _cache_write_kind(flat)
    elif flat.startswith("cacheread"):
        kind = "cache_read"
    elif flat.startswith(("inputtokencount", "inputtokens")):
        kind = "input"
    elif flat.startswith(("outputtokencount", "outputtokens")):
        kind = "output"
    else:
        kind = "other"
    geo = "global" if "global" in words else ("geo" if "geo" in words else "none")
    return UsageType(
        raw,
        code,
        region,
        kind,
        _mode_of(words, flat),
        geo,
        None,
        "marketplace",
        long_context="long" in flat,
    )


def _reserved_split(fragment: str) -> tuple[str, bool]:
    """``Claude4.5Sonnet-reserved-1-month`` -> (``Claude4.5Sonnet``, True): the Reserved tier's
    usage types (``USE1-Claude4.5Sonnet-reserved-1-month-input-tokens-per-minute-...``) name
    the model, then the commitment, before the token marker."""
    model, reserved, _ = fragment.partition("-reserved")
    return model, bool(reserved)


def _parse_bedrock(raw: str, code: str | None, region: str | None, rest: str) -> UsageType:
    m = _BEDROCK_TOKEN.search(rest)
    if not m:
        return UsageType(
            raw,
            code,
            region,
            "other",
            _mode_of(set(rest.lower().split("-")), rest.lower()),
            "none",
            None,
            "bedrock",
        )
    tok, suffix = m["tok"], m["suffix"].lower()
    words = set(suffix.split("-"))
    model, reserved = _reserved_split(rest[: m.start()])
    if tok.startswith("cache-read"):
        kind = "cache_read"
    elif tok.startswith("cache-write"):
        kind = _cache_write_kind(suffix)
    else:
        kind = "input" if tok.startswith("input") else "output"
    if "custom" in words:  # custom-model inference is billed apart: not a catalog rate
        kind = "other"
    if reserved or "reserved" in words or "-per-minute" in suffix:
        kind = "other"  # a tokens-per-minute commitment: capacity, not tokens processed
        words.add("reserved")
    if "global" in words:
        geo = "global"
    elif "cross" in words:
        geo = "geo"
    else:
        geo = "none"
    return UsageType(
        raw,
        code,
        region,
        kind,
        _mode_of(words, suffix),
        geo,
        model or None,
        "bedrock",
        long_context="long" in suffix,
    )


def parse_usage_type(usage_type: str) -> UsageType:
    """Parse an AmazonBedrock or Marketplace usage type (see the module docstring)."""
    raw = (usage_type or "").strip()
    code, region, rest = _split_region(raw)
    mp = _MP.match(rest)
    if mp:
        inner = mp["code"]
        if code is None and inner:
            code, region = inner, REGION_CODES.get(inner)
        return _parse_marketplace(raw, code, region, mp["dim"])
    return _parse_bedrock(raw, code, region, rest)


# --- product / model names -> catalog keys -------------------------------------------------

_EDITION = re.compile(r"\(amazon bedrock edition\)", re.I)
_PROVIDER_WORDS = ("anthropic", "amazon", "meta", "mistralai", "openai", "cohere", "deepseek")
_FAMILIES = ("opus", "sonnet", "haiku")
# Names that the rules below cannot derive. Mistral Large without a version is the first
# one Bedrock offered (24.02); "Mistral Large 2" is 24.07.
_EXTRA_ALIASES: dict[str, str] = {
    "mistrallarge": "mistral.mistral-large-2402",
    "mistrallarge2": "mistral.mistral-large-2407",
    "mistrallarge22407": "mistral.mistral-large-2407",  # "Mistral Large 2 (24.07)"
    "mistralsmall": "mistral.mistral-small-2402",
    "mixtral8x7b": "mistral.mixtral-8x7b-instruct",
    "mistral7b": "mistral.mistral-7b-instruct",
    "nova20lite": "amazon.nova-2-lite",  # usage types write "Nova2.0Lite"
    # AWS names Claude 2 and 2.1 "Claude 2.0" and "Claude 2.1" (the Price List's model
    # attribute; usage types "USE1-Claude2.0-input-tokens"); the catalog has one key for both
    "claude20": "anthropic.claude-v2",
    "claude21": "anthropic.claude-v2",
    # Titan Text Embeddings V2's products have no "model" attribute; their usage types name it
    # "TitanEmbeddingV2-Text" (USE1-TitanEmbeddingV2-Text-input-tokens), G1's
    # "TitanEmbeddingsG1-Text", which its catalog name gives
    "titanembeddingv2text": "amazon.titan-embed-text-v2",
    # the Marketplace names of Cohere Embed ("Cohere Embed 3 Model - English (Amazon Bedrock
    # Edition)", "Cohere Embed Model 3 - Multilingual (...)", "Cohere Embed 4 Model (...)")
    "embed3modelenglish": "cohere.embed-english-v3",
    "embedmodel3multilingual": "cohere.embed-multilingual-v3",
    "embed4model": "cohere.embed-v4",
}


def _norm(text: str) -> str:
    s = _EDITION.sub("", text).lower().replace("+", "plus")  # "Command R+" is not "Command R"
    s = re.sub(r"[^a-z0-9]", "", s)
    for word in _PROVIDER_WORDS:
        if s.startswith(word) and len(s) > len(word) + 3:
            s = s[len(word) :]
    return s


def _versioned_name(base_id: str) -> str:
    """``anthropic.claude-3-5-sonnet-20241022-v2:0`` -> ``claude-3-5-sonnet-v2``: the name with
    its version word, as product names carry it ("Claude 3.5 Sonnet v2")."""
    name = base_id.split(".", 1)[-1]
    name = re.sub(r":\d+$", "", name)
    return re.sub(r"-\d{8}(?=-|$)", "", name)


def _claude_variants(norm: str) -> set[str]:
    """``claudesonnet45`` <-> ``claude45sonnet`` (names and usage fragments use both orders)."""
    out = {norm}
    for fam in _FAMILIES:
        m = re.fullmatch(rf"claude{fam}(\d+)", norm)
        if m:
            out.add(f"claude{m[1]}{fam}")
        m = re.fullmatch(rf"claude(\d+){fam}", norm)
        if m:
            out.add(f"claude{fam}{m[1]}")
    return out


@cache
def _alias_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for key, info in known_models().items():
        names = {
            key.split(".", 1)[1],
            info.name,
            *(stem(b).split(".", 1)[1] for b in _stem_named(info)),
            # only versions the catalog lists for this model (so "Titan ... V2" stays unmapped
            # unless the catalog has it, never falls back to V1)
            *(_versioned_name(b) for b in info.base_ids),
        }
        for name in names:
            norm = _norm(name)
            variants = _claude_variants(norm)
            for suffix in ("instruct", "v1", "g1"):
                variants |= {v.replace(suffix, "") for v in list(variants)}
            for v in variants:
                index.setdefault(v, key)
    for alias, key in _EXTRA_ALIASES.items():
        if key in known_models():
            index.setdefault(alias, key)
    return index


def _stem_named(info: ModelInfo) -> tuple[str, ...]:
    """The base IDs whose stem (the ID without date and version) names ``info``'s model: none
    for an embedding model, whose key keeps its version (``cohere.embed-v4``, as a later
    version is another model at another price), so ``Embed`` or ``Titan Embed Text`` with no
    version is no name of it."""
    return () if info.is_embedding else info.base_ids


def model_key_from_product(name: str) -> str | None:
    """Catalog key for a Price List product name, ``model`` attribute or usage-type fragment.

    "Claude Sonnet 4.5 (Amazon Bedrock Edition)", "Claude4.5Sonnet", "Nova Pro", "NovaPro",
    "Llama 3.1 70B Instruct", "Titan Text G1 - Express", "Claude 3.5 Sonnet v2" (a version
    the catalog lists among the model's base IDs) and model IDs all resolve; an unknown name
    returns None (callers list it as unmapped, never price it).
    """
    text = (name or "").strip()
    if not text:
        return None
    if re.fullmatch(r"[a-z0-9-]+\.[a-z0-9.:-]+", text):  # a model ID or profile ID
        ref = resolve(text)
        if ref.key:
            return ref.key
    norm = _norm(text)
    index = _alias_index()
    if norm in index:
        return index[norm]
    for suffix in ("instruct", "v1", "g1"):
        if norm.replace(suffix, "") in index:
            return index[norm.replace(suffix, "")]
    return None
