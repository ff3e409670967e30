"""What a ``--source`` names: a local folder or file, ``s3://bucket/prefix`` or
``cloudwatch-logs://LOG_GROUP``; a mistyped scheme is an error, not a folder that does not exist.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from bedrock_finops.sources.source_errors import SourceError

SCHEMES = ("s3", "cloudwatch-logs")
SOURCE_FORMS = "a local folder, s3://bucket/prefix or cloudwatch-logs://LOG_GROUP"

# a URL scheme: two characters at least, so a Windows drive (C:/logs) is a path
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]+):/")

# what botocore accepts as a bucket name (S3's rules, plus the upper case and underscores of
# buckets made in us-east-1 before 2018)
_BUCKET_RE = re.compile(r"[A-Za-z0-9.\-_]{1,255}")


def normalised_source(source: str) -> str:
    """``source`` with its scheme in lower case (``S3://`` is ``s3://``); a local path as given.

    Raises :class:`SourceError` for a scheme that is neither, or one slash short, and for an
    empty source (an unset shell variable), which would otherwise read the working directory."""
    if not source.strip():
        raise SourceError(
            f"the source {source!r} is empty (an unset variable?); give {SOURCE_FORMS}"
        )
    m = _SCHEME_RE.match(source)
    if m is None:
        return source
    scheme = m.group(1).lower()
    rest = source[m.end() :]
    if scheme in SCHEMES and rest.startswith("/"):
        return f"{scheme}://{rest[1:]}"
    if Path(source).exists():  # a local folder whose name holds a colon ("logs:/")
        return source
    if scheme in SCHEMES:
        # a log group's name starts with a slash of its own (/aws/bedrock/...); a bucket's not
        example = f"{scheme}://{'/' + rest if scheme == 'cloudwatch-logs' else rest}"
        raise SourceError(f"source {source!r}: write {scheme}:// with two slashes, e.g. {example}")
    close = difflib.get_close_matches(scheme, SCHEMES, n=1, cutoff=0.5)
    hint = f" (did you mean {close[0]}://?)" if close else ""
    raise SourceError(
        f"source {source!r}: unknown scheme {m.group(1)}://{hint}; a source is {SOURCE_FORMS}"
    )


def s3_bucket_and_prefix(uri: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> (bucket, prefix); a name S3 cannot have is an error here, not
    a traceback from botocore."""
    rest = uri[len("s3://") :]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise SourceError(f"{uri!r} names no bucket; use s3://bucket/prefix")
    if bucket.startswith("arn:"):
        if ":::" in bucket:  # arn:aws:s3:::NAME
            fix = f"give the bucket's name: s3://{bucket.rpartition(':')[2]}/{prefix}"
        else:  # an access point's ARN (arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME)
            fix = "give the bucket's name, or the access point's alias, as s3://NAME/prefix"
        raise SourceError(f"{uri!r} holds an ARN; {fix}")
    if not _BUCKET_RE.fullmatch(bucket):
        raise SourceError(
            f"{uri!r}: {bucket!r} is not a bucket name (letters, digits, '.', '-' and '_' "
            "only, no spaces); use s3://bucket/prefix"
        )
    return bucket, prefix
