"""Model sizing with embedding traffic beside text traffic: an embedding model is never a
candidate for a text segment, and an embedding segment is never moved to a text model."""

from __future__ import annotations

import pandas as pd
import pytest
from usage_builders import make_usage, prompts_frame

from bedrock_finops.models import is_embedding_model
from bedrock_finops.pricing import PriceCatalog
from bedrock_finops.strategies import model_sizing as ms
from bedrock_finops.strategies import model_sizing_params as ms_params

ROUTER = dict(
    app="router",
    model="anthropic.claude-opus-4",
    model_id_raw="anthropic.claude-opus-4-20250514-v1:0",
    system_hash="h-router",
    input_tokens=500,
    output_tokens=2,
    output_shape="label",
)
TRIAGE = dict(
    app="triage",
    model="amazon.nova-pro",
    model_id_raw="amazon.nova-pro-v1:0",
    system_hash="h-triage",
    input_tokens=400,
    output_tokens=3,
    output_shape="label",
)
INDEXER = dict(  # RAG indexing: chunks embedded, no output tokens
    app="rag-indexer",
    model="amazon.titan-embed-text-v2",
    model_id_raw="amazon.titan-embed-text-v2:0",
    input_tokens=700,
    output_tokens=0,
    output_shape="unknown",
    user_text="a chunk of the handbook",
)
RETRIEVER = dict(  # query embeddings on Cohere Embed v4, behind its us. profile
    app="retriever",
    model="cohere.embed-v4",
    model_id_raw="us.cohere.embed-v4:0",
    geo="us",
    input_tokens=30,
    output_tokens=0,
    output_shape="unknown",
    user_text="reset my password",
)
TEXTS = {
    "h-router": "Classify the ticket. Reply with exactly one label: billing, bug, other.",
    "h-triage": "Classify the email. Reply with exactly one label: urgent, normal.",
}


@pytest.fixture(scope="module")
def cat() -> PriceCatalog:
    return PriceCatalog.load("current")


def test_a_run_of_embedding_and_chat_traffic_gets_no_cross_proposals(cat):
    """Embedding segments typed as classification by hand (the small tier, below a chat
    model's) keep their model, saying why; the chat segments are sized among text models
    only, as before: Opus 4 classification goes to Claude 3.5 Haiku, Nova Pro's to Nova
    Micro, and no embedding model is tried for them though it prices their input lowest."""
    usage = make_usage(
        [dict(n=10, **ROUTER), dict(n=10, **TRIAGE), dict(n=20, **INDEXER), dict(n=20, **RETRIEVER)]
    )
    overrides = {"rag-indexer": "classification", "retriever": "classification"}
    plan = ms.plan(usage, cat, prompts=prompts_frame(TEXTS), task_overrides=overrides)
    segs = plan.segments.set_index("app")
    for app in ("rag-indexer", "retriever"):
        assert pd.isna(segs.at[app, "candidate"]) and segs.at[app, "status"] == ms_params.KEEP
        assert segs.at[app, "reason"] == (
            "an embedding model: model sizing moves text-generation traffic between text "
            "models only"
        )
        assert segs.at[app, "candidates_tried"] == {}
    assert segs.at["router", "candidate"] == "anthropic.claude-3-5-haiku"
    assert segs.at["triage", "candidate"] == "amazon.nova-micro"
    for app in ("router", "triage"):
        tried = segs.at[app, "candidates_tried"]
        assert tried and not any(is_embedding_model(k) for k in tried)
    moved = plan.rows["new_model"]
    assert not moved.map(is_embedding_model).any()
    assert not plan.rows["request_id"].str.startswith(("rag-indexer", "retriever")).any()


def test_an_embedding_model_named_as_a_candidate_is_refused():
    """Listed among the candidates, an embedding model would price a text segment's input
    below any text model's (0.00002 per 1K for Titan V2): the settings are refused, naming it,
    before any traffic is read."""
    params = {
        "candidates": {"amazon": {"small": ["amazon.nova-micro", "amazon.titan-embed-text-v2"]}}
    }
    with pytest.raises(ValueError) as err:
        ms_params.check_settings(params)
    assert str(err.value) == (
        "candidates['amazon']['small'] names embedding models ['amazon.titan-embed-text-v2']: "
        "they return embeddings, not text, so no segment can move to one; list text models"
    )
