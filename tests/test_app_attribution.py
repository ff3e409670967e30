"""A row's app (requestMetadata, the identity map, the role) and the callers tables show."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from record_rows import both_rows, log_record, row_of
from usage_builders import make_usage

from bedrock_finops import baseline, cli, params, parse, parse_body, segments
from bedrock_finops.app_attribution import (
    IdentityAppMap,
    app_from_identity,
    identity_app,
    principal_arn,
)
from bedrock_finops.app_checks import AppChecks
from bedrock_finops.ingest import IngestError, ingest_to_folder
from bedrock_finops.name_maps import MapError

ACCT = "111122223333"
SESSION = f"arn:aws:sts::{ACCT}:assumed-role/support-bot-role/i-0abc"
FEDERATED = f"arn:aws:sts::{ACCT}:federated-user/dave@example.com"
BODY = {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}


def _record(request_id: str = "r1", arn: object = SESSION, metadata: object = None) -> dict:
    rec = log_record(BODY, {"output": {"message": {"content": [{"text": "ok"}]}}})
    rec["requestId"] = request_id
    rec["identity"] = {"arn": arn}
    if metadata is not None:
        rec["requestMetadata"] = metadata
    return rec


def _logs(tmp_path: Path, records: list[dict]) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "a.json").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


# ------------------------------------------------------- D5: requestMetadata app values


@pytest.mark.parametrize(
    ("value", "app"),
    [
        ("support", "support"),
        (" support ", "support"),
        ("\tsupport\n", "support"),
        ("   ", "support-bot-role"),  # blank: absent, so the role
        ("", "support-bot-role"),
        (True, "support-bot-role"),  # not a string: absent (AWS writes strings only)
        (7, "support-bot-role"),
        (["a", "b"], "support-bot-role"),
        ({"name": "x"}, "support-bot-role"),
        (None, "support-bot-role"),
    ],
)
def test_a_metadata_app_is_stripped_and_a_blank_or_odd_one_is_absent(value, app):
    """Both paths (the fast one and record_row) give the same stripped app or fall back."""
    rec = _record(metadata={"app": value, "team": "cx"})
    fast, _ = both_rows(rec, parse_body.PromptCache(), parse_body.PromptCache())
    assert fast is not None  # the fast path reads these records itself
    assert row_of(rec)["app"] == app


def test_a_blank_metadata_app_falls_back_to_the_map_before_the_role():
    rec = _record(metadata={"app": "  "})
    assert row_of(rec, IdentityAppMap({"support-bot-role": "support"}))["app"] == "support"


# ------------------------------------------------------------------- D9: odd identities


def test_an_arn_that_is_not_a_string_is_no_identity_not_a_quarantine():
    row = row_of(_record(arn=42))
    assert (row["identity_arn"], row["app"]) == (None, None)
    row = row_of(_record(arn=42, metadata={"app": "support"}))
    assert (row["identity_arn"], row["app"]) == (None, "support")


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::1:user/",
        "arn:aws:iam::1:role/",
        "arn:aws:sts::1:assumed-role/",
        "arn:aws:sts::1:assumed-role//s",
    ],
)
def test_an_empty_name_is_no_app(arn):
    assert app_from_identity(arn) is None
    assert row_of(_record(arn=arn))["app"] is None


def test_a_missing_app_reads_alike_in_the_baseline_and_the_segments():
    usage = make_usage([dict(app="chat", model="m", n=1), dict(app=None, model="m", n=1)])
    usage["app"] = pd.array(["chat", None], dtype="string")
    priced = pd.DataFrame(
        {c: [0.0, 0.0] for c in [*baseline.COST_PARTS, "cost_usd"]} | {"priced": [True, True]},
        index=usage.index,
    )
    assert baseline.costed(usage, priced)["app"].tolist() == ["chat", "(unknown)"]
    assert segments.segment_keys(usage)["app"].tolist() == ["chat", "(unknown)"]


# ----------------------------------------------------------- D6: federated and IAM users


def test_a_federated_user_without_a_map_entry_is_one_app_without_its_name():
    assert app_from_identity(FEDERATED) == "federated-user"
    row = row_of(_record(arn=FEDERATED))
    assert row["app"] == "federated-user"
    assert row["identity_arn"] == FEDERATED  # the table keeps the caller as logged


@pytest.mark.parametrize("key", [FEDERATED, "federated-user/dave@example.com", "dave@example.com"])
def test_a_federated_user_is_mapped_by_its_arn_its_resource_or_its_name(key):
    for mapping in ({key: "analytics"}, IdentityAppMap({key: "analytics"})):
        assert identity_app(FEDERATED, mapping) == "analytics"


def test_an_iam_user_keeps_its_user_name_as_app():
    assert app_from_identity(f"arn:aws:iam::{ACCT}:user/alice") == "alice"
    assert app_from_identity(f"arn:aws:iam::{ACCT}:user/team/alice") == "alice"
    assert identity_app(f"arn:aws:iam::{ACCT}:user/alice", {"alice": "notebooks"}) == "notebooks"


# ---------------------------------------------------- D7: callers grouped by principal


@pytest.mark.parametrize(
    ("arn", "principal"),
    [
        (SESSION, f"arn:aws:sts::{ACCT}:assumed-role/support-bot-role"),
        (
            f"arn:aws:sts::{ACCT}:assumed-role/AWSReservedSSO_DataSci_abc123/alice.smith@example.com",
            f"arn:aws:sts::{ACCT}:assumed-role/AWSReservedSSO_DataSci_abc123",
        ),
        (FEDERATED, f"arn:aws:sts::{ACCT}:federated-user"),
        ("arn:aws-us-gov:sts::1:assumed-role/r/s", "arn:aws-us-gov:sts::1:assumed-role/r"),
        (f"arn:aws:iam::{ACCT}:user/alice", f"arn:aws:iam::{ACCT}:user/alice"),
        (f"arn:aws:iam::{ACCT}:root", f"arn:aws:iam::{ACCT}:root"),
        ("not an arn", "not an arn"),
    ],
)
def test_the_principal_of_a_caller(arn, principal):
    assert principal_arn(arn) == principal


def test_baseline_and_segments_show_roles_not_sessions():
    """Two sessions of one role are one caller; an Identity Center session's e-mail is not
    shown; the usage table keeps each session's ARN."""
    sso = f"arn:aws:sts::{ACCT}:assumed-role/AWSReservedSSO_DataSci_abc123"
    arns = [
        f"arn:aws:sts::{ACCT}:assumed-role/etl-runner/job-7",
        f"arn:aws:sts::{ACCT}:assumed-role/etl-runner/job-8",
        f"{sso}/alice.smith@example.com",
        None,
    ]
    usage = make_usage([dict(app="etl", model="m", n=4)])
    usage["identity_arn"] = pd.array(arns, dtype=usage["identity_arn"].dtype)
    priced = pd.DataFrame(
        {c: [1.0] * 4 for c in [*baseline.COST_PARTS, "cost_usd"]} | {"priced": [True] * 4},
        index=usage.index,
    )
    by_identity = baseline.spend_by(baseline.costed(usage, priced), "identity")
    etl = f"arn:aws:sts::{ACCT}:assumed-role/etl-runner"
    assert by_identity["requests"].to_dict() == {etl: 2, sso: 1, "(unknown)": 1}
    seg = segments.summarise(usage)
    assert seg["identity_arns"].iat[0] == sorted([etl, sso])


# ------------------------------------------------- D2: maps checked the same everywhere


@pytest.mark.parametrize(
    ("yaml_map", "problem"),
    [
        (
            "{R5: {app: search}}",
            "the value of 'R5' is a mapping ({'app': 'search'}), not a name; give the name "
            'itself: "R5": "search"',
        ),
        (
            "{R5: 2024}",
            "the value of 'R5' is the number 2024, not a name; write it in quotes, as the file "
            'spells it ("R5": "2024" if that is how it reads: YAML reads 0700 as 448 and 1.10 '
            "as 1.1)",
        ),
        (
            "{2024: search}",
            "the key 2024 is the number 2024, not a name; write it in quotes, as the file "
            'spells it ("2024": ... if that is how it reads)',
        ),
    ],
)
def test_a_params_map_is_checked_as_a_map_file_is(tmp_path, capsys, yaml_map, problem):
    """The same problem, in the same words, from a params file and from --identity-app-map."""
    p = tmp_path / "p.yaml"
    p.write_text(f"run:\n  identity_app_map: {yaml_map}\n")
    with pytest.raises(params.ParamsError) as err:
        params.load(p, {})
    assert str(err.value) == f"{p}: run.identity_app_map: {problem}"
    apps = tmp_path / "apps.yaml"
    apps.write_text(yaml_map + "\n")
    out = tmp_path / "run" / "usage.parquet"
    argv = ["ingest", "--source", str(tmp_path), "--out", str(out)]
    assert cli.main([*argv, "--identity-app-map", str(apps)]) == 2
    assert capsys.readouterr().err.strip() == f"error: --identity-app-map {apps}: {problem}"


def test_a_params_profile_map_is_checked_too(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("run:\n  profile_map: {support01: [a, b]}\n")
    with pytest.raises(params.ParamsError) as err:
        params.load(p, {})
    assert str(err.value) == (
        f"{p}: run.profile_map: the value of 'support01' is a list (['a', 'b']), not a name; "
        'give one name: "support01": "NAME"'
    )


def test_a_map_given_in_python_is_checked_before_anything_is_read(tmp_path):
    """An int key used to crash the ingest with an AttributeError."""
    with pytest.raises(IngestError) as err:
        ingest_to_folder(tmp_path, tmp_path / "out", identity_app_map={2024: "x"})
    assert str(err.value).startswith("identity_app_map: the key 2024 is the number 2024")
    with pytest.raises(IngestError, match=r"^profile_map: the value of 'p' is the number 1,"):
        ingest_to_folder(tmp_path, tmp_path / "out", profile_map={"p": 1})


# ------------------------------------------------ D3: ambiguous keys, wildcards, unmatched


def test_two_keys_for_one_role_with_two_apps_are_refused():
    with pytest.raises(MapError) as err:
        IdentityAppMap({"arn:aws:iam::1:role/b/R5": "search", "arn:aws:iam::1:role/a/R5": "ads"})
    assert str(err.value) == (
        "keys 'arn:aws:iam::1:role/b/R5' and 'arn:aws:iam::1:role/a/R5' name the same role (a "
        "session's ARN drops the role's path, so both match it) but map it to different apps, "
        "'search' and 'ads'; keep one of them"
    )
    with pytest.raises(MapError, match="'arn:aws:iam::1:role/R5' and 'arn:aws:iam::1:role/a/R5'"):
        IdentityAppMap({"arn:aws:iam::1:role/R5": "search", "arn:aws:iam::1:role/a/R5": "ads"})


def test_keys_for_one_role_with_one_app_or_in_two_accounts_are_fine():
    same = IdentityAppMap(
        {"arn:aws:iam::1:role/b/R5": "search", "arn:aws:iam::1:role/a/R5": "search"}
    )
    assert identity_app("arn:aws:sts::1:assumed-role/R5/s", same) == "search"
    two = IdentityAppMap({"arn:aws:iam::1:role/a/R5": "search", "arn:aws:iam::2:role/a/R5": "ads"})
    assert identity_app("arn:aws:sts::2:assumed-role/R5/s", two) == "ads"


def test_the_more_specific_key_wins_without_ambiguity():
    """A session ARN over its role's ARN, a role ARN over the bare role name (any account)."""
    mapping = IdentityAppMap(
        {"support-bot-role": "by-name", f"arn:aws:iam::{ACCT}:role/support-bot-role": "by-arn"}
    )
    assert identity_app(SESSION, mapping) == "by-arn"
    assert identity_app(SESSION, IdentityAppMap({**mapping, SESSION: "session"})) == "session"


@pytest.mark.parametrize("key", ["arn:aws:iam::1:role/etl-*", "*-runner"])
def test_a_wildcard_key_is_refused(key):
    with pytest.raises(MapError) as err:
        IdentityAppMap({key: "etl"})
    assert str(err.value) == (
        f"key {key!r} holds a wildcard; wildcards are not supported (a key is matched as "
        "written): list each role, by name or ARN, as a key of its own"
    )


def test_the_report_lists_map_keys_that_matched_no_caller(tmp_path):
    logs = _logs(
        tmp_path,
        [
            _record("r1", SESSION),
            _record("r2", f"arn:aws:sts::{ACCT}:assumed-role/etl-runner/job-7"),
            _record("r3", FEDERATED),
            _record("r4", f"arn:aws:iam::{ACCT}:user/alice"),
            _record("r5", f"arn:aws:sts::{ACCT}:assumed-role/etl-runner/job-8"),
        ],
    )
    mapping = {
        "etl-runer": "etl",  # a typo
        f"arn:aws:iam::{ACCT}:role/service-role/support-bot-role": "support",
        "arn:aws:iam::999999999999:role/etl-runner": "etl",  # another account
        "dave@example.com": "analytics",
        f"arn:aws:iam::{ACCT}:user/alice": "notebooks",
        f"arn:aws:sts::{ACCT}:assumed-role/etl-runner/job-8": "backfill",
    }
    report = ingest_to_folder(logs, tmp_path / "out", workers=1, identity_app_map=mapping)
    expected = ["etl-runer", "arn:aws:iam::999999999999:role/etl-runner"]
    assert report.identity_app_map_unmatched == expected
    assert report.identity_app_map_unmatched_count == 2
    saved = json.loads((tmp_path / "out" / "ingest_report.json").read_text())
    assert saved["identity_app_map_unmatched"] == expected
    summary = report.summary()
    assert "  identity_app_map key matched no caller: etl-runer\n" in summary
    apps = pd.read_parquet(tmp_path / "out" / "usage.parquet").set_index("request_id")["app"]
    assert apps.to_dict() == {
        "r1": "support",
        "r2": "etl-runner",
        "r3": "analytics",
        "r4": "notebooks",
        "r5": "backfill",
    }


def test_the_summary_caps_the_unmatched_keys(tmp_path):
    logs = _logs(tmp_path, [_record("r1")])
    mapping = {f"role-{i:02d}": "x" for i in range(15)}
    report = ingest_to_folder(logs, tmp_path / "out", workers=1, identity_app_map=mapping)
    assert report.identity_app_map_unmatched_count == 15
    lines = report.summary().splitlines()
    assert sum("key matched no caller" in line for line in lines) == 12
    assert (
        "  identity_app_map: 3 other keys matched no caller (see identity_app_map_unmatched "
        "in ingest_report.json)" in lines
    )


# ----------------------------------------------------------- D4: the app key's near misses


def test_metadata_keys_that_miss_the_app_key_are_counted_and_warned_of(tmp_path):
    logs = _logs(
        tmp_path,
        [
            _record("r1", metadata={"App": "support"}),
            _record("r2", metadata={"App": "support"}),
            _record("r3", metadata={"App": "billing", "team": "x"}),
            _record("r4", metadata={" app ": "support"}),
            _record("r5", metadata={"app": "support", "APP": "other"}),  # app key given: fine
            _record("r6", metadata={"app": "  ", "APP": "other"}),  # blank: a miss
            _record("r7", metadata={"application": "support"}),  # another key: no miss
            _record("r8"),
        ],
    )
    report = ingest_to_folder(logs, tmp_path / "out", workers=1)
    assert report.app_key_near_misses == {"App": 3, " app ": 1, "APP": 1}
    summary = report.summary()
    assert (
        "  warning: 3 rows have requestMetadata key 'App' but no 'app': their app is the map's "
        "or the role's. If 'App' names the app, ingest again with --app-key App (run.app_key "
        "in a params file)"
    ) in summary
    assert "--app-key ' app '" in summary
    rows = pd.read_parquet(tmp_path / "out" / "usage.parquet")
    assert rows.set_index("request_id")["app"]["r1"] == "support-bot-role"  # as warned


def test_near_misses_are_found_past_escapes_and_unicode_space():
    """The Arrow pre-filter leaves no near miss out: a value blank but for escapes or Unicode
    space is no app, as the row parsers read it."""
    values = [
        '{"APP":"x","app":"\\n"}',
        '{"APP":"x","app":"\u3000"}',
        '{"APP":"x","app":" support "}',
        '{"APP":"x","app":"\\"quoted\\""}',
        None,
    ]
    checks = AppChecks("app", None)
    checks.add(pa.table({"identity_arn": [None] * 5, "request_metadata": values}))
    assert checks.near_misses == {"APP": 2}


@pytest.mark.parametrize("app_key", ["", "  "])
def test_a_blank_app_key_is_refused(tmp_path, capsys, app_key):
    out = tmp_path / "run" / "usage.parquet"
    assert (
        cli.main(["ingest", "--source", str(tmp_path), "--out", str(out), "--app-key", app_key])
        == 2
    )
    assert capsys.readouterr().err.strip() == (
        f"error: app_key (--app-key) {app_key!r} is blank; give the requestMetadata key that "
        "names the app (the default is 'app')"
    )
    p = tmp_path / "p.yaml"
    p.write_text(f"run:\n  app_key: '{app_key}'\n")
    with pytest.raises(params.ParamsError, match=r"run\.app_key: '\s*' is blank"):
        params.load(p, {})


def test_another_app_key_is_read_on_both_row_paths(tmp_path, monkeypatch):
    """With ``--app-key team`` the app is the ``team`` value, never the ``app`` one, on the
    usual records and on those the full parser decides (a body in S3, a count written as an
    integral float); a record without ``team`` falls back to the role."""
    from bedrock_finops import ingest_worker

    both = {"app": "web", "team": "payments"}
    in_s3 = _record("r3", metadata={"app": "web", "team": "search"})
    in_s3["input"] = {"inputBodyS3Path": "s3://b/data/r3_input.json.gz", "inputTokenCount": 10}
    as_float = _record("r2", metadata=both)
    as_float["input"]["inputTokenCount"] = 10.0
    records = [
        _record("r1", metadata=both),
        as_float,
        in_s3,
        _record("r4", metadata={"app": "web"}),
    ]
    full_parser = []

    def record_row(rec, **kw):
        full_parser.append(rec["requestId"])
        return parse.record_row(rec, **kw)

    monkeypatch.setattr(ingest_worker, "record_row", record_row)
    out = tmp_path / "out" / "usage.parquet"
    argv = ["ingest", "--source", str(_logs(tmp_path, records)), "--out", str(out)]
    assert cli.main([*argv, "--workers", "1", "--app-key", "team"]) == 0
    assert full_parser == ["r2", "r3"]  # r1 and r4 took the fast path
    apps = pd.read_parquet(out).set_index("request_id")["app"]
    assert apps.to_dict() == {
        "r1": "payments", "r2": "payments", "r3": "search", "r4": "support-bot-role"
    }  # fmt: skip


def test_parse_rows_keep_their_order_of_decision():
    """Metadata first, then the map, then the role."""
    mapping = IdentityAppMap({"support-bot-role": "mapped"})
    assert row_of(_record(metadata={"app": "meta"}), mapping)["app"] == "meta"
    assert row_of(_record(), mapping)["app"] == "mapped"
    assert row_of(_record())["app"] == "support-bot-role"


def test_a_metadata_value_that_is_no_near_miss_never_stops_the_run(tmp_path):
    """Values and list items ending in a colon, next to the letters of the app key: the
    check reads each distinct metadata value as JSON, so none can break it."""
    logs = _logs(
        tmp_path,
        [
            _record("r1", metadata={"channel": "whatsapp", "trace:": "1"}),
            _record("r2", metadata={"App": "s", "tags": "a:,b", "x:": "App"}),
            _record("r3", metadata={"App": "s", "note": '":"'}),
        ],
    )
    report = ingest_to_folder(logs, tmp_path / "out", workers=1, progress=False)
    assert report.rows == 3 and report.app_key_near_misses == {"App": 2}


def test_map_names_are_read_without_surrounding_space():
    mapping = IdentityAppMap({" support-bot-role ": "support "})
    assert dict(mapping) == {"support-bot-role": "support"}
    assert row_of(_record(), mapping)["app"] == "support"
    with pytest.raises(MapError, match="key 'R1' is given twice"):
        IdentityAppMap({"R1": "a", "R1 ": "b"})


@pytest.mark.parametrize(
    ("key", "arn"),
    [  # the caller as the baseline shows it (its principal, no session), and a logged IAM
        # role ARN as it stands
        (f"arn:aws:sts::{ACCT}:assumed-role/support-bot-role", SESSION),
        (f"arn:aws:sts::{ACCT}:federated-user", FEDERATED),
        (f"arn:aws:iam::{ACCT}:role/team/Svc", f"arn:aws:iam::{ACCT}:role/team/Svc"),
    ],
)
def test_these_forms_of_a_caller_are_map_keys_and_count_as_matched(tmp_path, key, arn):
    report = ingest_to_folder(
        _logs(tmp_path, [_record(arn=arn)]),
        tmp_path / "out",
        workers=1,
        identity_app_map={key: "mapped"},
    )
    assert report.identity_app_map_unmatched == []
    assert pd.read_parquet(tmp_path / "out" / "usage.parquet")["app"].tolist() == ["mapped"]
