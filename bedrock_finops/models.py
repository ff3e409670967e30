"""Model-ID resolution: whatever form a log record names a model in -> catalog key.

Forms handled (all seen in invocation logs):
- bare IDs with version and context suffixes: ``anthropic.claude-sonnet-4-20250514-v1:0``,
  ``anthropic.claude-3-haiku-20240307-v1:0:200k``, ``amazon.titan-text-express-v1``
- cross-region (system-defined) inference profiles: ``us.``, ``eu.``, ``apac.``, ``global.``,
  ``jp.``, ``au.``, ``us-gov.`` prefixes -> ``geo`` (AWS's list: aws-cdk aws-bedrock-alpha
  ``CrossRegionInferenceProfileRegion``; Canada's Regions call the ``us.`` and ``global.``
  profiles); any other short prefix before a provider's namespace (``uk.anthropic.…``,
  ``ca.…``) too, as a prefix AWS added later, and the ingest report lists it
- ARNs: ``foundation-model/ID``, ``inference-profile/PROFILE_ID``,
  ``application-inference-profile/ID`` (user mapping, else ``bedrock.get_inference_profile``
  when AWS credentials exist: :class:`ProfileLookup`), ``provisioned-model/ID``,
  ``custom-model-deployment/ID`` and ``prompt/ID`` (user mapping; geo ``none``);
  ``imported-model/ID`` stays unknown (billed per model copy and minute, not per token)
- a Bedrock Marketplace endpoint's ARN, ``arn:aws:sagemaker:REGION:ACCOUNT:endpoint/NAME``
  (a SageMaker endpoint, billed per instance hour, not per token): unknown, mapped or not

The catalog key is the ID stem without date and version (``anthropic.claude-sonnet-4``),
or with its version where two versions are two models (:func:`key_candidates`): the embedding
models are keyed so (``amazon.titan-embed-text-v1`` and ``-v2``, ``cohere.embed-english-v3``,
``cohere.embed-v4``), so a version the catalog lacks is never priced as another. They are
listed in ``data/models.csv``. An unknown ID resolves with ``key=None`` and ``known=False``;
it stays in the usage table, flagged, and is never priced.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

GEO_PREFIXES = ("us-gov", "global", "apac", "us", "eu", "jp", "au")
EMBEDDING = "embedding"  # the output modality of an embedding model (models.csv)
_GEO_RE = re.compile(
    r"^(?P<geo>" + "|".join(re.escape(g) for g in GEO_PREFIXES) + r")\.(?P<rest>.+)$"
)
# Bedrock's model-provider namespaces: a short lowercase word before one of them is taken as
# a geo prefix AWS added after this list (``uk.anthropic.claude-...``), so the model is still
# found; the pricing engine prices it only where the sheet has that geo, or the in-Region
# price holds for profiles, and says why not otherwise.
PROVIDERS = frozenset(
    ("ai21", "amazon", "anthropic", "cohere", "deepseek", "luma", "meta", "mistral", "openai",
     "qwen", "stability", "twelvelabs", "writer")
)  # fmt: skip
_NEW_GEO = r"[a-z]{2,6}(?:-[a-z]{2,6})?"  # a geo prefix AWS adds later (``uk.``)
_NEW_GEO_RE = re.compile(rf"^(?P<geo>{_NEW_GEO})\.(?P<rest>.+)$")
_ARN_RE = re.compile(
    r"^arn:aws[\w-]*:bedrock:(?P<region>[\w-]*):(?P<account>\d*):(?P<kind>[\w-]+)/(?P<res>.+)$"
)
# -YYYYMMDD; -vN, -vN:M or, after a parameter count, -N:M (gpt-oss:
# ``openai.gpt-oss-120b-1:0``; ``claude-opus-4-1:0`` is no version of Opus 4); and what follows a
# version in Provisioned Throughput's model IDs: a context window (``:200k``), ``:mm``
# (multimodal, ``amazon.nova-premier-v1:0:mm``) or an embedding size (``:512``).
_DATE_RE = re.compile(r"-\d{8}")
_VERSION_RE = re.compile(r"-v\d+(?::\d+)?$|(?<=\d[bB])-\d+:\d+$")  # N:M after a size only
_MINOR_RE = re.compile(r"(?<=-v\d):\d+$|(?<=-v\d\d):\d+$")
_CONTEXT_RE = re.compile(r":\d+k$|(?<=:\d):(?:mm|\d+)$|(?<=:\d\d):(?:mm|\d+)$")
# A Bedrock Marketplace model runs on a SageMaker endpoint (CreateMarketplaceModelEndpoint);
# a call to it names the endpoint's ARN, one of the forms InvokeModel's modelId takes
_ENDPOINT_RE = re.compile(r"^arn:aws[\w-]*:sagemaker:[\w-]*:\d*:endpoint/.+$")
MARKETPLACE_ENDPOINT = "marketplace-endpoint"
# Kinds of model ID that are never priced per token, mapped or not, and why: the report says so
NOT_PER_TOKEN = {
    "imported-model": (
        "imported model (Custom Model Import): billed per model copy and minute, not per token"
    ),
    MARKETPLACE_ENDPOINT: (
        "Bedrock Marketplace endpoint: billed per hour of its SageMaker instances (and any "
        "model provider's fee), not per token"
    ),
}


@dataclass(frozen=True)
class ModelRef:
    raw: str
    key: str | None
    provider: str | None
    family: str | None
    geo: str
    known: bool
    kind: str = "foundation-model"  # or inference-profile, application-inference-profile, ...

    @property
    def not_per_token(self) -> str | None:
        """Why this ID is never priced per token (``NOT_PER_TOKEN``); None for the others."""
        return NOT_PER_TOKEN.get(self.kind)


@dataclass(frozen=True)
class ModelInfo:
    key: str
    provider: str
    family: str
    tokenizer: str
    size_class: str  # small | medium | large
    name: str
    base_ids: tuple[str, ...]
    # the geos of the model's cross-Region (system-defined) inference profiles, where the
    # catalog records them (``profile_geos`` in models.csv); None where it does not
    profile_geos: tuple[str, ...] | None = None
    # what the model takes as input on Bedrock (``input_modalities`` in models.csv: text,
    # image, document, video) where AWS's documentation establishes it; None where the
    # catalog does not record it, which :func:`media_not_taken` reads as text only
    input_modalities: tuple[str, ...] | None = None
    # what the model returns (``output_modalities`` in models.csv, as Bedrock's model cards
    # give it): ``text`` for the text-generation models, ``embedding`` for the embedding
    # models, whose calls write no tokens and are billed by their input alone
    output_modalities: tuple[str, ...] | None = None

    @property
    def is_embedding(self) -> bool:
        """Whether the model returns embeddings rather than text (:func:`is_embedding_model`)."""
        return self.output_modalities is not None and EMBEDDING in self.output_modalities


@cache
def known_models() -> dict[str, ModelInfo]:
    """The model table bundled in ``data/models.csv``, by catalog key."""
    text = resources.files("bedrock_finops.data").joinpath("models.csv").read_text(encoding="utf-8")
    out: dict[str, ModelInfo] = {}
    for row in csv.DictReader(text.splitlines()):
        out[row["key"]] = ModelInfo(
            key=row["key"],
            provider=row["provider"],
            family=row["family"],
            tokenizer=row["tokenizer"],
            size_class=row["size_class"],
            name=row["name"],
            base_ids=tuple(row["base_ids"].split("|")),
            profile_geos=tuple(row["profile_geos"].split("|")) if row["profile_geos"] else None,
            input_modalities=_listed(row.get("input_modalities")),
            output_modalities=_listed(row.get("output_modalities")),
        )
    return out


def _listed(cell: str | None) -> tuple[str, ...] | None:
    """A ``|``-separated models.csv cell as a tuple; None when empty (not recorded)."""
    return tuple(cell.split("|")) if cell else None


def is_embedding_model(key: str | None) -> bool:
    """Whether catalog model ``key`` is an embedding model (models.csv ``output_modalities``):
    its traffic is no text generation, so model sizing never moves it to a text model nor
    text traffic to it. False for a key the catalog lacks."""
    info = known_models().get(key) if key else None
    return info is not None and info.is_embedding


def media_not_taken(key: str, kinds: Iterable[str]) -> tuple[str, ...]:
    """The kinds of media in ``kinds`` (image, document, video, audio) that model ``key`` is
    not recorded to take as input (models.csv ``input_modalities``), in the order given.

    A model whose modalities the catalog does not record, or a key it lacks, is read as text
    only: it takes none of them, so a request with an image is never sent to a model that
    might refuse it."""
    info = known_models().get(key)
    taken = info.input_modalities if info is not None else None
    return tuple(kind for kind in kinds if taken is None or kind not in taken)


def model_id_for(key: str, geo: str | None) -> str | None:
    """The model ID to call ``key`` by behind ``geo``: its newest base ID, with the profile's
    prefix for a cross-Region profile (``us.anthropic.claude-3-5-haiku-20241022-v1:0``), bare
    in-Region (``none``). None for a key the catalog lacks."""
    info = known_models().get(key)
    if info is None:
        return None
    base = info.base_ids[-1]
    return f"{geo}.{base}" if geo and geo != "none" else base


def missing_profile(key: str, geo: str) -> str | None:
    """Why ``key`` has no ``geo`` cross-Region profile to call, by the catalog; None when it
    has one, or when the catalog does not record its profiles and ``geo`` is a geographic one.

    A price that holds for a model's profiles (``in_region_is_profile_price``) prices only the
    profiles the model has: Claude 3.5 Haiku has a ``us.`` profile and no ``global.`` one.
    Global profiles exist for the newest models only, so a model whose profiles are not
    recorded is not called behind one.
    """
    info = known_models().get(key)
    recorded = info.profile_geos if info is not None else None
    if recorded is None:
        if geo != "global":
            return None
        return f"no global cross-Region profile recorded for {key} (models.csv profile_geos)"
    if geo in recorded:
        return None
    return f"{key} has no {geo} cross-Region profile (its profiles: {', '.join(recorded)})"


def model_info(key: str) -> ModelInfo:
    try:
        return known_models()[key]
    except KeyError:
        raise KeyError(
            f"unknown model key {key!r}; known keys: {', '.join(sorted(known_models()))}"
        ) from None


def stem(model_id: str) -> str:
    """Strip the context, version and date suffixes: the usual catalog key."""
    s = _CONTEXT_RE.sub("", model_id)
    s = _VERSION_RE.sub("", s)
    return _DATE_RE.sub("", s)


def key_candidates(model_id: str) -> tuple[str, ...]:
    """The catalog keys ``model_id`` may have, most specific first.

    Most keys are the :func:`stem`, but where two versions are two models at two prices
    (``amazon.titan-embed-text-v1`` and ``-v2:0``) the catalog keys each with its version, so
    neither is priced as the other: the ID without its context suffix, then without the minor
    version, are tried before the stem.
    """
    full = _CONTEXT_RE.sub("", model_id)
    major = _MINOR_RE.sub("", full)
    return tuple(dict.fromkeys((full, major, stem(model_id))))


def catalog_key(model_id: str) -> str | None:
    """The catalog key of a bare model ID (no ARN, no geo prefix); None when unlisted."""
    catalog = known_models()
    return next((k for k in key_candidates(model_id) if k in catalog), None)


def _split_geo(model_id: str) -> tuple[str, str]:
    m = _GEO_RE.match(model_id) or _NEW_GEO_RE.match(model_id)
    if m and "." in m["rest"] and (m.re is _GEO_RE or m["rest"].split(".")[0] in PROVIDERS):
        return m["geo"], m["rest"]
    return "none", model_id


def is_listed_geo(geo: str) -> bool:
    """Whether ``geo`` is one of the prefixes named in ``GEO_PREFIXES`` (or ``none``)."""
    return geo == "none" or geo in GEO_PREFIXES


def is_request_geo(geo: str) -> bool:
    """Whether a request can have ``geo``: ``none``, a ``GEO_PREFIXES`` prefix, or a prefix
    AWS adds later as resolve reads one (``uk``)."""
    return is_listed_geo(geo) or re.fullmatch(_NEW_GEO, geo) is not None


def request_model_id(raw: str) -> str:
    """The model part of ``request_hash``: the logged ID without ARN or geo prefix.

    It depends on the log alone, not on mappings or lookups, so a record hashes alike in
    every run. The geo prefix only routes (``us.anthropic.claude-3-5-sonnet-20241022-v2:0``
    and its ARN hash as the bare ID); the version is kept, as two versions of a model answer
    differently. An application profile or provisioned model hashes as its ARN.
    """
    raw = (raw or "").strip()
    m = _ARN_RE.match(raw)
    if m:
        if m["kind"] not in _READ_FROM_ARN:
            return raw
        raw = m["res"]
    return _split_geo(raw)[1]


def mapped_target(raw: str, profile_map: dict[str, str] | None) -> str | None:
    """What ``profile_map`` maps a logged ID to, as :func:`resolve` reads it: a bare ID by
    itself; an ARN of a kind not read from the ARN (an application profile, a provisioned or
    custom model, a prompt) by the ARN, by its resource ID, or a prompt's by its resource
    without the version. None when it has no entry, or the map is not used for the ID."""
    if not profile_map:
        return None
    raw = (raw or "").strip()
    m = _ARN_RE.match(raw)
    if m is None:  # a Marketplace endpoint is never priced per token: the map is not used
        return None if _ENDPOINT_RE.match(raw) else profile_map.get(raw)
    # an imported model is never priced per token; a foundation model or system profile is
    # read from its ARN: the map is not used for either
    if m["kind"] in NOT_PER_TOKEN or m["kind"] in _READ_FROM_ARN:
        return None
    res = m["res"]
    mapped = profile_map.get(raw) or profile_map.get(res)
    if mapped is None and m["kind"] == "prompt":  # a prompt's ARN names its version
        mapped = profile_map.get(res.partition(":")[0])
    return mapped


def rules_model_id(raw: str, profile_map: dict[str, str] | None) -> str:
    """The model ID a provider's rules are read for (an image's tokens, ``<think>`` tags):
    :func:`request_model_id` of the ``profile_map`` target when the map has one for ``raw``
    (an application profile, provisioned or custom model), else of ``raw``. Unlike the
    request hash's model part, this follows the map, as :func:`resolve` does; an ID only
    ``bedrock:GetInferenceProfile`` resolves is not known here and stays as logged."""
    target = mapped_target(raw, profile_map)
    return request_model_id(raw if target is None else target)


def resolve(
    raw: str,
    profile_map: dict[str, str] | None = None,
    bedrock_client: Any | None = None,
) -> ModelRef:
    """Resolve a logged ``modelId`` to a catalog key, provider, family and geo.

    ``profile_map`` maps the ARNs (or IDs) of application inference profiles, provisioned
    models, custom model deployments and prompts to the model ID they route to or are priced
    as (which may itself carry a geo prefix). Only foundation models and system-defined
    inference profiles are read from the ARN alone: a custom model's ARN names its base
    model, but it is billed as itself, so without a mapping it stays unknown. An imported
    model (Custom Model Import) always does: it is billed per model copy and minute; so
    does a Bedrock Marketplace endpoint: it is billed per hour of its SageMaker instances.
    """
    profile_map = profile_map or {}
    raw = (raw or "").strip()
    kind = "foundation-model"
    target = raw
    if _ENDPOINT_RE.match(raw):
        return ModelRef(raw, None, None, None, "none", False, MARKETPLACE_ENDPOINT)
    m = _ARN_RE.match(raw)
    if m:
        # The kind is the raw ID's (a mapped application profile stays one); the mapping may
        # be keyed by the full ARN or by the resource ID.
        kind, res = m["kind"], m["res"]
        if kind in NOT_PER_TOKEN:  # an imported model: never priced per token, mapped or not
            return ModelRef(raw, None, None, None, "none", False, kind)
        if kind not in _READ_FROM_ARN:
            mapped = mapped_target(raw, profile_map)
            if (
                mapped is None
                and bedrock_client is not None
                and kind == "application-inference-profile"
            ):
                mapped = _lookup_application_profile(bedrock_client, raw)
            if mapped is None:
                return ModelRef(raw, None, None, None, "none", False, kind)
            target = mapped
        else:
            target = res
    elif (mapped := mapped_target(raw, profile_map)) is not None:
        target = mapped
    sub = _ARN_RE.match(target)
    if sub:
        target = sub["res"]
    geo, bare = _split_geo(target)
    key = catalog_key(bare)
    if key is None:
        return ModelRef(raw, None, None, None, geo, False, kind)
    info = known_models()[key]
    return ModelRef(raw, info.key, info.provider, info.family, geo, True, kind)


_READ_FROM_ARN = ("foundation-model", "inference-profile")  # the ARN names the model billed


def _lookup_application_profile(client: Any, arn: str) -> str | None:
    """Ask Bedrock which model an application inference profile routes to.

    A profile copied from a cross-region profile lists one model ARN per region it may route
    to; the regions give its geo (all ``us-*`` -> ``us.``, ``eu-*`` -> ``eu.``, ``ap-*`` and
    ``me-*`` -> ``apac.``, another mix -> ``global.``). A global profile's model ARNs may
    name no Region (``arn:aws:bedrock:::foundation-model/...``): that alone means ``global.``.
    """
    try:
        resp = client.get_inference_profile(inferenceProfileIdentifier=arn)
    except Exception:  # no permission or no such profile: stays unknown, flagged
        return None
    arns = [m.get("modelArn", "") for m in resp.get("models") or []]
    parsed = [m for m in (_ARN_RE.match(a) for a in arns) if m]
    if not parsed:
        if isinstance(client, ProfileLookup):
            client.failures[arn] = "the profile lists no model"
        return None
    model_id = parsed[0]["res"]
    regions = {m["region"] for m in parsed}
    if "" in regions:
        return f"global.{model_id}"
    if len(regions) <= 1:
        return model_id
    if regions <= _JP_REGIONS or regions <= _AU_REGIONS:
        return f"{'jp' if regions <= _JP_REGIONS else 'au'}.{model_id}"
    geos = {region_geo(r) for r in regions}
    geo = geos.pop() if len(geos) == 1 else "global"
    return f"{geo}.{model_id}"


class ProfileLookup:
    """``get_inference_profile`` for any application-profile ARN, with a client per Region.

    Stands in for a bedrock client in :func:`resolve`. Clients are made on the first lookup
    in each Region (the ARN's), and only when AWS credentials resolve, so a run whose logs
    name no unmapped application profile makes no AWS call at all. Why each lookup that
    failed did so is kept in ``failures`` (ARN -> reason) for the ingest report.
    """

    def __init__(self, endpoint_url: str | None = None, client_for: Any = None) -> None:
        self.endpoint_url = endpoint_url
        self._client_for = client_for or self._aws_client
        self._clients: dict[str, Any] = {}
        self._credentials: bool | None = None
        # why no lookup is made: no credentials, or ones set up that cannot be loaded
        self._no_credentials = "no AWS credentials to call bedrock:GetInferenceProfile"
        self.failures: dict[str, str] = {}

    def _aws_client(self, region: str) -> Any:
        from bedrock_finops.sources.aws_clients import aws_client

        return aws_client("bedrock", self.endpoint_url, region)

    def _has_credentials(self) -> bool:
        if self._credentials is None:
            from bedrock_finops.sources.aws_clients import has_credentials
            from bedrock_finops.sources.source_errors import (
                credential_setup_error,
                credential_setup_errors,
            )

            try:
                self._credentials = has_credentials()
            except credential_setup_errors() as exc:  # AWS_PROFILE names no profile, ...
                self._credentials = False
                problem = credential_setup_error(exc)
                self._no_credentials = f"bedrock:GetInferenceProfile not called: {problem}"
        return self._credentials

    def get_inference_profile(self, inferenceProfileIdentifier: str) -> dict:  # noqa: N803
        arn = inferenceProfileIdentifier
        m = _ARN_RE.match(arn)
        if m is None or not m["region"]:
            self.failures[arn] = "the ARN names no Region to ask"
            raise ValueError(f"{arn!r} names no Region")
        if not self._has_credentials():
            self.failures[arn] = self._no_credentials
            raise LookupError(self.failures[arn])
        region = m["region"]
        try:
            if region not in self._clients:  # a malformed AWS_ENDPOINT_URL_BEDROCK fails here
                self._clients[region] = self._client_for(region)
            return self._clients[region].get_inference_profile(inferenceProfileIdentifier=arn)
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            self.failures[arn] = f"bedrock:GetInferenceProfile failed ({code or exc})"
            raise


# Regions of the jp. and au. profiles: inside "ap-" but routed and priced as their own geo.
_JP_REGIONS = {"ap-northeast-1", "ap-northeast-3"}
_AU_REGIONS = {"ap-southeast-2", "ap-southeast-4"}


def region_geo(region: str) -> str:
    """The geo prefix of ``region``'s area: ``eu`` for eu-west-1, ``apac`` for the ap- and me-
    Regions (jp. and au. profiles are told apart by the Regions they route to)."""
    if region.startswith("us-gov-"):
        return "us-gov"
    if region.startswith(("ap-", "me-")):  # APAC profiles route to UAE (me-central-1) too
        return "apac"
    return region.split("-")[0]


def resolve_many(
    raw_ids, profile_map: dict[str, str] | None = None, bedrock_client: Any | None = None
):
    """Resolve distinct IDs once each: ``{raw: ModelRef}`` (ingest maps rows through it)."""
    return {r: resolve(r, profile_map, bedrock_client) for r in set(raw_ids)}
