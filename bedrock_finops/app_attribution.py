"""A row's ``app``: from requestMetadata, else an identity -> app map, else the role name.

A requestMetadata value is the app without surrounding white space; a blank value, or one
that is not a string, counts as absent (AWS documents requestMetadata as string -> string).
"""

from __future__ import annotations

from typing import Any

from bedrock_finops.name_maps import IDENTITY_APP_EXAMPLE, check_name_map

UNKNOWN_APP = "(unknown)"  # how tables show a row with no app (no metadata app, no caller)


def metadata_app(value: Any) -> str | None:
    """A requestMetadata value as an app: stripped; None when blank or not a string."""
    if type(value) is not str:
        return None
    return value.strip() or None


def _resource(arn: str) -> tuple[str, str]:
    """``arn:P:S:R:ACCT:KIND/REST`` -> (KIND, REST); REST is empty when there is no ``/``."""
    kind, _, rest = arn.rpartition(":")[2].partition("/")
    return kind, rest


def app_from_identity(arn: str | None) -> str | None:
    """The app of a caller with no metadata app and no map entry: ``assumed-role/ROLE/...``
    -> ROLE; ``user/PATH/NAME`` and ``role/PATH/NAME`` -> NAME; anything else its resource
    (``root``). None for an empty name."""
    if not arn:
        return None
    kind, rest = _resource(arn)
    if kind == "assumed-role":
        return rest.partition("/")[0] or None
    if kind in ("user", "role"):
        return rest.rpartition("/")[2] or None
    return arn.rpartition(":")[2] or None


def role_arn(arn: str) -> str | None:
    """``arn:P:sts::ACCT:assumed-role/ROLE/SESSION`` -> ``arn:P:iam::ACCT:role/ROLE``; else None.

    Logs carry the session's STS ARN, which changes with every session; users name the role
    by its IAM ARN. (STS ARNs drop a role's path, so a mapping keyed by a role ARN with a
    path is matched by :func:`identity_app` through its last segment.)
    """
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "sts":
        return None
    resource = parts[5].split("/")
    if resource[0] != "assumed-role" or len(resource) < 2:
        return None
    return f"arn:{parts[1]}:iam::{parts[4]}:role/{resource[1]}"


def identity_app(arn: str, identity_app_map: dict[str, str] | None) -> str | None:
    """The app of a record without one in its metadata: by ``identity_app_map``, else the role.

    The map is looked up by the record's ARN, then its IAM role ARN (with or without a path
    in the map's key), then the role or user name; with no match the app is the role name.
    """
    name = app_from_identity(arn)
    if identity_app_map:
        app = identity_app_map.get(arn)
        role = role_arn(arn)
        if not app and role:
            app = identity_app_map.get(role) or _role_with_path(role, identity_app_map)
        if not app:
            app = identity_app_map.get(name or "")
        if app:
            return app
    return name


class IdentityAppMap(dict):
    """An ``identity_app_map`` whose role-ARN keys are indexed by account and role name.

    A key with a path (``arn:P:iam::ACCT:role/PATH/ROLE``) matches a logged role by its last
    segment; without the index every lookup of a role that is not a key as it stands would
    scan the whole map (a map of thousands of roles, with a session name per request).
    """

    def __init__(self, mapping: dict[str, str]) -> None:
        check_name_map(mapping, IDENTITY_APP_EXAMPLE)  # MapError names the key and the fix
        super().__init__(mapping)
        self.role_keys: dict[tuple[str, str], str] = {}
        for key, app in self.items():
            head, sep, _ = key.partition(":role/")
            if sep:  # the first key in map order wins, as in the scan
                self.role_keys.setdefault((head, key.rpartition("/")[2]), app)


def _role_with_path(role: str, identity_app_map: dict[str, str]) -> str | None:
    """The map's value for a key ``arn:P:iam::ACCT:role/PATH/.../ROLE`` matching ``role``."""
    head, _, name = role.partition(":role/")
    if isinstance(identity_app_map, IdentityAppMap):
        return identity_app_map.role_keys.get((head, name))
    for key, app in identity_app_map.items():
        if key.startswith(head + ":role/") and key.rpartition("/")[2] == name:
            return app
    return None
