"""Calls whose models write no tokens (embeddings, images, rerank): a record without
``outputTokenCount`` is a row with 0 output tokens, not a fault; and legacy text bodies."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from record_rows import invoke_record

from bedrock_finops.ingest import ingest_to_folder

TITAN_TEXT = "Reset a password from Settings > Security."


TITAN = invoke_record(
    "e1",
    "amazon.titan-embed-text-v2:0",
    {"inputText": TITAN_TEXT, "dimensions": 4, "normalize": True},
    {"embedding": [0.1, -0.2, 0.3, 0.05], "inputTextTokenCount": 11},
)
COHERE_BEHIND_PROFILE = invoke_record(  # the ARN does not name the model: the body tells
    "e2",
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3",
    {"texts": ["first chunk", "second chunk"], "input_type": "search_document"},
    {"embeddings": [[0.1, 0.2], [0.3, 0.4]], "id": "x", "response_type": "embeddings_floats"},
)
CHAT_WITHOUT_COUNT = invoke_record(  # a text model's record without the count stays a fault
    "c1",
    "anthropic.claude-3-haiku-20240307-v1:0",
    {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": []},
    {"content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn"},
)


def test_embedding_records_are_rows_with_no_output_tokens(tmp_path):
    (tmp_path / "logs").mkdir()
    lines = [TITAN, COHERE_BEHIND_PROFILE, CHAT_WITHOUT_COUNT]
    (tmp_path / "logs" / "a.json").write_text("".join(json.dumps(r) + "\n" for r in lines))
    report = ingest_to_folder(tmp_path / "logs", tmp_path / "out", workers=1, progress=False)
    assert (report.lines_read, report.rows, report.quarantine_by_reason) == (
        3,
        2,
        {"missing outputTokenCount": 1},
    )
    rows = pq.read_table(tmp_path / "out" / "usage.parquet").to_pandas().set_index("request_id")
    assert rows.loc["e1", "input_tokens"] == 11 and rows.loc["e1", "output_tokens"] == 0
    assert rows.loc["e1", "user_text"] == TITAN_TEXT
    assert rows.loc["e1", "output_shape"] == "unknown"
    assert rows.loc["e2", "output_tokens"] == 0 and rows.loc["e2", "app"] == "rag-indexer"
    q = pq.read_table(tmp_path / "out" / "quarantine.parquet").to_pylist()
    assert [(r["line"], r["reason"]) for r in q] == [(3, "missing outputTokenCount")]


PROFILE = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3"
NO_TOKEN_CALLS = [
    invoke_record(  # Nova Canvas: billed per image
        "img",
        "amazon.nova-canvas-v1:0",
        {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "a red fox in snow"}},
        {"images": ["iVBORw0KGgo=", "iVBORw0KGgo="]},
    ),
    invoke_record(  # Cohere Rerank through InvokeModel: billed per query
        "rerank",
        "cohere.rerank-v3-5:0",
        {"query": "capital of the US?", "documents": ["Carson City.", "Washington, D.C."]},
        {"id": "x", "results": [{"index": 1, "relevance_score": 0.98}]},
    ),
    invoke_record(  # Stability behind a profile: the response's images tell
        "sd",
        PROFILE,
        {"prompt": "a lighthouse at sunset"},
        {"seeds": [7], "finish_reasons": ["Filter reason: prompt"], "images": []},
    ),
]


def _ingest(tmp_path, records: list[dict], **kw):
    (tmp_path / "logs").mkdir()
    text = "".join(json.dumps(r) + "\n" for r in records)
    (tmp_path / "logs" / "a.json").write_text(text)
    report = ingest_to_folder(tmp_path / "logs", tmp_path / "out", workers=1, progress=False, **kw)
    rows = pq.read_table(tmp_path / "out" / "usage.parquet").to_pandas().set_index("request_id")
    return report, rows


def test_image_and_rerank_records_are_rows_with_no_output_tokens(tmp_path):
    report, rows = _ingest(tmp_path, NO_TOKEN_CALLS)
    assert (report.rows, report.quarantined) == (3, 0)
    assert rows["output_tokens"].tolist() == [0, 0, 0]
    assert rows["input_tokens"].tolist() == [11, 11, 11]
    assert rows["user_text"].tolist() == [
        "a red fox in snow",
        "capital of the US?",
        "a lighthouse at sunset",
    ]
    # a rerank's scores are no text: not an empty answer; Stability says why it filtered
    assert rows.loc["rerank", "output_shape"] == "unknown"
    assert rows.loc["sd", "stop_reason"] == "Filter reason: prompt"
    # none of them is in the token price catalog: listed unpriced, never $0
    assert rows["model"].isna().all()


def test_embedding_behind_a_profile_with_its_response_under_data(tmp_path):
    """The profile hides the model and the response is not fetched: the request tells."""
    rec = invoke_record(
        "e3",
        PROFILE,
        {"texts": ["a", "b"], "input_type": "search_document"},
        {},
    )
    del rec["output"]["outputBodyJson"]
    rec["output"]["outputBodyS3Path"] = "s3://b/AWSLogs/1/data/e3_output.json.gz"
    report, rows = _ingest(tmp_path, [rec, CHAT_WITHOUT_COUNT])
    assert (report.rows, report.quarantine_by_reason) == (1, {"missing outputTokenCount": 1})
    assert rows.loc["e3", "output_tokens"] == 0
    assert rows.loc["e3", "user_text"] == "a\nb"


def test_jurassic_and_claude_text_completion_records(tmp_path):
    j2 = invoke_record(
        "j2",
        "ai21.j2-ultra-v1",
        {"prompt": "Summarise: budget approved.", "maxTokens": 200, "temperature": 0.5},
        {
            "id": 1,
            "completions": [
                {"data": {"text": "The budget was approved"}, "finishReason": {"reason": "length"}}
            ],
        },
        outputTokenCount=200,
    )
    claude_v2 = invoke_record(
        "cv2",
        "anthropic.claude-v2:1",
        {
            "prompt": "You are a pirate.\n\nHuman: Where is the treasure?\n\nAssistant:",
            "max_tokens_to_sample": 300,
        },
        {"completion": " Under the oak!", "stop_reason": "stop_sequence"},
        outputTokenCount=6,
    )
    report, rows = _ingest(tmp_path, [j2, claude_v2])
    assert report.rows == 2
    j = rows.loc["j2"]
    assert (j["stop_reason"], j["max_tokens"], j["temperature"]) == ("length", 200, 0.5)
    assert j["output_shape"] == "prose"
    c = rows.loc["cv2"]
    assert c["user_text"] == "Where is the treasure?"
    assert c["system_tokens"] == 5  # "You are a pirate." is 17 characters: ceil(17 / 4)


@pytest.mark.parametrize(
    ("model_id", "in_body", "out_body"),
    [
        (  # a name a user chose says nothing about the model
            "arn:aws:sagemaker:us-east-1:123456789012:endpoint/image-captioner-llava",
            {"prompt": "Describe it."},
            {"generation": "A cat.", "stop_reason": "stop"},
        ),
        (
            "arn:aws:bedrock:us-east-1:123456789012:imported-model/canvas-copilot",
            {"messages": [{"role": "user", "content": "Hi"}]},
            {"choices": [{"message": {"content": "Hello"}, "finish_reason": "stop"}]},
        ),
        (  # a chat grounded on documents is no rerank
            "cohere.command-r-v1:0",
            {"message": "Capital?", "documents": [{"text": "Washington, D.C."}]},
            {"text": "Washington, D.C.", "finish_reason": "COMPLETE"},
        ),
        (  # request keys are read only when the response was not
            PROFILE,
            {"prompt": "[INST] hi [/INST]", "documents": ["a"], "query": "q"},
            {"outputs": [{"text": "hello", "stop_reason": "stop"}]},
        ),
    ],
)
def test_a_text_models_record_without_the_count_stays_quarantined(
    tmp_path, model_id, in_body, out_body
):
    report, _ = _ingest(tmp_path, [invoke_record("t", model_id, in_body, out_body)])
    assert (report.rows, report.quarantine_by_reason) == (0, {"missing outputTokenCount": 1})


def test_sdxl_text_prompts_are_the_user_text():
    from bedrock_finops.parse_request import prompt_parts

    body = {"text_prompts": [{"text": "a fox", "weight": 1}, {"text": "blurry", "weight": -1}]}
    assert prompt_parts(body, []) == (None, None, [("user", "a fox\nblurry")])
