"""Quality gate: stratified samples, evaluation datasets, results read back, live replay."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import boto3
import botocore.credentials
import botocore.tokens
import pandas as pd
import pyarrow.parquet as pq
import pytest
from ascii_locale import run_ascii
from botocore.stub import Stubber
from usage_builders import make_usage, prompts_frame, router_and_chat_usage, set_user_turns

from bedrock_finops import cli, quality_gate, replay, schema
from bedrock_finops.column_take import ParquetColumn
from bedrock_finops.pricing import PriceCatalog
from bedrock_finops.strategies import model_sizing as ms
from bedrock_finops.strategies import model_sizing_findings as ms_findings
from bedrock_finops.strategies import model_sizing_params as ms_params
from bedrock_finops.strategies import model_sizing_tables as ms_tables

ROUTER_TEXT = "Classify the ticket. Reply with exactly one label: billing, bug, other."
CHAT_TEXT = "You are the support assistant. Help customers with questions about billing."
HAIKU35_ID = "anthropic.claude-3-5-haiku-20241022-v1:0"


def _usage() -> pd.DataFrame:
    return router_and_chat_usage()


@pytest.fixture(scope="module")
def cat() -> PriceCatalog:
    return PriceCatalog.load("current")


@pytest.fixture(scope="module")
def prompts() -> pd.DataFrame:
    return prompts_frame({"h-router": ROUTER_TEXT, "h-chat": CHAT_TEXT})


@pytest.fixture(scope="module")
def sizing(cat, prompts):
    return ms.plan(_usage(), cat, prompts=prompts)


def _router_id(sizing) -> str:
    return sizing.segments.loc[sizing.segments["app"] == "router", "segment"].iloc[0]


def write_sample_manifest(folder, request_ids: dict[str, list[str]]) -> None:
    """The manifest.json an eval sample writes beside its datasets, reduced to what the gate
    reads: the requests it wrote per segment."""
    segments = [{"segment": seg, "request_ids": ids} for seg, ids in request_ids.items()]
    doc = {"tool": "bedrock-finops", "kind": "eval-sample", "segments": segments}
    (folder / "manifest.json").write_text(json.dumps(doc))


def _write_results(path, sizing, candidate_score: float, ids=None, segment=None) -> None:
    """Scores of the router's 10 requests (or ``ids``), beside a sample that wrote them."""
    seg = segment or _router_id(sizing)
    ids = ids or [f"router-{i}" for i in range(10)]
    pd.DataFrame(
        {
            "request_id": ids,
            "segment": seg,
            "current_score": 1.0,
            "candidate_score": candidate_score,
        }
    ).to_csv(path, index=False)
    write_sample_manifest(path.parent, {seg: ids})


# ---- sampling ----------------------------------------------------------------------------------


def test_stratified_sample_covers_every_stratum():
    u = make_usage([dict(n=48, app="a", model="anthropic.claude-opus-4", output_tokens=1)])
    u["output_tokens"] = pd.array([i % 3 + 1 for i in range(48)], dtype=u["output_tokens"].dtype)
    strata = quality_gate.strata(u)
    assert strata.nunique() == 12 and strata.value_counts().eq(4).all()
    picked = quality_gate.stratified_sample(u, 12, seed=3)
    assert len(picked) == 12
    assert picked["stratum"].nunique() == 12  # one from each (hour block x length) stratum
    again = quality_gate.stratified_sample(u, 12, seed=3)
    assert picked["request_id"].tolist() == again["request_id"].tolist()
    assert len(quality_gate.stratified_sample(u, 100, seed=3)) == 48  # small segment: all


def test_write_eval_sample_dataset_and_manifest(sizing, prompts, tmp_path):
    u = _usage()
    set_user_turns(u, u["request_id"] == "router-3", None)
    recs = ms_tables.recommended_with_ids(sizing)
    manifest = quality_gate.write_eval_sample(u, prompts, recs, tmp_path, per_segment=50, seed=1)
    router = next(e for e in manifest["segments"] if e["app"] == "router")
    assert router["candidate_model"] == "anthropic.claude-3-5-haiku"
    assert router["candidate_model_ids"] == {"none": HAIKU35_ID}
    assert (router["requests_in_segment"], router["usable_requests"]) == (10, 9)
    assert router["sampled"] == 9 and router["written"] == 9
    assert router["skipped"] == {"no user_text in the logs for this request": 1}
    lines = (tmp_path / router["file"]).read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 9
    assert set(records[0]) == {"prompt", "category"}
    assert records[0]["category"] == router["segment"]
    assert records[0]["prompt"] == ROUTER_TEXT + "\n\nI was charged twice, write to me at [EMAIL]"
    assert "router-3" not in router["request_ids"]
    on_disk = json.loads((tmp_path / "manifest.json").read_text())
    assert on_disk["segments"][0]["request_ids"] == manifest["segments"][0]["request_ids"]


def test_an_eval_sample_manifest_that_cannot_be_written_leaves_the_one_before(
    sizing, prompts, tmp_path, monkeypatch
):
    """A full disk part way through the manifest's write: the error names manifest.json and
    the earlier sample's manifest stays whole; it was left cut short, no JSON."""
    recs = ms_tables.recommended_with_ids(sizing)
    earlier = quality_gate.write_eval_sample(_usage(), prompts, recs, tmp_path, per_segment=5)
    real_write_text = Path.write_text

    def write_text(self: Path, text: str, *args, **kwargs) -> int:
        if self.name in ("manifest.json", ".manifest.json.partial"):
            real_write_text(self, text[:100], *args, **kwargs)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write_text(self, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)
    with pytest.raises(OSError) as raised:
        quality_gate.write_eval_sample(_usage(), prompts, recs, tmp_path, per_segment=5)
    assert raised.value.filename == str(tmp_path / "manifest.json")
    assert json.loads((tmp_path / "manifest.json").read_text()) == earlier
    assert not (tmp_path / ".manifest.json.partial").exists()


# the user turns the usage table keeps for media sent by reference: a Converse image by S3
# location and an Anthropic image by URL, each as the block's canonical JSON, then the question
S3_IMAGE_TURN = (
    '{"image":{"format":"png","source":{"s3Location":{"uri":"s3://b/r.png"}}}}\nWhat is it?'
)
URL_IMAGE_TURN = (
    '{"source":{"type":"url","url":"https://example.com/r.png"},"type":"image"}\nWhat is it?'
)
INLINE_IMAGE_TURN = "[[media image png 1 bytes xxh3:0123456789abcdef]]\nWhat is it?"
ROUTER_TURN = "I was charged twice, write to me at jo@example.com"
JSON_TURN = '{"image":"cat.png","question":"why was I charged twice?"}'  # the user's own JSON


def _usage_with_turns_not_sent_as_text() -> pd.DataFrame:
    """The router's 10 requests: 2 sent an image by reference, 1 inline, 2 were logged blank
    ("" and white space), 1 not at all; 4 are text, one of them the user's own JSON."""
    u = _usage()
    turns = [
        S3_IMAGE_TURN, URL_IMAGE_TURN, INLINE_IMAGE_TURN, "", " \n\t", None,
        ROUTER_TURN, ROUTER_TURN, JSON_TURN, ROUTER_TURN,
    ]  # fmt: skip
    for i, turn in enumerate(turns):
        set_user_turns(u, u["request_id"] == f"router-{i}", turn)
    return u


SENT_MEDIA = (
    "the user turn sent images, documents, video or audio, kept only as placeholders or, sent "
    "by reference, as the block's JSON"
)
LOGGED_BLANK = (
    "the user turn was logged empty or white space only, which Bedrock refuses as a text block"
)
NOT_LOGGED = "no user_text in the logs for this request"
SKIPPED_ROUTER = {SENT_MEDIA: 3, LOGGED_BLANK: 2, NOT_LOGGED: 1}


def test_the_sample_leaves_out_turns_not_sent_as_text_as_batch_inference_does(
    sizing, prompts, tmp_path
):
    """A turn that sent an image by reference holds the block's JSON, which a dataset line
    would send the candidate as text; one logged blank is a text block Bedrock refuses. Both
    are left out and counted, as media sent inline and a turn not logged are; the rest are
    written as before, a user's own JSON among them."""
    u = _usage_with_turns_not_sent_as_text()
    recs = ms_tables.recommended_with_ids(sizing)
    recs = recs[recs["app"] == "router"]
    manifest = quality_gate.write_eval_sample(u, prompts, recs, tmp_path, per_segment=50)
    (router,) = manifest["segments"]
    assert (router["usable_requests"], router["sampled"], router["written"]) == (4, 4, 4)
    assert router["skipped"] == SKIPPED_ROUTER
    assert router["request_ids"] == ["router-6", "router-7", "router-8", "router-9"]
    prompts_written = [
        json.loads(line)["prompt"] for line in (tmp_path / router["file"]).read_text().splitlines()
    ]
    ordinary = ROUTER_TEXT + "\n\nI was charged twice, write to me at [EMAIL]"
    assert prompts_written == [ordinary, ordinary, f"{ROUTER_TEXT}\n\n{JSON_TURN}", ordinary]


def _router_of_60_with_20_not_sent_as_text() -> pd.DataFrame:
    """The router's segment with 60 requests: 10 sent an image (inline or by reference), 6
    were logged blank, 4 not at all; the 40 others are text."""
    u = make_usage([dict(_usage().iloc[0][["app", "model", "system_hash"]], n=60)])
    cut = [INLINE_IMAGE_TURN, S3_IMAGE_TURN] * 5 + ["", " \n\t"] * 3 + [None] * 4
    turns = [cut[i // 3] if i % 3 == 0 and i // 3 < len(cut) else ROUTER_TURN for i in range(60)]
    set_user_turns(u, u.index, pd.array(turns, dtype=u["user_text"].dtype))
    return u


def test_the_draw_is_of_requests_that_can_be_sent_and_the_others_are_counted(
    sizing, prompts, tmp_path
):
    """--per-segment 30 of a segment of 60 requests, 20 of which cannot be sent: it drew 30
    from all 60 and only then left those out, writing 20 of them (the gate then decided on 20).
    The draw is of the 40 that can be sent, so 30 are written; the 20 left out are counted
    per reason over the segment, and the same seed draws the same requests."""
    u = _router_of_60_with_20_not_sent_as_text()
    recs = ms_tables.recommended_with_ids(sizing)
    recs = recs[recs["app"] == "router"]
    manifest = quality_gate.write_eval_sample(u, prompts, recs, tmp_path, per_segment=30, seed=5)
    (router,) = manifest["segments"]
    assert router["segment"] == _router_id(sizing)
    assert (router["requests_in_segment"], router["usable_requests"]) == (60, 40)
    assert (router["sampled"], router["written"], len(router["request_ids"])) == (30, 30, 30)
    assert router["skipped"] == {SENT_MEDIA: 10, LOGGED_BLANK: 6, NOT_LOGGED: 4}
    turn_of = dict(zip(u["request_id"], u["user_text"], strict=True))
    assert {turn_of[rid] for rid in router["request_ids"]} == {ROUTER_TURN}
    assert sum(router["strata"].values()) == 30
    again = quality_gate.write_eval_sample(u, prompts, recs, tmp_path, per_segment=30, seed=5)
    assert again["segments"][0]["request_ids"] == router["request_ids"]
    # the replay calls every request written, no fewer
    plan = replay.replay_plan(manifest, u, prompts)
    assert plan["request_id"].tolist() == router["request_ids"]
    # fewer that can be sent than asked for: all 40 are written
    every = quality_gate.write_eval_sample(u, prompts, recs, tmp_path, per_segment=50)
    assert (every["segments"][0]["sampled"], every["segments"][0]["written"]) == (40, 40)


def test_the_turns_are_searched_a_part_at_a_time_with_the_same_draw(
    sizing, prompts, tmp_path, monkeypatch
):
    """The segment's turns searched from usage.parquet a row group at a time, or in memory in
    blocks smaller than the table, give the same sample as one search."""
    u = _router_of_60_with_20_not_sent_as_text()
    recs = ms_tables.recommended_with_ids(sizing)
    recs = recs[recs["app"] == "router"]
    whole = quality_gate.write_eval_sample(u, prompts, recs, tmp_path / "a", per_segment=30)
    pq.write_table(schema.to_arrow(u), tmp_path / "usage.parquet", row_group_size=7)
    lean = schema.read_usage(tmp_path / "usage.parquet", user_text=False)
    column = ParquetColumn(tmp_path / "usage.parquet", "user_text")
    assert len(column.starts) == 10  # 9 row groups
    read = quality_gate.write_eval_sample(
        lean, prompts, recs, tmp_path / "b", per_segment=30, user_text=column
    )
    monkeypatch.setattr(quality_gate, "TURN_BLOCK_ROWS", 11)
    blocks = quality_gate.write_eval_sample(u, prompts, recs, tmp_path / "c", per_segment=30)
    for other in (read, blocks):
        (a,), (b,) = whole["segments"], other["segments"]
        assert (b["request_ids"], b["skipped"]) == (a["request_ids"], a["skipped"])


def test_a_request_whose_template_text_was_not_kept_cannot_be_sent():
    """prompt_parts's rules for many requests at once: the turn's problem first, then a
    template whose text prompts.parquet does not keep."""
    rows = pd.DataFrame({"system_hash": pd.array(["h-kept", "h-gone", "h-gone", None])})
    turns = ["", "", NOT_LOGGED, ""]
    problems = quality_gate.send_problems(rows, turns, {"h-kept": "text"})
    assert problems.tolist() == ["", quality_gate.NO_TEMPLATE_TEXT, NOT_LOGGED, ""]


def test_the_skip_reasons_are_those_batch_inference_counts():
    """One detection for both: the turns the sample leaves out are those a batch record
    could not carry (no text, or media sent inline or by reference)."""
    from bedrock_finops.strategies import batch_inference as bi

    u = _usage_with_turns_not_sent_as_text()
    problems = quality_gate.user_turn_problems(u["user_text"])
    unlogged, media = bi._user_turns_not_rebuildable(u, None)
    assert [bool(p) for p in problems] == (unlogged | media).tolist()
    text = [""] * 8  # the router's 4 turns of text and the chat's 4
    assert problems == [SENT_MEDIA] * 3 + [LOGGED_BLANK] * 2 + [NOT_LOGGED] + text


def test_the_replay_leaves_out_what_the_sample_would_and_builds_the_same_prompts(
    sizing, prompts, tmp_path
):
    """A manifest an older version wrote may list requests whose turns sent an image by
    reference or were logged blank: the replay sends none of them, from the table in memory
    or from the file, and the others as their dataset lines."""
    u = _usage_with_turns_not_sent_as_text()
    seg = _router_id(sizing)
    older = {
        "segments": [
            {
                "segment": seg,
                "candidate_model": "anthropic.claude-3-5-haiku",
                "request_ids": ["router-0", "router-1", "router-3", "router-4", "router-8",
                                "router-9"],
            }
        ]
    }  # fmt: skip
    plan = replay.replay_plan(older, u, prompts)
    assert plan["request_id"].tolist() == ["router-8", "router-9"]
    assert plan["user"].tolist() == [JSON_TURN, ROUTER_TURN]
    assert plan["system"].tolist() == [ROUTER_TEXT, ROUTER_TEXT]
    pq.write_table(schema.to_arrow(u), tmp_path / "usage.parquet")
    lean = schema.read_usage(tmp_path / "usage.parquet", user_text=False)
    column = ParquetColumn(tmp_path / "usage.parquet", "user_text")
    pd.testing.assert_frame_equal(replay.replay_plan(older, lean, prompts, user_text=column), plan)


# ---- results read back -------------------------------------------------------------------------


def test_results_missing_columns(tmp_path):
    path = tmp_path / "r.csv"
    pd.DataFrame({"request_id": ["router-0"], "segment": ["x"], "score": [1]}).to_csv(path)
    with pytest.raises(ValueError, match=r"lack columns \['current_score', 'candidate_score'\]"):
        quality_gate.read_eval_results(path, _usage())


def test_results_unknown_request_ids(sizing, tmp_path):
    path = tmp_path / "r.csv"
    _write_results(path, sizing, 0.95, ids=["router-0", "nope-1", "nope-2"])
    with pytest.raises(ValueError, match=r"2 request_id\(s\) are not in this run.*nope-1"):
        quality_gate.read_eval_results(path, _usage())


def test_results_wrong_segment_and_bad_scores(sizing, tmp_path):
    path = tmp_path / "r.csv"
    _write_results(path, sizing, 0.95, segment="chat:claude-sonnet-4:0000")
    with pytest.raises(ValueError, match="name a segment their request is not in"):
        quality_gate.read_eval_results(path, _usage())
    _write_results(path, sizing, float("nan"))
    with pytest.raises(ValueError, match="non-numeric or empty candidate_score"):
        quality_gate.read_eval_results(path, _usage())


def test_evaluate_ratio_of_means():
    results = pd.DataFrame(
        {
            "request_id": ["a", "b", "c", "d"],
            "segment": ["s1", "s1", "s2", "s2"],
            "current_score": [0.8, 1.0, 1.0, 1.0],
            "candidate_score": [0.8, 0.82, 0.9, 0.7],
        }
    )
    out = quality_gate.evaluate(results, 0.9, {"s1": 2, "s2": 2}).set_index("segment")
    assert out.loc["s1", "ratio"] == pytest.approx(0.81 / 0.9)  # 0.9 exactly: passes
    assert bool(out.loc["s1", "passed"])
    assert out.loc["s2", "ratio"] == pytest.approx(0.8)
    assert not bool(out.loc["s2", "passed"])


def test_gate_accepts_when_candidate_reaches_90pct(cat, prompts, sizing, tmp_path):
    path = tmp_path / "pass.csv"
    _write_results(path, sizing, 0.95)
    plan = ms.plan(_usage(), cat, prompts=prompts, eval_results=str(path))
    router = plan.segments[plan.segments["app"] == "router"].iloc[0]
    assert router["status"] == ms_params.ACCEPTED
    assert "95.0%" in router["reason"]
    f = ms_findings.to_findings(plan)
    assert f.confidence == "medium"  # chat is still pending evaluation
    assert f.savings_usd == pytest.approx(sizing.segments["savings_usd"].sum())
    assert len(ms_findings.to_effects(plan)) == 14


def test_gate_rejects_below_90pct(cat, prompts, sizing, tmp_path):
    path = tmp_path / "fail.csv"
    _write_results(path, sizing, 0.85)
    plan = ms.plan(_usage(), cat, prompts=prompts, eval_results=str(path))
    router = plan.segments[plan.segments["app"] == "router"].iloc[0]
    assert router["status"] == ms_params.REJECTED
    assert router["savings_usd"] == 0 and router["projected_usd"] == router["current_usd"]
    before = sizing.segments.set_index("app").loc["router", "savings_usd"]
    assert router["potential_savings_usd"] == pytest.approx(before)
    f = ms_findings.to_findings(plan)
    chat_saving = sizing.segments.set_index("app").loc["chat", "savings_usd"]
    assert f.savings_usd == pytest.approx(chat_saving)
    eff = ms_findings.to_effects(plan)
    assert not eff["request_id"].str.startswith("router").any()
    routes = ms_tables.routing_table(plan).set_index("app")
    assert routes.loc["router", "recommended_model"] == "anthropic.claude-opus-4"
    assert routes.loc["router", "status"] == ms_params.REJECTED


# ---- live replay -------------------------------------------------------------------------------


def _converse_response(text: str, out_tokens: int = 1) -> dict:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 520, "outputTokens": out_tokens, "totalTokens": 520 + out_tokens},
        "metrics": {"latencyMs": 240},
    }


@pytest.fixture
def runtime_client(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return boto3.client("bedrock-runtime", region_name="us-east-1")


def _router_manifest(sizing, prompts, tmp_path, n=3):
    recs = ms_tables.recommended_with_ids(sizing)
    recs = recs[recs["app"] == "router"]
    return quality_gate.write_eval_sample(_usage(), prompts, recs, tmp_path, per_segment=n)


def test_live_replay_with_stubbed_converse(cat, prompts, sizing, tmp_path, runtime_client):
    manifest = _router_manifest(sizing, prompts, tmp_path)
    ids = manifest["segments"][0]["request_ids"]
    user = "I was charged twice, write to me at jo@example.com"  # replay sends the logged text
    stub = Stubber(runtime_client)
    for _rid, candidate_answer in zip(ids, ["billing", "Billing.", "bug"], strict=True):
        for model_id, answer in (
            ("anthropic.claude-opus-4", "billing"),
            (HAIKU35_ID, candidate_answer),
        ):
            expected = {
                "modelId": model_id,
                "system": [{"text": ROUTER_TEXT}],
                "messages": [{"role": "user", "content": [{"text": user}]}],
                "inferenceConfig": {"maxTokens": 5, "temperature": 0.0},
            }
            stub.add_response("converse", _converse_response(answer), expected)
    lines: list[str] = []
    with stub:
        code = replay.run_live(
            manifest,
            _usage(),
            prompts,
            cat,
            tmp_path,
            apply=True,
            client_for=lambda region: runtime_client,
            echo=lines.append,
        )
    stub.assert_no_pending_responses()
    assert code == 0
    results = quality_gate.read_eval_results(tmp_path / "eval_results.csv", _usage())
    assert results["request_id"].tolist() == ids
    assert results["candidate_score"].tolist() == [1.0, 1.0, 0.0]
    assert results["current_score"].tolist() == [1.0, 1.0, 1.0]
    verdict = quality_gate.evaluate(results).iloc[0]
    assert verdict["ratio"] == pytest.approx(2 / 3) and not bool(verdict["passed"])
    assert len((tmp_path / "responses.jsonl").read_text().splitlines()) == 3


def test_credentials_lost_mid_replay_keep_what_was_paid_for(cat, prompts, sizing, tmp_path):
    """An SSO login that expires on the 4th call (the 2nd request's candidate): the first
    request's scores are written, the rest are not called, and the credential error is raised
    for the command's one line."""
    from botocore.exceptions import UnauthorizedSSOTokenError

    manifest = _router_manifest(sizing, prompts, tmp_path)
    ids = manifest["segments"][0]["request_ids"]
    calls = []

    class ExpiringClient:
        def converse(self, **kw):
            calls.append(kw["modelId"])
            if len(calls) == 4:
                raise UnauthorizedSSOTokenError()
            return _converse_response("billing")

    lines: list[str] = []
    with pytest.raises(UnauthorizedSSOTokenError):
        replay.run_live(
            manifest, _usage(), prompts, cat, tmp_path, apply=True,
            client_for=lambda region: ExpiringClient(), echo=lines.append,
        )  # fmt: skip
    assert len(calls) == 4  # nothing called after the error
    results = quality_gate.read_eval_results(tmp_path / "eval_results.csv", _usage())
    assert results["request_id"].tolist() == ids[:1]
    assert len((tmp_path / "responses.jsonl").read_text().splitlines()) == 1
    assert lines[-2:] == [
        f"wrote 1 scored requests to {tmp_path / 'eval_results.csv'}",
        "stopped after 1 of 3 requests: the credentials stopped working; run again once they "
        "work to score the rest",
    ]


@pytest.mark.parametrize("fail_at", [1, 3])
def test_keys_aws_refuses_stop_the_replay_with_one_error(cat, prompts, sizing, tmp_path, fail_at):
    """An expired session token (ExpiredTokenException, a ClientError) fails every call alike:
    at the first call the command's error is raised with nothing written; on the 3rd (the 2nd
    request's current model) the first request's scores are written first. Another request's
    own error (a throttled call) is noted and the replay goes on."""
    from botocore.exceptions import ClientError

    from bedrock_finops.sources.source_errors import SourceError

    manifest = _router_manifest(sizing, prompts, tmp_path)
    calls = []

    class RefusingClient:
        def converse(self, **kw):
            calls.append(kw["modelId"])
            if len(calls) == fail_at:
                raise ClientError(
                    {"Error": {"Code": "ExpiredTokenException",
                               "Message": "The security token included in the request is expired"}},
                    "Converse",
                )  # fmt: skip
            return _converse_response("billing")

    lines: list[str] = []
    with pytest.raises(SourceError) as err:
        replay.run_live(
            manifest, _usage(), prompts, cat, tmp_path, apply=True,
            client_for=lambda region: RefusingClient(), echo=lines.append,
        )  # fmt: skip
    assert str(err.value) == (
        "calling Bedrock (Converse) failed: the credentials have expired or their session token "
        "is invalid (ExpiredTokenException: The security token included in the request is "
        "expired). Fix: refresh them (e.g. aws sso login, or assume the role again) and run again"
    )
    assert len(calls) == fail_at
    if fail_at == 1:
        assert not (tmp_path / "eval_results.csv").exists()
    else:
        results = quality_gate.read_eval_results(tmp_path / "eval_results.csv", _usage())
        assert len(results) == 1
        assert lines[-1].startswith("stopped after 1 of 3 requests")


def test_a_requests_own_error_is_noted_and_the_replay_goes_on(cat, prompts, sizing, tmp_path):
    from botocore.exceptions import ClientError

    manifest = _router_manifest(sizing, prompts, tmp_path)
    calls = []

    class ThrottledOnce:
        def converse(self, **kw):
            calls.append(kw["modelId"])
            if len(calls) == 1:
                raise ClientError(
                    {"Error": {"Code": "ThrottlingException", "Message": "Too many requests"}},
                    "Converse",
                )
            return _converse_response("billing")

    code = replay.run_live(
        manifest, _usage(), prompts, cat, tmp_path, apply=True,
        client_for=lambda region: ThrottledOnce(), echo=lambda _: None,
    )  # fmt: skip
    assert code == 1
    assert len(calls) == 5  # the first request's current call failed; the two others ran whole
    assert len(quality_gate.read_eval_results(tmp_path / "eval_results.csv", _usage())) == 2
    errors = json.loads((tmp_path / "replay_errors.json").read_text())
    assert [e["request_id"] for e in errors] == manifest["segments"][0]["request_ids"][:1]


def _client_error(code: str, message: str):
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": message}}, "Converse")


class _Scripted:
    """A Converse client: the current model answers "billing"; the candidate's n-th call
    raises ``candidate_errors[n]`` when there is one, else answers "billing"."""

    def __init__(self, candidate_errors: dict[int, Exception]):
        self.candidate_errors, self.candidate_calls = candidate_errors, 0

    def converse(self, **kw):
        if kw["modelId"] == HAIKU35_ID:
            self.candidate_calls += 1
            if self.candidate_calls in self.candidate_errors:
                raise self.candidate_errors[self.candidate_calls]
        return _converse_response("billing")


def test_a_candidate_that_fails_most_requests_is_rejected_not_accepted(
    cat, prompts, sizing, tmp_path
):
    """The candidate refuses 9 of the 10 sampled requests (ValidationException) and agrees on
    the last: each refusal is a result scored 0, so it reaches 1/10 = 10% of the current
    quality on 10 of 10 requests and is rejected. The refusals were dropped, and the gate
    accepted it at 100% on the one request left."""
    manifest = _router_manifest(sizing, prompts, tmp_path, n=10)
    too_long = _client_error("ValidationException", "Input is too long for requested model.")
    client = _Scripted({i: too_long for i in range(1, 10)})
    lines: list[str] = []
    code = replay.run_live(
        manifest, _usage(), prompts, cat, tmp_path, apply=True,
        client_for=lambda region: client, echo=lines.append,
    )  # fmt: skip
    assert code == 1
    results = quality_gate.read_eval_results(tmp_path / "eval_results.csv", _usage())
    assert results["candidate_score"].tolist() == [0.0] * 9 + [1.0]
    assert results["candidate_error"].notna().sum() == 9
    errors = json.loads((tmp_path / "replay_errors.json").read_text())
    assert {(e["model"], e["outcome"]) for e in errors} == {
        ("candidate", "candidate error: scored 0")
    }
    assert lines[-2:] == [
        f"wrote 10 scored requests to {tmp_path / 'eval_results.csv'} (9 of them candidate "
        "errors, scored 0)",
        "9 request(s) failed: 9 candidate error(s) scored 0, 0 not scored (throttled or not "
        f"reached); see {tmp_path / 'replay_errors.json'}",
    ]
    plan = ms.plan(_usage(), cat, prompts=prompts, eval_results=str(tmp_path / "eval_results.csv"))
    router = plan.segments[plan.segments["app"] == "router"].iloc[0]
    assert router["status"] == ms_params.REJECTED
    assert plan.quality.iloc[0]["verdict"] == (
        "candidate reaches 10.0% of current quality on 10 of 10 sampled requests, 9 of them "
        "candidate errors scored 0 (< 90%): reject"
    )


def test_throttled_requests_are_not_scored_and_too_few_scores_decide_nothing(
    cat, prompts, sizing, tmp_path
):
    """Of 3 sampled requests the candidate refuses one (scored 0), is throttled on one (not
    scored: no evidence either way) and agrees on one: 2 of 3 scored is under the 80% a
    segment needs to be decided, so it stays pending evaluation, saying why."""
    manifest = _router_manifest(sizing, prompts, tmp_path, n=3)
    ids = manifest["segments"][0]["request_ids"]
    client = _Scripted(
        {
            1: _client_error("ValidationException", "Input is too long for requested model."),
            2: _client_error("ThrottlingException", "Too many requests"),
        }
    )
    code = replay.run_live(
        manifest, _usage(), prompts, cat, tmp_path, apply=True,
        client_for=lambda region: client, echo=lambda _: None,
    )  # fmt: skip
    assert code == 1
    results = quality_gate.read_eval_results(tmp_path / "eval_results.csv", _usage())
    assert results["request_id"].tolist() == [ids[0], ids[2]]
    assert results["candidate_score"].tolist() == [0.0, 1.0]
    errors = json.loads((tmp_path / "replay_errors.json").read_text())
    assert [(e["request_id"], e["outcome"]) for e in errors] == [
        (ids[0], "candidate error: scored 0"),
        (ids[1], "not scored"),
    ]
    plan = ms.plan(_usage(), cat, prompts=prompts, eval_results=str(tmp_path / "eval_results.csv"))
    router = plan.segments[plan.segments["app"] == "router"].iloc[0]
    assert router["status"] == ms_params.PENDING
    verdict = (
        "only 2 of 3 sampled requests scored, 1 of them candidate errors scored 0: pending "
        "evaluation, as a segment is decided once 80% of its sample is scored (a throttled or "
        "unreached request is not scored; replay it again)"
    )
    assert plan.quality.iloc[0]["verdict"] == verdict
    assert router["reason"].endswith(f"; quality gate: {verdict}")


def test_the_gate_decides_only_on_a_known_and_mostly_scored_sample(cat, prompts, sizing, tmp_path):
    """Scores without the sample's manifest beside them decide nothing (its size is unknown);
    a segment of the sample without scores is listed as pending; 8 of 10 scored decide."""
    results = pd.DataFrame(
        {
            "request_id": [f"router-{i}" for i in range(8)],
            "segment": "s1",
            "current_score": 1.0,
            "candidate_score": 1.0,
        }
    )
    unknown = quality_gate.evaluate(results).iloc[0]
    assert not bool(unknown["decided"]) and not bool(unknown["passed"])
    assert unknown["verdict"] == (
        "8 requests scored, but the sample's size is unknown (no eval-sample manifest.json "
        "beside the results): pending evaluation, as a segment is decided only once 80% of its "
        "sampled requests are scored"
    )
    out = quality_gate.evaluate(results, 0.9, {"s1": 10, "s2": 5}).set_index("segment")
    assert bool(out.loc["s1", "decided"]) and bool(out.loc["s1", "passed"])
    assert out.loc["s1", "verdict"] == (
        "candidate reaches 100.0% of current quality on 8 of 10 sampled requests (>= 90%): accept"
    )
    assert (out.loc["s2", "n"], bool(out.loc["s2", "decided"])) == (0, False)
    assert out.loc["s2", "verdict"].startswith("only 0 of 5 sampled requests scored: pending")
    # In a plan: scores written where no sample's manifest is keep the segment pending.
    path = tmp_path / "elsewhere" / "scores.csv"
    path.parent.mkdir()
    _write_results(path, sizing, 0.95)
    (path.parent / "manifest.json").unlink()
    plan = ms.plan(_usage(), cat, prompts=prompts, eval_results=str(path))
    assert plan.segments.set_index("app").loc["router", "status"] == ms_params.PENDING


def test_a_cut_sample_manifest_is_named_as_why_the_size_is_unknown(sizing, tmp_path):
    path = tmp_path / "r.csv"
    _write_results(path, sizing, 0.95)
    (tmp_path / "manifest.json").write_text('{"tool": "bedrock-finops", "kind": "eval-sa')
    results = quality_gate.read_eval_results(path, _usage())
    sample = quality_gate.read_sample(path, results)
    assert (sample.written, sample.unknown) == (
        None,
        f"the manifest.json beside the results, {tmp_path / 'manifest.json'}, cannot be read: "
        "Unterminated string starting at: line 1 column 36 (char 35)",
    )


def test_scores_of_requests_the_sample_did_not_write_or_scored_twice_are_refused(sizing, tmp_path):
    path = tmp_path / "r.csv"
    _write_results(path, sizing, 0.95)
    write_sample_manifest(tmp_path, {_router_id(sizing): ["router-0", "router-1"]})
    results = quality_gate.read_eval_results(path, _usage())
    with pytest.raises(ValueError, match=r"8 request\(s\) were not written by the sample in"):
        quality_gate.read_sample(path, results)
    _write_results(path, sizing, 0.95, ids=["router-0", "router-0"])
    with pytest.raises(ValueError, match=r"1 request_id\(s\) are scored more than once"):
        quality_gate.read_eval_results(path, _usage())


def test_a_clean_replay_removes_the_failures_an_earlier_one_left(cat, prompts, sizing, tmp_path):
    """A replay throttled on its first request writes replay_errors.json (exit 1); the next
    replay into the folder succeeds on all 3 and exits 0: the earlier file is removed, so the
    folder no longer reports a failure its new scores do not have."""
    manifest = _router_manifest(sizing, prompts, tmp_path)
    throttled = _Scripted({1: _client_error("ThrottlingException", "Too many requests")})
    for client, code in ((throttled, 1), (_Scripted({}), 0)):
        got = replay.run_live(
            manifest, _usage(), prompts, cat, tmp_path, apply=True,
            client_for=lambda region, c=client: c, echo=lambda _: None,
        )  # fmt: skip
        assert got == code
        if code:
            assert len(json.loads((tmp_path / "replay_errors.json").read_text())) == 1
    assert not (tmp_path / "replay_errors.json").exists()
    assert len(quality_gate.read_eval_results(tmp_path / "eval_results.csv", _usage())) == 3


ON_DEMAND = (
    f"Invocation of model ID {HAIKU35_ID} with on-demand throughput isn’t supported. Retry "
    "your request with the ID or ARN of an inference profile that contains this model."
)
ON_DEMAND_REASON = (
    f"Bedrock refused the candidate's model ID {HAIKU35_ID} from us-east-1: the model runs "
    "only behind an inference profile (ValidationException: on-demand throughput isn't "
    f"supported); call it behind a geo profile (us.{HAIKU35_ID}); requests logged through an "
    "application inference profile are replayed behind its geo once profile_map maps the "
    "profile to its geo profile's model ID (ingest and sample again)"
)
INVALID_ID_REASON = (
    f"Bedrock refused the candidate's model ID {HAIKU35_ID} from us-east-1 "
    "(ValidationException: The provided model identifier is invalid.); call it by an ID "
    "Bedrock takes there: behind a geo profile the model has, in a Region that offers it, with "
    "model access granted; requests logged through an application inference profile are "
    "replayed behind its geo once profile_map maps the profile to its geo profile's model ID "
    "(ingest and sample again)"
)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (ON_DEMAND, ON_DEMAND_REASON),
        ("The provided model identifier is invalid.", INVALID_ID_REASON),
    ],
    ids=["on-demand-not-supported", "invalid-model-identifier"],
)
def test_a_candidate_model_id_bedrock_refuses_is_not_scored(
    cat, prompts, sizing, tmp_path, message, reason
):
    """The router is called in-Region, so the replay calls the candidate by its bare ID, which
    Bedrock runs only behind an inference profile: every call is refused (ValidationException).
    That says nothing of the candidate's answers: the 10 requests are not scored (they were
    scored 0 and the candidate rejected at 0%), and the segment stays pending, its verdict
    naming the ID and the fix."""
    manifest = _router_manifest(sizing, prompts, tmp_path, n=10)
    client = _Scripted({i: _client_error("ValidationException", message) for i in range(1, 11)})
    lines: list[str] = []
    code = replay.run_live(
        manifest, _usage(), prompts, cat, tmp_path, apply=True,
        client_for=lambda region: client, echo=lines.append,
    )  # fmt: skip
    assert code == 1
    assert quality_gate.read_eval_results(tmp_path / "eval_results.csv", _usage()).empty
    errors = json.loads((tmp_path / "replay_errors.json").read_text())
    assert {(e["model"], e["outcome"], e["reason"]) for e in errors} == {
        ("candidate", "not scored", reason)
    }
    assert lines[-2:] == [
        "10 request(s) failed: 0 candidate error(s) scored 0, 0 not scored (throttled or not "
        "reached), 10 not scored as Bedrock refused the candidate's model ID; see "
        f"{tmp_path / 'replay_errors.json'}",
        f"  not scored: 10 x {reason}",
    ]
    plan = ms.plan(_usage(), cat, prompts=prompts, eval_results=str(tmp_path / "eval_results.csv"))
    router = plan.segments[plan.segments["app"] == "router"].iloc[0]
    assert router["status"] == ms_params.PENDING
    assert plan.quality.iloc[0]["verdict"] == (
        "only 0 of 10 sampled requests scored: pending evaluation, as a segment is decided once "
        f"80% of its sample is scored; 10 not scored: {reason}"
    )


def test_an_input_too_long_for_the_candidate_is_still_scored_0():
    """A ValidationException about the request's content is the candidate failing the
    traffic (scored 0); one about the model ID is not (not scored)."""
    too_long = _client_error("ValidationException", "Input is too long for requested model.")
    assert (
        replay.model_id_refusal(too_long, HAIKU35_ID, "anthropic.claude-3-5-haiku", "us-east-1")
        is None
    )
    no_access = _client_error(
        "AccessDeniedException", "You don't have access to the model with the specified model ID."
    )
    assert replay.model_id_refusal(
        no_access, HAIKU35_ID, "anthropic.claude-3-5-haiku", "us-east-1"
    ).startswith(f"Bedrock refused the candidate's model ID {HAIKU35_ID} from us-east-1 (Access")
    eu = _client_error("ValidationException", ON_DEMAND)
    assert "call it behind a geo profile it has (anthropic.claude-3-5-haiku has no eu " in (
        replay.model_id_refusal(eu, HAIKU35_ID, "anthropic.claude-3-5-haiku", "eu-west-1")
    )


HAIKU45 = "anthropic.claude-haiku-4-5"


def test_scores_of_one_candidate_do_not_accept_another(cat, prompts, sizing, tmp_path):
    """The sample and its replay scored Claude 3.5 Haiku at 100%; the plan now proposes Haiku
    4.5 (its candidates narrowed): the scores decide nothing for it, and the segment stays
    pending with the reason (Haiku 4.5 was accepted on 3.5 Haiku's scores)."""
    manifest = _router_manifest(sizing, prompts, tmp_path, n=10)
    replay.run_live(
        manifest, _usage(), prompts, cat, tmp_path, apply=True,
        client_for=lambda region: _Scripted({}), echo=lambda _: None,
    )  # fmt: skip
    narrowed = {"candidates": {"anthropic": {"small": [HAIKU45]}}}
    results = str(tmp_path / "eval_results.csv")
    plan = ms.plan(_usage(), cat, prompts=prompts, eval_results=results, **narrowed)
    router = plan.segments[plan.segments["app"] == "router"].iloc[0]
    verdict = (
        "scores were taken on anthropic.claude-3-5-haiku; the plan now proposes "
        "anthropic.claude-haiku-4-5: sample and replay again"
    )
    assert (router["candidate"], router["status"]) == (HAIKU45, ms_params.PENDING)
    assert router["reason"].endswith(f"; quality gate: {verdict}")
    gate = plan.quality.iloc[0]
    assert (gate["scored_candidate"], bool(gate["decided"]), gate["verdict"]) == (
        "anthropic.claude-3-5-haiku",
        False,
        verdict,
    )
    routes = ms_tables.routing_table(plan).set_index("app")
    assert routes.loc["router", "recommended_model"] == "anthropic.claude-opus-4"
    # The same plan on its own candidate decides: accepted at 100%.
    same = ms.plan(_usage(), cat, prompts=prompts, eval_results=results)
    assert same.segments.set_index("app").loc["router", "status"] == ms_params.ACCEPTED


def test_scores_without_model_ids_are_held_to_the_samples_candidate(cat, prompts, sizing, tmp_path):
    """Scores from an evaluation job name no model: the candidate the sample's manifest says
    it was drawn for is the one scored."""
    path = tmp_path / "scores.csv"
    _write_results(path, sizing, 0.95)
    doc = json.loads((tmp_path / "manifest.json").read_text())
    doc["segments"][0]["candidate_model"] = "anthropic.claude-3-5-haiku"
    (tmp_path / "manifest.json").write_text(json.dumps(doc))
    narrowed = {"candidates": {"anthropic": {"small": [HAIKU45]}}}
    plan = ms.plan(_usage(), cat, prompts=prompts, eval_results=str(path), **narrowed)
    assert plan.quality.iloc[0]["verdict"] == (
        "scores were taken on anthropic.claude-3-5-haiku; the plan now proposes "
        "anthropic.claude-haiku-4-5: sample and replay again"
    )
    assert plan.segments.set_index("app").loc["router", "status"] == ms_params.PENDING


def test_a_new_sample_removes_the_earlier_replays_scores(cat, prompts, sizing, tmp_path):
    """A sample drawn again into the folder (same seed: the same requests) left the earlier
    replay's scores beside it, which the gate then read as this sample's: they are removed
    with its answers and failures, and a file of the user's own stays."""
    manifest = _router_manifest(sizing, prompts, tmp_path, n=10)
    throttled = _Scripted({1: _client_error("ThrottlingException", "Too many requests")})
    replay.run_live(
        manifest, _usage(), prompts, cat, tmp_path, apply=True,
        client_for=lambda region: throttled, echo=lambda _: None,
    )  # fmt: skip
    (tmp_path / "notes.csv").write_text("mine\n")
    replay_files = ("eval_results.csv", "responses.jsonl", "replay_errors.json")
    assert all((tmp_path / name).exists() for name in replay_files)
    _router_manifest(sizing, prompts, tmp_path, n=10)
    assert [name for name in replay_files if (tmp_path / name).exists()] == []
    assert (tmp_path / "notes.csv").exists()


def test_a_sample_manifest_of_an_older_version_decides(cat, prompts, sizing, tmp_path):
    """A manifest written before it carried the tool's mark (no "tool"/"kind", the same
    segments and request_ids) was read as no manifest: the segment, scored on 10 of 10
    requests, stayed pending for ever. It decides; a manifest that is not an eval sample's is
    said to be so, not to be missing."""
    path = tmp_path / "eval_results.csv"
    _write_results(path, sizing, 0.95)
    doc = json.loads((tmp_path / "manifest.json").read_text())
    older = {k: v for k, v in doc.items() if k not in ("tool", "kind")}
    (tmp_path / "manifest.json").write_text(json.dumps(older))
    plan = ms.plan(_usage(), cat, prompts=prompts, eval_results=str(path))
    assert plan.segments.set_index("app").loc["router", "status"] == ms_params.ACCEPTED
    assert plan.quality.iloc[0]["verdict"] == (
        "candidate reaches 95.0% of current quality on 10 of 10 sampled requests (>= 90%): accept"
    )
    (tmp_path / "manifest.json").write_text('{"tool": "bedrock-finops", "status": "ok"}')
    plan = ms.plan(_usage(), cat, prompts=prompts, eval_results=str(path))
    assert plan.quality.iloc[0]["verdict"] == (
        "10 requests scored, but the sample's size is unknown (the manifest.json beside the "
        f"results, {tmp_path / 'manifest.json'}, is not an eval sample's: it lists no segments "
        "with their request_ids): pending evaluation, as a segment is decided only once 80% of "
        "its sampled requests are scored"
    )
    (tmp_path / "manifest.json").unlink()
    plan = ms.plan(_usage(), cat, prompts=prompts, eval_results=str(path))
    assert plan.quality.iloc[0]["verdict"].startswith(
        "10 requests scored, but the sample's size is unknown (no eval-sample manifest.json "
        f"beside the results, in {tmp_path}): pending evaluation"
    )


def test_an_empty_sample_says_why_and_not_to_replay(cat, prompts, sizing, tmp_path):
    """No sampled chat request had its user turn in the logs: its sample wrote none. It was
    told 'only 0 of 0 sampled requests scored ... replay it again', which cannot help."""
    u = _usage()
    set_user_turns(u, u["app"] == "chat", None)
    recs = ms_tables.recommended_with_ids(sizing)
    quality_gate.write_eval_sample(u, prompts, recs, tmp_path, per_segment=10)
    replay.run_live(
        json.loads((tmp_path / "manifest.json").read_text()), u, prompts, cat, tmp_path,
        apply=True, client_for=lambda region: _Scripted({}), echo=lambda _: None,
    )  # fmt: skip
    plan = ms.plan(u, cat, prompts=prompts, eval_results=str(tmp_path / "eval_results.csv"))
    chat = plan.quality.set_index("segment").loc[
        plan.segments.set_index("app").loc["chat", "segment"]
    ]
    assert (int(chat["written"]), bool(chat["decided"])) == (0, False)
    assert chat["verdict"] == (
        "its sample is empty: none of the segment's 4 requests can be sent (4 x no user_text in "
        "the logs for this request): pending evaluation, with nothing to score or replay. A "
        "request is written only with its user turn as text and its template's text: ingest "
        "logs that keep them (bodies over 100 KB with fetch_large_bodies) and sample again"
    )
    assert plan.segments.set_index("app").loc["chat", "status"] == ms_params.PENDING


def test_live_replay_dry_run_calls_nothing(cat, prompts, sizing, tmp_path, runtime_client):
    manifest = _router_manifest(sizing, prompts, tmp_path)
    lines: list[str] = []
    with Stubber(runtime_client):  # any call would fail: no responses queued
        code = replay.run_live(
            manifest,
            _usage(),
            prompts,
            cat,
            tmp_path,
            apply=False,
            client_for=lambda region: runtime_client,
            echo=lines.append,
        )
    assert code == 0
    assert lines[0].startswith("live replay: 3 requests x 2 models = 6 Converse calls")
    opus, haiku = cat.rate("anthropic.claude-opus-4"), cat.rate("anthropic.claude-3-5-haiku")
    per_call = (500 * opus["input_per_1k"] + 2 * opus["output_per_1k"]) / 1000
    per_cand = (500 * haiku["input_per_1k"] + 2 * haiku["output_per_1k"]) / 1000
    assert f"${3 * (per_call + per_cand):,.4f}" in lines[0]
    assert lines[-1].startswith("dry run: nothing was called")
    assert not (tmp_path / "eval_results.csv").exists()


def test_user_turns_read_from_the_file_give_the_same_sample_and_replay(sizing, prompts, tmp_path):
    """A run opened without its user turns samples and plans the replay as one holding them,
    reading only the sampled requests' turns from usage.parquet."""
    full = _usage()
    pq.write_table(schema.to_arrow(full), tmp_path / "usage.parquet")
    lean = schema.read_usage(tmp_path / "usage.parquet", user_text=False)
    column = ParquetColumn(tmp_path / "usage.parquet", "user_text")
    recs = ms_tables.recommended_with_ids(sizing)
    held = quality_gate.write_eval_sample(full, prompts, recs, tmp_path / "held", per_segment=4)
    read = quality_gate.write_eval_sample(
        lean, prompts, recs, tmp_path / "read", per_segment=4, user_text=column
    )
    assert [e["request_ids"] for e in read["segments"]] == [
        e["request_ids"] for e in held["segments"]
    ]
    for entry in held["segments"]:
        name = entry["file"]
        assert (tmp_path / "read" / name).read_text() == (tmp_path / "held" / name).read_text()
    plan = replay.replay_plan(held, full, prompts)
    assert len(plan) == sum(e["written"] for e in held["segments"]) > 0
    pd.testing.assert_frame_equal(replay.replay_plan(read, lean, prompts, user_text=column), plan)


def test_agreement_scores():
    assert replay.agreement('{"a": 1, "b": [2]}', '{"b": [2], "a": 1}', "json") == 1.0
    assert replay.agreement("billing", "bug", "label") == 0.0
    assert replay.agreement("the cat sat", "the cat sat down", "prose") == pytest.approx(
        2 * (3 / 4) * 1.0 / (3 / 4 + 1.0)
    )


# ---- CLI ---------------------------------------------------------------------------------------


def test_cli_eval_sample(prompts, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    pq.write_table(schema.to_arrow(_usage()), run / "usage.parquet")
    prompts.to_parquet(run / "prompts.parquet")
    out = tmp_path / "eval"
    code = cli.main(["eval-sample", "--run", str(run), "--out", str(out), "--live"])
    assert code == 0
    text = capsys.readouterr().out
    assert "14 requests x 2 models = 28 Converse calls" in text
    assert "dry run: nothing was called" in text
    manifest = json.loads((out / "manifest.json").read_text())
    assert {e["app"] for e in manifest["segments"]} == {"router", "chat"}
    code = cli.main(
        ["eval-sample", "--run", str(run), "--out", str(out), "--override", "nobody=simple_qa"]
    )
    assert code == 2
    assert "neither an app nor a segment" in capsys.readouterr().err


def test_cli_eval_sample_says_what_it_skipped_and_why(prompts, tmp_path, capsys):
    """The requests left out for a turn sent by reference or logged blank are counted in the
    segment's line with the others, each reason with its count."""
    run = tmp_path / "run"
    run.mkdir()
    pq.write_table(schema.to_arrow(_usage_with_turns_not_sent_as_text()), run / "usage.parquet")
    prompts.to_parquet(run / "prompts.parquet")
    assert cli.main(["eval-sample", "--run", str(run), "--out", str(tmp_path / "eval")]) == 0
    router = next(
        line for line in capsys.readouterr().out.splitlines() if line.startswith("router")
    )
    assert ": 4 of 10 requests -> " in router
    assert router.endswith(f"; drawn from the 4 that can be sent, 6 skipped: {SKIPPED_ROUTER})")


def test_cli_eval_sample_refuses_the_runs_own_folder(prompts, tmp_path, capsys):
    """Its manifest.json would replace the run's (and the folder would then read as an eval
    sample to an ingest): refused, the run's folder left as it was."""
    run = tmp_path / "run"
    run.mkdir()
    pq.write_table(schema.to_arrow(_usage()), run / "usage.parquet")
    before = sorted(p.name for p in run.iterdir())
    assert cli.main(["eval-sample", "--run", str(run), "--out", str(run / ".")]) == 2
    assert capsys.readouterr().err == (
        f"error: --out {run / '.'} is the run's own folder: the sample's manifest.json would "
        f"replace the run's; write it to another folder (e.g. --out {run / 'eval'})\n"
    )
    assert sorted(p.name for p in run.iterdir()) == before


def _run_folder(prompts, folder):
    folder.mkdir()
    pq.write_table(schema.to_arrow(_usage()), folder / "usage.parquet")
    prompts.to_parquet(folder / "prompts.parquet")
    return folder


def test_cli_eval_sample_refuses_another_runs_folder(prompts, tmp_path, capsys):
    """--out naming another run's folder (its manifest.json marked as this tool's) replaced
    that run's manifest with the sample's; an ingest's folder (a usage table) would be read as
    an eval sample. Both are refused, left as they were; an earlier sample's folder is not."""
    run = _run_folder(prompts, tmp_path / "run")
    other = _run_folder(prompts, tmp_path / "other")
    (other / "manifest.json").write_text('{"tool": "bedrock-finops", "status": "ok"}\n')
    ingest = _run_folder(prompts, tmp_path / "ingest")
    for out, held in (
        (other, "an earlier run's output (bedrock-finops run)"),
        (ingest, "a run's usage table (usage.parquet)"),
    ):
        before = {p.name: p.read_bytes() for p in out.iterdir()}
        assert cli.main(["eval-sample", "--run", str(run), "--out", str(out)]) == 2
        message = capsys.readouterr().err
        assert message.startswith(f"error: --out {out} holds {held}")
        assert message.endswith(f"write it to another folder (e.g. --out {run / 'eval'})\n")
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    sample = tmp_path / "eval"
    assert cli.main(["eval-sample", "--run", str(run), "--out", str(sample)]) == 0
    assert cli.main(["eval-sample", "--run", str(run), "--out", str(sample)]) == 0


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--per-segment", "0", "--per-segment 0 must be a whole number of requests, 1 or more"),
        ("--seed", "-1", "--seed -1 must be a whole number, 0 or more"),
        ("--max-tokens", "0", "--max-tokens 0 must be a whole number of tokens, 1 or more"),
    ],
)
def test_cli_eval_sample_bad_numbers_are_one_error_line(
    prompts, tmp_path, capsys, flag, value, message
):
    """They ended in a traceback (per_segment's ValueError, numpy's seed), the --out folder
    left behind empty: now one error line, exit 2, and no folder."""
    run = _run_folder(prompts, tmp_path / "run")
    out = tmp_path / "eval"
    assert cli.main(["eval-sample", "--run", str(run), "--out", str(out), flag, value]) == 2
    assert capsys.readouterr().err == f"error: {message}\n"
    assert not out.exists()


@pytest.mark.parametrize("under", [False, True], ids=["file", "under-a-file"])
def test_cli_eval_sample_out_naming_a_file_is_one_error_line(prompts, tmp_path, capsys, under):
    """--out naming an existing file ended in a FileExistsError traceback."""
    run = _run_folder(prompts, tmp_path / "run")
    afile = tmp_path / "afile"
    afile.write_text("kept\n")
    out = afile / "sub" if under else afile
    assert cli.main(["eval-sample", "--run", str(run), "--out", str(out)]) == 2
    where = f": {afile}" if under else ""
    assert capsys.readouterr().err == (
        f"error: --out {out}{where} is a file, not a folder; write it to another folder "
        f"(e.g. --out {run / 'eval'})\n"
    )
    assert afile.read_text() == "kept\n"


def test_a_new_sample_removes_the_datasets_of_the_earlier_one_it_does_not_write(
    sizing, prompts, tmp_path
):
    """The earlier sample's dataset of a segment the new one lacks would be left beside the
    new manifest, which no longer names it; a file of the user's own there stays."""
    first = _router_manifest(sizing, prompts, tmp_path)
    old = tmp_path / "old_segment.jsonl"
    old.write_text('{"prompt": "p", "category": "old"}\n')
    earlier = json.loads((tmp_path / "manifest.json").read_text())
    earlier["segments"].append({**earlier["segments"][0], "file": old.name})
    (tmp_path / "manifest.json").write_text(json.dumps(earlier))
    (tmp_path / "mine.jsonl").write_text("{}\n")
    second = _router_manifest(sizing, prompts, tmp_path)
    assert [e["file"] for e in second["segments"]] == [e["file"] for e in first["segments"]]
    assert not old.exists()
    assert (tmp_path / "mine.jsonl").exists()
    assert (tmp_path / first["segments"][0]["file"]).exists()


def _sso_profile_never_logged_in(home, monkeypatch) -> None:
    """AWS_PROFILE names an SSO profile whose login was never made (no cached token)."""
    cache = home / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    (home / ".aws" / "config").write_text(
        "[profile finops-sso]\nsso_session = corp\nsso_account_id = 111122223333\n"
        "sso_role_name = FinOpsReadOnly\nregion = us-east-1\n\n"
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
        "sso_region = us-east-1\nsso_registration_scopes = sso:account:access\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / ".aws" / "config"))
    monkeypatch.setenv("AWS_PROFILE", "finops-sso")
    # botocore reads SSO tokens from a folder it found in ~ when it was imported
    for provider in (botocore.credentials.SSOProvider, botocore.tokens.SSOTokenProvider):
        monkeypatch.setattr(provider, "_SSO_TOKEN_CACHE_DIR", str(cache))


@pytest.mark.parametrize(
    ("setup", "problem"),
    [
        (
            None,
            "none were found (NoCredentialsError: Unable to locate credentials). Fix: set "
            "AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), run `aws configure`, "
            "or use an instance role",
        ),
        (
            _sso_profile_never_logged_in,
            "there is no SSO login for the profile yet (SSOTokenLoadError: Error loading SSO "
            "Token: Token for corp does not exist). Fix: run `aws sso login --profile "
            "finops-sso` and run again",
        ),
    ],
    ids=["no-credentials", "sso-never-logged-in"],
)
def test_cli_live_replay_without_usable_credentials_is_one_line(
    prompts, tmp_path, capsys, monkeypatch, no_aws_credentials, setup, problem
):
    """Credentials that cannot be loaded fail every call alike: the command stops at the first
    with the one line naming the fix (exit 2), not one failure per request and an empty
    results file."""
    if setup is not None:
        setup(tmp_path / "home", monkeypatch)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    run = tmp_path / "run"
    run.mkdir()
    pq.write_table(schema.to_arrow(_usage()), run / "usage.parquet")
    prompts.to_parquet(run / "prompts.parquet")
    out = tmp_path / "eval"
    argv = ["eval-sample", "--run", str(run), "--out", str(out), "--live", "--apply"]
    assert cli.main(argv) == 2
    printed = capsys.readouterr()
    assert printed.err == f"error: no usable AWS credentials: {problem}\n"
    assert "scored requests" not in printed.out
    assert (out / "manifest.json").is_file()
    assert not (out / "eval_results.csv").exists()
    assert not (out / "replay_errors.json").exists()


# ---- a locale that is not UTF-8 ----------------------------------------------------------------

ASCII_SAMPLE = """
import sys
from pathlib import Path

import pandas as pd

from bedrock_finops import quality_gate, replay

usage, prompts, recs, answer = pd.read_pickle(sys.argv[1])  # (the command line is ASCII)
out = Path(sys.argv[2])
quality_gate.write_eval_sample(usage, prompts, recs, out, per_segment=50, seed=1)
scores = pd.DataFrame({"request_id": ["router-0"], "current_score": [1.0]})
replay._write_replay(out, scores, [answer], [], print)
"""


def test_the_datasets_and_answers_are_utf8_in_a_locale_that_is_not(sizing, prompts, tmp_path):
    """A sampled prompt with an em dash, on a C or Latin-1 locale: the dataset (UTF-8 JSONL,
    as Bedrock reads it) and the replay's answers are written whole; the dataset was an empty
    file and the command a UnicodeEncodeError traceback."""
    u = _usage()
    router = u["app"] == "router"
    set_user_turns(u, router, "I was charged twice — write to me at jo@example.com")
    recs = ms_tables.recommended_with_ids(sizing)
    answer = {"request_id": "router-0", "candidate": "Facturación — doble cargo"}
    pd.to_pickle((u, prompts, recs[recs["app"] == "router"], answer), tmp_path / "in.pkl")
    out = tmp_path / "eval"
    done = run_ascii("-c", ASCII_SAMPLE, str(tmp_path / "in.pkl"), str(out))
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    (entry,) = manifest["segments"]
    lines = (out / entry["file"]).read_text(encoding="utf-8").splitlines()
    assert len(lines) == entry["written"] == 10
    assert json.loads(lines[0])["prompt"] == (
        ROUTER_TEXT + "\n\nI was charged twice — write to me at [EMAIL]"
    )
    answers = (out / "responses.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(a)["candidate"] for a in answers] == ["Facturación — doble cargo"]
