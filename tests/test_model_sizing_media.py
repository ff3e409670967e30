"""Model sizing and media: a segment whose requests send images, documents, video or audio
moves only to a candidate that takes them as input (models.csv ``input_modalities``)."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pyarrow.parquet as pq
import pytest
from usage_builders import make_usage, prompts_frame

from bedrock_finops import media_blocks, schema
from bedrock_finops.column_take import ParquetColumn
from bedrock_finops.models import known_models, media_not_taken
from bedrock_finops.pricing import PriceCatalog
from bedrock_finops.strategies import model_sizing as ms
from bedrock_finops.strategies import model_sizing_params as ms_params
from bedrock_finops.strategies import model_sizing_tables as ms_tables

SONNET = "anthropic.claude-sonnet-4"
HAIKU35 = "anthropic.claude-3-5-haiku"
HAIKU45 = "anthropic.claude-haiku-4-5"
NOVA_PRO = "amazon.nova-pro"
IMAGE = "[[media image png 800x1000 4521 bytes xxh3:9f1c2a7b3d4e5f60]]\nWhich category?"
PDF = "[[media document pdf 30112 bytes xxh3:0123456789abcdef]]\nWhich category?"
AUDIO = "[[media audio wav 88244 bytes xxh3:fedcba9876543210]]\nWhich category?"
S3_VIDEO = '{"video":{"format":"mp4","source":{"s3Location":{"uri":"s3://b/v.mp4"}}}}\nWhich?'
LABEL = "Classify it. Reply with exactly one label: meals, travel, other."
TEXTS = {"h-label": LABEL}


def _classifier(app: str, model: str, user_text: str | None, n: int = 6) -> dict:
    return dict(
        n=n,
        app=app,
        model=model,
        system_hash="h-label",
        input_tokens=1500,
        output_tokens=2,
        output_shape="label",
        user_text=user_text,
    )


@pytest.fixture(scope="module")
def cat() -> PriceCatalog:
    return PriceCatalog.load("current")


@pytest.fixture(scope="module")
def usage() -> pd.DataFrame:
    return make_usage(
        [
            _classifier("claims-photos", SONNET, IMAGE),  # Anthropic image blocks
            _classifier("receipts", NOVA_PRO, IMAGE),  # Converse image blocks
            _classifier("match-clips", NOVA_PRO, S3_VIDEO),  # video by S3 location
            _classifier("contracts", SONNET, PDF),
            _classifier("voicemail", SONNET, AUDIO),
            _classifier("tickets", SONNET, "My invoice is wrong."),  # text only
        ]
    )


@pytest.fixture(scope="module")
def plan(usage, cat) -> ms.SizingPlan:
    return ms.plan(usage, cat, prompts=prompts_frame(TEXTS))


def _seg(plan: ms.SizingPlan, app: str) -> pd.Series:
    rows = plan.segments[plan.segments["app"] == app]
    assert len(rows) == 1
    return rows.iloc[0]


def _cost(cat: PriceCatalog, model: str, requests: int) -> float:
    rate = cat.rate(model)
    return requests * (1500 * rate["input_per_1k"] + 2 * rate["output_per_1k"]) / 1000


def test_image_segment_moves_to_the_cheapest_candidate_that_takes_images(plan, cat):
    photos = _seg(plan, "claims-photos")
    # Claude 3.5 Haiku is cheaper but takes no image input on Bedrock: Haiku 4.5 does
    assert photos["candidate"] == HAIKU45
    assert photos["status"] == ms_params.PENDING
    assert photos["media_sent"] == ("image",)
    assert photos["media_left_out"] == [HAIKU35]
    assert photos["projected_usd"] == pytest.approx(_cost(cat, HAIKU45, 6))
    assert photos["savings_usd"] == pytest.approx(_cost(cat, SONNET, 6) - _cost(cat, HAIKU45, 6))
    assert photos["candidates_tried"][HAIKU35] == (
        "left out: takes no image input (models.csv input_modalities: text, document)"
    )
    assert photos["reason"] == (
        f"classification needs the small tier; cheapest priced: {HAIKU45}; its requests send "
        f"image (6 of 6 requests): left out {HAIKU35}"
    )


def test_nova_image_segment_skips_text_only_nova_micro(plan, cat):
    receipts = _seg(plan, "receipts")
    assert receipts["candidate"] == "amazon.nova-lite"
    assert receipts["media_left_out"] == ["amazon.nova-micro", "amazon.titan-text-express"]
    assert receipts["projected_usd"] == pytest.approx(_cost(cat, "amazon.nova-lite", 6))


def test_video_sent_by_s3_location_counts_too(plan, cat):
    clips = _seg(plan, "match-clips")
    assert clips["media_sent"] == ("video",)
    assert clips["candidate"] == "amazon.nova-lite"
    assert clips["media_left_out"] == ["amazon.nova-micro", "amazon.titan-text-express"]


def test_document_segment_moves_to_a_candidate_that_takes_documents(plan):
    contracts = _seg(plan, "contracts")
    # both Haikus take documents (the Converse table's Document chat column): the cheaper moves
    assert contracts["candidate"] == HAIKU35
    assert contracts["media_left_out"] == []


def test_segment_no_candidate_takes_the_media_of_keeps_its_model_and_says_why(plan):
    voicemail = _seg(plan, "voicemail")
    assert pd.isna(voicemail["candidate"])
    assert voicemail["status"] == ms_params.KEEP
    assert voicemail["savings_usd"] == 0.0
    left_out = list(voicemail["candidates_tried"])
    assert left_out == voicemail["media_left_out"]
    assert {HAIKU45, HAIKU35, "amazon.nova-lite", "meta.llama3-1-8b-instruct"} <= set(left_out)
    assert voicemail["candidates_tried"]["meta.llama3-1-8b-instruct"] == (
        "left out: takes no audio input (models.csv input_modalities: text, document)"
    )
    assert voicemail["reason"] == (
        "no small-tier candidate takes the audio its requests send (6 of 6 requests): "
        f"left out {', '.join(left_out)}; it keeps its model"
    )


def test_text_segment_still_moves_to_the_cheapest_candidate(plan, cat):
    tickets = _seg(plan, "tickets")
    assert tickets["candidate"] == HAIKU35
    assert tickets["media_sent"] == ()
    assert tickets["media_left_out"] == []
    assert tickets["reason"] == f"classification needs the small tier; cheapest priced: {HAIKU35}"
    assert tickets["projected_usd"] == pytest.approx(_cost(cat, HAIKU35, 6))


def test_headline_routing_and_assumptions_follow(plan, cat):
    findings = ms.to_findings(plan)
    moved = {
        "claims-photos": (SONNET, HAIKU45),
        "receipts": (NOVA_PRO, "amazon.nova-lite"),
        "match-clips": (NOVA_PRO, "amazon.nova-lite"),
        "contracts": (SONNET, HAIKU35),
        "tickets": (SONNET, HAIKU35),
    }
    expected = sum(_cost(cat, old, 6) - _cost(cat, new, 6) for old, new in moved.values())
    assert findings.savings_usd == pytest.approx(expected)
    assert {a.scope["app"] for a in findings.actions} == set(moved)
    routes = ms_tables.routing_table(plan).set_index("app")
    assert routes.loc["voicemail", "recommended_model"] == SONNET
    assert pd.isna(routes.loc["voicemail", "candidate_model"])
    assert routes.loc["claims-photos", "candidate_model"] == HAIKU45
    media = findings.assumptions["media_by_segment"]
    assert media[_seg(plan, "receipts")["segment"]] == {
        "sends": ["image"],
        "requests_with_media": 6,
        "requests": 6,
        "candidates_left_out": ["amazon.nova-micro", "amazon.titan-text-express"],
    }
    assert _seg(plan, "tickets")["segment"] not in media
    assert "input_modalities" in findings.assumptions["media_rule"]
    action = next(a for a in findings.actions if a.scope["app"] == "claims-photos")
    assert action.evidence["media_sent"] == ["image"]
    assert action.evidence["candidates_left_out_for_media"] == [HAIKU35]


def test_candidates_table_shows_what_each_takes(plan):
    table = ms_tables.candidates_table(plan).set_index("model")["input_modalities"]
    assert table["amazon.nova-micro"] == "text"
    assert table["amazon.nova-lite"] == "text, image, document, video"
    assert table["meta.llama3-1-8b-instruct"] == "text, document"


def test_only_some_requests_with_media_still_rule_out_text_only_candidates(cat):
    usage = make_usage(
        [
            _classifier("mixed", SONNET, IMAGE, n=1),
            _classifier("mixed", SONNET, "What does this receipt say?", n=9),
        ]
    )
    mixed = _seg(ms.plan(usage, cat, prompts=prompts_frame(TEXTS)), "mixed")
    assert (mixed["candidate"], mixed["media_requests"]) == (HAIKU45, 1)
    assert "image (1 of 10 requests)" in mixed["reason"]


def test_a_table_read_without_its_user_turns_gives_the_same_plan(usage, cat, plan, tmp_path):
    """The media each request sent is the table's media_sent column: the user turns (~3 GB in
    a month) need not be read at all."""
    path = tmp_path / "usage.parquet"
    pq.write_table(schema.to_arrow(usage), path, row_group_size=7)
    lean = schema.read_usage(path, user_text=False)
    again = ms.plan(lean, cat, prompts=prompts_frame(TEXTS))
    cols = ["segment", "candidate", "media_sent", "media_requests", "savings_usd"]
    pd.testing.assert_frame_equal(again.segments[cols], plan.segments[cols])


def test_a_table_without_media_sent_has_its_user_turns_searched(usage, cat, plan, tmp_path):
    """A table an earlier version wrote has no media_sent: the last user turns are searched,
    read from the file a row group at a time, to the same plan."""
    path = tmp_path / "usage.parquet"
    pq.write_table(schema.to_arrow(usage).drop_columns(["media_sent"]), path, row_group_size=7)
    lean = schema.read_usage(path, user_text=False)
    assert "media_sent" not in lean.columns
    with pytest.raises(ValueError, match="pass user_text=RunContext.user_text_column"):
        ms.plan(lean, cat, prompts=prompts_frame(TEXTS))
    again = ms.plan(
        lean, cat, prompts=prompts_frame(TEXTS), user_text=ParquetColumn(path, "user_text")
    )
    cols = ["segment", "candidate", "media_sent", "media_requests", "savings_usd"]
    pd.testing.assert_frame_equal(again.segments[cols], plan.segments[cols])
    assert again.data_quality["media_found_in"] == media_blocks.MEDIA_FROM_LAST_TURN
    assert plan.data_quality["media_found_in"] == media_blocks.MEDIA_FROM_COLUMN


def test_media_in_an_earlier_turn_keeps_a_segment_off_text_only_models(cat):
    """media_sent is of the whole request: a conversation whose image went in its first turn
    sends it again with every later turn, though its last user turn is text."""
    usage = make_usage([_classifier("follow-ups", SONNET, "And the total?")])
    assert usage["media_sent"].tolist() == [""] * 6
    usage["media_sent"] = "image"
    follow = _seg(ms.plan(usage, cat, prompts=prompts_frame(TEXTS)), "follow-ups")
    assert (follow["candidate"], follow["media_sent"], follow["media_requests"]) == (
        HAIKU45,
        ("image",),
        6,
    )


def test_catalog_modalities_are_known_kinds_and_unrecorded_reads_as_text_only():
    kinds = {"text", "image", "document", "video"}
    recorded = {k: m.input_modalities for k, m in known_models().items() if m.input_modalities}
    assert all("text" in m and set(m) <= kinds for m in recorded.values())
    assert recorded["amazon.nova-micro"] == ("text",)
    assert recorded[HAIKU35] == ("text", "document")
    assert media_not_taken(HAIKU45, ("image", "document")) == ()
    assert media_not_taken("meta.llama3-1-8b-instruct", ("image", "document")) == ("image",)
    assert media_not_taken("not.a-model", ("video",)) == ("video",)
    assert media_not_taken("amazon.nova-lite", ("image", "video")) == ()


def test_catalog_records_the_input_modalities_aws_and_anthropic_document():
    """Cells filled from the sources docs/pricing.md lists: the supported foundation models
    table (input modalities), the Converse table (Vision, Document chat), the Nova 2 user guide
    and Anthropic's PDF support page."""
    taken = {k: m.input_modalities for k, m in known_models().items()}
    assert taken["anthropic.claude-opus-4-5"] == ("text", "image", "document")
    assert taken["anthropic.claude-opus-4-1"] == ("text", "image", "document")
    assert taken["anthropic.claude-sonnet-4-6"] == ("text", "image", "document")
    assert taken[HAIKU45] == ("text", "image", "document")
    assert taken["meta.llama4-scout-17b-instruct"] == ("text", "image", "document")
    assert taken["meta.llama3-1-8b-instruct"] == ("text", "document")
    assert taken["meta.llama3-3-70b-instruct"] == ("text",)
    assert taken["mistral.pixtral-large-2502"] == ("text", "image", "document")
    assert taken["mistral.mistral-small-2402"] == ("text",)
    assert taken["amazon.nova-2-lite"] == ("text", "image", "document", "video")
    assert taken["cohere.command-r"] == ("text", "document")
    assert taken["openai.gpt-oss-120b"] == ("text",)


def test_llama_segment_sending_pdfs_moves_to_llama_3_1_8b(cat):
    """Llama 3.1 takes documents in Converse (Document chat): a Meta segment whose requests send
    PDFs moves to the small tier rather than keeping its model."""
    usage = make_usage([_classifier("claims-pdf", "meta.llama3-1-70b-instruct", PDF)])
    claims = _seg(ms.plan(usage, cat, prompts=prompts_frame(TEXTS)), "claims-pdf")
    assert (claims["candidate"], claims["status"]) == (
        "meta.llama3-1-8b-instruct",
        ms_params.PENDING,
    )
    assert (claims["media_sent"], claims["media_left_out"]) == (("document",), [])
    assert claims["projected_usd"] == pytest.approx(_cost(cat, "meta.llama3-1-8b-instruct", 6))


def test_a_candidate_whose_modalities_are_not_recorded_reads_as_text_only(cat, monkeypatch):
    """A catalog row with an empty input_modalities cell: left out of a media segment, saying
    so, and shown as read as text only."""
    info = known_models()[HAIKU45]
    monkeypatch.setitem(known_models(), HAIKU45, dataclasses.replace(info, input_modalities=None))
    assert media_not_taken(HAIKU45, ("image",)) == ("image",)
    usage = make_usage([_classifier("claims-photos", SONNET, IMAGE)])
    plan = ms.plan(usage, cat, prompts=prompts_frame(TEXTS))
    photos = _seg(plan, "claims-photos")
    assert photos["candidate"] == "amazon.nova-lite"
    assert {HAIKU45, HAIKU35} <= set(photos["media_left_out"])
    assert photos["candidates_tried"][HAIKU45] == (
        "left out: its input modalities are not recorded in models.csv, so it reads as text "
        "only (no image input)"
    )
    table = ms_tables.candidates_table(plan).set_index("model")["input_modalities"]
    assert table[HAIKU45] == "not recorded (read as text only)"


def test_a_table_whose_user_turns_are_all_none_is_sized_as_text(cat):
    """An older or redacted table whose user_text holds no text at all (typed null in Arrow):
    no request shows media, so the segment moves to the cheapest candidate, as text."""
    usage = make_usage([_classifier("tickets", SONNET, None)])
    usage["user_text"] = None
    tickets = _seg(ms.plan(usage, cat, prompts=prompts_frame(TEXTS)), "tickets")
    assert (tickets["candidate"], tickets["media_sent"], tickets["media_requests"]) == (
        HAIKU35,
        (),
        0,
    )
