"""Mistakes in a command's input get one line naming the problem and exit code 2, no traceback."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from bedrock_finops import cli


def _cases(tmp_path: Path) -> list[tuple[list[str], str]]:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    params = tmp_path / "params.yaml"
    params.write_text(f"run:\n  source: {tmp_path / 'nope'}\n")
    return [
        (["ingest", "--source", str(tmp_path / "nope"), "--out", "u.parquet"], "does not exist"),
        (["run", "--params", str(params), "--out", str(tmp_path / "o")], "does not exist"),
        (["billing", "--cur", str(tmp_path / "nope")], "billing export not found"),
        (["sample", "--out", str(a_file / "x")], "Not a directory"),
        (["sample", "--out", str(tmp_path / "s"), "--days", "0"], "days must be at least 1"),
        (["sample", "--out", str(tmp_path / "s"), "--start", "2026-1-1"], "give YYYY-MM-DD"),
        (
            ["prices", "show", "--discount-pct", "150"],
            "--discount-pct 150 (command line) is not a percentage in [0, 100): give the "
            "negotiated discount",
        ),
        (
            ["prices", "show", "--overrides", str(tmp_path / "mine.csv")],
            f"--overrides {tmp_path / 'mine.csv'} (command line) not found: give an existing CSV",
        ),
        (["prices", "show", "--sheet", str(a_file)], f"price sheet {a_file} is empty"),
    ]


@pytest.mark.parametrize("n", range(9))
def test_input_mistakes_are_one_line(tmp_path, capsys, n):
    argv, message = _cases(tmp_path)[n]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_the_traceback_is_there_when_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("BEDROCK_FINOPS_TRACEBACK", "1")
    with pytest.raises(FileNotFoundError):
        cli.main(["billing", "--cur", str(tmp_path / "nope")])


def test_no_aws_credentials_says_how_to_give_them(tmp_path, capsys, no_aws_credentials):
    argv = ["prices", "update", "--region", "us-east-1", "--out", str(tmp_path / "p.csv")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "Unable to locate credentials" in err and "set AWS_PROFILE" in err


def test_prices_show_names_what_the_sheet_has_for_an_unknown_model_or_region(capsys):
    from bedrock_finops.cli import main

    assert main(["prices", "show", "--model", "gpt-5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --model 'gpt-5': sheet 'current' has no such model")
    assert "anthropic.claude-sonnet-4-5" in err and err.count("\n") == 1
    assert (
        main(["prices", "show", "--model", "anthropic.claude-sonnet-4", "--region", "us-east-9"])
        == 2
    )
    assert capsys.readouterr().err == (
        "error: --region 'us-east-9': sheet 'current' has no prices for --model "
        "'anthropic.claude-sonnet-4' there; its regions: eu-west-1, us-east-1, us-west-2\n"
    )


def test_prices_show_says_a_listed_model_has_no_price_in_the_sheet(capsys):
    """A model the catalog lists but the bundled sheet does not price: said as such, with
    the two ways to give it prices (not "no such model")."""
    from bedrock_finops.cli import main

    assert main(["prices", "show", "--model", "us.deepseek.r1-v1:0"]) == 2
    assert capsys.readouterr().err == (
        "error: --model 'us.deepseek.r1-v1:0' is DeepSeek-R1 (deepseek.r1), which sheet "
        "'current' does not price: its calls stay unpriced. Build a sheet with its prices with "
        "`bedrock-finops prices update`, or give them in an override file (docs/pricing.md)\n"
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "cloudwatch-log:///aws/bedrock/x",
            "source 'cloudwatch-log:///aws/bedrock/x': unknown scheme cloudwatch-log:// "
            "(did you mean cloudwatch-logs://?)",
        ),
        ("s3:/my-bucket/logs", "write s3:// with two slashes, e.g. s3://my-bucket/logs"),
        ("s3://my bucket/logs", "'my bucket' is not a bucket name"),
        (
            "s3://arn:aws:s3:::my-logs/bedrock",
            "holds an ARN; give the bucket's name: s3://my-logs/bedrock",
        ),
    ],
)
def test_a_mistyped_source_is_named_before_any_call(tmp_path, capsys, source, message):
    """Caught before AWS is called: no credentials are needed to be told."""
    argv = ["ingest", "--source", source, "--out", str(tmp_path / "o" / "usage.parquet")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_a_relative_folder_that_does_not_exist_is_shown_where_it_was_looked_for(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["ingest", "--source", "logs", "--out", "o/usage.parquet"]) == 2
    assert f"log folder logs ({tmp_path / 'logs'}) does not exist" in capsys.readouterr().err


def test_the_ingest_traceback_is_there_when_asked(tmp_path, monkeypatch):
    from bedrock_finops.ingest import IngestError

    monkeypatch.setenv("BEDROCK_FINOPS_TRACEBACK", "1")
    with pytest.raises(IngestError, match="does not exist"):
        cli.main(["ingest", "--source", str(tmp_path / "nope"), "--out", "u.parquet"])


def test_an_unreachable_endpoint_says_where_it_came_from(monkeypatch):
    from botocore.exceptions import EndpointConnectionError

    exc = EndpointConnectionError(endpoint_url="http://127.0.0.1:1/b")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    assert cli._hint(exc) == (
        "; the endpoint comes from AWS_ENDPOINT_URL=http://127.0.0.1:1: check it, or unset it "
        "to reach AWS"
    )
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    assert "HTTPS_PROXY" in cli._hint(exc)


def test_writing_the_same_table_again_says_it_replaced_it(tmp_path, capsys):
    logs = Path(__file__).parent / "fixtures" / "logs" / "good"
    argv = ["ingest", "--source", str(logs), "--out", str(tmp_path / "o" / "usage.parquet")]
    assert cli.main(argv) == 0
    assert "replaces" not in capsys.readouterr().out
    assert cli.main(argv) == 0
    assert (
        f"{tmp_path / 'o' / 'usage.parquet'} replaces the table an earlier ingest wrote there"
        in (capsys.readouterr().out)
    )


@pytest.mark.parametrize(
    ("dates", "message"),
    [
        (
            ["02/06/2026", "03/06/2026"],
            "Cost Explorer START '02/06/2026' is not an ISO-8601 date or time; give YYYY-MM-DD "
            "or a time such as 2025-06-02T06:00Z (UTC when no offset is given)",
        ),
        (
            ["2026-13-01", "2026-12-01"],
            "Cost Explorer START '2026-13-01' is not an ISO-8601 date or time; give YYYY-MM-DD "
            "or a time such as 2025-06-02T06:00Z (UTC when no offset is given)",
        ),
        (
            ["2026-11-21", "2026-11-20"],
            "Cost Explorer START 2026-11-21 is after END 2026-11-20 (the UTC days [2026-11-21, "
            "2026-11-20)): give START first, e.g. 2026-11-20 2026-11-21",
        ),
        (
            ["2026-11-20", "2026-11-20"],
            "Cost Explorer START 2026-11-20 and END 2026-11-20 are the same UTC day, 2026-11-20, "
            "and END is exclusive (Cost Explorer's End is exclusive): give the day after the "
            "last to read, e.g. 2026-11-20 2026-11-21 for 2026-11-20 alone",
        ),
    ],
)
def test_billing_cost_explorer_dates_are_one_line(capsys, no_aws_credentials, dates, message):
    """A bad, reversed or empty period is told before Cost Explorer is called (no credentials
    are needed to be told), in one line with exit code 2, as `ingest --start/--end` are."""
    assert cli.main(["billing", "--cost-explorer", *dates]) == 2
    assert capsys.readouterr().err == f"error: {message}\n"


def test_billing_cost_explorer_asks_for_the_utc_days_and_says_which(capsys, monkeypatch):
    """An offset is converted to UTC: 23:00 at UTC-5 on the 20th is the 21st, and the command
    asks Cost Explorer for [2026-11-21, 2026-11-22) and prints it (it asked for the 20th)."""
    import boto3
    from botocore.stub import Stubber

    ce = boto3.client(
        "ce", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    monkeypatch.setattr(boto3, "client", lambda *_, **__: ce)
    with Stubber(ce) as stub:
        stub.add_response(
            "get_cost_and_usage",
            {"ResultsByTime": []},
            {
                "TimePeriod": {"Start": "2026-11-21", "End": "2026-11-22"},
                "Granularity": "DAILY",
                "Metrics": ["UnblendedCost", "NetUnblendedCost", "UsageQuantity"],
                "GroupBy": [
                    {"Type": "DIMENSION", "Key": "SERVICE"},
                    {"Type": "DIMENSION", "Key": "USAGE_TYPE"},
                ],
                "Filter": {"Dimensions": {"Key": "RECORD_TYPE", "Values": ["Usage"]}},
            },
        )
        assert cli.main(["billing", "--cost-explorer", "2026-11-20T23:00-05:00", "2026-11-22"]) == 0
        stub.assert_no_pending_responses()
    out = capsys.readouterr().out
    assert out.startswith(
        "Cost Explorer, UTC days [2026-11-21, 2026-11-22)\nno Bedrock usage lines"
    )


def test_a_window_given_both_ways_is_one_line_naming_both_keys(tmp_path, capsys):
    params = tmp_path / "params.yaml"
    params.write_text(f"run:\n  source: {tmp_path}\n  window: previous_month\n  end: 2026-03-01\n")
    assert cli.main(["run", "--params", str(params), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err == (
        f"error: {params}: run.window and run.end are both set; give run.window for days "
        "relative to the run's day, or run.start/run.end for fixed days, not both\n"
    )
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (  # a copy's (and a rename's) error names its source first, the file written second
            OSError(errno.ENOSPC, "No space left on device", "/cache/usage.parquet", None,
                    "/runs/2026-11-01/usage.parquet"),
            "error: No space left on device (/runs/2026-11-01/usage.parquet); free space in "
            "/runs/2026-11-01, or write elsewhere (--out)",
        ),
        (
            OSError(errno.EROFS, "Read-only file system", "runs/2026-11-01"),
            "error: Read-only file system (runs/2026-11-01); runs is on a read-only file "
            "system: write elsewhere (--out)",
        ),
        (  # a write that names no file
            OSError(errno.ENOSPC, "No space left on device"),
            "error: No space left on device; free space in the folder written, or write "
            "elsewhere (--out)",
        ),
    ],
)  # fmt: skip
def test_a_full_or_read_only_disk_names_the_folder_written(monkeypatch, capsys, error, line):
    from bedrock_finops import runner

    def fails(*args, **kwargs):
        raise error

    monkeypatch.setattr(runner, "run", fails)
    assert cli.main(["run"]) == 2
    assert capsys.readouterr().err == line + "\n"


# a folder or file name that would forge a line of its own on stderr, in red after clearing
# the screen, as a scheduled run's mailed log would show it
FORGED = "logs\nerror: \x1b[2J\x1b[31mforged"
FORGED_SHOWN = "logs\\nerror: \\x1b[2J\\x1b[31mforged"
NO_LOGS_FIX = (
    "; point the source at the folder or prefix that holds AWSLogs/<account>/"
    "BedrockModelInvocationLogs (check model invocation logging is enabled and delivering there)"
)


def test_a_folder_named_with_a_line_break_and_escapes_is_one_error_line(tmp_path, capsys):
    """The folder's name is quoted in the error: its line break started a line of its own
    (a forged `error:` line) and its ESC sequences cleared the screen."""
    folder = tmp_path / FORGED
    folder.mkdir()
    out = str(tmp_path / "out" / "usage.parquet")
    assert cli.main(["ingest", "--source", str(folder), "--out", out]) == 2
    shown = f"{tmp_path}/{FORGED_SHOWN}"
    assert capsys.readouterr().err == (
        f"error: no invocation log files (.json, .jsonl, .ndjson or .gz) under {shown}"
        f"{NO_LOGS_FIX}\n"
    )
    missing = tmp_path / "gone" / FORGED
    assert cli.main(["ingest", "--source", str(missing), "--out", out]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err
    assert err.startswith(f"error: log folder {tmp_path}/gone/{FORGED_SHOWN} does not exist;")


def test_a_file_named_with_a_line_break_in_the_source_is_escaped_in_the_error(tmp_path, capsys):
    """A file found in the source, not given by the user: a tar archive's name."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a\nok: 0 errors.tar").write_bytes(b"")
    out = str(tmp_path / "out" / "usage.parquet")
    assert cli.main(["ingest", "--source", str(tmp_path / "logs"), "--out", out]) == 2
    assert capsys.readouterr().err == (
        f"error: no invocation log files under {tmp_path / 'logs'}, only tar archives "
        "(a\\nok: 0 errors.tar): unpack them (tar -xf) and point the source at the folder "
        "they give\n"
    )


def test_awss_own_message_of_several_lines_keeps_its_lines(capsys):
    """botocore's text keeps its line breaks, raised as it is or quoted in an error of the
    tool's own (a credential_process's output); a value around it is escaped."""
    from botocore.exceptions import CredentialRetrievalError, ParamValidationError

    from bedrock_finops.sources.source_errors import credential_setup_error

    invalid = ParamValidationError(report='Invalid bucket name "": too short\nInvalid key')
    cli._say_error(cli._error_line(invalid), invalid)
    assert capsys.readouterr().err == (
        'error: Parameter validation failed:\nInvalid bucket name "": too short\nInvalid key\n'
    )
    failed = CredentialRetrievalError(provider="custom-process", error_msg="line 1\nline 2")
    try:
        raise failed
    except CredentialRetrievalError as exc:
        try:
            raise credential_setup_error(exc, "s3://b/x\n\x1by") from None
        except Exception as wrapped:
            cli._say_error(str(wrapped), wrapped)
    assert capsys.readouterr().err == (
        "error: reading s3://b/x\\n\\x1by failed: no usable AWS credentials: the profile's "
        "credential_process failed (CredentialRetrievalError: Error when retrieving credentials "
        "from custom-process: line 1\nline 2). Fix: run that command yourself (`aws configure "
        "get credential_process` shows it) to see why, fix it, and run again\n"
    )
