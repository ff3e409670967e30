"""What a --source names: schemes in any case, Windows drives as paths, bucket names checked."""

from __future__ import annotations

import pytest

from bedrock_finops.sources.source_errors import SourceError
from bedrock_finops.sources.source_uri import normalised_source, s3_bucket_and_prefix


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("S3://my-bucket/logs", "s3://my-bucket/logs"),
        ("CloudWatch-Logs:///aws/bedrock/x", "cloudwatch-logs:///aws/bedrock/x"),
        ("s3://my-bucket", "s3://my-bucket"),
        ("C:/logs", "C:/logs"),  # a drive letter is no scheme
        ("logs/2026", "logs/2026"),
        ("./a:b/logs", "./a:b/logs"),
    ],
)
def test_sources_are_normalised(source, expected):
    assert normalised_source(source) == expected


@pytest.mark.parametrize("source", ["s4://b/p", "cloudwatch://g", "https://b.s3.amazonaws.com"])
def test_other_schemes_are_refused(source):
    with pytest.raises(SourceError, match="unknown scheme"):
        normalised_source(source)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://my-bucket/a/b", ("my-bucket", "a/b")),
        ("s3://my-bucket", ("my-bucket", "")),
        ("s3://Legacy_Bucket/x", ("Legacy_Bucket", "x")),  # us-east-1 buckets before 2018
    ],
)
def test_bucket_and_prefix(uri, expected):
    assert s3_bucket_and_prefix(uri) == expected


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("s3:///key", "names no bucket"),
        ("s3://a b/x", "'a b' is not a bucket name"),
        ("s3://arn:aws:s3:::logs", "give the bucket's name: s3://logs/"),
    ],
)
def test_bad_buckets_are_refused(uri, message):
    with pytest.raises(SourceError, match=message):
        s3_bucket_and_prefix(uri)


def test_an_access_point_arn_is_told_to_use_its_alias():
    uri = "s3://arn:aws:s3:us-east-1:123456789012:accesspoint/my-ap/logs"
    with pytest.raises(SourceError, match="the access point's alias, as s3://NAME/prefix"):
        s3_bucket_and_prefix(uri)


def test_a_log_group_one_slash_short_keeps_its_own_leading_slash():
    with pytest.raises(SourceError, match="e.g. cloudwatch-logs:///aws/bedrock/modelinvocations$"):
        normalised_source("cloudwatch-logs:/aws/bedrock/modelinvocations")


def test_a_local_folder_whose_name_holds_a_colon_is_a_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "logs:").mkdir()
    assert normalised_source("logs:/") == "logs:/"
    with pytest.raises(SourceError, match="unknown scheme"):
        normalised_source("other:/")
