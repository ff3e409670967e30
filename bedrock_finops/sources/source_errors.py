"""The two ways reading a log source fails: the whole run, or one S3 object."""

from __future__ import annotations


class SourceError(RuntimeError):
    """The source cannot be read; the message names the problem and the fix."""


class UnreadableObject(RuntimeError):
    """An S3 object that cannot be read (deleted, archived, or its download kept breaking):
    the message is its quarantine reason."""
