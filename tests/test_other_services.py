"""A log bucket, or a local copy of one, holds other AWS services' logs beside Bedrock's
(``AWSLogs/<account>/CloudTrail/``, ``.../elasticloadbalancing/``, ...): their folders are
listed as skipped once each, never read (nor, on S3, listed), so they add no quarantine."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from bedrock_finops.ingest import IngestError, IngestReport, ingest_to_folder
from bedrock_finops.sources import s3_listing
from bedrock_finops.sources.invocation_logs import list_local, list_s3
from bedrock_finops.sources.service_folders import other_service_folder
from bedrock_finops.sources.source_errors import SourceError

GOOD = Path(__file__).parent / "fixtures" / "logs" / "good"
ACCOUNT = "123456789012"
ORG = "o-a1b2c3d4e5"
BEDROCK = f"AWSLogs/{ACCOUNT}/BedrockModelInvocationLogs/us-east-1/2025/06/02"
# the fixture's records are of 2 June 2025 (in the hour folders of 10:xx and 11:xx)
BEDROCK_FILES = {
    f"{BEDROCK}/10/part-1.json": "part-1.json",
    f"{BEDROCK}/11/part-2.json": "part-2.json",
}
CLOUDTRAIL = f"AWSLogs/{ACCOUNT}/CloudTrail"
ELB = f"AWSLogs/{ACCOUNT}/elasticloadbalancing"
WINDOW = (datetime(2025, 6, 2, tzinfo=UTC), datetime(2025, 6, 3, tzinfo=UTC))


def _reason(service: str) -> str:
    return f"another AWS service's logs ({service}), not Bedrock invocation logs"


def _cloudtrail(n: int) -> bytes:
    """A CloudTrail file: one JSON object of records, gzipped (read as logs: no requestId)."""
    records = [
        {"eventVersion": "1.08", "eventName": "GetObject", "eventID": f"e-{n}-{i}"}
        for i in range(n % 3 + 1)
    ]
    return gzip.compress(json.dumps({"Records": records}).encode())


def _elb() -> bytes:
    line = 'http 2025-06-02T10:00:01.000000Z app/lb/50dc6c495c0c9188 10.0.0.1:2817 - "GET / "\n'
    return gzip.compress(line.encode() * 3)


def _cloudtrail_keys(
    days: list[str], per_day: int, root: str = CLOUDTRAIL, regions: tuple[str, ...] = ("us-east-1",)
) -> dict[str, bytes]:
    name = ACCOUNT + "_CloudTrail_{}_202506{}T{:04d}Z_x.json.gz"  # AWS's own naming
    return {
        f"{root}/{region}/2025/06/{day}/{name.format(region, day, i)}": _cloudtrail(i)
        for region in regions
        for day in days
        for i in range(per_day)
    }


def _bucket_files(cloudtrail: dict[str, bytes]) -> dict[str, bytes]:
    """Bedrock's two hours, CloudTrail, and a load balancer's log (one object each day)."""
    files = {rel: (GOOD / name).read_bytes() for rel, name in BEDROCK_FILES.items()}
    files.update(cloudtrail)
    files[f"{ELB}/us-east-1/2025/06/02/{ACCOUNT}_elasticloadbalancing_us-east-1_app.lb.log.gz"] = (
        _elb()
    )
    return files


def _write(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def _usage(out: Path) -> list[dict]:
    return sorted(pq.read_table(out / "usage.parquet").to_pylist(), key=lambda r: r["request_id"])


@pytest.fixture
def bedrock_only(tmp_path: Path) -> list[dict]:
    """The rows of the Bedrock logs read alone (same paths, so the same source_file)."""
    src = _write(
        tmp_path / "bedrock-only", {k: (GOOD / v).read_bytes() for k, v in BEDROCK_FILES.items()}
    )
    ingest_to_folder(src, tmp_path / "bedrock-only-out", workers=1, progress=False)
    rows = _usage(tmp_path / "bedrock-only-out")
    assert len(rows) == 12  # part-2.json repeats a record of part-1.json
    return rows


# ---------------------------------------------------------------------------- the folder rule


@pytest.mark.parametrize(
    ("rel", "source_folders", "folder"),
    [
        (f"{CLOUDTRAIL}/us-east-1/2025/06/02/x.json.gz", (), f"{CLOUDTRAIL}/"),
        (f"{CLOUDTRAIL}/", (), f"{CLOUDTRAIL}/"),
        (f"logs/{ELB}/us-east-1/x.log.gz", (), f"logs/{ELB}/"),
        (
            f"AWSLogs/{ORG}/{ACCOUNT}/CloudTrail/us-east-1/x.json.gz",
            (),
            f"AWSLogs/{ORG}/{ACCOUNT}/CloudTrail/",
        ),
        # the source is AWSLogs/<account>/ or the organization's folder: the service is below
        ("CloudTrail/us-east-1/x.json.gz", ("b", "AWSLogs", ACCOUNT), "CloudTrail/"),
        (f"{ACCOUNT}/CloudTrail/x.json.gz", ("AWSLogs", ORG), f"{ACCOUNT}/CloudTrail/"),
        # not another service's folder
        (f"{BEDROCK}/10/part-1.json", (), None),
        (f"AWSLogs/{ACCOUNT}/", (), None),
        (f"AWSLogs/{ACCOUNT}/stray.json", (), None),  # files in the account folder
        (f"AWSLogs/{ORG}/{ACCOUNT}/stray.json", (), None),
        ("AWSLogs/1234/CloudTrail/x.json", (), None),  # no account
        (f"AWSLogs/{ACCOUNT}//x.json", (), None),  # S3 allows a folder with no name
        ("CloudTrail/us-east-1/x.json.gz", (), None),  # no AWSLogs/ at all
        # the source is the service folder itself, or in it: read as asked
        ("us-east-1/x.json.gz", ("AWSLogs", ACCOUNT, "CloudTrail"), None),
        ("2025/x.json.gz", ("AWSLogs", ACCOUNT, "CloudTrail", "us-east-1"), None),
        ("x.json.gz", ("AWSLogs", ORG, ACCOUNT, "CloudTrail"), None),
    ],
)
def test_the_folder_of_another_service(rel, source_folders, folder):
    found = other_service_folder(rel, source_folders)
    assert (found.folder if found else None) == folder
    if found is not None:
        assert found.service == folder.rstrip("/").rsplit("/", 1)[-1]


# ---------------------------------------------------------------------------- local folders


def test_a_local_log_bucket_reads_bedrock_only(tmp_path: Path, bedrock_only):
    cloudtrail = _cloudtrail_keys(["01", "02", "03"], 4)
    src = _write(tmp_path / "bucket", _bucket_files(cloudtrail))
    (src / f"AWSLogs/{ACCOUNT}/vpcflowlogs/us-east-1/2025/06/02").mkdir(parents=True)
    (src / f"AWSLogs/{ACCOUNT}/vpcflowlogs/us-east-1/2025/06/02/f.log.gz").write_bytes(_elb())
    out = tmp_path / "out"
    report = ingest_to_folder(src, out, workers=1, progress=False)
    assert _usage(out) == bedrock_only
    assert (report.quarantined, report.files_read, report.lines_read) == (0, 2, 13)
    assert report.files_skipped == [
        {"file": f"{CLOUDTRAIL}/", "reason": _reason("CloudTrail")},
        {"file": f"{ELB}/", "reason": _reason("elasticloadbalancing")},
        {"file": f"AWSLogs/{ACCOUNT}/vpcflowlogs/", "reason": _reason("vpcflowlogs")},
    ]
    summary = report.summary()
    assert (
        "  skipped: other AWS services' logs, not Bedrock invocation logs (CloudTrail 1, "
        "elasticloadbalancing 1, vpcflowlogs 1): 3 folders (listed in ingest_report.json)"
    ) in summary.splitlines()


def test_an_organization_trail_is_skipped_too(tmp_path: Path):
    org_trail = f"AWSLogs/{ORG}/{ACCOUNT}/CloudTrail"
    files = _bucket_files(_cloudtrail_keys(["02"], 2, root=org_trail))
    files[f"AWSLogs/{ORG}/{ACCOUNT}/CloudTrail-Digest/us-east-1/d.json.gz"] = _cloudtrail(1)
    src = _write(tmp_path / "bucket", files)
    listing = list_local(src, *WINDOW)
    assert [u.name for u in listing.units] == list(BEDROCK_FILES)
    assert listing.skipped == [
        {"file": f"{ELB}/", "reason": _reason("elasticloadbalancing")},
        {"file": f"AWSLogs/{ORG}/{ACCOUNT}/CloudTrail/", "reason": _reason("CloudTrail")},
        {
            "file": f"AWSLogs/{ORG}/{ACCOUNT}/CloudTrail-Digest/",
            "reason": _reason("CloudTrail-Digest"),
        },
    ]


def test_a_source_in_the_account_folder_skips_the_services_below_it(tmp_path: Path):
    src = _write(tmp_path / "bucket", _bucket_files(_cloudtrail_keys(["02"], 2)))
    listing = list_local(src / "AWSLogs" / ACCOUNT, None, None)
    assert [u.name for u in listing.units] == [rel.split("/", 2)[2] for rel in BEDROCK_FILES]
    assert [s["file"] for s in listing.skipped] == ["CloudTrail/", "elasticloadbalancing/"]


def test_a_source_pointed_at_the_cloudtrail_folder_reads_it(tmp_path: Path):
    cloudtrail = _cloudtrail_keys(["01", "02"], 2)
    src = _write(tmp_path / "bucket", _bucket_files(cloudtrail))
    out = tmp_path / "out"
    report = ingest_to_folder(src / CLOUDTRAIL, out, workers=1, progress=False)
    # each file is one JSON object with no requestId: one quarantined line, as ever
    assert (report.files_read, report.quarantined, report.rows) == (4, 4, 0)
    assert report.quarantine_by_reason == {"missing requestId": 4}
    assert report.files_skipped == []


def test_only_other_services_logs_is_a_clear_error(tmp_path: Path):
    files = _bucket_files(_cloudtrail_keys(["02"], 2))
    src = _write(tmp_path / "bucket", {k: v for k, v in files.items() if k not in BEDROCK_FILES})
    with pytest.raises(IngestError) as err:
        ingest_to_folder(src, tmp_path / "out", workers=1, progress=False)
    assert str(err.value) == (
        f"no invocation log files under {src}, only other AWS services' logs (CloudTrail, "
        f"elasticloadbalancing in {CLOUDTRAIL}/, {ELB}/); point the source at the folder that "
        "holds AWSLogs/<account>/BedrockModelInvocationLogs"
    )
    with pytest.raises(SourceError) as err:
        list_local(src, *WINDOW)
    assert str(err.value) == (
        f"no invocation log files between {WINDOW[0]} and {WINDOW[1]} under {src} (other AWS "
        f"services' logs there are not read: CloudTrail, elasticloadbalancing in {CLOUDTRAIL}/, "
        f"{ELB}/); point the source at the folder that holds "
        "AWSLogs/<account>/BedrockModelInvocationLogs"
    )


def test_the_summary_groups_the_service_folders():
    report = IngestReport(
        source="/logs",
        files_skipped=[
            {"file": f"AWSLogs/{n}/CloudTrail/", "reason": _reason("CloudTrail")}
            for n in ("111111111111", "222222222222")
        ]
        + [{"file": "a.json", "reason": "empty file"}],
    )
    assert report.summary().splitlines()[-2:] == [
        "  skipped: other AWS services' logs, not Bedrock invocation logs (CloudTrail 2): "
        "2 folders (listed in ingest_report.json)",
        "  skipped: empty file: 1 (listed in ingest_report.json)",
    ]


# ---------------------------------------------------------------------------- S3

BUCKET = "log-bucket"
REGIONS = ("us-west-2", "eu-west-1", "ap-southeast-2")


def _put(s3, files: dict[str, bytes], prefix: str = "") -> None:
    for key, data in files.items():
        s3.put_object(Bucket=BUCKET, Key=prefix + key, Body=data)


def _requests(client) -> list[dict]:
    seen: list[dict] = []
    client.meta.events.register(
        "before-parameter-build.s3.ListObjectsV2", lambda params, **_: seen.append(dict(params))
    )
    return seen


@pytest.fixture
def s3(aws_client):
    client = aws_client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


S3_SKIPPED = [
    {"file": f"{CLOUDTRAIL}/", "reason": _reason("CloudTrail")},
    {"file": f"{ELB}/", "reason": _reason("elasticloadbalancing")},
]


@pytest.mark.aws
@pytest.mark.parametrize("window", [(None, None), WINDOW])
def test_an_s3_log_bucket_reads_bedrock_only(s3, aws_env, tmp_path: Path, bedrock_only, window):
    _put(s3, _bucket_files(_cloudtrail_keys(["01", "02", "03"], 3)))
    out = tmp_path / "out"
    report = ingest_to_folder(
        f"s3://{BUCKET}/", out, *window, workers=1, progress=False, endpoint_url=aws_env
    )
    assert _usage(out) == bedrock_only
    assert (report.quarantined, report.files_read) == (0, 2)
    assert report.files_skipped == S3_SKIPPED


@pytest.mark.aws
def test_a_window_lists_no_service_folder(s3):
    _put(s3, _bucket_files(_cloudtrail_keys(["02"], 1)))
    requests = _requests(s3)
    few = list_s3(f"s3://{BUCKET}/", *WINDOW, client=s3)
    # 120 more objects: 4 Regions, 3 days (one of them in the window), 10 an hour
    _put(s3, _cloudtrail_keys(["01", "02", "03"], 10, regions=("us-east-1", *REGIONS)))
    many = list_s3(f"s3://{BUCKET}/", *WINDOW, client=s3)
    # the bucket, AWSLogs/, the account, the service, the region, 2025/, 06/ walked; the day
    # 02/ listed whole: CloudTrail/ and elasticloadbalancing/ are not walked, only their
    # first 1,000 keys listed once each, to see they hold no Bedrock logs (read as a log
    # folder, CloudTrail would take 4 requests for each Region: its folders down to 02/)
    assert few.list_requests == many.list_requests == 10
    assert many.skipped == few.skipped == S3_SKIPPED
    assert [u.name for u in many.units] == list(BEDROCK_FILES)
    services = [r for r in requests if r["Prefix"].startswith((f"{CLOUDTRAIL}/", f"{ELB}/"))]
    assert [(r["Prefix"], r.get("Delimiter"), r.get("MaxKeys")) for r in services] == [
        (f"{CLOUDTRAIL}/", None, 1000),
        (f"{ELB}/", None, 1000),
    ] * 2


@pytest.mark.aws
def test_a_flat_listing_goes_on_after_a_service_folder(s3, monkeypatch):
    monkeypatch.setattr(s3_listing, "PAGE_KEYS", 5, raising=False)
    files = _bucket_files(_cloudtrail_keys(["01", "02", "03"], 10))  # 30 CloudTrail objects
    files.update(
        {f"AWSLogs/{ACCOUNT}/BedrockModelInvocationLogs/x{i}.json": b"{}\n" for i in range(4)}
    )
    files["zz.json"] = b"{}\n"  # after every AWSLogs/ key
    _put(s3, files)
    requests = _requests(s3)
    listing = list_s3(f"s3://{BUCKET}/", None, None, client=s3)
    # pages of 5: the 6 Bedrock objects (2, then 4 sorting after the region), then CloudTrail
    # (reached in page 2: the next starts after it), the load balancer's and zz.json
    assert [r.get("StartAfter") for r in requests] == [
        None,
        None,
        f"{CLOUDTRAIL}/\U0010ffff",
    ]
    assert listing.list_requests == 3  # paging through CloudTrail would take 9
    assert [u.name for u in listing.units] == [
        *BEDROCK_FILES,
        *(f"AWSLogs/{ACCOUNT}/BedrockModelInvocationLogs/x{i}.json" for i in range(4)),
        "zz.json",
    ]
    assert listing.skipped == S3_SKIPPED


@pytest.mark.aws
def test_keys_sorting_after_the_jump_are_still_left_out(s3, monkeypatch):
    monkeypatch.setattr(s3_listing, "PAGE_KEYS", 5, raising=False)
    files = _bucket_files(_cloudtrail_keys(["02"], 6))
    # names no service writes, but S3 allows: past U+10FFFF, so after where the listing jumps to
    files.update({f"{CLOUDTRAIL}/\U0010ffff{i}.json": b"{}\n" for i in range(7)})
    _put(s3, files)
    requests = _requests(s3)
    listing = list_s3(f"s3://{BUCKET}/", None, None, client=s3)
    # page 1: the 2 Bedrock objects and 3 of CloudTrail, then a jump; pages 2 and 3 go on
    # through the 7 keys after it (no jump to where it already is), then the load balancer's
    assert [r.get("StartAfter") for r in requests] == [None, f"{CLOUDTRAIL}/\U0010ffff", None]
    assert listing.list_requests == 3
    assert [u.name for u in listing.units] == list(BEDROCK_FILES)
    assert listing.skipped == S3_SKIPPED


@pytest.mark.aws
def test_an_s3_prefix_naming_one_cloudtrail_object_reads_it(s3):
    key = next(iter(_cloudtrail_keys(["02"], 1)))
    _put(s3, _bucket_files(_cloudtrail_keys(["02"], 1)))
    listing = list_s3(f"s3://{BUCKET}/{key}", None, None, client=s3)
    assert [(u.name, u.location) for u in listing.units] == [(key.rsplit("/", 1)[-1], key)]
    assert listing.skipped == []


@pytest.mark.aws
def test_an_s3_organization_trail_and_an_account_prefix(s3):
    org_trail = f"AWSLogs/{ORG}/{ACCOUNT}/CloudTrail"
    files = _bucket_files(_cloudtrail_keys(["02"], 2, root=org_trail))
    files[f"AWSLogs/{ORG}/{ACCOUNT}/CloudTrail-Digest/us-east-1/d.json.gz"] = _cloudtrail(1)
    _put(s3, files)
    for window in ((None, None), WINDOW):
        listing = list_s3(f"s3://{BUCKET}/", *window, client=s3)
        assert [u.name for u in listing.units] == list(BEDROCK_FILES)
        assert listing.skipped == [  # in the order of a local copy's
            {"file": f"{ELB}/", "reason": _reason("elasticloadbalancing")},
            {"file": f"{org_trail}/", "reason": _reason("CloudTrail")},
            {"file": f"{org_trail}-Digest/", "reason": _reason("CloudTrail-Digest")},
        ]
        # a prefix in the account folder: the services below it are still skipped
        listing = list_s3(f"s3://{BUCKET}/AWSLogs/{ACCOUNT}", *window, client=s3)
        assert listing.skipped == [
            {"file": "elasticloadbalancing/", "reason": _reason("elasticloadbalancing")}
        ]


@pytest.mark.aws
@pytest.mark.parametrize("window", [(None, None), WINDOW])
def test_an_s3_source_pointed_at_the_cloudtrail_folder_reads_it(s3, window):
    _put(s3, _bucket_files(_cloudtrail_keys(["02"], 2)))
    listing = list_s3(f"s3://{BUCKET}/{CLOUDTRAIL}/", *window, client=s3)
    assert len(listing.units) == 2
    assert listing.skipped == []


@pytest.mark.aws
@pytest.mark.parametrize("window", [(None, None), WINDOW])
def test_an_s3_bucket_of_other_services_only_is_a_clear_error(s3, window):
    files = _bucket_files(_cloudtrail_keys(["02"], 2))
    _put(s3, {k: v for k, v in files.items() if k not in BEDROCK_FILES})
    with pytest.raises(SourceError) as err:
        list_s3(f"s3://{BUCKET}/", *window, client=s3)
    assert (
        "CloudTrail, elasticloadbalancing in "
        f"{CLOUDTRAIL}/, {ELB}/); point the source at the folder that holds "
        "AWSLogs/<account>/BedrockModelInvocationLogs"
    ) in str(err.value)
    assert str(err.value).startswith(
        f"no invocation log files under s3://{BUCKET}/, only other AWS services' logs ("
        if window[0] is None
        else f"no invocation log files between {WINDOW[0]} and {WINDOW[1]} under s3://{BUCKET}/ "
        "(other AWS services' logs there are not read: "
    )


NESTED = f"AWSLogs/{ACCOUNT}/bedrock/{BEDROCK}"  # Bedrock's key prefix AWSLogs/<acct>/bedrock
NESTED_FILES = {
    f"{NESTED}/10/part-1.json": "part-1.json",
    f"{NESTED}/11/part-2.json": "part-2.json",
}


def _nested_bucket() -> dict[str, bytes]:
    files = {rel: (GOOD / name).read_bytes() for rel, name in NESTED_FILES.items()}
    files.update(_cloudtrail_keys(["02"], 2))
    return files


def test_bedrock_logs_under_a_prefix_named_like_a_service_are_read(tmp_path):
    """Bedrock's key prefix may be AWSLogs/<account>/bedrock: its folder holds Bedrock's
    layout below, so it is no other service's; CloudTrail beside it still is."""
    root = _write(tmp_path / "bucket", _nested_bucket())
    listing = list_local(root, None, None)
    assert sorted(u.name for u in listing.units) == sorted(NESTED_FILES)
    assert listing.skipped == [{"file": f"{CLOUDTRAIL}/", "reason": _reason("CloudTrail")}]
    assert other_service_folder(f"{NESTED}/10/part-1.json") is None


@pytest.mark.aws
@pytest.mark.parametrize("window", [WINDOW, (None, None)])
def test_bedrock_logs_under_a_prefix_named_like_a_service_are_read_on_s3(s3, window):
    _put(s3, _nested_bucket())
    listing = list_s3(f"s3://{BUCKET}/", *window, client=s3)
    assert sorted(u.name for u in listing.units) == sorted(NESTED_FILES)
    assert listing.skipped == [{"file": f"{CLOUDTRAIL}/", "reason": _reason("CloudTrail")}]
