"""Mistakes in a command's input get one line naming the problem and exit code 2, no traceback."""

from __future__ import annotations

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
            "--discount-pct 150 is not a percentage in [0, 100): give the negotiated discount",
        ),
        (
            ["prices", "show", "--overrides", str(tmp_path / "mine.csv")],
            f"price overrides file '{tmp_path / 'mine.csv'}' not found: give an existing CSV",
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
