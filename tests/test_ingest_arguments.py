"""The ingest's arguments, from the command line and from Python: a value it cannot use is one
clear error, naming the value and the fix, before anything is read or written."""

from __future__ import annotations

from pathlib import Path

import pytest

from bedrock_finops import cli, params
from bedrock_finops.ingest import IngestError, ingest_to_folder

GOOD = Path(__file__).parent / "fixtures" / "logs" / "good"
VPCE = "bucket.vpce-1a2b3c4d.s3.us-east-1.vpce.amazonaws.com"


def _error_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """The one line a command that refuses its input prints (exit code 2, no traceback)."""
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    return err.strip()


# ---------------------------------------------------------------------------- endpoint URL


def test_an_endpoint_url_without_a_scheme_is_one_error_line(tmp_path, capsys, aws_env):
    out = tmp_path / "out" / "usage.parquet"
    argv = ["ingest", "--source", "s3://bkt/logs", "--out", str(out), "--region", "us-east-1"]
    assert _error_line(capsys, [*argv, "--endpoint-url", VPCE]) == (
        f"error: endpoint_url (--endpoint-url) '{VPCE}' has no scheme: write it as https://{VPCE}"
    )
    assert not out.parent.exists()  # refused before the output folder is made


def test_aws_endpoint_url_without_a_scheme_is_one_error_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "localhost:4566")
    out = str(tmp_path / "usage.parquet")
    argv = ["ingest", "--source", "cloudwatch-logs:///g", "--out", out, "--region", "us-east-1"]
    assert _error_line(capsys, argv) == (
        "error: AWS_ENDPOINT_URL 'localhost:4566' has no scheme: write it as https://localhost:4566"
    )


def test_a_service_endpoint_url_botocore_refuses_is_one_error_line(tmp_path, capsys, aws_env,
                                                                   monkeypatch):  # fmt: skip
    """``AWS_ENDPOINT_URL_S3`` is read by botocore itself, when the client is made."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "localhost:4566")
    out = str(tmp_path / "usage.parquet")
    argv = ["ingest", "--source", "s3://bkt/logs", "--out", out, "--region", "us-east-1"]
    assert _error_line(capsys, argv).startswith(
        "error: AWS endpoint URL 'localhost:4566' has no scheme: write it as "
        "https://localhost:4566 (it comes from --endpoint-url, run.endpoint_url, AWS_ENDPOINT_URL,"
    )


def test_other_commands_name_an_endpoint_url_botocore_refuses(tmp_path, capsys, aws_env,
                                                              monkeypatch):  # fmt: skip
    """A command whose boto3 client reads ``AWS_ENDPOINT_URL`` itself (the Price List API's)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "localhost:4566")
    argv = ["prices", "update", "--region", "us-east-1", "--out", str(tmp_path / "p.csv")]
    assert _error_line(capsys, argv).startswith(
        "error: AWS endpoint URL 'localhost:4566' has no scheme: write it as https://localhost:4566"
    )


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://host", "'ftp://host' must start with https:// (or http://), e.g. https://host"),
        ("https://", "'https://' names no host: write it as https://HOST or https://HOST:PORT"),
    ],
)
def test_an_endpoint_url_botocore_would_refuse_is_named(tmp_path, url, says):
    with pytest.raises(IngestError) as err:
        ingest_to_folder(GOOD, tmp_path, endpoint_url=url, progress=False)
    assert str(err.value) == f"endpoint_url (--endpoint-url) {says}"


# ---------------------------------------------------------------------------- empty source


@pytest.mark.parametrize("source", ["", "  "])
def test_an_empty_source_is_refused_not_read_as_the_working_folder(tmp_path, capsys, source,
                                                                   monkeypatch):  # fmt: skip
    """``--source "$UNSET"`` would read the working folder's logs and say nothing."""
    (tmp_path / "cwd").mkdir()
    for path in GOOD.glob("*.json"):
        (tmp_path / "cwd" / path.name).write_bytes(path.read_bytes())
    monkeypatch.chdir(tmp_path / "cwd")
    said = (
        f"the source {source!r} is empty (an unset variable?); give a local folder, "
        "s3://bucket/prefix or cloudwatch-logs://LOG_GROUP"
    )
    out = tmp_path / "out" / "usage.parquet"
    assert _error_line(capsys, ["ingest", "--source", source, "--out", str(out)]) == (
        f"error: {said}"
    )
    with pytest.raises(IngestError) as err:
        ingest_to_folder(source, tmp_path / "out", progress=False)
    assert str(err.value) == said
    assert not out.parent.exists()


@pytest.mark.parametrize(
    ("run", "says"),
    [
        ('  source: ""', "run.source: '' is empty; give sample, a local folder, "
         "s3://bucket/prefix or cloudwatch-logs://LOG_GROUP"),
        ("  endpoint_url: localhost:4566", "run.endpoint_url: 'localhost:4566' has no scheme: "
         "write it as https://localhost:4566"),
    ],
)  # fmt: skip
def test_a_params_file_with_an_empty_source_or_a_bare_endpoint_is_refused(tmp_path, run, says):
    path = tmp_path / "p.yaml"
    path.write_text(f"run:\n{run}\n")
    with pytest.raises(params.ParamsError) as err:
        params.load(path, {})
    assert str(err.value) == f"{path}: {says}"
