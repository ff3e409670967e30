"""What the ingest report says about the ``app`` column, read from the rows as written.

A map key that names no caller in the logs (a typo, another account) gives no row its app,
silently. Such keys are found in the parent, one row group at a time, from the distinct
callers of the row group (a role has one ARN per session, not per request), not per row in
the workers.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from bedrock_finops.app_attribution import IdentityAppMap, caller_keys

ARNS_REMEMBERED = 1 << 16  # distinct callers already checked, before the memo starts over
# a role session's ARN up to its role (group 1): the session after it is dropped
SESSION = r"^(arn:[^:]*:sts::[^:]*:assumed-role/[^/]+)/.*$"


class AppChecks:
    """Tallies, over the written row groups, the map keys no row's caller matched."""

    def __init__(self, identity_app_map: IdentityAppMap | None) -> None:
        self.identity_app_map = identity_app_map or {}
        self.matched: set[str] = set()
        self._arns_seen: set[str] = set()
        # the keys a logged ARN can equal (a name or a role's IAM ARN never does)
        self._arn_keys = pa.array(
            [k for k in self.identity_app_map if k.startswith("arn:") and ":role/" not in k],
            pa.string(),
        )

    def add(self, table: pa.Table) -> None:
        """Check one row group of the usage table."""
        if self.identity_app_map and len(self.matched) < len(self.identity_app_map):
            self._match_keys(table["identity_arn"])

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

    def unmatched(self) -> list[str]:
        """The map's keys that named no row's caller, in the map's order."""
        return [k for k in self.identity_app_map if k not in self.matched]
