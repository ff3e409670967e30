"""Text embedding models priced by their input tokens (the bundled current sheet), each figure
worked by hand from the sheet's rate per 1K tokens; calls the sheet cannot price stay unpriced
with a reason, never $0."""

from __future__ import annotations

import json
import math

import pytest
from record_rows import invoke_record
from usage_builders import make_usage

from bedrock_finops.ingest import read_invocation_logs
from bedrock_finops.models import resolve
from bedrock_finops.pricing import PriceCatalog

TITAN_V2, TITAN_G1 = "amazon.titan-embed-text-v2", "amazon.titan-embed-text-v1"
COHERE_EN, COHERE_ML, COHERE_V4 = (
    "cohere.embed-english-v3",
    "cohere.embed-multilingual-v3",
    "cohere.embed-v4",
)
MILLION = 1_000_000


@pytest.fixture(scope="module")
def current() -> PriceCatalog:
    return PriceCatalog.load("current")


def _calls(raw_ids: list[str], region: str = "us-east-1", **cols):
    """One embedding call of a million input tokens (no output) per logged model ID, with the
    catalog key and geo the ingest gives that ID."""
    refs = [resolve(raw) for raw in raw_ids]
    return make_usage(
        [
            dict(
                app=f"rag-{i}",
                n=1,
                model=ref.key,
                model_id_raw=raw,
                geo=ref.geo,
                region=region,
                input_tokens=MILLION,
                output_tokens=0,
                **cols,
            )
            for i, (raw, ref) in enumerate(zip(raw_ids, refs, strict=True))
        ]
    )


def test_a_million_input_tokens_cost_the_models_list_price(current):
    """1,000,000 input tokens are 1,000 x the rate per 1K: Titan Text Embeddings V2 at
    0.00002 is $0.02; Titan Embeddings G1 - Text at 0.0001 is $0.10; Cohere Embed English and
    Multilingual v3 at 0.0001 are $0.10 each; Cohere Embed v4 at 0.00012 is $0.12. Nothing
    is billed for output: an embedding call writes no tokens."""
    raw = [
        "amazon.titan-embed-text-v2:0",
        "amazon.titan-embed-text-v1",
        "cohere.embed-english-v3",
        "cohere.embed-multilingual-v3",
        "cohere.embed-v4:0",
    ]
    out = current.price(_calls(raw))
    assert out["priced"].all()
    assert out["cost_usd"].tolist() == pytest.approx([0.02, 0.10, 0.10, 0.10, 0.12])
    assert out["output_usd"].tolist() == [0.0] * 5
    assert (out["price_as_of"].dt.strftime("%Y-%m-%d") == "2026-11-28").all()


def test_size_suffixed_and_profile_ids_take_the_priced_key(current):
    """An ID with a Provisioned Throughput embedding size (``:512``) is its model's key; a
    ``us.`` or ``global.`` Cohere Embed v4 call (profiles its model card lists) is billed at
    the in-Region price: 1,000 x 0.0001 = $0.10 and 1,000 x 0.00012 = $0.12 each."""
    raw = [
        "cohere.embed-english-v3:0:512",
        "cohere.embed-multilingual-v3:0:512",
        "us.cohere.embed-v4:0",
        "global.cohere.embed-v4:0",
        "arn:aws:bedrock:us-west-2::foundation-model/amazon.titan-embed-text-v2:0",
    ]
    usage = _calls(raw, region="us-west-2")
    assert usage["model"].tolist() == [COHERE_EN, COHERE_ML, COHERE_V4, COHERE_V4, TITAN_V2]
    assert usage["geo"].tolist() == ["none", "none", "us", "global", "none"]
    out = current.price(usage)
    assert out["cost_usd"].tolist() == pytest.approx([0.10, 0.10, 0.12, 0.12, 0.02])


def test_an_embedding_call_where_the_sheet_has_no_row_stays_unpriced(current):
    """The sheet prices the embedding models in us-east-1 and us-west-2 only: a Titan V2 call
    in eu-west-1 has no price there, and a global Titan V2 call names a profile the catalog
    does not record. Each is unpriced with its reason, its cost NaN, never $0."""
    usage = make_usage(
        [
            dict(app="eu", n=1, model=TITAN_V2, region="eu-west-1", input_tokens=MILLION),
            dict(app="gl", n=1, model=TITAN_V2, geo="global", input_tokens=MILLION),
        ]
    )
    out = current.price(usage)
    assert not out["priced"].any() and out["cost_usd"].isna().all()
    assert out["unpriced_reason"].tolist() == [
        "no price for model in region",
        "no global cross-Region profile recorded for amazon.titan-embed-text-v2 "
        "(models.csv profile_geos)",
    ]
    table = current.unpriced(usage, out)
    assert table["requests"].sum() == 2 and set(table["model"]) == {TITAN_V2}


def test_batch_prices_titan_v2_and_leaves_the_others_unpriced(current):
    """Titan Text Embeddings V2 has a batch rate, 0.00001 per 1K: a million tokens are $0.01.
    No batch price was found for the other embedding models: their batch cost is unpriced."""
    raw = ["amazon.titan-embed-text-v2:0", "amazon.titan-embed-text-v1", "cohere.embed-v4:0"]
    out = current.price(_calls(raw), mode="batch")
    assert out["priced"].tolist() == [True, False, False]
    assert out["cost_usd"].iat[0] == pytest.approx(0.01) and out["cost_usd"].iloc[1:].isna().all()
    assert out["unpriced_reason"].iloc[1:].tolist() == ["no batch price", "no batch price"]


def test_output_tokens_on_an_embedding_model_are_never_billed_at_zero(current):
    """The sheet has no output rate for an embedding model: a row that counts output tokens
    on one (no embedding call does) is unpriced rather than its output billed $0."""
    usage = make_usage([dict(app="odd", n=1, model=TITAN_V2, input_tokens=10, output_tokens=5)])
    out = current.price(usage).iloc[0]
    assert not out["priced"] and math.isnan(out["cost_usd"])
    assert out["unpriced_reason"] == "no on-demand price"


def test_logged_embedding_calls_are_priced_from_ingest_to_cost(tmp_path, current):
    """Two RAG indexing calls as Bedrock logs them (no outputTokenCount): 250,000 tokens on
    Titan V2, 1,000 x 0.00002 x 250 = $0.005, and 40,000 on Cohere Embed English v3 behind
    its ``:512`` size, 0.0001 x 40 = $0.004: $0.009 of spend the baseline now counts."""
    records = [
        invoke_record(
            "t1",
            "amazon.titan-embed-text-v2:0",
            {"inputText": "a chunk of the handbook", "dimensions": 512},
            {"embedding": [0.1, 0.2], "inputTextTokenCount": 250_000},
            tokens=250_000,
        ),
        invoke_record(
            "c1",
            "cohere.embed-english-v3:0:512",
            {"texts": ["a chunk", "another chunk"], "input_type": "search_document"},
            {"embeddings": [[0.1], [0.2]], "id": "x", "response_type": "embeddings_floats"},
            tokens=40_000,
        ),
    ]
    (tmp_path / "logs").mkdir()
    text = "".join(json.dumps(r) + "\n" for r in records)
    (tmp_path / "logs" / "a.json").write_text(text)
    usage = read_invocation_logs(tmp_path / "logs", workers=1, progress=False)
    assert usage["model"].tolist() == [TITAN_V2, COHERE_EN]
    assert usage["output_tokens"].tolist() == [0, 0]
    out = current.price(usage)
    assert out["cost_usd"].tolist() == pytest.approx([0.005, 0.004])
    assert out["cost_usd"].sum() == pytest.approx(0.009)
