"""The ingest's arguments, from the command line and from Python: a value it cannot use is one
clear error, naming the value and the fix, before anything is read or written."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import numpy as np
import pytest

from bedrock_finops import cli, ingest_output, params
from bedrock_finops.ingest import IngestError, ingest_to_folder, read_invocation_logs

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


# ---------------------------------------------------------------------------- table name


def test_read_invocation_logs_refuses_a_table_name(tmp_path):
    """It returns the table (from a temporary folder): a name means nothing there, and one
    with ``..`` would leave a file beside that folder."""
    name = f"../escaped-{uuid.uuid4().hex}.parquet"
    with pytest.raises(TypeError) as err:
        read_invocation_logs(GOOD, table_name=name, workers=1, progress=False)
    assert str(err.value) == (
        "read_invocation_logs() takes no table_name: it returns the table as a DataFrame; to "
        "write it under a name, use ingest_to_folder(source, out_dir, table_name=...)"
    )
    assert not (Path(tempfile.gettempdir()) / name[3:]).exists()


BARE = (
    "is not a bare file name: the table is written in the output folder (out_dir); give that "
    "folder as out_dir and the name alone, e.g. usage.parquet"
)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("../escaped.parquet", BARE),
        ("sub/usage.parquet", BARE),
        ("/abs/usage.parquet", BARE),
        ("..", BARE),
        ("usage.csv", "must be a name ending in .parquet, e.g. usage.parquet"),
        (".parquet", "must be a name ending in .parquet, e.g. usage.parquet"),
        (5, None),
    ],
)
def test_a_table_name_that_is_no_bare_parquet_file_name_is_refused(tmp_path, name, says):
    """Before anything is read, and no file written outside the output folder."""
    out = tmp_path / "run" / "out"
    with pytest.raises(IngestError) as err:
        ingest_to_folder(GOOD, out, table_name=name, workers=1, progress=False)
    assert str(err.value) == (
        f"table_name {name!r} {says}"
        if says
        else "table_name 5 is no file name (int); give one such as usage.parquet"
    )
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------------------- workers

WORKERS = (
    "is not a number of processes: give a whole number, 1 or more (1 reads in this process), "
    "or leave it out for one per core"
)


@pytest.mark.parametrize("workers", [-3, 0, "2", 2.0, True])
def test_workers_must_be_a_whole_number_of_processes(tmp_path, workers):
    """0 silently used every core, -3 one process, "2" a TypeError comparing int and str."""
    with pytest.raises(IngestError) as err:
        ingest_to_folder(GOOD, tmp_path / "out", workers=workers, progress=False)
    assert str(err.value) == f"workers (--workers) {workers!r} {WORKERS}"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("workers", ["-3", "0"])
def test_the_command_refuses_workers_that_are_no_processes(tmp_path, capsys, workers):
    argv = ["ingest", "--source", str(GOOD), "--out", str(tmp_path / "o" / "usage.parquet")]
    assert _error_line(capsys, [*argv, f"--workers={workers}"]) == (
        f"error: workers (--workers) {int(workers)} {WORKERS}"
    )


def test_numpy_whole_numbers_are_workers(tmp_path):
    report = ingest_to_folder(GOOD, tmp_path, workers=np.int64(1), progress=False)
    assert report.rows == 12


# ---------------------------------------------------------------------------- output folder


def _earlier_run(folder: Path) -> dict[str, bytes]:
    """An earlier run's companion files in ``folder``, by name."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"prompts.parquet": b"earlier prompts", "quarantine.parquet": b"earlier quarantine"}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return files


def test_out_naming_a_folder_is_refused_before_reading(tmp_path, capsys):
    """Not a whole ingest, then ``[Errno 21] Is a directory`` at the last rename, with the
    failed run's companions in place of the earlier run's."""
    out = tmp_path / "out"
    earlier = _earlier_run(out)
    (out / "usage.parquet").mkdir()
    argv = ["ingest", "--source", str(GOOD), "--out", str(out / "usage.parquet"), "--workers=1"]
    assert _error_line(capsys, argv) == (
        f"error: --out {out / 'usage.parquet'} is a folder; name the table's file, e.g. "
        f"{out / 'usage.parquet' / 'usage.parquet'}"
    )
    assert {n: (out / n).read_bytes() for n in earlier} == earlier


@pytest.mark.parametrize("name", ["usage.parquet", "prompts.parquet", "ingest_report.json"])
def test_a_folder_where_the_ingest_writes_a_file_is_refused_before_reading(tmp_path, name):
    out = tmp_path / "out"
    (out / name).mkdir(parents=True)
    with pytest.raises(IngestError) as err:
        ingest_to_folder(GOOD, out, workers=1, progress=False)
    assert str(err.value) == (
        f"{out / name} is a folder where the ingest writes a file: remove it or write to "
        "another folder"
    )
    assert sorted(p.name for p in out.iterdir()) == [name]


def test_a_folder_made_during_the_run_leaves_the_earlier_run_whole(tmp_path, monkeypatch):
    """The companions are renamed into place only once the table can be: a failure at the
    last rename would leave this run's quarantine beside the earlier run's table."""
    out = tmp_path / "out"
    earlier = _earlier_run(out)
    commit = ingest_output.Collector.commit

    def commit_after_a_folder_appears(self, out_dir, report_json):
        (out_dir / "usage.parquet").mkdir()
        return commit(self, out_dir, report_json)

    monkeypatch.setattr(ingest_output.Collector, "commit", commit_after_a_folder_appears)
    with pytest.raises(IsADirectoryError, match="a folder where the ingest writes a file"):
        ingest_to_folder(GOOD, out, workers=1, progress=False)
    assert {n: (out / n).read_bytes() for n in earlier} == earlier
    assert sorted(p.name for p in out.iterdir()) == [*sorted(earlier), "usage.parquet"]


# ---------------------------------------------------------------------------- app key, bounds


@pytest.mark.parametrize(("app_key", "given"), [(5, "int 5"), (None, "NoneType None")])
def test_an_app_key_that_is_no_string_is_not_called_blank(tmp_path, app_key, given):
    with pytest.raises(IngestError) as err:
        ingest_to_folder(GOOD, tmp_path, app_key=app_key, progress=False)
    assert str(err.value) == (
        "app_key (--app-key) must be a non-empty string, the requestMetadata key that names "
        f"the app (the default is 'app'), not {given}"
    )


def test_a_bound_of_another_type_names_the_types_taken(tmp_path):
    with pytest.raises(IngestError) as err:
        ingest_to_folder(GOOD, tmp_path, 20250602, progress=False)
    assert str(err.value) == (
        "start 20250602 is a int, not a date or time; give a date, a datetime (or pandas "
        "Timestamp, numpy datetime64) or ISO-8601 text: YYYY-MM-DD or a time such as "
        "2025-06-02T06:00Z"
    )
