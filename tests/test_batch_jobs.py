"""Batch job export: record shapes, splitting by quotas, the job request, idempotent submit."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import botocore.session
import pandas as pd
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from usage_builders import media_sent_of

from bedrock_finops import batch_jobs as bj
from bedrock_finops import batch_records as br
from bedrock_finops import batch_submit as bs
from bedrock_finops.batch_overlap import job_request_ids
from bedrock_finops.schema import empty_usage

ROLE = "arn:aws:iam::123456789012:role/bedrock-batch"


def usage_rows(n: int, *, provider="anthropic", family="claude-sonnet", operation="Converse"):
    rows = pd.DataFrame(
        {
            "request_id": [f"req-{i}" for i in range(n)],
            "operation": operation,
            "provider": provider,
            "family": family,
            "system_hash": "sys1",
            "user_text": [f"document {i}" if i % 5 else None for i in range(n)],
            "max_tokens": [512 if i % 2 else None for i in range(n)],
            "temperature": 0.2,
        }
    )
    usage = empty_usage()
    return pd.concat([usage, rows], ignore_index=True)[usage.columns]


PROMPTS = pd.DataFrame(
    {"hash": ["sys1"], "kind": ["system"], "tokens": [5], "text": ["Summarise the document."]}
)


def test_converse_record_shape_matches_aws_docs():
    recs = br.records_for_segment(usage_rows(3), PROMPTS)
    assert recs.style == "Converse"
    line = json.loads(recs.lines()[1])
    assert line == {
        "recordId": br.record_id("req-1"),
        "modelInput": {
            "messages": [{"role": "user", "content": [{"text": "document 1"}]}],
            "system": [{"text": "Summarise the document."}],
            "inferenceConfig": {"maxTokens": 512, "temperature": 0.2},
        },
    }
    assert len(line["recordId"]) == 11 and line["recordId"].isalnum()
    # row 0 has no user_text and no max_tokens: placeholder and default, counted
    first = json.loads(recs.lines()[0])["modelInput"]
    assert first["messages"][0]["content"][0]["text"] == br.PLACEHOLDER_USER_TEXT
    assert first["inferenceConfig"]["maxTokens"] == 4096
    assert recs.missing_user_text == 1
    assert recs.default_max_tokens_used == 2


def test_invoke_model_bodies_per_provider():
    claude = br.records_for_segment(usage_rows(2, operation="InvokeModel"), PROMPTS)
    body = claude.records[1]["modelInput"]
    assert claude.style == "InvokeModel"
    assert body == {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 512,
        "system": "Summarise the document.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "document 1"}]}],
        "temperature": 0.2,
    }
    llama = br.invoke_model_input("meta", "llama", "S", "U", 100)
    assert llama["max_gen_len"] == 100
    assert llama["prompt"].startswith("<|begin_of_text|><|start_header_id|>system")
    assert llama["prompt"].endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")
    titan = br.invoke_model_input("amazon", "titan", None, "U", 50, 0.0)
    assert titan == {
        "inputText": "U",
        "textGenerationConfig": {"maxTokenCount": 50, "temperature": 0.0},
    }
    with pytest.raises(ValueError, match="no InvokeModel body format for provider .cohere."):
        br.invoke_model_input("cohere", "command", None, "U", 50)


def test_invoke_model_traffic_without_a_body_form_here_gets_converse_records():
    """gpt-oss logged through InvokeModel (an OpenAI chat body): AWS takes Converse records in
    a batch job, and gpt-oss takes Converse, so its records are Converse ones."""
    rows = usage_rows(2, provider="openai", family="gpt-oss", operation="InvokeModel")
    recs = br.records_for_segment(rows.assign(model="openai.gpt-oss-120b"), PROMPTS)
    assert recs.style == "Converse"
    assert recs.records[1]["modelInput"] == {
        "messages": [{"role": "user", "content": [{"text": "document 1"}]}],
        "system": [{"text": "Summarise the document."}],
        "inferenceConfig": {"maxTokens": 512, "temperature": 0.2},
    }


def test_every_catalog_model_has_a_record_form():
    """Each text model the catalog knows gets records in some form: its own InvokeModel body
    where one is written here, else Converse (and never an error at export). An embedding
    model takes neither a text body nor Converse: the batch strategy keeps it out of jobs."""
    from bedrock_finops.models import known_models

    forms = {}
    for key, info in known_models().items():
        if info.is_embedding:
            continue
        style = br.record_style("InvokeModel", info.provider, info.family)
        if style == "InvokeModel":
            br.invoke_model_input(info.provider, info.family, "S", "U", 10, model=key)
        else:
            with pytest.raises(ValueError, match="no InvokeModel body format"):
                br.invoke_model_input(info.provider, info.family, "S", "U", 10, model=key)
        forms.setdefault(style, set()).add(info.provider)
    assert forms == {
        "InvokeModel": {"amazon", "anthropic", "meta", "mistral"},
        "Converse": {"cohere", "deepseek", "openai", "qwen"},
    }
    assert br.record_style("ConverseStream", "meta", "llama") == "Converse"


def test_the_model_picks_the_body_form_within_a_provider():
    """Llama 4 takes its own header tokens (llama.com, Llama 4 prompt format); Mistral Large
    (24.07) and Pixtral Large (25.02) take the chat completion form on InvokeModel (AWS model
    parameters pages), the older Mistral models an [INST] prompt."""
    llama4 = br.invoke_model_input(
        "meta", "llama", "S", "U", 100, model="meta.llama4-maverick-17b-instruct"
    )
    assert llama4 == {
        "prompt": "<|begin_of_text|><|header_start|>system<|header_end|>\n\nS<|eot|>"
        "<|header_start|>user<|header_end|>\n\nU<|eot|>"
        "<|header_start|>assistant<|header_end|>\n\n",
        "max_gen_len": 100,
    }
    for chat in ("mistral.mistral-large-2407", "mistral.pixtral-large-2502"):
        body = br.invoke_model_input("mistral", "mistral", "S", "U", 64, 0.5, model=chat)
        assert body == {
            "messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}],
            "max_tokens": 64,
            "temperature": 0.5,
        }
    older = br.invoke_model_input(
        "mistral", "mistral", "S", "U", 64, model="mistral.mistral-7b-instruct"
    )
    assert older == {"prompt": "<s>[INST] S\n\nU [/INST]", "max_tokens": 64}


# a user turn that sent an image by S3 location, as the usage table keeps it
S3_TURN = '{"image":{"format":"png","source":{"s3Location":{"uri":"s3://b/r.png"}}}}\nWhat is it?'


@pytest.mark.parametrize(
    ("body", "turn"),
    [
        (br.converse_input("S", S3_TURN, 10), S3_TURN),
        (br.invoke_model_input("anthropic", "claude", "S", S3_TURN, 10), S3_TURN),
        (br.invoke_model_input("amazon", "nova", "S", S3_TURN, 10), S3_TURN),
        (br.invoke_model_input("amazon", "titan", "S", S3_TURN, 10), f"S\n\n{S3_TURN}"),
        (br.invoke_model_input("meta", "llama", "S", S3_TURN, 10), S3_TURN),
        (
            br.invoke_model_input(
                "meta", "llama", None, S3_TURN, 10, model="meta.llama4-scout-17b-instruct"
            ),
            S3_TURN,
        ),
        (
            br.invoke_model_input(
                "mistral", "mistral", "S", S3_TURN, 10, model="mistral.pixtral-large-2502"
            ),
            S3_TURN,
        ),
        (
            br.invoke_model_input(
                "mistral", "mistral", None, S3_TURN, 10, model="mistral.mistral-7b-instruct"
            ),
            S3_TURN,
        ),
        ({"inferenceConfig": {"maxTokens": 10}}, None),
        ([S3_TURN], None),
    ],
)
def test_a_records_user_turn_reads_back_as_it_was_written(body, turn):
    """Each body form gives back the user turn it was written from (Titan's and an older
    Mistral's with the template before it, on lines of their own), so batch-export searches
    a record's turn as the plan searched ``user_text``."""
    assert br.record_user_text(body) == turn


def test_records_count_user_turns_that_sent_media_by_reference():
    """A turn holding a block's JSON (sent by reference) is written as text, as one holding
    a placeholder is: both are counted, as turns that sent media."""
    turns = [S3_TURN, "[[media image png 1 bytes xxh3:0123456789abcdef]]\nHi", "Hi", None]
    rows = usage_rows(4).assign(user_text=turns, media_sent=media_sent_of(pd.Series(turns)))
    assert rows["media_sent"].tolist()[:3] == ["image", "image", ""]
    recs = br.records_for_segment(rows, PROMPTS)
    assert (recs.media_user_turns, recs.missing_user_text) == (2, 1)
    assert recs.records[0]["modelInput"]["messages"][0]["content"] == [{"text": S3_TURN}]


def test_a_user_turn_without_text_gets_the_placeholder():
    """None, "" and white space alone are no text a record can send (Bedrock refuses an empty
    text block): each gets the placeholder of a turn not logged, counted."""
    rows = usage_rows(4).assign(user_text=["Hi", "", " \n", None])
    recs = br.records_for_segment(rows, PROMPTS)
    texts = [r["modelInput"]["messages"][0]["content"][0]["text"] for r in recs.records]
    assert texts == ["Hi"] + [br.PLACEHOLDER_USER_TEXT] * 3
    assert recs.missing_user_text == 3


def test_a_segment_on_llama4_exports_llama4_prompts():
    rows = usage_rows(2).assign(
        operation="InvokeModel", model="meta.llama4-scout-17b-instruct", provider="meta",
        family="llama",
    )  # fmt: skip
    recs = br.records_for_segment(rows, prompts=None)
    assert recs.records[0]["modelInput"]["prompt"].startswith(
        "<|begin_of_text|><|header_start|>user<|header_end|>"
    )


def test_distinct_request_ids_get_distinct_record_ids():
    """Two request IDs whose record IDs were equal when one kept 40 bits of their hash: a job
    group holding both exports, each record traceable to its request in records.csv."""
    a, b = "8b9800a9-9208-443c-91d7-fcc1e2cad5c4", "0b2f183d-eedb-4925-b704-76aafd2c5cb5"
    rows = usage_rows(2).assign(request_id=[a, b])
    recs = br.records_for_segment(rows, PROMPTS)
    assert recs.record_ids == ["XEhr6N8L76Z", "XJeVgZLsUQN"]
    assert recs.request_ids == [a, b]


def test_a_request_id_twice_is_named_as_a_duplicate():
    rows = usage_rows(3).assign(request_id=["req-0", "req-1", "req-1"])
    with pytest.raises(ValueError, match="request ID 'req-1' is in the usage table twice"):
        br.records_for_segment(rows, PROMPTS)


def test_request_ids_whose_hashes_agree_are_not_called_duplicates(monkeypatch):
    monkeypatch.setattr(br, "record_id", lambda request_id: "Same0000000")
    with pytest.raises(
        ValueError, match="request IDs 'req-0' and 'req-1' share the record ID 'Same0000000'"
    ):
        br.records_for_segment(usage_rows(2), PROMPTS)


def test_missing_template_text_is_counted():
    recs = br.records_for_segment(usage_rows(4), prompts=None)
    assert recs.missing_system_text == 4
    assert "system" not in recs.records[0]["modelInput"]


@pytest.mark.parametrize(
    "record",
    [
        {"recordId": "R1", "modelInput": {"messages": [{"role": "bot", "content": []}]}},
        {"recordId": "bad id!", "modelInput": {"messages": []}},
        {"recordId": "R1", "modelInput": {"messages": [], "x": 1}, "extra": 1},
        {
            "recordId": "R1",
            "modelInput": {"modelId": "m", "messages": [{"role": "user", "content": []}]},
        },
    ],
)
def test_validate_record_rejects_bad_shapes(record):
    with pytest.raises(ValueError):
        br.validate_record(record, "Converse")


def lines_of(sizes):
    return [b"x" * (s - 1) + b"\n" for s in sizes]


def test_split_by_records_per_file_and_job():
    q = bj.BatchQuotas(
        min_records_per_job=2,
        max_records_per_file=3,
        max_records_per_job=5,
        max_file_bytes=1000,
        max_job_bytes=1000,
    )
    jobs = bj.split_lines(lines_of([10] * 12), q)
    assert [j.records for j in jobs] == [5, 5, 2]
    assert [[len(f) for f in j.files] for j in jobs] == [[3, 2], [3, 2], [2]]
    assert [i for j in jobs for f in j.files for i in f] == list(range(12))  # nothing lost
    assert not any(j.below_min_records for j in jobs)


def test_split_by_bytes():
    q = bj.BatchQuotas(
        min_records_per_job=1,
        max_records_per_file=100,
        max_records_per_job=100,
        max_file_bytes=25,
        max_job_bytes=50,
    )
    jobs = bj.split_lines(lines_of([10, 10, 10, 10, 10, 10]), q)
    # files hold 2 records (20 bytes; a third would make 30 > 25); jobs 50 bytes -> 5 records
    assert [j.records for j in jobs] == [5, 1]
    assert [[len(f) for f in j.files] for j in jobs] == [[2, 2, 1], [1]]
    assert [j.file_bytes for j in jobs] == [[20, 20, 10], [10]]
    assert all(j.bytes <= 50 for j in jobs)
    with pytest.raises(ValueError, match="over max_file_bytes"):
        bj.split_lines(lines_of([30]), q)


def test_short_last_job_topped_up_and_min_records_flag():
    q = bj.BatchQuotas(
        min_records_per_job=3,
        max_records_per_file=10,
        max_records_per_job=10,
        max_file_bytes=10_000,
        max_job_bytes=10_000,
    )
    jobs = bj.split_lines(lines_of([10] * 11), q)  # greedy 10 + 1 -> rebalanced 8 + 3
    assert [j.records for j in jobs] == [8, 3]
    assert [i for j in jobs for f in j.files for i in f] == list(range(11))
    small = bj.split_lines(lines_of([10] * 2), q)
    assert [j.records for j in small] == [2] and small[0].below_min_records


def test_quota_validation():
    with pytest.raises(ValueError, match="positive integer"):
        bj.BatchQuotas(min_records_per_job=0)
    with pytest.raises(ValueError, match="cannot exceed"):
        bj.BatchQuotas(max_records_per_file=10, max_records_per_job=5)


def test_job_request_shape_and_validation():
    req = bj.job_request(
        name="doc-summarizer-abc123",
        role_arn=ROLE,
        model_id="us.anthropic.claude-sonnet-4",
        input_s3_uri="s3://bucket/in/",
        output_s3_uri="s3://bucket/out/",
        style="Converse",
        timeout_hours=48,
    )
    assert req == {
        "jobName": "doc-summarizer-abc123",
        "roleArn": ROLE,
        "clientRequestToken": "doc-summarizer-abc123",
        "modelId": "us.anthropic.claude-sonnet-4",
        "inputDataConfig": {
            "s3InputDataConfig": {"s3Uri": "s3://bucket/in/", "s3InputFormat": "JSONL"}
        },
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://bucket/out/"}},
        "timeoutDurationInHours": 48,
        "modelInvocationType": "Converse",
    }
    base = dict(
        name="j",
        role_arn=ROLE,
        model_id="m",
        input_s3_uri="s3://bucket/i",
        output_s3_uri="s3://bucket/o",
    )
    with pytest.raises(
        ValueError, match="timeout_hours 12 is not a job timeout: Bedrock takes 24 to 168 hours"
    ):
        bj.job_request(**base, timeout_hours=12)
    with pytest.raises(ValueError, match="IAM role ARN"):
        bj.job_request(**{**base, "role_arn": "arn:aws:iam::123456789012:user/me"})
    with pytest.raises(ValueError, match="s3://"):
        bj.job_request(**{**base, "input_s3_uri": "/tmp/in"})
    assert len(bj.job_name("x" * 100, "0123456789ab")) == 63


def test_job_tags_follow_the_bedrock_service_model():
    """The tag rules the checks use are the Tag shape of botocore's bedrock service model."""
    model = botocore.session.get_session().get_service_model("bedrock")
    value, key = model.shape_for("TagValue"), model.shape_for("TagKey")
    assert value.metadata["pattern"] == key.metadata["pattern"] == bj.TAG_PATTERN
    assert (value.metadata["max"], key.metadata["max"]) == (bj.TAG_VALUE_MAX, bj.TAG_KEY_MAX)
    assert model.shape_for("TagList").metadata["max"] == bj.TAGS_MAX


def test_job_names_and_tokens_follow_the_bedrock_service_model():
    """A job name may hold '.' and '+', a clientRequestToken may not: such a name gets a token
    that fits the token's pattern, its own (two names never share one); a name job_name makes
    is its own token."""
    shape = (
        botocore.session.get_session()
        .get_service_model("bedrock")
        .operation_model("CreateModelInvocationJob")
        .input_shape
    )
    name_rule, token_rule = (shape.members[k].metadata for k in ("jobName", "clientRequestToken"))
    names = ["nightly.v2", "nightly+v2", "nightly-v2", "a" + ".b" * 31]
    tokens = []
    for name in names:
        request = bj.job_request(
            name=name, role_arn=ROLE, model_id="m", input_s3_uri="s3://bucket/i",
            output_s3_uri="s3://bucket/o",
        )  # fmt: skip
        assert re.fullmatch(name_rule["pattern"], request["jobName"])
        token = request["clientRequestToken"]
        assert re.fullmatch(token_rule["pattern"], token) and len(token) <= token_rule["max"]
        tokens.append(token)
    assert tokens == [
        "nightly-v2-f8d1b771a101",
        "nightly-v2-50ab7e5bc90b",
        "nightly-v2",
        "a" + "-b" * 31 + "-bb0bd46cfa6f",
    ]
    assert (name_rule["pattern"], name_rule["max"]) == (bj.JOB_NAME_PATTERN, bj.JOB_NAME_MAX)
    assert (token_rule["pattern"], token_rule["max"]) == (bj.TOKEN_PATTERN, bj.TOKEN_MAX)
    made = bj.job_name("nightly:us-east-1:model.v2", "0123456789ab")
    assert bj.request_token(made) == made == "nightly-us-east-1-model-v2-0123456789ab"
    with pytest.raises(ValueError, match="client request token 'a.b' is not valid"):
        bj.job_request(
            name="j", role_arn=ROLE, model_id="m", input_s3_uri="s3://bucket/i",
            output_s3_uri="s3://bucket/o", client_request_token="a.b",
        )  # fmt: skip


def test_tag_values_are_made_to_fit_and_stay_distinct():
    group = "nightly:us-east-1:anthropic.claude-3-haiku-20240307-v1:0"
    assert bj.tag_value(group) == group  # fits: unchanged
    assert bj.tag_value("Support Bot (EU):" + group[8:]) == (
        "Support Bot _EU_:us-east-1:anthropic.claude-3-haiku-20240307-v1:0@f8792ca04c"
    )
    assert bj.tag_value("(unknown):us-east-1:x") == "_unknown_:us-east-1:x@befbd93f23"
    # read alike, stay two values; each fits Bedrock's pattern and length
    values = [bj.tag_value(t) for t in ("Café & Co", "Cafe & Co", "Cafe _ Co", "é" * 300)]
    assert values[:3] == ["Cafe _ Co@7c87f88c52", "Cafe _ Co@dac0a6d58a", "Cafe _ Co"]
    assert len(values[3]) == 256 and values[3].endswith("@7250b66610")
    bj.check_tags({f"k{i}": v for i, v in enumerate(values)})


@pytest.mark.parametrize(
    "tags",
    [{"bedrock-finops:job-group": "Support Bot (EU)"}, {"k": "x" * 257}, {"": "v"}, {"k(": "v"}],
)
def test_job_request_refuses_tags_bedrock_refuses(tags):
    with pytest.raises(ValueError, match="is not one Bedrock takes"):
        bj.job_request(
            name="j", role_arn=ROLE, model_id="m", input_s3_uri="s3://bucket/i",
            output_s3_uri="s3://bucket/o", tags=tags,
        )  # fmt: skip


def test_export_writes_jobs_deterministically(tmp_path):
    recs = br.records_for_segment(usage_rows(7), PROMPTS)
    q = bj.BatchQuotas(min_records_per_job=2, max_records_per_file=2, max_records_per_job=4)
    kwargs = dict(
        segment="doc-summarizer:sonnet-4:1a2b3c4d",
        model_id="anthropic.claude-sonnet-4",
        role_arn=ROLE,
        s3_prefix="s3://bucket/batch/",
        quotas=q,
    )
    jobs = bj.export_segment(recs, tmp_path / "a", **kwargs)
    again = bj.export_segment(recs, tmp_path / "b", **kwargs)
    assert [j.name for j in jobs] == [j.name for j in again]  # names derive from content
    assert [j.records for j in jobs] == [4, 3]
    assert jobs[0].name.startswith("doc-summarizer-sonnet-4-1a2b3c4d-")
    files = sorted((tmp_path / "a" / jobs[0].name / "input").glob("*.jsonl"))
    assert [len(br.read_jsonl(f)) for f in files] == [2, 2]
    for f in files:
        for rec in br.read_jsonl(f):
            br.validate_record(rec, "Converse")
    req = json.loads((tmp_path / "a" / jobs[0].name / "request.json").read_text())
    assert req["inputDataConfig"]["s3InputDataConfig"]["s3Uri"] == (
        f"s3://bucket/batch/{jobs[0].name}/input/"
    )
    mapping = pd.read_csv(tmp_path / "a" / jobs[1].name / "records.csv")
    assert mapping["request_id"].tolist() == ["req-4", "req-5", "req-6"]


def _request(name):
    return bj.job_request(
        name=name,
        role_arn=ROLE,
        model_id="anthropic.claude-sonnet-4",
        input_s3_uri=f"s3://bucket/p/{name}/input/",
        output_s3_uri=f"s3://bucket/p/{name}/output/",
    )


def test_submit_dry_run_makes_no_calls():
    out = bs.submit_jobs([_request("job-a")], client=object(), apply=False)
    assert out.to_dict("records") == [
        {
            "job": "job-a",
            "jobName": "job-a",
            "region": None,
            "action": "would-create",
            "status": "unchecked",  # not looked up
            "jobArn": None,
            "detail": "",
        }
    ]


def _listed(name):
    """The parameters of the ListModelInvocationJobs call that looks for ``name``."""
    return {"nameContains": name, "maxResults": 100}


def _summary(
    name, status, arn="arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/old123", **more
):
    return {
        "jobArn": arn,
        "jobName": name,
        "modelId": "anthropic.claude-sonnet-4",
        "roleArn": ROLE,
        "status": status,
        "submitTime": datetime(2026, 11, 1, tzinfo=UTC),
        "inputDataConfig": {"s3InputDataConfig": {"s3Uri": f"s3://bucket/p/{name}/input/"}},
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": f"s3://bucket/p/{name}/output/"}},
        **more,
    }


def _bedrock():
    import boto3

    return boto3.client(
        "bedrock", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )


def _checked(aws_client, *request_ids: list[str]) -> dict:
    """What ``submit_jobs`` needs to check the jobs it creates: each request's request IDs
    and an S3 client (moto's; the bucket of the requests' prefix holds nothing yet)."""
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="bucket")
    return {"request_ids": list(request_ids), "s3_client": s3}


def _request_list(s3, name: str) -> dict:
    """The request list ``submit_jobs`` wrote for job ``name``."""
    return json.loads(s3.get_object(Bucket="bucket", Key=f"p/{name}/requests.json")["Body"].read())


def test_submit_is_idempotent_with_stubber(aws_client):
    client = _bedrock()
    checked = _checked(aws_client, ["r-a"], ["r-b"])
    arn_old = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/old123"
    arn_new = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/new456"
    a, b = _request("job-a"), _request("job-b")
    with Stubber(client) as stub:
        for name in ("job-a", "job-b"):  # one list call per name, in request order
            jobs = [_summary("job-a" if name == "job-a" else "job-b-old", "InProgress", arn_old)]
            stub.add_response(
                "list_model_invocation_jobs", {"invocationJobSummaries": jobs}, _listed(name)
            )
        stub.add_response("create_model_invocation_job", {"jobArn": arn_new}, b)
        out = bs.submit_jobs([a, b], client=client, apply=True, **checked)
        stub.assert_no_pending_responses()
    assert out[["jobName", "action", "status", "jobArn"]].to_dict("records") == [
        {"jobName": "job-a", "action": "exists", "status": "InProgress", "jobArn": arn_old},
        {"jobName": "job-b", "action": "created", "status": "-", "jobArn": arn_new},
    ]


def test_job_statuses_are_the_service_models():
    """Every status ListModelInvocationJobs gives is either on its way or done (a job that
    exists), or unfinished (its records not all processed): none is left to chance."""
    model = botocore.session.get_session().get_service_model("bedrock")
    statuses = set(model.shape_for("ModelInvocationJobStatus").enum)
    assert statuses == bs.GOING_STATUSES | bs.UNFINISHED_STATUSES
    assert not bs.GOING_STATUSES & bs.UNFINISHED_STATUSES


@pytest.mark.parametrize(
    "status", ["Failed", "Stopped", "Stopping", "Expired", "PartiallyCompleted"]
)
def test_a_job_that_did_not_process_its_records_is_not_taken_for_done(status):
    """A job of the same name that ended unfinished is reported with its status and why, not
    as one that exists; nothing is created unless asked to resubmit."""
    client = _bedrock()
    counts = {"totalRecordCount": 200, "processedRecordCount": 150}
    counts |= {"successRecordCount": 149, "errorRecordCount": 1}
    summary = _summary("job-a", status, message="Not all records were processed.", **counts)
    with Stubber(client) as stub:
        stub.add_response(
            "list_model_invocation_jobs", {"invocationJobSummaries": [summary]}, _listed("job-a")
        )
        out = bs.submit_jobs([_request("job-a")], client=client, apply=True)
        stub.assert_no_pending_responses()  # no create
    (row,) = out.to_dict("records")
    assert row == {
        "job": "job-a",
        "jobName": "job-a",
        "region": None,
        "action": "unfinished",
        "status": status,
        "jobArn": summary["jobArn"],
        "detail": "150 of 200 records processed (149 succeeded, 1 with an error); Not all "
        "records were processed.",
    }


def test_resubmit_creates_the_next_attempt_in_a_place_of_its_own(aws_client):
    """With ``resubmit``, a failed job is submitted anew as ``<name>-r2``, with its own token
    and S3 locations; its inputs are uploaded there (``before_create`` gets that request). Run
    again, the resubmission is found (one list call covers both names) and not made twice."""
    client = _bedrock()
    failed = _summary("job-a", "Failed", message="The role could not read the input.")
    arn_new = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/new456"
    expected = _request("job-a")
    expected["jobName"] = expected["clientRequestToken"] = "job-a-r2"
    expected["inputDataConfig"]["s3InputDataConfig"]["s3Uri"] = "s3://bucket/p/job-a-r2/input/"
    expected["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"] = "s3://bucket/p/job-a-r2/output/"
    uploaded = []
    with Stubber(client) as stub:
        stub.add_response(
            "list_model_invocation_jobs", {"invocationJobSummaries": [failed]}, _listed("job-a")
        )
        stub.add_response("create_model_invocation_job", {"jobArn": arn_new}, expected)
        out = bs.submit_jobs(
            [_request("job-a")],
            client=client,
            apply=True,
            resubmit=True,
            before_create=lambda i, request: uploaded.append((i, request)),
            **_checked(aws_client, ["r-1"]),
        )
        stub.assert_no_pending_responses()
    assert uploaded == [(0, expected)]
    assert out[["job", "jobName", "action", "jobArn", "detail"]].to_dict("records") == [
        {
            "job": "job-a",
            "jobName": "job-a-r2",
            "action": "resubmitted",
            "jobArn": arn_new,
            "detail": f"resubmits job-a (Failed, {failed['jobArn']})",
        }
    ]
    again = [failed, _summary("job-a-r2", "InProgress", arn_new)]
    with Stubber(client) as stub:
        stub.add_response(
            "list_model_invocation_jobs", {"invocationJobSummaries": again}, _listed("job-a")
        )
        out = bs.submit_jobs([_request("job-a")], client=client, apply=True, resubmit=True)
        stub.assert_no_pending_responses()
    assert out[["jobName", "action", "status"]].to_dict("records") == [
        {"jobName": "job-a-r2", "action": "exists", "status": "InProgress"}
    ]


def test_a_job_being_stopped_is_not_resubmitted():
    """A job Stopping has not ended (it becomes Stopped): --resubmit leaves it unfinished and
    creates nothing, rather than a second job billing the records it processed again."""
    client = _bedrock()
    counts = {"totalRecordCount": 2706, "processedRecordCount": 2000}
    summary = _summary("job-a", "Stopping", **counts)
    with Stubber(client) as stub:  # no create queued: one would fail the stubber
        stub.add_response(
            "list_model_invocation_jobs", {"invocationJobSummaries": [summary]}, _listed("job-a")
        )
        out = bs.submit_jobs([_request("job-a")], client=client, apply=True, resubmit=True)
        stub.assert_no_pending_responses()
    assert out[["jobName", "action", "status", "detail"]].to_dict("records") == [
        {
            "jobName": "job-a",
            "action": "unfinished",
            "status": "Stopping",
            "detail": "2,000 of 2,706 records processed",
        }
    ]


@pytest.mark.parametrize(
    ("status", "processed", "said"),
    [
        ("Stopped", 2000, "the 2,000 records it processed are billed again"),
        ("Stopped", None, "the records it processed are billed again"),
        ("Stopped", 0, ""),
        ("PartiallyCompleted", 1, "the 1 record it processed is billed again"),
        ("Failed", 150, "the 150 records it processed are billed again"),
        ("Failed", None, ""),
        ("Failed", 0, ""),
        ("Expired", 0, ""),
    ],
)
def test_a_resubmission_says_which_records_are_billed_again(status, processed, said):
    """AWS bills a stopped job for the tokens it processed (and a partly completed one for its
    processed records): resubmitted, those are billed again, and the plan's detail says so; a
    job that failed or expired having processed none bills nothing twice."""
    counts = {"totalRecordCount": 2706}
    if processed is not None:
        counts["processedRecordCount"] = processed
    last = _summary("job-a", status, **counts)
    assert bs.billed_again(last) == said
    (row,) = bs.plan_submissions([_request("job-a")], [None], [[last]], resubmit=True)
    assert (row["action"], row["jobName"]) == ("would-resubmit", "job-a-r2")
    assert row["detail"] == f"resubmits job-a ({status}, {last['jobArn']})" + (
        f"; {said}" if said else ""
    )


@pytest.mark.parametrize(
    ("status", "processed", "billed"),
    [
        ("Stopping", 0, True),  # not ended: it may process more
        ("Stopped", None, True),
        ("Stopped", 0, False),
        ("PartiallyCompleted", None, True),
        ("PartiallyCompleted", 2, True),
        ("Failed", None, False),
        ("Failed", 150, True),
        ("Expired", None, False),  # AWS: it did not start before its timeout
    ],
)
def test_an_unfinished_job_holds_requests_when_it_was_billed_for_some(status, processed, billed):
    """The requests of an unfinished job of another name count as held (a job holding any
    bills them again) when it processed, and was billed for, some of its records: the same
    rule as for resubmitting it (billed_again)."""
    from bedrock_finops.batch_overlap import billed_when_unfinished

    counts = {"totalRecordCount": 3}
    if processed is not None:
        counts["processedRecordCount"] = processed
    assert billed_when_unfinished(_summary("job-a", status, **counts)) is billed


def test_a_long_names_attempts_keep_its_digest_and_are_each_looked_up():
    name = bj.job_name("doc-summarizer:us-east-1:us.anthropic.claude-sonnet-4", "aec43901cd65")
    assert len(name) == 63
    second = bj.attempt_name(name, 2)
    assert second == "doc-summarizer-us-east-1-us-anthropic-claude-so-aec43901cd65-r2"
    hundredth = bj.attempt_name(name, 100)
    assert hundredth == "doc-summarizer-us-east-1-us-anthropic-claude-aec43901cd65-r100"
    assert re.fullmatch(bj.JOB_NAME_PATTERN, hundredth) and len(hundredth) <= 63
    assert bj.attempt_name("job-a", 3) == "job-a-r3"
    client = _bedrock()
    with Stubber(client) as stub:  # the cut name holds neither search: one call each
        stub.add_response(
            "list_model_invocation_jobs",
            {"invocationJobSummaries": [_summary(name, "Expired")]},
            _listed(name),
        )
        stub.add_response(
            "list_model_invocation_jobs",
            {"invocationJobSummaries": [_summary(second, "Completed")]},
            _listed(second),
        )
        stub.add_response(
            "list_model_invocation_jobs",
            {"invocationJobSummaries": []},
            _listed(bj.attempt_name(name, 3)),
        )
        attempts = bs.job_attempts(client, name)
        stub.assert_no_pending_responses()
    assert [(job["jobName"], job["status"]) for job in attempts] == [
        (name, "Expired"),
        (second, "Completed"),
    ]


def test_a_groups_name_stem_starts_every_name_of_its_jobs():
    """The stem batch-export looks up a group's other jobs by: every digest's name and every
    attempt's (cut or not) starts with it; another group's does not."""
    from bedrock_finops.batch_overlap import is_own_folder

    group = "doc-summarizer:us-east-1:us.anthropic.claude-sonnet-4"
    name = bj.job_name(group, "aec43901cd65")
    stem = bj.name_stem(name)
    assert stem == "doc-summarizer-us-east-1-us-anthropic-claude-s"
    assert bj.name_stem(bj.job_name(group, "0123456789ab")) == stem
    assert all(bj.attempt_name(name, n).startswith(stem) for n in range(1, 100))
    assert not bj.job_name(
        "doc-summarizer:eu-west-1:eu.anthropic.claude", "aec43901cd65"
    ).startswith(stem)
    assert bj.name_stem("job-a-aec43901cd65") == "job-a"
    # a folder of an export's own job: its name, or one of its attempts'
    assert is_own_folder([name], name) and is_own_folder([name], bj.attempt_name(name, 100))
    assert not is_own_folder([name], bj.job_name(group, "0123456789ab"))
    assert not is_own_folder(["job-a-aec43901cd65"], "job-a-aec43901cd65-r1")


def test_a_refusals_fix_names_the_split_the_jobs_submitted_before_were_exported_with():
    """The fix for requests jobs submitted before hold: their export's --max-records (and its
    --min-records where it differed from this export's); for the same split, a run whose
    requests none holds; for a split not recorded, both."""
    from bedrock_finops.batch_overlap import Holder, Overlaps, SubmittedJob

    def fix(*jobs: SubmittedJob) -> str:
        found = Overlaps(split=(2, 1), records={0: 4})
        found.held[0] = [Holder(job, 1) for job in jobs]
        return found.fix([0]).partition(",")[0].partition(":")[0]

    done = frozenset({"r1"})
    assert fix(SubmittedJob("a", "Completed", done, 3, 1)) == "export them with --max-records 3"
    assert fix(SubmittedJob("a", "Completed", done, 3, 5)) == (
        "export them with --max-records 3 --min-records 5"
    )
    assert fix(SubmittedJob("a", "Completed", done, 2, 1)) == (
        "those jobs were exported with this split"
    )
    generic = (
        "export them with the --max-records (and --min-records) the export that submitted those "
        "jobs used"
    )
    assert fix(SubmittedJob("a", "Completed", done, from_out=True)) == generic
    # two exports, two splits: no one value to name
    two = fix(
        SubmittedJob("a", "Completed", done, 3, 1), SubmittedJob("b", "Completed", done, 4, 1)
    )
    assert two == generic
    found = Overlaps(split=(2, 1), records={0: 1})
    found.held[0] = [Holder(SubmittedJob("a", "InProgress", done, 3, 1), 1)]
    assert found.held_text(0) == (
        "1 of its 1 request is held by a (InProgress, exported with --max-records 3)"
    )
    assert found.action(0, apply=False) == "would-refuse: 1 of its 1 request held by another job"


def test_of_two_jobs_of_one_name_the_last_submitted_counts():
    """Should two jobs share a name (one made by hand), the one submitted last says how the
    job stands, in whichever order Bedrock lists them."""
    older = _summary("job-a", "Failed")
    newer = dict(_summary("job-a", "Completed"), submitTime=datetime(2026, 11, 2, tzinfo=UTC))
    for listed in ([older, newer], [newer, older]):
        client = _bedrock()
        with Stubber(client) as stub:
            stub.add_response(
                "list_model_invocation_jobs", {"invocationJobSummaries": listed}, _listed("job-a")
            )
            attempts = bs.job_attempts(client, "job-a")
        assert [job["status"] for job in attempts] == ["Completed"]


# --- a job named by an earlier version ------------------------------------------------------

# the name of the job of _logged_rows(3): a digest of its requests' IDs and bodies, its model
# ID and record form
NAME = "doc-summarizer-4027eadeec58"
# the names earlier versions gave that job (the same requests, model ID and record form): a
# digest of its lines, whose record IDs were R and 10 hex digits (before base 62; 4025ae4),
# then 11 base-62 digits (dc26fd6)
NAMED_WITH_HEX_IDS = "doc-summarizer-bf60401de3a3"
NAMED_WITH_BASE62_IDS = "doc-summarizer-7089e5befa43"


def _logged_rows(n):
    """``n`` requests whose user turns were all logged, each setting max_tokens."""
    return usage_rows(n).assign(user_text=[f"document {i}" for i in range(n)], max_tokens=512)


def _export_one(tmp_path, rows):
    """The one job ``rows`` are exported as, segment doc-summarizer, under s3://bucket/p."""
    (job,) = bj.export_segment(
        br.records_for_segment(rows, PROMPTS),
        tmp_path,
        segment="doc-summarizer",
        model_id="anthropic.claude-sonnet-4",
        role_arn=ROLE,
        s3_prefix="s3://bucket/p",
    )
    return job


def _listed_earlier(stub, job, held, *jobs):
    """``stub`` answers the searches for the names earlier versions gave ``job`` (job.json's
    earlierNames) with none, but the search for ``held`` with ``jobs``."""
    for name in json.loads((job.directory / "job.json").read_text())["earlierNames"]:
        found = jobs if name == held else ()
        stub.add_response(
            "list_model_invocation_jobs", {"invocationJobSummaries": list(found)}, _listed(name)
        )
        if name == held:
            return


def test_a_jobs_name_does_not_change_with_how_record_ids_are_spelled(tmp_path, monkeypatch):
    """A job's name is a digest of its requests' IDs and bodies, model ID and record form:
    the same requests with record IDs spelled otherwise (as R and 10 hex digits) keep it,
    though every line differs; another body, or another request, is another job."""
    job = _export_one(tmp_path / "base62", _logged_rows(3))
    assert job.name == NAME
    monkeypatch.setattr(br, "record_id", br.earlier_record_id)
    hex_ids = _export_one(tmp_path / "hex", _logged_rows(3))
    assert hex_ids.name == NAME
    lines = [(j.directory / "input" / "part-0001.jsonl").read_text() for j in (job, hex_ids)]
    assert lines[0] != lines[1] and '"recordId":"RBFE74A1B98"' in lines[1]
    monkeypatch.undo()
    other_body = _logged_rows(3).assign(max_tokens=256)
    other_request = _logged_rows(3).assign(request_id=["req-0", "req-1", "req-9"])
    for rows in (other_body, other_request):
        assert _export_one(tmp_path / "other", rows).name != NAME


def test_records_not_built_here_are_named_by_their_work_too(tmp_path):
    """Records given as they are, held or spooled (not built by RecordBuilder), give their
    job the name the built ones do; a body's keys in another order are the same work."""
    built = br.records_for_segment(_logged_rows(3), PROMPTS)
    reordered = [
        {"recordId": r["recordId"], "modelInput": dict(reversed(r["modelInput"].items()))}
        for r in built.records
    ]
    held = br.SegmentRecords("Converse", reordered, built.request_ids)
    spool = tmp_path / "spool.jsonl"
    spool.write_bytes(b"".join(br.record_line(r) for r in reordered))
    spooled = br.SegmentRecords(
        "Converse",
        [],
        built.request_ids,
        record_ids=built.record_ids,
        spool=spool,
        sizes=[len(line) for line in held.lines()],
    )
    kw = dict(model_id="anthropic.claude-sonnet-4", role_arn=ROLE, s3_prefix="s3://bucket/p")
    for n, records in enumerate((held, spooled)):
        (job,) = bj.export_segment(records, tmp_path / str(n), segment="doc-summarizer", **kw)
        assert job.name == NAME


@pytest.mark.parametrize("held", [NAMED_WITH_BASE62_IDS, NAMED_WITH_HEX_IDS])
def test_a_job_submitted_under_the_name_an_earlier_version_gave_it_is_not_created_again(
    tmp_path, held
):
    """Earlier versions named the same requests' job after its lines, record IDs included
    (R and 10 hex digits, then 11 base-62 digits): job.json lists those names, and the job
    Bedrock holds under one of them is this job, found and not created again (no create is
    queued)."""
    job = _export_one(tmp_path, _logged_rows(3))
    spec = json.loads((job.directory / "job.json").read_text())
    assert spec["earlierNames"] == [NAMED_WITH_BASE62_IDS, NAMED_WITH_HEX_IDS]
    assert job.earlier_names == spec["earlierNames"]
    done = _summary(held, "Completed")
    client = _bedrock()
    with Stubber(client) as stub:
        stub.add_response(
            "list_model_invocation_jobs", {"invocationJobSummaries": []}, _listed(job.name)
        )
        _listed_earlier(stub, job, held, done)
        out = bs.submit_jobs(
            [job.request], client, apply=True, earlier_names=[spec["earlierNames"]]
        )
        stub.assert_no_pending_responses()
    assert out.to_dict("records") == [
        {
            "job": NAME,
            "jobName": held,
            "region": None,
            "action": "exists",
            "status": "Completed",
            "jobArn": done["jobArn"],
            "detail": "",
        }
    ]


def test_a_job_failed_under_an_earlier_name_is_resubmitted_as_that_names_next_attempt(
    tmp_path, aws_client
):
    """A job that failed under the name an earlier version gave it is resubmitted as that
    name's next attempt (``-r2``), its inputs in a location of its own under the export's
    prefix, not the failed job's; run again, that attempt is found."""
    job = _export_one(tmp_path, _logged_rows(3))
    failed = _summary(NAMED_WITH_HEX_IDS, "Failed")
    again = f"{NAMED_WITH_HEX_IDS}-r2"
    expected = json.loads(json.dumps(job.request))
    expected["jobName"] = expected["clientRequestToken"] = again
    expected["inputDataConfig"]["s3InputDataConfig"]["s3Uri"] = f"s3://bucket/p/{again}/input/"
    expected["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"] = f"s3://bucket/p/{again}/output/"
    arn_new = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/new456"
    uploaded = []
    checked = _checked(aws_client, job_request_ids(job.directory))
    for listed in ([failed], [failed, _summary(again, "InProgress", arn_new)]):
        client = _bedrock()
        with Stubber(client) as stub:
            stub.add_response(
                "list_model_invocation_jobs", {"invocationJobSummaries": []}, _listed(job.name)
            )
            _listed_earlier(stub, job, NAMED_WITH_HEX_IDS, *listed)
            if len(listed) == 1:
                stub.add_response("create_model_invocation_job", {"jobArn": arn_new}, expected)
            out = bs.submit_jobs(
                [job.request],
                client,
                apply=True,
                resubmit=True,
                before_create=lambda i, request: uploaded.append(request),
                earlier_names=[job.earlier_names],
                **checked,
            )
            stub.assert_no_pending_responses()
        (row,) = out.to_dict("records")
        if len(listed) == 1:
            assert (row["jobName"], row["action"], row["jobArn"]) == (again, "resubmitted", arn_new)
            assert row["detail"] == f"resubmits {NAMED_WITH_HEX_IDS} (Failed, {failed['jobArn']})"
        else:
            assert (row["jobName"], row["action"], row["status"]) == (again, "exists", "InProgress")
    assert uploaded == [expected]


def test_a_job_done_under_an_earlier_name_is_not_resubmitted_for_a_failed_one_of_its_own():
    """Bedrock holds the job twice, Failed under its own name and Completed under the name an
    earlier version gave it: its records were processed, so it exists and --resubmit creates
    nothing; of two unfinished ones, the one submitted last counts."""
    failed = _summary("job-a", "Failed")
    done = _summary("job-old", "Completed", "arn:aws:bedrock:us-east-1:1:model-invocation-job/d")
    client = _bedrock()
    with Stubber(client) as stub:  # no create queued: one would fail the stubber
        stub.add_response(
            "list_model_invocation_jobs", {"invocationJobSummaries": [failed]}, _listed("job-a")
        )
        stub.add_response(
            "list_model_invocation_jobs", {"invocationJobSummaries": [done]}, _listed("job-old")
        )
        attempts = bs.found_attempts(client, "job-a", ["job-old"])
        stub.assert_no_pending_responses()
    assert attempts == [done]
    expired = dict(_summary("job-old", "Expired"), submitTime=datetime(2026, 11, 2, tzinfo=UTC))
    client = _bedrock()
    with Stubber(client) as stub:
        for name, summary in (("job-a", failed), ("job-old", expired)):
            stub.add_response(
                "list_model_invocation_jobs", {"invocationJobSummaries": [summary]}, _listed(name)
            )
        assert bs.found_attempts(client, "job-a", ["job-old"]) == [expired]
        stub.assert_no_pending_responses()
    (row,) = bs.plan_submissions([_request("job-a")], [None], [[expired]], resubmit=True)
    assert (row["jobName"], row["found"]) == ("job-old-r2", "job-old")
    assert row["request"]["inputDataConfig"]["s3InputDataConfig"]["s3Uri"] == (
        "s3://bucket/p/job-old-r2/input/"
    )


def test_a_failed_create_names_the_job_and_keeps_the_rows_done(aws_client):
    """The second of two creates refused: the error names the job, and the log the caller
    passed still holds the first job's row, with its ARN."""
    client = _bedrock()
    arn = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/new456"
    log: list[dict] = []
    with Stubber(client) as stub:
        for name in ("job-a", "job-b"):
            stub.add_response(
                "list_model_invocation_jobs", {"invocationJobSummaries": []}, _listed(name)
            )
        stub.add_response("create_model_invocation_job", {"jobArn": arn}, _request("job-a"))
        stub.add_client_error(
            "create_model_invocation_job",
            "ServiceQuotaExceededException",
            "Too many concurrent jobs",
        )
        with pytest.raises(bs.BatchSubmitError) as raised:
            bs.submit_jobs(
                [_request("job-a"), _request("job-b")],
                client,
                apply=True,
                log=log,
                **_checked(aws_client, ["r-a"], ["r-b"]),
            )
    assert str(raised.value) == (
        "creating batch job job-b failed (ServiceQuotaExceededException: Too many concurrent jobs)"
    )
    assert [(row["jobName"], row["action"], row["jobArn"]) for row in log] == [
        ("job-a", "created", arn)
    ]


@pytest.mark.parametrize("raised", ["read timeout", "ctrl-c", "refused", "not sent"])
def test_a_create_without_an_answer_is_logged_as_maybe_created(raised):
    """A create that raised before Bedrock answered (a read timeout after botocore's retries,
    Ctrl-C) may have made the job: its row is logged as maybe-created before the error goes on.
    One Bedrock refused, or botocore never sent, made nothing and logs no row."""
    from botocore.exceptions import ParamValidationError, ReadTimeoutError

    errors = {
        "read timeout": ReadTimeoutError(endpoint_url="https://bedrock.us-east-1.amazonaws.com"),
        "ctrl-c": KeyboardInterrupt(),
        "refused": ClientError(
            {"Error": {"Code": "ValidationException", "Message": "bad role"}},
            "CreateModelInvocationJob",
        ),
        "not sent": ParamValidationError(report="Invalid length for parameter jobName"),
    }

    class Bedrock:
        def create_model_invocation_job(self, **_):
            raise errors[raised]

    plan = [
        {**step, bs.OVERLAPS_CHECKED: True}  # as batch_overlap.guard_plan marks a job to create
        for step in bs.plan_submissions([_request("job-a")], [None], [[]])
    ]
    log: list[dict] = []
    with pytest.raises(BaseException) as stopped:
        bs.create_jobs(plan, {None: Bedrock()}, log=log)
    assert stopped.type is (bs.BatchSubmitError if raised == "refused" else type(errors[raised]))
    unanswered = raised in ("read timeout", "ctrl-c")
    assert [(row["jobName"], row["action"], row["jobArn"]) for row in log] == (
        [("job-a", "maybe-created", None)] if unanswered else []
    )


def test_create_jobs_refuses_a_plan_not_checked_for_requests_other_jobs_hold():
    """create_jobs, given plan_submissions' rows as they are, created each job without the
    check submit_jobs and batch-export --apply run (batch_overlap.guard_plan): requests a job
    submitted before holds were billed twice. It creates none, and says what to call."""

    class Bedrock:
        created: list[str] = []

        def create_model_invocation_job(self, **request):
            self.created.append(request["jobName"])
            return {"jobArn": f"arn:aws:bedrock:us-east-1:123456789012:job/{request['jobName']}"}

    bedrock = Bedrock()
    plan = bs.plan_submissions([_request("job-a"), _request("job-b")], [None, None], [[], []])
    log: list[dict] = []
    with pytest.raises(bs.BatchSubmitError) as refused:
        bs.create_jobs(plan, {None: bedrock}, log=log)
    assert str(refused.value) == (
        "no job created: job-a, job-b were not checked against the jobs submitted before, "
        "which may hold their requests (billed twice): create jobs with submit_jobs "
        "(request_ids=), or check the plan with batch_overlap.guard_plan (apply=True) first"
    )
    assert bedrock.created == [] and log == []
    # one checked row does not let the other through
    plan[0] = {**plan[0], bs.OVERLAPS_CHECKED: True}
    with pytest.raises(bs.BatchSubmitError, match="^no job created: job-b was not checked"):
        bs.create_jobs(plan, {None: bedrock})
    assert bedrock.created == []


def test_submit_jobs_refuses_to_create_a_job_it_cannot_check():
    """Without each job's request IDs, submit_jobs could neither find a job of the group that
    holds some of its requests (billed twice) nor write the job's request list for a later
    export to check: it creates nothing (no create is queued) and says what to pass. A job
    that exists needs no check."""
    client = _bedrock()
    with Stubber(client) as stub:
        for name in ("job-a", "job-b"):
            jobs = [_summary(name, "Completed")] if name == "job-a" else []
            stub.add_response(
                "list_model_invocation_jobs", {"invocationJobSummaries": jobs}, _listed(name)
            )
        with pytest.raises(bs.BatchSubmitError) as raised:
            bs.submit_jobs([_request("job-a"), _request("job-b")], client=client, apply=True)
        stub.assert_no_pending_responses()
    assert str(raised.value) == (
        "no job created: submitting job-b needs each job's request IDs (request_ids=, aligned "
        "with the requests: its records.csv, batch_overlap.job_request_ids): without them no job "
        "of its group submitted before can be checked for its requests, which would be billed "
        "twice, nor its request list written for a later export to check against"
    )


# two jobs of one group (stem "grp"): A submitted before with 3 a job, B exported with 2
A_JOB, B_JOB = "grp-aaaaaaaaaaaa", "grp-bbbbbbbbbbbb"


@pytest.mark.parametrize(
    ("status", "resubmit"),
    [("Completed", False), ("PartiallyCompleted", False), ("PartiallyCompleted", True)],
)
def test_submit_jobs_checks_requests_jobs_submitted_before_hold(aws_client, status, resubmit):
    """submit_jobs runs batch-export's check: job A of the group, under the same prefix, holds
    B's 2 requests. A Completed: no job is created, and the error names A and its split. A
    PartiallyCompleted (2 of its 3 records processed, and billed): B is not created unless
    ``resubmit``; then it is, its detail names A, and its request list is written first."""
    checked = _checked(aws_client, ["r1", "r2"])
    s3 = checked["s3_client"]
    listed = {"tool": "bedrock-finops", "kind": "batch-job-requests", "jobName": A_JOB}
    listed |= {"maxRecordsPerJob": 3, "minRecordsPerJob": 1, "requestIds": ["r1", "r2", "r3"]}
    s3.put_object(Bucket="bucket", Key=f"p/{A_JOB}/requests.json", Body=json.dumps(listed))
    counts = {"totalRecordCount": 3, "processedRecordCount": 2}
    a = _summary(A_JOB, status, **(counts if status != "Completed" else {}))
    arn_new = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/new456"
    quotas = bj.BatchQuotas(min_records_per_job=1, max_records_per_file=2, max_records_per_job=2)
    client = _bedrock()
    with Stubber(client) as stub:
        stub.add_response(
            "list_model_invocation_jobs", {"invocationJobSummaries": []}, _listed(B_JOB)
        )
        stub.add_response(
            "list_model_invocation_jobs", {"invocationJobSummaries": [a]}, _listed("grp")
        )
        if resubmit:
            stub.add_response("create_model_invocation_job", {"jobArn": arn_new}, _request(B_JOB))
        try:
            out = bs.submit_jobs(
                [_request(B_JOB)], client, apply=True, resubmit=resubmit, quotas=quotas, **checked
            )
        except bs.BatchSubmitError as exc:
            out = exc
        stub.assert_no_pending_responses()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="bucket").get("Contents", [])]
    if status == "Completed":
        assert str(out) == (
            f"no job created: {B_JOB}: refused: 2 of its 2 requests are held by {A_JOB} "
            "(Completed, exported with --max-records 3); export them with --max-records 3, as "
            "the export that submitted those jobs did: the same requests split the same way "
            "are the same jobs, found as submitted; to run them again knowingly, export to "
            "another --s3-prefix"
        )
        assert keys == [f"p/{A_JOB}/requests.json"]  # B's list not written
        return
    held = (
        f"2 of its 2 requests were in {A_JOB} (PartiallyCompleted, {a['jobArn']}, exported "
        "with --max-records 3), which processed 2 of its 3 records"
    )
    (row,) = out.to_dict("records")
    if not resubmit:
        assert (row["jobName"], row["action"], row["jobArn"], row["detail"]) == (
            B_JOB,
            "not-created: 2 of its 2 requests in an unfinished job",
            None,
            held,
        )
        assert keys == [f"p/{A_JOB}/requests.json"]
        return
    assert (row["action"], row["jobArn"], row["detail"]) == (
        "created",
        arn_new,
        f"{held}: those it processed are billed again",
    )
    assert _request_list(s3, B_JOB) == {
        "tool": "bedrock-finops",
        "kind": "batch-job-requests",
        "jobName": B_JOB,
        "modelId": "anthropic.claude-sonnet-4",
        "maxRecordsPerJob": 2,
        "minRecordsPerJob": 1,
        "requestIds": ["r1", "r2"],
    }


def test_submit_jobs_writes_each_jobs_request_list_before_creating_it(aws_client):
    """The request list is in S3 when the job is created (a job without one could not be
    checked against), and before the caller's before_create runs."""
    checked = _checked(aws_client, ["r-a"])
    s3 = checked["s3_client"]
    seen = []
    client = _bedrock()
    arn = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/new456"
    with Stubber(client) as stub:
        stub.add_response(
            "list_model_invocation_jobs", {"invocationJobSummaries": []}, _listed("job-a")
        )
        stub.add_response("create_model_invocation_job", {"jobArn": arn}, _request("job-a"))
        bs.submit_jobs(
            [_request("job-a")],
            client,
            apply=True,
            before_create=lambda i, request: seen.append(_request_list(s3, "job-a")),
            **checked,
        )
        stub.assert_no_pending_responses()
    assert [listed["requestIds"] for listed in seen] == [["r-a"]]
    assert "maxRecordsPerJob" not in seen[0]  # no quotas given: the split is not recorded


def test_a_refused_job_lookup_names_the_permission():
    """ListModelInvocationJobs refused: the error names the search and the permission, as a
    refused create names its own."""
    client = _bedrock()
    with Stubber(client) as stub:
        stub.add_client_error(
            "list_model_invocation_jobs",
            service_error_code="AccessDeniedException",
            service_message="User: u is not authorized to perform: bedrock:ListModelInvocationJobs",
            http_status_code=403,
            expected_params=_listed("job-a"),
        )
        with pytest.raises(bs.BatchSubmitError) as raised:
            bs.submit_jobs([_request("job-a")], client=client, apply=True)
    assert str(raised.value) == (
        "listing the batch jobs whose name holds job-a failed (AccessDeniedException: User: u is "
        "not authorized to perform: bedrock:ListModelInvocationJobs); these credentials need "
        "bedrock:ListModelInvocationJobs"
    )


def test_upload_job_to_moto_s3(aws_client, tmp_path):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="batch-in")
    recs = br.records_for_segment(usage_rows(3), PROMPTS)
    (job,) = bj.export_segment(
        recs,
        tmp_path,
        segment="seg",
        model_id="anthropic.claude-sonnet-4",
        role_arn=ROLE,
        s3_prefix="s3://batch-in/jobs",
        quotas=bj.BatchQuotas(min_records_per_job=1),
    )
    keys = bs.upload_job(s3, job)
    assert keys == [f"s3://batch-in/jobs/{job.name}/input/part-0001.jsonl"]
    body = s3.get_object(Bucket="batch-in", Key=f"jobs/{job.name}/input/part-0001.jsonl")
    assert body["Body"].read() == job.files[0].read_bytes()


def test_redacted_record_hides_prompt_text_only():
    rec = br.records_for_segment(usage_rows(2), PROMPTS).records[1]
    red = br.redacted_record(rec, show=False)
    assert red["recordId"] == rec["recordId"]
    assert red["modelInput"]["system"][0]["text"] == "[redacted: 23 chars]"
    assert red["modelInput"]["messages"][0]["content"][0]["text"] == "[redacted: 10 chars]"
    assert red["modelInput"]["inferenceConfig"] == rec["modelInput"]["inferenceConfig"]
    assert br.redacted_record(rec, show=True) == rec


def test_redacted_record_hides_a_mistral_chat_messages_text():
    body = br.invoke_model_input(
        "mistral", "mistral", "Be brief.", "Summarise the report.", 64, None,
        model="mistral.mistral-large-2407",
    )  # fmt: skip
    red = br.redacted_record({"recordId": "r1", "modelInput": body}, show=False)
    assert red["modelInput"]["messages"] == [
        {"role": "system", "content": "[redacted: 9 chars]"},
        {"role": "user", "content": "[redacted: 21 chars]"},
    ]
    assert red["modelInput"]["max_tokens"] == 64


def test_spooled_records_write_the_same_jobs_as_held_ones(tmp_path):
    """A job group's records written to a spool file (never all in memory) give the same
    lines, the same job names and byte-identical files as records held in a list."""
    rows = usage_rows(23)
    held = br.records_for_segment(rows, PROMPTS)
    spooled = br.records_for_segment(rows, PROMPTS, spool=tmp_path / "spool.jsonl")
    assert spooled.records == [] and len(spooled.sizes) == 23
    assert spooled.lines() == held.lines()
    assert spooled.sizes == [len(line) for line in held.lines()]
    assert spooled.record_ids == [r["recordId"] for r in held.records]
    assert (spooled.missing_user_text, spooled.default_max_tokens_used) == (5, 12)
    q = bj.BatchQuotas(
        min_records_per_job=2,
        max_records_per_file=4,
        max_records_per_job=10,
        max_file_bytes=10_000,
        max_job_bytes=10_000,
    )
    kw = {
        "segment": "g",
        "model_id": "m",
        "role_arn": ROLE,
        "s3_prefix": "s3://bucket/p",
        "quotas": q,
    }
    a = bj.export_segment(held, tmp_path / "held", **kw)
    b = bj.export_segment(spooled, tmp_path / "spooled", **kw)
    assert [j.name for j in a] == [j.name for j in b] and len(a) == 3
    # a job's name is its work (its requests' IDs and bodies, model ID and record form): the
    # same from either way of writing; the names of its lines, record IDs included, come after
    assert [j.name for j in b] == ["g-c33c6cc9c5e5", "g-1d9ffd6aff94", "g-9f39e6be6e7d"]
    assert [j.earlier_names[0] for j in b] == [
        "g-a3af494fc3c9",
        "g-738c21b29a24",
        "g-fb16db0e0510",
    ]
    assert [j.records for j in b] == [10, 10, 3]
    for ja, jb in zip(a, b, strict=True):
        assert [p.read_bytes() for p in ja.files] == [p.read_bytes() for p in jb.files]
        assert (ja.directory / "records.csv").read_text() == (
            jb.directory / "records.csv"
        ).read_text()
    every = b"".join(p.read_bytes() for j in b for p in j.files)
    assert every == (tmp_path / "spool.jsonl").read_bytes()  # each line once, in order
    assert not list((tmp_path / "held").glob(".spool-*"))  # the scratch spool is removed


def test_a_failed_export_leaves_no_spool(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(bj, "_write_jobs", broken)
    records = br.records_for_segment(usage_rows(3), PROMPTS)
    kw = {"segment": "g", "model_id": "m", "role_arn": ROLE, "s3_prefix": "s3://bucket/p"}
    with pytest.raises(OSError, match="disk full"):
        bj.export_segment(records, tmp_path, **kw)
    assert list(tmp_path.iterdir()) == []


def test_records_are_built_a_slice_at_a_time(monkeypatch):
    monkeypatch.setattr(br, "ROWS_PER_SLICE", 4)
    sliced = br.records_for_segment(usage_rows(11), PROMPTS)
    monkeypatch.setattr(br, "ROWS_PER_SLICE", 4096)
    whole = br.records_for_segment(usage_rows(11), PROMPTS)
    assert sliced.lines() == whole.lines() and len(sliced.records) == 11


def test_read_jsonl_reads_only_what_it_is_asked(tmp_path):
    path = tmp_path / "part-0001.jsonl"
    path.write_text('{"recordId": "a"}\n\n{"recordId": "b"}\n{"recordId": "c"}\n')
    assert [r["recordId"] for r in br.read_jsonl(path)] == ["a", "b", "c"]
    assert br.read_jsonl(path, limit=1) == [{"recordId": "a"}]
    assert br.read_jsonl(path, limit=2) == [{"recordId": "a"}, {"recordId": "b"}]


def test_user_turns_can_come_apart_from_the_rows(monkeypatch):
    """``RecordBuilder.add(stop, user_text)`` with the turns given run by run gives the same
    records as rows that hold them, a slice at a time."""
    monkeypatch.setattr(br, "ROWS_PER_SLICE", 4)
    rows = usage_rows(11)
    lean = br.RecordBuilder(rows.drop(columns=["user_text"]), PROMPTS)
    for stop in (3, 10, 11):  # runs that do not line up with the slices
        lean.add(stop, rows["user_text"].iloc[lean.done : stop].array)
    records = lean.finish()
    assert records.lines() == br.records_for_segment(rows, PROMPTS).lines()
    assert records.missing_user_text == 3  # rows 0, 5 and 10 have none
    half = br.RecordBuilder(rows, PROMPTS)
    half.add(5)
    with pytest.raises(ValueError, match="records built for 5 of 11 rows"):
        half.finish()


def test_upload_job_streams_a_large_file(aws_client, tmp_path):
    """A file is streamed from disk in one PUT; S3 gets the same bytes, and an AWS error
    arrives as the ClientError it is (the CLI prints its message)."""
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="batch-big")
    part = tmp_path / "part-0001.jsonl"
    line = b'{"recordId":"R1","modelInput":{"inputText":"' + b"x" * 1000 + b'"}}\n'
    part.write_bytes(line * 9_000)  # ~9.4 MB
    request = {"inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://batch-big/jobs/j/input/"}}}
    job = bj.ExportedJob("j", tmp_path, [part], 9_000, part.stat().st_size, False, request)
    assert bs.upload_job(s3, job) == ["s3://batch-big/jobs/j/input/part-0001.jsonl"]
    head = s3.head_object(Bucket="batch-big", Key="jobs/j/input/part-0001.jsonl")
    assert head["ContentLength"] == part.stat().st_size
    got = s3.get_object(Bucket="batch-big", Key="jobs/j/input/part-0001.jsonl")["Body"].read()
    assert got == part.read_bytes()
    request["inputDataConfig"]["s3InputDataConfig"]["s3Uri"] = "s3://no-such-bucket/j/input/"
    with pytest.raises(bs.BatchSubmitError) as raised:
        bs.upload_job(s3, job)
    assert str(raised.value) == (
        "listing s3://no-such-bucket/j/input/ failed (NoSuchBucket: The specified bucket does "
        "not exist)"
    )
    assert isinstance(raised.value.__cause__, ClientError)


class _Refused:
    """A botocore ``before-send`` handler that answers the ``n``-th request it sees with S3's
    403 AccessDenied, as S3 sends it (botocore parses it as a real answer)."""

    BODY = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
        b"<Message>Access Denied</Message><RequestId>R1</RequestId></Error>"
    )

    def __init__(self, n: int = 1) -> None:
        self.n, self.seen = n, 0

    def __call__(self, request, **_):
        from botocore.awsrequest import AWSResponse

        self.seen += 1
        if self.seen != self.n:
            return None
        body = self.BODY

        class Raw:
            def stream(self, **_):
                yield body

        return AWSResponse(request.url, 403, {"Content-Type": "application/xml"}, Raw())


def test_upload_job_names_the_key_s3_refused(aws_client, tmp_path):
    """AccessDenied on PutObject: the error names the bucket and key, and the permission."""
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="batch-in")
    part = tmp_path / "part-0001.jsonl"
    part.write_bytes(b'{"recordId":"R1","modelInput":{}}\n')
    request = {
        "jobName": "j",
        "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://batch-in/jobs/j/input/"}},
    }
    job = bj.ExportedJob("j", tmp_path, [part], 1, part.stat().st_size, False, request)
    s3.meta.events.register("before-send.s3.PutObject", _Refused())
    with pytest.raises(bs.BatchSubmitError) as raised:
        bs.upload_job(s3, job)
    assert str(raised.value) == (
        f"uploading {part} to s3://batch-in/jobs/j/input/part-0001.jsonl failed (AccessDenied: "
        "Access Denied); these credentials need s3:PutObject on that key (and "
        "kms:GenerateDataKey when the bucket encrypts with a KMS key)"
    )


def _exported_job(tmp_path, s3_prefix="s3://batch-in/jobs", **quotas):
    recs = br.records_for_segment(usage_rows(5), PROMPTS)
    quotas = {"min_records_per_job": 1, **quotas}
    (job,) = bj.export_segment(
        recs, tmp_path, segment="seg", model_id="anthropic.claude-sonnet-4", role_arn=ROLE,
        s3_prefix=s3_prefix, quotas=bj.BatchQuotas(**quotas),
    )  # fmt: skip
    return job


def test_an_export_again_writes_its_job_folder_anew(tmp_path):
    """The same job (same records, model and form: same name) exported with 2 records a file,
    then 5: its folder keeps only the second export's part file, which job.json lists; a file
    of the user's there stays (and is no input file of the job's)."""
    first = _exported_job(tmp_path, max_records_per_file=2)
    assert [p.name for p in first.files] == [
        "part-0001.jsonl",
        "part-0002.jsonl",
        "part-0003.jsonl",
    ]
    mine = first.directory / "input" / "notes.jsonl"
    mine.write_text("{}\n")
    again = _exported_job(tmp_path)
    assert again.name == first.name
    assert sorted(p.name for p in (again.directory / "input").iterdir()) == [
        "notes.jsonl",
        "part-0001.jsonl",
    ]
    spec = json.loads((again.directory / "job.json").read_text())
    assert spec["inputFiles"] == ["part-0001.jsonl"]
    assert len(br.read_jsonl(again.files[0])) == 5


def test_upload_job_leaves_only_the_jobs_files_in_its_input_location(aws_client, tmp_path):
    """Part files an earlier upload of the job left (3 files a split ago, now 1) are deleted
    before the upload, and said as deleted: the job reads each record once."""
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="batch-in")
    job = _exported_job(tmp_path)
    prefix = f"jobs/{job.name}/input/"
    for n in (1, 2, 3):
        s3.put_object(Bucket="batch-in", Key=f"{prefix}part-000{n}.jsonl", Body=b"{}\n")
    changes = []
    keys = bs.upload_job(s3, job, lambda what, uri: changes.append((what, uri)))
    assert keys == [f"s3://batch-in/{prefix}part-0001.jsonl"]
    assert changes == [
        ("deleted", f"s3://batch-in/{prefix}part-0002.jsonl"),
        ("deleted", f"s3://batch-in/{prefix}part-0003.jsonl"),
        ("uploaded", f"s3://batch-in/{prefix}part-0001.jsonl"),
    ]
    listed = s3.list_objects_v2(Bucket="batch-in", Prefix=prefix)["Contents"]
    assert [(o["Key"], o["Size"]) for o in listed] == [
        (f"{prefix}part-0001.jsonl", job.files[0].stat().st_size)
    ]


def test_upload_job_refuses_an_input_location_holding_other_objects(aws_client, tmp_path):
    """An object under the job's input location that is not one of this tool's part files
    (the user's, or nested deeper) is never deleted: the job is not uploaded, and the error
    names the keys and the fix."""
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="batch-in")
    job = _exported_job(tmp_path)
    prefix = f"jobs/{job.name}/input/"
    theirs = [f"{prefix}extra/part-0001.jsonl", f"{prefix}notes.jsonl", f"{prefix}part-0002.jsonl"]
    for key in theirs:
        s3.put_object(Bucket="batch-in", Key=key, Body=b"{}\n")
    with pytest.raises(bs.BatchSubmitError) as raised:
        bs.upload_job(s3, job)
    assert str(raised.value) == (
        f"s3://batch-in/{prefix} holds 2 objects that are not job {job.name}'s input files "
        f"({prefix}extra/part-0001.jsonl, {prefix}notes.jsonl), which the job would read too: "
        "job not created. Move or delete them (e.g. `aws s3 rm`), or export to another S3 "
        "prefix, and run again"
    )
    listed = s3.list_objects_v2(Bucket="batch-in", Prefix=prefix)["Contents"]
    assert sorted(o["Key"] for o in listed) == theirs  # nothing deleted, nothing uploaded
