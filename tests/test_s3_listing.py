"""An S3 listing with a window skips the date folders outside it (a moto server over HTTP),
and keeps exactly the keys a whole listing filtered by the window keeps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bedrock_finops.sources.invocation_logs import _classify, list_s3
from bedrock_finops.sources.source_errors import SourceError
from bedrock_finops.sources.time_folders import key_in_window

pytestmark = pytest.mark.aws
BUCKET = "bedrock-logs-listing"
PREFIX = "team-a/"
EAST = "AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1"
WEST = "AWSLogs/111122223333/BedrockModelInvocationLogs/us-west-2"
HOURS = [
    "2025/12/31/23",
    "2026/01/01/00",
    "2026/09/30/22",
    "2026/09/30/23",
    "2026/10/01/00",
    "2026/10/01/05",
    "2026/10/02/05",
    "2026/10/02/06",
    "2026/10/02/11",
    "2026/10/02/12",
    "2026/10/02/13",
    "2026/10/31/23",
    "2026/11/01/00",
    "2026/11/15/08",
]
KEYS = [
    *(f"{EAST}/{hour}/20261002T000000Z_{i:02d}.json.gz" for i, hour in enumerate(HOURS)),
    f"{WEST}/2026/10/02/06/20261002T060500Z_aa.json.gz",
    f"{EAST}/2026/10/02/06/data/req-1_input.json.gz",  # a large body, in the window
    f"{EAST}/2026/09/30/23/data/req-2_output.json.gz",  # a large body, outside it
    "AWSLogs/111122223333/BedrockModelInvocationLogs/amazon-bedrock-logs-permission-check",
    f"{EAST}/2026/10/02/stray.json",  # a file in a day folder
    f"{EAST}/2026/13/x.json",  # no month 13: the year folder bounds it
    f"{EAST}/2026//10/02/06/odd.json",  # S3 allows empty folder names: only the year counts
    "misc/notes.txt",
    "misc/extra.json",
    "loose.json.gz",
]


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def s3(aws_client):
    client = aws_client("s3")
    client.create_bucket(Bucket=BUCKET)
    for key in KEYS:
        client.put_object(Bucket=BUCKET, Key=PREFIX + key, Body=b"{}\n")
    client.put_object(Bucket=BUCKET, Key="team-b/loose.json", Body=b"{}\n")  # another prefix
    return client


def _requested_prefixes(client) -> list[str]:
    seen: list[str] = []
    client.meta.events.register(
        "before-parameter-build.s3.ListObjectsV2",
        lambda params, **_: seen.append(params["Prefix"]),
    )
    return seen


WINDOWS = [
    (None, None),
    ("2026-10-02T06:00", "2026-10-02T12:00"),
    ("2026-10-01T00:00", None),
    (None, "2026-10-01T00:00"),
    ("2026-09-30T23:30", "2026-10-01T00:30"),
    ("2026-10-01T00:00", "2026-11-01T00:00"),
    ("2026-01-01T00:00", "2027-01-01T00:00"),
    ("2025-12-31T23:00", "2026-01-01T00:00"),
    ("2030-01-01T00:00", "2031-01-01T00:00"),
]


@pytest.mark.parametrize(("start", "end"), WINDOWS)
def test_window_listing_keeps_what_filtering_keeps(s3, start, end):
    start_dt = _t(start) if start else None
    end_dt = _t(end) if end else None
    listing = list_s3(f"s3://{BUCKET}/{PREFIX}", start_dt, end_dt, client=s3)
    in_window = [k for k in sorted(KEYS) if key_in_window(k, start_dt, end_dt)]
    assert [u.name for u in listing.units] == [k for k in in_window if _classify(k) is None]
    assert [u.location for u in listing.units] == [PREFIX + u.name for u in listing.units]
    # folders outside the window are not listed, so what they hold is not reported skipped
    assert listing.skipped == [
        {"file": k, "reason": _classify(k)} for k in in_window if _classify(k) is not None
    ]


def test_a_six_hour_window_lists_only_its_folders(s3):
    prefixes = _requested_prefixes(s3)
    listing = list_s3(
        f"s3://{BUCKET}/{PREFIX}", _t("2026-10-02T06:00"), _t("2026-10-02T12:00"), client=s3
    )
    assert [u.name for u in listing.units] == [
        f"{EAST}/2026//10/02/06/odd.json",  # its year holds the window
        f"{EAST}/2026/10/02/06/20261002T000000Z_07.json.gz",
        f"{EAST}/2026/10/02/11/20261002T000000Z_08.json.gz",
        f"{EAST}/2026/10/02/12/20261002T000000Z_09.json.gz",  # may hold 11:xx, late
        f"{EAST}/2026/10/02/stray.json",  # its day holds the window
        f"{EAST}/2026/13/x.json",  # its year holds the window
        f"{WEST}/2026/10/02/06/20261002T060500Z_aa.json.gz",
        "loose.json.gz",  # no date folders: never outside a window
        "misc/extra.json",
    ]
    # walked one level at a time (18): the prefix, AWSLogs/, the account, the service, both
    # regions, misc/, and 2026/, 2026/10/, 2026/10/02/ in each region plus, in us-east-1,
    # 2026/13/ and the four levels of 2026//10/02/06/ (a year's span all the way down);
    # listed whole (4): the hours 06, 11 and 12 in us-east-1 and 06 in us-west-2
    assert listing.list_requests == len(prefixes) == 22
    # skipped unlisted: 2025/, months 01, 09 and 11, days 01 and 31, hours 05 and 13
    assert listing.folders_outside_window == 8
    listed = {p[len(PREFIX) :] for p in prefixes}
    for outside in ("2025/", "2026/09/", "2026/11/", "2026/10/01/", "2026/10/02/05/"):
        assert f"{EAST}/{outside}" not in listed
    assert f"{EAST}/2026/10/02/" in listed


def test_no_window_is_one_flat_listing(s3):
    prefixes = _requested_prefixes(s3)
    listing = list_s3(f"s3://{BUCKET}/{PREFIX}", None, None, client=s3)
    assert prefixes == [PREFIX]
    assert listing.list_requests == 1
    assert len(listing.units) + len(listing.skipped) == len(KEYS)


def test_a_prefix_without_slash_is_walked_like_one_with_it(s3):
    window = (_t("2026-10-02T06:00"), _t("2026-10-02T12:00"))
    with_slash = list_s3(f"s3://{BUCKET}/team-a/", *window, client=s3)
    without = list_s3(f"s3://{BUCKET}/team-a", *window, client=s3)
    assert [u.location for u in without.units] == [u.location for u in with_slash.units]


SIBLING_KEYS = [f"{EAST}/2026/10/02/06/20261002T060000Z_ab.json.gz", "loose.json.gz", "x.json"]


@pytest.mark.parametrize("prefix", ["team-a", "team-a/"])
@pytest.mark.parametrize(("start", "end"), [(None, None), ("2026-10-02T06:00", "2026-10-02T12:00")])
def test_a_prefix_is_a_folder_not_the_start_of_a_sibling(s3, prefix, start, end):
    for key in SIBLING_KEYS:
        s3.put_object(Bucket=BUCKET, Key="team-ab/" + key, Body=b"{}\n")
    s3.put_object(Bucket=BUCKET, Key="team-a.json", Body=b"{}\n")  # a key beside the folder
    requested = _requested_prefixes(s3)
    start_dt = _t(start) if start else None
    end_dt = _t(end) if end else None
    listing = list_s3(f"s3://{BUCKET}/{prefix}", start_dt, end_dt, client=s3)
    kept = [k for k in sorted(KEYS) if key_in_window(k, start_dt, end_dt) and _classify(k) is None]
    assert [(u.name, u.location) for u in listing.units] == [(k, PREFIX + k) for k in kept]
    assert requested[0] == PREFIX and all(p.startswith(PREFIX) for p in requested)
    assert listing.list_requests == (1 if start is None else 22)


def test_a_prefix_that_is_an_object_key_is_that_object(s3):
    requested = _requested_prefixes(s3)
    listing = list_s3(f"s3://{BUCKET}/{PREFIX}misc/extra.json", None, None, client=s3)
    assert [(u.name, u.location) for u in listing.units] == [
        ("extra.json", f"{PREFIX}misc/extra.json")
    ]
    # the folder misc/extra.json/ is empty: one more request, for the key itself
    assert requested == [f"{PREFIX}misc/extra.json/", f"{PREFIX}misc/extra.json"]
    assert listing.list_requests == 2


def test_a_prefix_with_nothing_under_it_names_the_folder_it_looked_in(s3):
    with pytest.raises(SourceError) as err:
        list_s3(f"s3://{BUCKET}/team", None, None, client=s3)  # team-a/ and team-b/ exist
    assert (
        f"no invocation log files (.json, .jsonl, .ndjson or .gz) under s3://{BUCKET}/team/;"
        in (str(err.value))
    )


def test_a_window_with_no_logs_in_a_prefix_holding_logs_is_empty(s3):
    """Date folders outside the window show the prefix holds logs: a window with none is an
    empty listing (an empty table), as a log group with no events in the window is."""
    s3.delete_object(
        Bucket=BUCKET,
        Key=PREFIX + "AWSLogs/111122223333/BedrockModelInvocationLogs/"
        "amazon-bedrock-logs-permission-check",
    )
    for key in ("misc/extra.json", "loose.json.gz"):
        s3.delete_object(Bucket=BUCKET, Key=PREFIX + key)
    listing = list_s3(
        f"s3://{BUCKET}/{PREFIX}", _t("2030-01-01T00:00"), _t("2031-01-01T00:00"), client=s3
    )
    assert listing.units == []
    assert listing.folders_outside_window == 3  # 2025/ and 2026/ of us-east-1, 2026/ of us-west-2


def test_a_window_over_a_prefix_holding_no_logs_is_a_clear_error(s3):
    s3.put_object(Bucket=BUCKET, Key="notes/readme.txt", Body=b"not a log")
    with pytest.raises(SourceError, match="no invocation log files .* between 2030"):
        list_s3(f"s3://{BUCKET}/notes", _t("2030-01-01T00:00"), _t("2031-01-01T00:00"), client=s3)


def test_progress_is_noted_every_so_many_requests(s3, monkeypatch):
    from bedrock_finops.sources import s3_listing

    monkeypatch.setattr(s3_listing, "NOTE_EVERY_REQUESTS", 5)
    notes: list[str] = []
    list_s3(
        f"s3://{BUCKET}/{PREFIX}",
        _t("2026-10-02T06:00"),
        _t("2026-10-02T12:00"),
        client=s3,
        note=notes.append,
    )
    assert len(notes) == 4  # after requests 5, 10, 15 and 20 of 22
    assert notes[1].startswith(f"listing s3://{BUCKET}/{PREFIX}: ")
    assert notes[1].endswith("after 10 requests ...")


def test_the_report_summary_names_the_listing():
    from bedrock_finops.ingest import IngestReport

    s3_report = IngestReport(source="s3://bucket/p/", list_requests=18, folders_outside_window=8)
    assert "18 LIST requests; 8 date folders outside the window unlisted" in s3_report.summary()
    assert "LIST requests" not in IngestReport(source="/logs").summary()
