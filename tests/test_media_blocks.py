"""Images and documents sent inline (base64) in a request body.

Each is read as a short placeholder with a token estimate, not as its base64 text: the row's
``user_text`` and prefix positions stay the size of the prompt, while ``request_hash`` still
tells two images apart. Batch export and the quality gate count or skip such user turns.
"""

from __future__ import annotations

import base64
import io

import pandas as pd
import pytest
from PIL import Image
from record_rows import log_record, row_of

from bedrock_finops import batch_records, media_blocks, quality_gate
from bedrock_finops.tokens import estimate_tokens


def png_base64(width: int, height: int, color: tuple[int, int, int] = (200, 10, 10)) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def anthropic_image(data: str, media_type: str = "image/png") -> dict:
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def anthropic_ask(*blocks: dict) -> dict:
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": list(blocks)}],
    }


def last_position(row: dict) -> int:
    """Cumulative estimated tokens at the row's last prefix position (its last turn)."""
    kind, _, tokens = row["prefix_hashes"][-1]
    assert kind == "message"
    return tokens


ANSWER = {"content": [{"type": "text", "text": "A red square."}], "stop_reason": "end_turn"}
QUESTION = {"type": "text", "text": "Describe this image."}


@pytest.mark.parametrize(
    ("width", "height", "tokens"),
    [
        (640, 480, 410),  # 307,200 px / 750 = 409.6
        (1000, 1000, 1334),  # 1,333.3
        (1568, 300, 628),  # at the long-edge limit: not scaled (627.2)
        (3136, 600, 628),  # twice the limit: scaled by half to 1568 x 300
        (1568, 1568, 1600),  # 3,278 before the ~1,600-token cap
        (0, 10, 0),
    ],
)
def test_image_tokens_follow_claudes_rule(width: int, height: int, tokens: int) -> None:
    assert media_blocks.image_tokens(width, height) == tokens


def test_an_inline_image_is_a_placeholder_with_its_token_estimate() -> None:
    data = png_base64(640, 480)
    raw_size = len(base64.b64decode(data))
    row = row_of(log_record(anthropic_ask(anthropic_image(data), QUESTION), ANSWER, "InvokeModel"))
    first, second = row["user_text"].split("\n")
    assert first.startswith(f"[[media image png 640x480 {raw_size} bytes xxh3:")
    assert second == "Describe this image."
    assert data not in row["user_text"]
    # the turn's position: its text (placeholder and question) plus the image's 410 tokens
    assert last_position(row) == estimate_tokens(row["user_text"]) + 410
    assert last_position(row) < 450  # the base64 alone would be ~700


def test_same_image_same_prefix_different_image_different_prefix() -> None:
    red, blue = png_base64(64, 64), png_base64(64, 64, (0, 0, 250))
    wrapped = "\n".join(red[i : i + 76] for i in range(0, len(red), 76))  # MIME line breaks

    def row(data: str) -> dict:
        body = anthropic_ask(anthropic_image(data), QUESTION)
        return row_of(log_record(body, ANSWER, "InvokeModel"))

    a, b, c = row(red), row(wrapped), row(blue)
    assert a["prefix_hashes"] == b["prefix_hashes"]  # the digest is of the decoded bytes
    assert a["prefix_hashes"] != c["prefix_hashes"]
    assert a["request_hash"] != c["request_hash"]
    assert a["request_hash"] != b["request_hash"]  # the body as logged differs


def converse_ask(*blocks: dict) -> dict:
    return {"messages": [{"role": "user", "content": list(blocks)}]}


def converse_media(kind: str, fmt: str, data: str, **extra) -> dict:
    return {kind: {"format": fmt, "source": {"bytes": data}, **extra}}


DATA_URL = "data:image/png;base64," + png_base64(75, 10)
TEXT_DOC = base64.b64encode(b"name,amount\n" + b"alice,10\n" * 100).decode()  # 912 characters


@pytest.mark.parametrize(
    ("block", "start", "tokens"),
    [
        (converse_media("image", "png", png_base64(300, 200)), "image png 300x200 ", 80),
        (
            converse_media("document", "csv", TEXT_DOC, name="t"),
            "document csv 912 bytes xxh3:",
            228,
        ),
        (
            converse_media("document", "pdf", base64.b64encode(b"%PDF-1.7 x").decode(), name="d"),
            "document pdf 10 bytes xxh3:",
            0,
        ),
        (converse_media("video", "mp4", "AAAA"), "video mp4 3 bytes xxh3:", 0),
        (  # Mistral (OpenAI style) data URL
            {"type": "image_url", "image_url": {"url": DATA_URL}},
            "image png 75x10 ",
            1,
        ),
        (  # valid base64, but not an image Pillow can read: no size, no estimate
            converse_media("image", "png", base64.b64encode(b"not a png").decode()),
            "image png 9 bytes xxh3:",
            0,
        ),
        (converse_media("image", "png", "abc"), "image png not base64 3 characters", 0),
    ],
)  # fmt: skip
def test_converse_and_mistral_media(block: dict, start: str, tokens: int) -> None:
    row = row_of(log_record(converse_ask(block, {"text": "Summarise."}), None))
    assert row["user_text"].startswith(media_blocks.MEDIA_MARK + start)
    assert row["user_text"].endswith("]]\nSummarise.")
    assert last_position(row) == estimate_tokens(row["user_text"]) + tokens


def test_an_image_gives_the_same_entry_in_converse_and_invokemodel() -> None:
    """The placeholder names an image's format as Converse does (``png``, not
    ``image/png``): the same image and question hash and count alike in either API."""
    data = png_base64(640, 480)
    converse = converse_ask(converse_media("image", "png", data), {"text": "Describe this image."})
    invoke = anthropic_ask(anthropic_image(data), QUESTION)
    a = row_of(log_record(converse, None))
    b = row_of(log_record(invoke, ANSWER, "InvokeModel"))
    assert a["prefix_hashes"] == b["prefix_hashes"] and a["user_text"] == b["user_text"]


def test_media_by_reference_stays_as_json() -> None:
    """An image logged as an S3 location carries no bytes: its JSON is the text, as before."""
    ref = {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://bucket/k.png"}}}}
    row = row_of(log_record(converse_ask(ref), None))
    assert (
        row["user_text"]
        == '{"image":{"format":"png","source":{"s3Location":{"uri":"s3://bucket/k.png"}}}}'
    )


def test_images_a_tool_returned_are_placeholders() -> None:
    data = png_base64(640, 480)
    anthropic = anthropic_ask(
        {"type": "tool_result", "tool_use_id": "t1", "content": [anthropic_image(data)]}
    )
    converse = converse_ask(
        {"toolResult": {"toolUseId": "t1", "content": [converse_media("image", "png", data)]}}
    )
    for body, op in ((anthropic, "InvokeModel"), (converse, "Converse")):
        row = row_of(log_record(body, None, op))
        assert data not in row["user_text"]
        assert "[[media image png 640x480 " in row["user_text"]
        assert last_position(row) == estimate_tokens(row["user_text"]) + 410


def test_media_in_a_long_conversation_counts_in_its_own_turn() -> None:
    body = {
        "messages": [
            {"role": "user", "content": [converse_media("image", "png", png_base64(640, 480))]},
            {"role": "assistant", "content": [{"text": "A red square."}]},
            {"role": "user", "content": [{"text": "Thanks."}]},
        ]
    }
    row = row_of(log_record(body, None))
    first, second, third = (tokens for _, _, tokens in row["prefix_hashes"])
    assert second - first == estimate_tokens("A red square.")
    assert third - second == estimate_tokens("Thanks.")
    assert first > 410


def test_batch_records_count_user_turns_with_media() -> None:
    rows = pd.DataFrame(
        {
            "request_id": ["a1", "a2"],
            "operation": ["InvokeModel"] * 2,
            "provider": ["anthropic"] * 2,
            "family": ["claude-3-haiku"] * 2,
            "system_hash": [None, None],
            "user_text": ["[[media image png 1 bytes xxh3:0123456789abcdef]]\nHi", "Hi"],
            "max_tokens": [100, 100],
            "temperature": [None, None],
        }
    )
    recs = batch_records.records_for_segment(rows, None)
    assert (recs.media_user_turns, recs.missing_user_text) == (1, 0)


@pytest.mark.parametrize(
    "text",
    [
        "[[media image png 1 bytes xxh3:0123456789abcdef]]",
        '{"video":{"format":"mp4","source":{"s3Location":{"uri":"s3://b/v.mp4"}}}}\nWhat?',
    ],
)
def test_quality_gate_skips_user_turns_with_media(text: str) -> None:
    """Media sent inline (a placeholder) or by reference (the block's JSON) alike."""
    row = pd.Series({"user_text": text, "system_hash": None})
    system, user, reason = quality_gate.prompt_parts(row, {})
    assert (system, user) == (None, None)
    assert reason == (
        "the user turn sent images, documents, video or audio, kept only as placeholders or, "
        "sent by reference, as the block's JSON"
    )


def test_a_guardrail_image_is_a_placeholder() -> None:
    guarded = {"guardContent": converse_media("image", "png", png_base64(640, 480))}
    row = row_of(log_record(converse_ask(guarded, {"text": "Is this safe?"}), None))
    assert row["user_text"].startswith("[[media image png 640x480 ")
    assert last_position(row) == estimate_tokens(row["user_text"]) + 410


@pytest.mark.parametrize("blocks", [1, 2])
def test_a_guardrail_image_in_the_system_prompt_is_media_sent(blocks) -> None:
    """Converse takes an image in a system prompt's ``guardContent``: the request sent an
    image (it named none), the system text holds its placeholder, and its position counts
    that text only: an image there is not estimated (640x480 would be 410 tokens in a turn)."""
    guarded = {"guardContent": converse_media("image", "png", png_base64(640, 480))}
    system = [{"text": "Refuse unsafe images."}, guarded][2 - blocks :]
    body = {**converse_ask({"text": "Is this safe?"}), "system": system}
    row = row_of(log_record(body, None))
    assert row["media_sent"] == "image"
    entries = {kind: tokens for kind, _, tokens in row["prefix_hashes"]}
    # the placeholder, 60 characters, after "Refuse unsafe images.\n" (22) when there
    assert row["system_tokens"] == entries["system"] == {1: 15, 2: 21}[blocks]


def llama_vision(*images: str) -> dict:
    prompt = (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n<|image|>What is it?"
        "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    return {"prompt": prompt, "images": list(images), "max_gen_len": 50}


def test_llama_images_are_placeholders_in_the_tagged_turn() -> None:
    red, blue = png_base64(64, 64), png_base64(64, 64, (0, 0, 250))

    def row(*images: str) -> dict:
        rec = log_record(llama_vision(*images), {"generation": "A square."}, "InvokeModel")
        rec["modelId"] = "meta.llama3-2-11b-instruct-v1:0"
        return row_of(rec)

    a, b = row(red), row(blue)
    assert a["user_text"].startswith("<|image|>What is it?\n[[media image unknown 64x64 ")
    assert a["prefix_hashes"] != b["prefix_hashes"]  # the image is part of the turn
    # Llama's image tokens are not documented: the position holds the turn's text only
    assert last_position(a) == estimate_tokens(a["user_text"])
    assert row(red, blue)["user_text"].count("[[media image ") == 2


def test_image_tokens_are_estimated_for_anthropic_models_only() -> None:
    body = converse_ask(converse_media("image", "png", png_base64(640, 480)), {"text": "Hi"})
    rec = log_record(body, None)
    claude = row_of(rec)
    rec["modelId"] = "amazon.nova-lite-v1:0"  # Nova counts images by its own table
    nova = row_of(rec)
    assert claude["user_text"] == nova["user_text"]
    assert last_position(claude) == estimate_tokens(claude["user_text"]) + 410
    assert last_position(nova) == estimate_tokens(nova["user_text"])


@pytest.mark.parametrize(
    ("model_id", "tokens"),
    [
        ("anthropic.claude-3-haiku-20240307-v1:0", 410),
        ("anthropic.claude-opus-4-20250514-v1:0", 410),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", 410),
        ("global.anthropic.claude-opus-4-6-v1", 410),
        ("anthropic.claude-sonnet-4-6", 410),
        # Opus 4.7 reads images up to 2,576 px on a new tokenizer: not estimated by the rule
        ("anthropic.claude-opus-4-7", 0),
        ("global.anthropic.claude-opus-4-7-v1", 0),
        ("anthropic.claude-sonnet-5", 0),  # a later model: its rule is not known
    ],
)
def test_the_image_rule_is_for_the_claude_models_it_was_published_for(model_id, tokens) -> None:
    body = converse_ask(converse_media("image", "png", png_base64(640, 480)), {"text": "Hi"})
    rec = log_record(body, None)
    rec["modelId"] = model_id
    row = row_of(rec)
    assert last_position(row) == estimate_tokens(row["user_text"]) + tokens


@pytest.mark.parametrize(
    ("data", "start"),
    [
        ("!!!!", "image png not base64 4 characters"),  # not quietly read as 0 bytes
        ("this is prose, not an image", "image png not base64 27 characters"),
        ("QUJD\nREVG", "image png 6 bytes"),  # line breaks inside base64 are fine
    ],
)
def test_base64_is_read_strictly(data: str, start: str) -> None:
    text, _ = media_blocks.placeholder("image", "png", data)
    assert text.startswith(media_blocks.MEDIA_MARK + start)


@pytest.mark.parametrize(
    ("url", "fmt"),
    [
        ("DATA:image/jpeg;BASE64,QUJD", "image/jpeg"),  # RFC 2397: case does not matter
        ("data:image/png;name=a.png;base64,QUJD", "image/png"),
        ("data:;base64,QUJD", "unknown"),
    ],
)
def test_data_urls(url: str, fmt: str) -> None:
    block = {"type": "image_url", "image_url": url}
    assert media_blocks.inline_media(block) == ("image", fmt, "QUJD")


def test_a_data_url_without_base64_is_not_media() -> None:
    assert media_blocks.inline_media({"type": "image_url", "image_url": "data:,hello"}) is None


PIXTRAL = "mistral.pixtral-large-2502-v1:0"


def mistral_chat(*turns: dict) -> dict:
    return {"messages": list(turns), "max_tokens": 50}


def image_url(url: str) -> dict:
    return {"type": "image_url", "image_url": {"url": url}}


@pytest.mark.parametrize(
    ("url", "sent"),
    [
        ("https://example.com/receipt.png", "image"),
        ("data:image/svg+xml,%3Csvg%20xmlns%3D%22http%3A%2F%2Fwww.w3.org%2F2000%2Fsvg%22%2F%3E",
         "image"),  # a data: URL not in base64: no bytes to read, still an image
        (DATA_URL, "image"),  # inline, as before
    ],
)  # fmt: skip
def test_an_image_url_that_is_no_base64_data_is_an_image_sent_by_reference(url, sent) -> None:
    """Mistral chat's (and the OpenAI chat form's) ``image_url`` by a URL carries no bytes:
    it stays as its JSON, an image sent by reference, as an Anthropic image by URL does. It
    was read as a text block of JSON, so the request sent no media: model sizing could move
    it to a text-only model, and batch inference put it in a job."""
    ask = {"role": "user", "content": [image_url(url), {"type": "text", "text": "Total?"}]}
    rec = log_record(mistral_chat(ask), None, "InvokeModel")
    rec["modelId"] = PIXTRAL
    row = row_of(rec)
    assert row["media_sent"] == sent
    found = media_blocks.media_sent_by_row(pd.Series([row["user_text"]], dtype=object))
    assert [kind for kind, rows in found.items() if rows[0]] == [sent]
    if url.startswith("https:"):  # by reference: its JSON, not estimated
        assert row["user_text"] == (
            '{"image_url":{"url":"https://example.com/receipt.png"},"type":"image_url"}\nTotal?'
        )
        assert last_position(row) == 21  # its 81 characters / 4, rounded up


def test_an_image_url_a_tool_returned_marks_the_prompt_as_holding_an_image() -> None:
    """An image a Mistral tool message returned by URL is an image anywhere in the prompt:
    the entries of the messages before it chain the image flag (Anthropic's cached messages
    are not reused once an image is added), so they differ from those of the same exchange
    whose tool returned text; the tools and system entries do not change, and the image adds
    no tokens of its own (by reference: not estimated)."""

    def body(result: dict) -> dict:
        return mistral_chat(
            {"role": "system", "content": "Read receipts."},
            {"role": "user", "content": "Fetch receipt 7."},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "c1", "function": {"name": "fetch", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": [result]},
        )  # fmt: skip

    rows = []
    for result in (image_url("https://example.com/r7.png"), {"type": "text", "text": "r7"}):
        rec = log_record(body(result), None, "InvokeModel")
        rec["modelId"] = PIXTRAL
        rows.append(row_of(rec))
    image, text = rows
    assert (image["media_sent"], text["media_sent"]) == ("image", "")
    assert image["prefix_hashes"][0] == text["prefix_hashes"][0]  # the system prompt
    assert image["prefix_hashes"][1][1] != text["prefix_hashes"][1][1]  # the first turn
    assert image["prefix_hashes"][1][2] == text["prefix_hashes"][1][2]
    # the tool's turn: '{"image_url":{"url":"https://example.com/r7.png"},"type":"image_url"}',
    # 69 characters, 18 tokens, and none for the image
    assert image["prefix_hashes"][3][2] - image["prefix_hashes"][2][2] == 18


def content_document(*blocks: dict) -> dict:
    """An Anthropic document of a ``content`` source (text and image blocks), citable."""
    return {
        "type": "document",
        "source": {"type": "content", "content": [{"type": "text", "text": "Page 1"}, *blocks]},
        "citations": {"enabled": True},
    }


@pytest.mark.parametrize("place", ["turn", "tool_result"])
def test_an_image_inside_a_document_of_a_content_source_is_an_image(place) -> None:
    """Anthropic's content source holds text and image blocks: an image there is read as one
    in the turn is, a placeholder (1000x750: 1,000 tokens for Claude 3 Haiku) in place of its
    base64, in a turn or in a tool result. Its base64 was the turn's text (a 45 KB image
    ~15,000 tokens), and the request sent a document only."""
    data = png_base64(1000, 750)
    doc = content_document(anthropic_image(data))
    body = anthropic_ask(doc, QUESTION) if place == "turn" else anthropic_tool_result(doc)
    row = row_of(log_record(body, ANSWER, "InvokeModel"))
    assert row["media_sent"] == "image|document"
    shown, _ = media_blocks.placeholder("image", "image/png", data)
    assert shown.startswith("[[media image png 1000x750 ")
    assert data not in row["user_text"] and shown in row["user_text"]
    before = 0 if place == "turn" else row["prefix_hashes"][-2][2]  # the assistant's turn
    assert last_position(row) - before == estimate_tokens(row["user_text"]) + 1000


def test_only_a_real_placeholder_counts_as_media() -> None:
    text, _ = media_blocks.placeholder("image", "png", png_base64(4, 4))
    assert media_blocks.has_inline_media(f"Look:\n{text}\nWhat is it?")
    assert not media_blocks.has_inline_media("Our wiki writes [[media image x]] for pictures.")
    assert not media_blocks.has_inline_media(None)


def test_a_column_of_user_turns_is_searched_as_one_turn_is() -> None:
    """``media_sent_in`` (Arrow's search, over a part of ``user_text`` at a time) says of
    each turn, for media sent inline, what ``has_inline_media`` says of it."""
    import pyarrow as pa

    text, _ = media_blocks.placeholder("document", "pdf", base64.b64encode(b"%PDF").decode())
    turns = [
        f"{text}\nSummarise it.",
        "Our wiki writes [[media image x]] for pictures.",
        None,
        "",
        "[[media audio mp3 not base64 4 characters xxh3:0123456789abcdef]]",
    ]
    expected = [True, False, False, False, True]
    assert [media_blocks.has_inline_media(t) for t in turns] == expected
    column = pa.chunked_array([pa.array(turns[:2]), pa.array(turns[2:])])

    def inline(values) -> list[bool]:
        found = media_blocks.media_sent_in(values, by_reference=False)
        return media_blocks.any_media(found).tolist()

    assert inline(column) == expected
    assert inline(pa.array([None, None])) == [False, False]


APP_PROFILE = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/abcd1234efgh"
CLAUDE_37 = "anthropic.claude-3-7-sonnet-20250219-v1:0"


def test_an_image_sent_through_a_mapped_application_profile_is_estimated(tmp_path) -> None:
    """The image rule follows the model the row resolves to: an application profile that
    ``profile_map`` maps to Claude gets Claude's image tokens, as the bare and geo IDs do;
    its request hash still names the profile (the log alone decides it)."""
    import json

    from bedrock_finops.ingest import read_invocation_logs

    body = converse_ask(converse_media("image", "png", png_base64(1000, 750)), {"text": "Hi"})
    out = {"output": {"message": {"content": [{"text": "A square."}]}}}
    lines = []
    for i, model in enumerate((CLAUDE_37, "us." + CLAUDE_37, APP_PROFILE)):
        rec = log_record(body, out)
        rec.update(requestId=f"r{i}", modelId=model)
        lines.append(json.dumps(rec))
    (tmp_path / "a.json").write_text("\n".join(lines) + "\n")
    df = read_invocation_logs(
        tmp_path, workers=1, progress=False, lookup_profiles=False,
        profile_map={APP_PROFILE: CLAUDE_37},
    )  # fmt: skip
    df = df.set_index("request_id").sort_index()
    ends = [row["prefix_hashes"][-1]["tokens"] for _, row in df.iterrows()]
    text = df["user_text"].iloc[0]
    assert ends == [estimate_tokens(text) + 1000] * 3  # 750,000 px / 750
    assert df["request_hash"].iloc[0] == df["request_hash"].iloc[1] != df["request_hash"].iloc[2]


# headers Pillow's readers for other formats fail on with their own errors (a DDS pixel format
# it does not know: NotImplementedError; a damaged AVIF: RuntimeError; bytes its SPIDER reader
# takes: AttributeError), and a valid TIFF: Bedrock's models take none of these formats
NOT_BEDROCK_IMAGES = {
    "DDS": "RERTIHwAAAAPEAAAHgAAACgAAAB4AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAACAAAACAAAAAAAAAABgAAAAAAP8AAP8AAP8AAAAAAAAAABAAAAAAAAAAAP8A"
    "AAAAAAAAAAA=",
    "AVIF": "AAAAIGZ0eXBhdmlmAAAAAGF2aWZtaWYxbWlhZk1BMUIAAADrbWV0YQAAAAAAAAAhaGRscgAAAAAAAAAAcGlj"
    "dAAAAAAAAAAAAAAAAAAAAAAOcGl0bQAAAAAAAQAAAB6AbG9jAAAAAERrAAEAAQAAAAEAAAETAAAALAAAAChpaW5mAA"
    "AAAAABAAAAGmluZmUCAAAAAAEAAGF2MDFDb2xvcgAAAABqaXBycAAAAEtpcGNvAAAAFGlzcGUAAAAAAAAAKAAAAB4A"
    "AAAQcGl4aQAAAAADCAgIAAAADGF2MUOBAAwAAAAAE2NvbHJuY2x4AAEADQAGgAAAABdpcG1hAAAAAAAAAAEAAQQBAoME",
    "SPIDER": "AACAPwAA8EEAAPBBAAAAAAAAgD8AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACBCAADgQAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACMRAAAIEMAAAAAAAAAAAAAAAAAAAB/",
}


def _tiff_base64() -> str:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48)).save(buf, "TIFF")
    return base64.b64encode(buf.getvalue()).decode()


@pytest.mark.parametrize("kind", [*NOT_BEDROCK_IMAGES, "TIFF"])
def test_an_image_of_another_format_is_a_row_not_estimated(kind) -> None:
    """Only PNG, JPEG, GIF and WebP headers are read: an image of another format (or bytes one
    of Pillow's other readers fails on with an error of its own, which ended the whole run)
    is a placeholder without a size, and the record stays a row."""
    data = _tiff_base64() if kind == "TIFF" else NOT_BEDROCK_IMAGES[kind]
    assert media_blocks.image_size(base64.b64decode(data)) is None
    row = row_of(
        log_record(converse_ask(converse_media("image", "png", data), {"text": "Hi"}), None)
    )
    assert row["user_text"].startswith(f"[[media image png {len(base64.b64decode(data))} bytes ")
    assert last_position(row) == estimate_tokens(row["user_text"])


def test_media_sent_by_row_reads_what_each_user_turn_sent(tmp_path) -> None:
    """The kinds of media a row's user turn shows it sent, from the column in memory or from
    the file a row group at a time: placeholders (as :func:`has_inline_media` reads them: a
    user's own "[[media " is none) and blocks sent by reference, kept as their JSON."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from bedrock_finops.column_take import ParquetColumn

    image, _ = media_blocks.placeholder("image", "image/png", png_base64(64, 32))
    s3_video = {"video": {"format": "mp4", "source": {"s3Location": {"uri": "s3://b/v.mp4"}}}}
    url_image = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    question = {"type": "text", "text": "What is it?"}
    by_reference = row_of(
        log_record(
            {"messages": [{"role": "user", "content": [s3_video, {"text": "What happens?"}]}]},
            {"output": {"message": {"role": "assistant", "content": [{"text": "A goal."}]}}},
        )
    )["user_text"]
    anthropic_url = row_of(
        log_record(
            {
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": 5,
                "messages": [{"role": "user", "content": [url_image, question]}],
            },
            {"type": "message", "content": [{"type": "text", "text": "A cat."}]},
            op="InvokeModel",
        )
    )["user_text"]
    texts = [
        f"{image}\nWhich category?",
        None,
        'see [[media image of my cat]] and {"type": "image"}',
        "[[media document pdf 3009 bytes xxh3:0123456789abcdef]] and "
        "[[media audio wav not base64 12 characters xxh3:fedcba9876543210]]",
        by_reference,
        anthropic_url,
    ]
    expected = {
        "image": [True, False, False, False, False, True],
        "document": [False, False, False, True, False, False],
        "video": [False, False, False, False, True, False],
        "audio": [False, False, False, True, False, False],
    }
    in_memory = pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([texts[:1], texts[1:]])))
    path = tmp_path / "turns.parquet"
    pq.write_table(pa.table({"user_text": texts}), path, row_group_size=4)
    for column in (in_memory, ParquetColumn(path, "user_text")):
        found = media_blocks.media_sent_by_row(column)
        assert {kind: flags.tolist() for kind, flags in found.items()} == expected


def converse_tool_result(*blocks: dict) -> dict:
    """A Converse request whose last user turn is a tool's result holding ``blocks``."""
    return {
        "messages": [
            {"role": "user", "content": [{"text": "Fetch the scan."}]},
            {"role": "assistant", "content": [
                {"toolUse": {"toolUseId": "t1", "name": "fetch", "input": {}}}]},
            {"role": "user", "content": [{"toolResult": {"toolUseId": "t1",
                                                         "content": list(blocks)}}]},
        ]
    }  # fmt: skip


def anthropic_tool_result(*blocks: dict) -> dict:
    """An Anthropic request whose last user turn is a ``tool_result`` holding ``blocks``."""
    return {
        **anthropic_ask(QUESTION),
        "messages": [
            {"role": "user", "content": [QUESTION]},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "t1", "name": "fetch", "input": {}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": list(blocks)}]},
        ],
    }  # fmt: skip


S3_VIDEO = {"video": {"format": "mp4", "source": {"s3Location": {"uri": "s3://b/v.mp4"}}}}
S3_PDF = {"document": {"format": "pdf", "name": "s", "source": {"s3Location": {"uri": "s3://b/s"}}}}
URL_IMAGE = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
FILE_PDF = {"type": "document", "source": {"type": "file", "file_id": "file_011CNha8iCJc"}}


@pytest.mark.parametrize(
    ("body", "sent"),
    [
        (converse_tool_result({"image": {"format": "png", "source": {
            "s3Location": {"uri": "s3://b/k.png"}}}}), "image"),
        (converse_tool_result({"text": "Two files:"}, S3_PDF, S3_VIDEO), "document|video"),
        (converse_tool_result({"document": {"format": "txt", "name": "n", "source": {
            "text": "Refunds within 30 days."}}}), "document"),
        (anthropic_tool_result(URL_IMAGE), "image"),
        (anthropic_tool_result({"type": "text", "text": "The scan:"}, FILE_PDF), "document"),
        # an image by URL inside a document of a content source, in a turn or a tool result
        (anthropic_ask(content_document(URL_IMAGE), QUESTION), "image|document"),
        (anthropic_tool_result(content_document(URL_IMAGE)), "image|document"),
        # text and JSON a tool returns are neither, even when they spell a media block
        (converse_tool_result({"text": '{"image":{"format":"png","source":{}}}'}), ""),
        (converse_tool_result({"json": {"image": {"format": "png", "source": {}}}}), ""),
        (anthropic_tool_result({"type": "text", "text": '{"type":"image"}'}), ""),
    ],
)  # fmt: skip
def test_media_sent_by_reference_inside_a_block_is_found_in_the_user_turn(body, sent) -> None:
    """A tool result is its user turn's line of JSON, and a block it returned by reference
    (an S3 location, a URL, a file, a text source) stays in it as the block's JSON, as an
    image by URL stays in the document that holds it: the search of user turns (tables that
    predate ``media_sent``, batch records) finds what the ingest read from the body's
    blocks, where it missed every one of them."""
    op = "InvokeModel" if "anthropic_version" in body else "Converse"
    row = row_of(log_record(body, None, op))
    assert row["media_sent"] == sent
    found = media_blocks.media_sent_by_row(pd.Series([row["user_text"]], dtype=object))
    assert "|".join(kind for kind, rows in found.items() if rows[0]) == sent


def test_media_sent_by_row_reads_a_column_of_none_only(tmp_path) -> None:
    """A user_text column that holds no text at all (an older or redacted table) is typed
    null in Arrow, which Arrow's substring search does not take: no row sent media."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from bedrock_finops.column_take import ParquetColumn

    path = tmp_path / "turns.parquet"
    pq.write_table(pa.table({"user_text": pa.nulls(3)}), path)
    for column in (pd.Series([None, None, None]), ParquetColumn(path, "user_text")):
        found = media_blocks.media_sent_by_row(column)
        assert {kind: flags.tolist() for kind, flags in found.items()} == {
            kind: [False, False, False] for kind in media_blocks.MEDIA_KINDS
        }


S3_PNG = {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://bucket/k.png"}}}}
PDF = base64.b64encode(b"%PDF-1.7 x").decode()


@pytest.mark.parametrize(
    ("body", "op", "sent"),
    [
        (converse_ask({"text": "Summarise."}), "Converse", ""),
        (converse_ask(converse_media("image", "png", png_base64(20, 10)), {"text": "Hi"}),
         "Converse", "image"),
        (anthropic_ask(
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                            "data": PDF}},
            anthropic_image(png_base64(20, 10)), QUESTION,
        ), "InvokeModel", "image|document"),
        (converse_ask({"video": {"format": "mp4", "source": {"s3Location": {"uri": "s3://b/v"}}}}),
         "Converse", "video"),
        (converse_ask(S3_PNG, {"text": "And this one?"}), "Converse", "image"),
        (converse_ask({"toolResult": {"toolUseId": "t1", "content": [
            converse_media("image", "png", png_base64(20, 10))]}}), "Converse", "image"),
        (llama_vision(png_base64(20, 10)), "InvokeModel", "image"),
        # a user who pastes the JSON of an image block sends text, not an image
        (converse_ask({"text": '{"image":{"format":"png","source":{"s3Location":{}}}}'}),
         "Converse", ""),
    ],
)  # fmt: skip
def test_media_sent_names_every_kind_the_request_sent(body, op, sent) -> None:
    assert row_of(log_record(body, None, op))["media_sent"] == sent


def test_media_sent_reads_every_turn_not_only_the_last() -> None:
    """A follow-up question sends the first turn's image again: the request sent an image
    though its last user turn (``user_text``) is text, which a search of it would miss."""
    body = {
        "messages": [
            {"role": "user", "content": [converse_media("image", "png", png_base64(64, 48))]},
            {"role": "assistant", "content": [{"text": "A red square."}]},
            {"role": "user", "content": [{"text": "What colour is it?"}]},
        ]
    }
    row = row_of(log_record(body, None))
    assert (row["user_text"], row["media_sent"]) == ("What colour is it?", "image")
    turns = pd.Series([row["user_text"]])
    assert not media_blocks.any_media(media_blocks.media_sent_by_row(turns))[0]


def test_media_sent_is_null_where_no_request_body_was_read() -> None:
    rec = log_record(None, ANSWER, "InvokeModel")
    rec["input"] = {"inputBodyS3Path": "s3://b/data/r1.json", "inputTokenCount": 10}
    row = row_of(rec)
    assert (row["media_sent"], row["user_text"], row["body_in_s3"]) == (None, None, True)


def test_media_kinds_in_reads_whole_names_and_nulls_as_none() -> None:
    column = pd.Series(["image|document", "", None, "video", "audio|image"], dtype=object)
    found = media_blocks.media_kinds_in(column)
    assert {k: v.tolist() for k, v in found.items()} == {
        "image": [True, False, False, False, True],
        "document": [True, False, False, False, False],
        "video": [False, False, False, True, False],
        "audio": [False, False, False, False, True],
    }
