"""Whether a file outside the window is a Bedrock invocation log: the proof that a source
whose window holds no records is a quiet window of a log folder (an empty table), not the
wrong folder (an error).

A name proves nothing (CloudTrail, load balancer and backup files end in ``.json.gz`` and sit
in date folders too), so a file counts when it is in AWS's layout
(``.../BedrockModelInvocationLogs/<region>/...``) or when its first bytes hold an invocation
record. Only a few files are read, and only when the window held nothing.
"""

from __future__ import annotations

import os

import orjson
from isal import isal_zlib

from bedrock_finops.sources.log_decoding import GZIP_MAGIC

HEAD_BYTES = 1 << 16  # read of a file's start (compressed, if gzip)
MAX_FILES_READ = 3  # files outside the window read for the proof, at most
LINES_READ = 5  # lines of a file's start tried as records
# every record AWS writes says so (``"schemaType": "ModelInvocationLog"``), also inside a
# CloudWatch Logs envelope's escaped message
SCHEMA_MARK = b"ModelInvocationLog"
RECORD_KEYS = ("requestId", "modelId", "operation")


def looks_like_invocation_log(head: bytes) -> bool:
    """Whether ``head`` (a file's first bytes, gzip or not) holds an invocation record: the
    schema's name, or a line that is a JSON object with a request ID, model ID and operation."""
    if head.startswith(GZIP_MAGIC):
        try:
            head = isal_zlib.decompressobj(wbits=31).decompress(head, HEAD_BYTES * 8)
        except isal_zlib.error:
            return False
    if SCHEMA_MARK in head:
        return True
    for line in head.splitlines()[:LINES_READ]:
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(record, dict) and all(k in record for k in RECORD_KEYS):
            return True
    return False


def local_head(path: str | os.PathLike[str], size: int = HEAD_BYTES) -> bytes:
    """A local file's first ``size`` bytes (empty when it cannot be read)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(size)
    except OSError:
        return b""


def s3_head(client: object, bucket: str, key: str) -> bytes:
    """An S3 object's first :data:`HEAD_BYTES`, by one ranged GET (empty on any error: the
    proof then fails, and the error the run gives says no logs were found)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = client.get_object(  # type: ignore[attr-defined]
            Bucket=bucket, Key=key, Range=f"bytes=0-{HEAD_BYTES - 1}"
        )
        return answer["Body"].read()
    except (BotoCoreError, ClientError):
        return b""
