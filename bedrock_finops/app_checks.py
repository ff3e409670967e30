"""What the ingest report says about the ``app`` column, read from the rows as written.

Two mistakes that give every row an app, only not the intended one: a map key that names no
caller in the logs (a typo, another account), and a requestMetadata key that misses the app
key by case or white space (``App`` for ``app``), so those rows fall back to the map or the
role. Both are found in the parent, one row group at a time, from the distinct values of a
column (a role has one ARN per session, not per request; most metadata values never come
near the app key), not per row in the workers.
"""

from __future__ import annotations

import re
from collections import Counter

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from bedrock_finops.app_attribution import IdentityAppMap, caller_keys, near_miss_keys

ARNS_REMEMBERED = 1 << 16  # distinct callers already checked, before the memo starts over
# a role session's ARN up to its role (group 1): the session after it is dropped
SESSION = r"^(arn:[^:]*:sts::[^:]*:assumed-role/[^/]+)/.*$"


class AppChecks:
    """Tallies, over the written row groups, the map keys no row's caller matched and the
    rows whose requestMetadata has a near miss of ``app_key``."""

    def __init__(self, app_key: str, identity_app_map: IdentityAppMap | None) -> None:
        self.app_key = app_key
        self.identity_app_map = identity_app_map or {}
        self.matched: set[str] = set()
        self.near_misses: Counter[str] = Counter()
        self._arns_seen: set[str] = set()
        # the keys a logged ARN can equal (an IAM role's ARN too: a caller may log it as is)
        self._arn_keys = pa.array(
            [k for k in self.identity_app_map if k.startswith("arn:")], pa.string()
        )
        self._needle = app_key.strip()
        # request_metadata is canonical JSON: the key as JSON writes it, then a colon
        self._key_json = orjson.dumps(app_key).decode() + ":"
        # a row whose metadata gives app_key a value with a character that is not white space
        # before any quote or escape has an app from its metadata: no near miss to look for
        self._has_app = re.escape(self._key_json) + r'"[^"\\]*[^"\\\s\pZ\x{85}]'
        # a key that is the app key but for case and white space: "App":, " app ":
        spelled = "".join(_any_case(c) for c in self._needle)
        blank = r"(?:[\s\pZ\x{85}]|\\[tnrfb])*"  # white space, raw or as JSON escapes it
        self._near_key = f'"{blank}{spelled}{blank}":'

    def add(self, table: pa.Table) -> None:
        """Check one row group of the usage table."""
        if self.identity_app_map and len(self.matched) < len(self.identity_app_map):
            self._match_keys(table["identity_arn"])
        self._near_misses(table["request_metadata"])

    def _match_keys(self, arns: pa.ChunkedArray) -> None:
        """Keys equal to a logged ARN are found in Arrow; the others by each distinct caller,
        a role's sessions made one (``.../assumed-role/ROLE/``: a role's keys do not depend on
        the session, and a job can have a session per request)."""
        uniq = pc.unique(arns.drop_null())
        keys = self._arn_keys
        if len(keys):
            self.matched.update(keys.filter(pc.is_in(keys, value_set=uniq)).to_pylist())
        callers = pc.unique(pc.replace_substring_regex(uniq, SESSION, r"\1/"))
        seen = self._arns_seen
        for arn in callers.to_pylist():
            if arn not in seen:
                if len(seen) >= ARNS_REMEMBERED:
                    seen.clear()
                seen.add(arn)
                self.matched.update(caller_keys(arn, self.identity_app_map))

    def _near_misses(self, metadata: pa.ChunkedArray) -> None:
        """Rows whose metadata holds the app key in another case or spacing, and no app
        under the key itself: the few such values parsed, not every row's metadata."""
        near = metadata.filter(pc.match_substring(metadata, self._needle, ignore_case=True))
        if len(near):
            near = near.filter(pc.invert(pc.match_substring_regex(near, self._has_app)))
        if len(near):  # only rows with a key spelled like the app key, quotes around it
            near = near.filter(pc.match_substring_regex(near, self._near_key))
        if not len(near):
            return
        # each distinct value parsed once (a regex cannot blank JSON values safely: a key or
        # a list item may end in a colon)
        counts = pc.value_counts(near)
        for text, n in zip(
            counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
        ):
            for key in near_miss_keys(orjson.loads(text), self.app_key):
                self.near_misses[key] += n

    def unmatched(self) -> list[str]:
        """The map's keys that named no row's caller, in the map's order."""
        return [k for k in self.identity_app_map if k not in self.matched]


def _any_case(c: str) -> str:
    """A character of the app key as an RE2 pattern matching it in any case."""
    if c.isalnum() and c.isascii():
        return f"[{c.lower()}{c.upper()}]" if c.isalpha() else c
    forms = {c, c.lower(), c.upper()}
    return "(?:" + "|".join(f"\\x{{{ord(f[0]):x}}}" for f in sorted(forms) if len(f) == 1) + ")"
