"""Model-ID resolution: every form a log record names a model in -> catalog key and geo."""

from __future__ import annotations

import dataclasses

import boto3
import pytest
from botocore.stub import Stubber

from bedrock_finops import models

ACCT = "111122223333"
APP_ARN = f"arn:aws:bedrock:us-east-1:{ACCT}:application-inference-profile/abc123xyz"
PT_ARN = f"arn:aws:bedrock:us-east-1:{ACCT}:provisioned-model/pt0001"

# raw modelId -> (key, provider, family, geo, kind)
TABLE = [
    # bare IDs with date, version and context-window suffixes
    (
        "anthropic.claude-sonnet-4-20250514-v1:0",
        "anthropic.claude-sonnet-4",
        "anthropic",
        "claude-sonnet",
        "none",
        "foundation-model",
    ),
    (
        "anthropic.claude-3-haiku-20240307-v1:0:200k",
        "anthropic.claude-3-haiku",
        "anthropic",
        "claude-haiku",
        "none",
        "foundation-model",
    ),
    (
        "anthropic.claude-3-5-sonnet-20241022-v2:0",
        "anthropic.claude-3-5-sonnet",
        "anthropic",
        "claude-sonnet",
        "none",
        "foundation-model",
    ),
    (
        "amazon.titan-text-express-v1",
        "amazon.titan-text-express",
        "amazon",
        "titan",
        "none",
        "foundation-model",
    ),
    (
        "mistral.mistral-7b-instruct-v0:2",
        "mistral.mistral-7b-instruct",
        "mistral",
        "mistral",
        "none",
        "foundation-model",
    ),
    (
        "mistral.mistral-large-2402-v1:0",
        "mistral.mistral-large-2402",
        "mistral",
        "mistral",
        "none",
        "foundation-model",
    ),
    (
        "meta.llama3-1-70b-instruct-v1:0",
        "meta.llama3-1-70b-instruct",
        "meta",
        "llama",
        "none",
        "foundation-model",
    ),
    (
        "  amazon.nova-micro-v1:0 ",
        "amazon.nova-micro",
        "amazon",
        "nova",
        "none",
        "foundation-model",
    ),
    # system-defined cross-region inference profiles
    (
        "us.anthropic.claude-sonnet-4-20250514-v1:0",
        "anthropic.claude-sonnet-4",
        "anthropic",
        "claude-sonnet",
        "us",
        "foundation-model",
    ),
    (
        "eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
        "anthropic.claude-3-7-sonnet",
        "anthropic",
        "claude-sonnet",
        "eu",
        "foundation-model",
    ),
    ("apac.amazon.nova-pro-v1:0", "amazon.nova-pro", "amazon", "nova", "apac", "foundation-model"),
    (
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "anthropic.claude-sonnet-4-5",
        "anthropic",
        "claude-sonnet",
        "global",
        "foundation-model",
    ),
    (
        "jp.anthropic.claude-haiku-4-5-20251001-v1:0",
        "anthropic.claude-haiku-4-5",
        "anthropic",
        "claude-haiku",
        "jp",
        "foundation-model",
    ),
    (
        "au.anthropic.claude-haiku-4-5-20251001-v1:0",
        "anthropic.claude-haiku-4-5",
        "anthropic",
        "claude-haiku",
        "au",
        "foundation-model",
    ),
    (
        "us-gov.anthropic.claude-3-haiku-20240307-v1:0",
        "anthropic.claude-3-haiku",
        "anthropic",
        "claude-haiku",
        "us-gov",
        "foundation-model",
    ),
    # ARNs
    (
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0",
        "anthropic.claude-3-5-haiku",
        "anthropic",
        "claude-haiku",
        "none",
        "foundation-model",
    ),
    (
        f"arn:aws:bedrock:us-east-1:{ACCT}:inference-profile/us.amazon.nova-lite-v1:0",
        "amazon.nova-lite",
        "amazon",
        "nova",
        "us",
        "inference-profile",
    ),
    (
        f"arn:aws:bedrock:eu-west-1:{ACCT}:inference-profile/eu.meta.llama3-2-3b-instruct-v1:0",
        "meta.llama3-2-3b-instruct",
        "meta",
        "llama",
        "eu",
        "inference-profile",
    ),
]


@pytest.mark.parametrize(("raw", "key", "provider", "family", "geo", "kind"), TABLE)
def test_resolve_table(raw, key, provider, family, geo, kind):
    ref = models.resolve(raw)
    assert (ref.key, ref.provider, ref.family, ref.geo, ref.kind) == (
        key,
        provider,
        family,
        geo,
        kind,
    )
    assert ref.known is True


@pytest.mark.parametrize(
    "raw",
    [
        "cohere.command-text-v14",
        "us.ai21.jamba-1-5-mini-v1:0",
        "anthropic.claude-instant-v1",  # Claude Instant: not in the catalog
        "",
        "not a model",
        "arn:aws:bedrock:us-east-1::foundation-model/ai21.jamba-1-5-large-v1:0",
    ],
)
def test_unknown_ids_stay_unknown(raw):
    ref = models.resolve(raw)
    assert ref.key is None and ref.known is False and ref.provider is None


def test_unknown_keeps_geo_of_profile():
    assert models.resolve("eu.ai21.jamba-1-5-mini-v1:0").geo == "eu"


@pytest.mark.parametrize(
    ("raw", "key", "geo"),
    [
        ("uk.anthropic.claude-haiku-4-5-20251001-v1:0", "anthropic.claude-haiku-4-5", "uk"),
        ("in.meta.llama3-1-8b-instruct-v1:0", "meta.llama3-1-8b-instruct", "in"),
        ("ap-south.amazon.nova-lite-v1:0", "amazon.nova-lite", "ap-south"),
        (f"arn:aws:bedrock:eu-west-2:{ACCT}:inference-profile/uk.amazon.nova-pro-v1:0",
         "amazon.nova-pro", "uk"),
    ],
)  # fmt: skip
def test_a_geo_prefix_aws_adds_later_is_read_before_a_provider_namespace(raw, key, geo):
    ref = models.resolve(raw)
    assert (ref.key, ref.geo, ref.known) == (key, geo, True)
    assert not models.is_listed_geo(geo)
    # it routes only: the request hashes as the bare ID, like us./eu. profiles
    assert models.request_model_id(raw) == raw.rsplit("/", 1)[-1].split(".", 1)[1]


@pytest.mark.parametrize(
    "raw", ["foo.bar.baz-v1:0", "toolongprefix.anthropic.claude-haiku-4-5-20251001-v1:0"]
)
def test_a_prefix_before_no_provider_namespace_is_not_a_geo(raw):
    ref = models.resolve(raw)
    assert (ref.geo, ref.known) == ("none", False)
    assert models.request_model_id(raw) == raw


def test_application_profile_without_mapping_is_unknown():
    ref = models.resolve(APP_ARN)
    assert (ref.key, ref.known, ref.kind, ref.geo) == (
        None,
        False,
        "application-inference-profile",
        "none",
    )


@pytest.mark.parametrize("map_key", [APP_ARN, "abc123xyz"])
def test_application_profile_via_mapping(map_key):
    ref = models.resolve(APP_ARN, {map_key: "us.anthropic.claude-sonnet-4-20250514-v1:0"})
    assert (ref.key, ref.geo, ref.kind, ref.raw) == (
        "anthropic.claude-sonnet-4",
        "us",
        "application-inference-profile",
        APP_ARN,
    )


def test_application_profile_mapped_to_foundation_model_arn():
    target = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0"
    ref = models.resolve(APP_ARN, {APP_ARN: target})
    assert (ref.key, ref.geo, ref.kind) == (
        "amazon.nova-pro",
        "none",
        "application-inference-profile",
    )


def test_provisioned_model_via_mapping():
    ref = models.resolve(PT_ARN, {"pt0001": "amazon.titan-text-express-v1"})
    assert (ref.key, ref.geo, ref.kind) == (
        "amazon.titan-text-express",
        "none",
        "provisioned-model",
    )
    assert models.resolve(PT_ARN).known is False


def _bedrock_stubbed(model_arns: list[str] | None, error: str | None = None):
    client = boto3.client(
        "bedrock", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(client)
    if error:
        stub.add_client_error(
            "get_inference_profile",
            service_error_code=error,
            expected_params={"inferenceProfileIdentifier": APP_ARN},
        )
    else:
        stub.add_response(
            "get_inference_profile",
            {
                "inferenceProfileName": "support-app",
                "inferenceProfileArn": APP_ARN,
                "inferenceProfileId": "abc123xyz",
                "status": "ACTIVE",
                "type": "APPLICATION",
                "models": [{"modelArn": a} for a in model_arns or []],
            },
            {"inferenceProfileIdentifier": APP_ARN},
        )
    stub.activate()
    return client, stub


def _fm(region: str, model: str) -> str:
    return f"arn:aws:bedrock:{region}::foundation-model/{model}"


SONNET4 = "anthropic.claude-sonnet-4-20250514-v1:0"
HAIKU45 = "anthropic.claude-haiku-4-5-20251001-v1:0"


@pytest.mark.parametrize(
    ("arns", "key", "geo"),
    [
        ([_fm("us-east-1", SONNET4)], "anthropic.claude-sonnet-4", "none"),
        (
            [_fm("us-east-1", SONNET4), _fm("us-east-2", SONNET4), _fm("us-west-2", SONNET4)],
            "anthropic.claude-sonnet-4",
            "us",
        ),
        (
            [_fm("eu-west-1", SONNET4), _fm("eu-central-1", SONNET4)],
            "anthropic.claude-sonnet-4",
            "eu",
        ),
        (
            [_fm("ap-northeast-1", SONNET4), _fm("ap-south-1", SONNET4)],
            "anthropic.claude-sonnet-4",
            "apac",
        ),
        (
            [_fm("ap-northeast-1", HAIKU45), _fm("ap-northeast-3", HAIKU45)],
            "anthropic.claude-haiku-4-5",
            "jp",
        ),
        (
            [_fm("ap-southeast-2", HAIKU45), _fm("ap-southeast-4", HAIKU45)],
            "anthropic.claude-haiku-4-5",
            "au",
        ),
        (
            [_fm("us-gov-west-1", SONNET4), _fm("us-gov-east-1", SONNET4)],
            "anthropic.claude-sonnet-4",
            "us-gov",
        ),
        (
            [_fm("us-east-1", SONNET4), _fm("eu-west-1", SONNET4), _fm("ap-south-1", SONNET4)],
            "anthropic.claude-sonnet-4",
            "global",
        ),
        # APAC profiles route to the UAE too (aws-cdk aws-bedrock-alpha, cross-region
        # inference profiles: APAC's Regions are "ap-" and "me-")
        (
            [
                _fm("ap-northeast-1", SONNET4),
                _fm("ap-southeast-1", SONNET4),
                _fm("me-central-1", SONNET4),
            ],
            "anthropic.claude-sonnet-4",
            "apac",
        ),
        # a global profile's foundation-model ARN names no Region
        ([_fm("", HAIKU45), _fm("us-east-1", HAIKU45)], "anthropic.claude-haiku-4-5", "global"),
        ([_fm("", HAIKU45)], "anthropic.claude-haiku-4-5", "global"),
    ],
)
def test_application_profile_via_get_inference_profile(arns, key, geo):
    client, stub = _bedrock_stubbed(arns)
    ref = models.resolve(APP_ARN, bedrock_client=client)
    stub.assert_no_pending_responses()
    assert (ref.key, ref.geo, ref.kind, ref.known) == (
        key,
        geo,
        "application-inference-profile",
        True,
    )


def test_application_profile_lookup_denied_stays_unknown():
    client, stub = _bedrock_stubbed(None, error="AccessDeniedException")
    ref = models.resolve(APP_ARN, bedrock_client=client)
    assert (ref.key, ref.known) == (None, False)


def test_mapping_wins_over_lookup():
    client, stub = _bedrock_stubbed([_fm("us-east-1", SONNET4)])
    ref = models.resolve(APP_ARN, {APP_ARN: "amazon.nova-lite-v1:0"}, bedrock_client=client)
    assert ref.key == "amazon.nova-lite"
    with pytest.raises(AssertionError):
        stub.assert_no_pending_responses()  # the client was never asked


def test_resolve_many_resolves_each_distinct_id_once():
    refs = models.resolve_many(
        ["amazon.nova-lite-v1:0", "us.amazon.nova-lite-v1:0", "amazon.nova-lite-v1:0"]
    )
    assert set(refs) == {"amazon.nova-lite-v1:0", "us.amazon.nova-lite-v1:0"}
    assert {r.key for r in refs.values()} == {"amazon.nova-lite"}
    assert refs["us.amazon.nova-lite-v1:0"].geo == "us"


def test_stem():
    assert models.stem("anthropic.claude-3-haiku-20240307-v1:0:200k") == "anthropic.claude-3-haiku"
    assert models.stem("amazon.titan-text-express-v1") == "amazon.titan-text-express"
    assert models.stem("openai.gpt-oss-120b-1:0") == "openai.gpt-oss-120b"  # "-1:0", no "v"
    # what follows a version in Provisioned Throughput IDs: multimodal, an embedding size
    assert models.stem("amazon.nova-premier-v1:0:mm") == "amazon.nova-premier"
    assert models.stem("cohere.embed-english-v3:0:512") == "cohere.embed-english"
    # "-N:M" is a version only after a parameter count: these end in their own number
    assert models.resolve("anthropic.claude-opus-4-1:0").known is False  # not Opus 4
    assert models.stem("cohere.rerank-v3-5:0") == "cohere.rerank-v3-5:0"


@pytest.mark.parametrize(
    ("raw", "key", "geo"),
    [
        ("global.anthropic.claude-sonnet-4-6", "anthropic.claude-sonnet-4-6", "global"),
        ("jp.anthropic.claude-sonnet-4-6", "anthropic.claude-sonnet-4-6", "jp"),
        ("us.anthropic.claude-opus-4-6-v1", "anthropic.claude-opus-4-6", "us"),
        ("global.amazon.nova-2-lite-v1:0", "amazon.nova-2-lite", "global"),
        ("us.meta.llama4-maverick-17b-instruct-v1:0", "meta.llama4-maverick-17b-instruct", "us"),
        ("meta.llama4-scout-17b-instruct-v1:0", "meta.llama4-scout-17b-instruct", "none"),
        ("openai.gpt-oss-120b-1:0", "openai.gpt-oss-120b", "none"),
        ("openai.gpt-oss-20b-1:0", "openai.gpt-oss-20b", "none"),
        ("us.deepseek.r1-v1:0", "deepseek.r1", "us"),
        ("qwen.qwen3-32b-v1:0", "qwen.qwen3-32b", "none"),
        ("qwen.qwen3-235b-a22b-2507-v1:0", "qwen.qwen3-235b-a22b-2507", "none"),
        ("qwen.qwen3-coder-480b-a35b-v1:0", "qwen.qwen3-coder-480b-a35b", "none"),
        ("cohere.command-r-plus-v1:0", "cohere.command-r-plus", "none"),
        ("cohere.command-r-v1:0", "cohere.command-r", "none"),
        ("mistral.pixtral-large-2502-v1:0", "mistral.pixtral-large-2502", "none"),
    ],
)
def test_current_models_resolve(raw, key, geo):
    """IDs from AWS's model pages (model-ids, model-parameters-openai, -deepseek, model cards
    for Claude 4.6, Qwen, Cohere; the Nova 2 user guide)."""
    ref = models.resolve(raw)
    assert (ref.key, ref.geo, ref.known) == (key, geo, True)


def test_versions_the_catalog_keys_apart_are_never_priced_as_each_other(monkeypatch):
    """Where two versions are two models at two prices (Titan Embeddings G1 ``-v1`` and V2
    ``-v2:0``), the catalog keys each with its version; an ID finds its own row, and a version
    the catalog lacks stays unknown rather than taking a sibling's row."""
    base = models.known_models()["amazon.titan-text-express"]
    catalog = {
        k: dataclasses.replace(base, key=k)
        for k in ("amazon.titan-embed-text-v1", "amazon.titan-embed-text-v2")
    }
    monkeypatch.setattr(models, "known_models", lambda: catalog)
    assert models.resolve("amazon.titan-embed-text-v1").key == "amazon.titan-embed-text-v1"
    assert models.resolve("amazon.titan-embed-text-v2:0").key == "amazon.titan-embed-text-v2"
    assert models.resolve("amazon.titan-embed-text-v1:2:8k").key == "amazon.titan-embed-text-v1"
    assert models.resolve("amazon.titan-embed-text-v3:0").known is False


@pytest.mark.parametrize(
    ("kind", "target", "key"),
    [
        ("provisioned-model", "amazon.nova-premier-v1:0:mm", "amazon.nova-premier"),
        ("provisioned-model", "amazon.nova-2-lite-v1:0:256k", "amazon.nova-2-lite"),
        ("custom-model-deployment", "amazon.nova-lite-v1:0", "amazon.nova-lite"),
        ("prompt", "anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku"),
        ("custom-model/amazon.nova-lite-v1:0:300k", "amazon.nova-micro-v1:0", "amazon.nova-micro"),
    ],
)
def test_a_mapping_prices_any_model_arn(kind, target, key):
    """``profile_map`` is read for every ARN kind the ARN alone does not price: imported and
    custom models as well as application profiles and Provisioned Throughput."""
    raw = f"arn:aws:bedrock:us-east-1:111122223333:{kind}/abcdefghijkl"
    assert models.resolve(raw).known is False  # never priced as the base model it names
    ref = models.resolve(raw, {raw: target})
    assert (ref.key, ref.kind) == (key, kind.split("/")[0])


def test_a_prompt_version_is_mapped_by_the_prompt_id():
    """A prompt's ARN names its version (``prompt/ID:2``); a mapping keyed by the ID holds
    for every version, as the docs say it may be keyed by the ARN or its ID."""
    raw = "arn:aws:bedrock:us-east-1:111122223333:prompt/PROMPT12345:2"
    assert models.resolve(raw, {"PROMPT12345": "amazon.nova-lite-v1:0"}).key == "amazon.nova-lite"


def test_an_imported_model_is_never_priced_per_token():
    """Custom Model Import bills per model copy and minute: a mapping does not give it a
    per-token price."""
    raw = "arn:aws:bedrock:us-east-1:111122223333:imported-model/abcdefghijkl"
    ref = models.resolve(raw, {raw: "meta.llama3-1-8b-instruct-v1:0"})
    assert (ref.key, ref.known, ref.kind) == (None, False, "imported-model")


MARKETPLACE_ARN = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/my-marketplace-llama"


@pytest.mark.parametrize(
    "profile_map",
    [None, {MARKETPLACE_ARN: "meta.llama3-1-8b-instruct-v1:0"}],
    ids=["unmapped", "mapped"],
)
def test_a_marketplace_endpoint_is_never_priced_per_token(profile_map):
    """A Bedrock Marketplace model runs on a SageMaker endpoint billed per instance hour: its
    ARN (a modelId InvokeModel takes) is its own kind, unknown and unpriced, mapped or not,
    with the reason the report gives."""
    ref = models.resolve(MARKETPLACE_ARN, profile_map)
    assert (ref.key, ref.known, ref.kind, ref.geo) == (
        None, False, "marketplace-endpoint", "none"
    )  # fmt: skip
    assert ref.not_per_token == (
        "Bedrock Marketplace endpoint: billed per hour of its SageMaker instances (and any "
        "model provider's fee), not per token"
    )
    assert models.mapped_target(MARKETPLACE_ARN, profile_map) is None


def test_an_imported_model_says_why_it_is_unpriced():
    raw = "arn:aws:bedrock:us-east-1:111122223333:imported-model/abcdefghijkl"
    assert models.resolve(raw).not_per_token == (
        "imported model (Custom Model Import): billed per model copy and minute, not per token"
    )
    assert models.resolve("anthropic.claude-3-haiku-20240307-v1:0").not_per_token is None


@pytest.mark.parametrize(
    ("raw", "hashed_as"),
    [
        ("anthropic.claude-3-5-sonnet-20241022-v2:0", "anthropic.claude-3-5-sonnet-20241022-v2:0"),
        (
            "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
            "anthropic.claude-3-5-sonnet-20241022-v2:0",
        ),
        (
            "global.anthropic.claude-sonnet-4-20250514-v1:0",
            "anthropic.claude-sonnet-4-20250514-v1:0",
        ),
        (
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
            "anthropic.claude-3-haiku-20240307-v1:0",
        ),
        (
            f"arn:aws:bedrock:eu-west-1:{ACCT}:inference-profile/eu.amazon.nova-pro-v1:0",
            "amazon.nova-pro-v1:0",
        ),
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", "anthropic.claude-3-5-sonnet-20240620-v1:0"),
        (APP_ARN, APP_ARN),
        (PT_ARN, PT_ARN),
        ("acme.unknown-model-v1", "acme.unknown-model-v1"),
        (MARKETPLACE_ARN, MARKETPLACE_ARN),
    ],
)
def test_the_request_hash_model_part_keeps_the_version_and_drops_routing(raw, hashed_as):
    assert models.request_model_id(raw) == hashed_as


def test_mapped_target_is_what_resolve_reads_from_the_map():
    """The report names a map entry as the reason a row is unknown only where resolve used
    the map: not for a foundation model's or system profile's ARN, nor an imported model's."""
    target = "anthropic.claude-3-5-haiku-20241022-v1:0"
    fm = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-nova-9-v1:0"
    imported = "arn:aws:bedrock:us-east-1:111122223333:imported-model/imp1"
    app = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/abc"
    prompt = "arn:aws:bedrock:us-east-1:111122223333:prompt/P1:3"
    mapping = {fm: target, imported: target, "abc": target, "P1": target, "bare-id": target}
    assert models.mapped_target(fm, mapping) is None
    assert models.mapped_target(imported, mapping) is None
    assert models.mapped_target(app, mapping) == target  # by its resource ID
    assert models.mapped_target(prompt, mapping) == target  # without its version
    assert models.mapped_target("bare-id", mapping) == target
    assert models.mapped_target("other", mapping) is None


def test_the_rules_model_follows_the_map_and_the_hash_model_does_not():
    """A provider's rules (image tokens, <think> tags) read the model an ID is mapped to,
    without its geo prefix or ARN; an unmapped ID is read as the request hash reads it."""
    mapping = {APP_ARN: "us.anthropic.claude-3-7-sonnet-20250219-v1:0"}
    mapping[PT_ARN] = "arn:aws:bedrock:us-east-1::foundation-model/deepseek.r1-v1:0"
    assert models.rules_model_id(APP_ARN, mapping) == "anthropic.claude-3-7-sonnet-20250219-v1:0"
    assert models.rules_model_id(PT_ARN, mapping) == "deepseek.r1-v1:0"
    assert models.request_model_id(APP_ARN) == APP_ARN
    assert models.rules_model_id(APP_ARN, None) == APP_ARN  # unmapped (a lookup is not seen)
    bare = "eu.amazon.nova-pro-v1:0"
    assert models.rules_model_id(bare, mapping) == models.request_model_id(bare)


@pytest.mark.parametrize(
    ("raw", "key", "geo"),
    [
        ("amazon.titan-embed-text-v2:0", "amazon.titan-embed-text-v2", "none"),
        ("amazon.titan-embed-text-v1", "amazon.titan-embed-text-v1", "none"),
        ("amazon.titan-embed-text-v1:2:8k", "amazon.titan-embed-text-v1", "none"),
        ("cohere.embed-english-v3", "cohere.embed-english-v3", "none"),
        ("cohere.embed-english-v3:0:512", "cohere.embed-english-v3", "none"),  # a PT size
        ("cohere.embed-multilingual-v3:0:512", "cohere.embed-multilingual-v3", "none"),
        ("cohere.embed-v4:0", "cohere.embed-v4", "none"),
        ("us.cohere.embed-v4:0", "cohere.embed-v4", "us"),
        ("global.cohere.embed-v4:0", "cohere.embed-v4", "global"),
        (
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0",
            "amazon.titan-embed-text-v2",
            "none",
        ),
    ],
)
def test_embedding_model_ids_resolve_to_their_own_keys(raw, key, geo):
    """The text embedding models' IDs (AWS's model cards; ``:512`` is a Provisioned Throughput
    embedding size) resolve to keys that carry their version, each an embedding model."""
    ref = models.resolve(raw)
    assert (ref.key, ref.geo, ref.known) == (key, geo, True)
    assert models.is_embedding_model(ref.key)
    assert models.known_models()[key].output_modalities == ("embedding",)


def test_embedding_versions_the_catalog_lacks_stay_unknown():
    """A later version of an embedding model is another model at another price: it stays
    unknown rather than take the listed version's key (the stem alone names no model)."""
    for raw in ("cohere.embed-english-v4:0", "amazon.titan-embed-text-v3:0", "cohere.embed"):
        assert models.resolve(raw).known is False, raw


def test_only_embedding_models_are_embedding_models():
    """Every other catalog model returns text; a key the catalog lacks is no embedding model."""
    text = [k for k, info in models.known_models().items() if not info.is_embedding]
    assert "anthropic.claude-sonnet-4" in text and "amazon.titan-text-express" in text
    assert all(models.known_models()[k].output_modalities == ("text",) for k in text)
    assert not models.is_embedding_model("anthropic.claude-sonnet-4")
    assert not models.is_embedding_model(None) and not models.is_embedding_model("acme.embed")
