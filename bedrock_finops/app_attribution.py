"""A row's ``app``, which chargeback groups by, decided in this order:

1. the record's ``requestMetadata`` value under ``app_key``, without surrounding white space
   (a blank value, or one that is not a string, counts as absent: AWS documents
   requestMetadata as string -> string);
2. the ``identity_app_map`` entry for the caller (:func:`map_keys`: its ARN, its IAM role's
   ARN with or without a path, a federated user's ``federated-user/NAME``, its name);
3. the caller's name (:func:`app_from_identity`): the role of an assumed-role session, an IAM
   user's user name, ``federated-user`` for any federated user (no person's name);
4. none (null).

Also the caller's principal (:func:`principal_arn`), which tables group identities by.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bedrock_finops.name_maps import IDENTITY_APP_EXAMPLE, MapError, check_name_map

FEDERATED_USER = "federated-user"  # the app (and principal) of any federated user
UNKNOWN_APP = "(unknown)"  # how tables show a row with no app (no metadata app, no caller)


def check_app_key(app_key: Any) -> str:
    """``app_key`` if it can name a requestMetadata key; ``ValueError`` if it is no string
    or a blank one."""
    if not isinstance(app_key, str):
        raise ValueError(
            f"must be a non-empty string, the requestMetadata key that names the app (the "
            f"default is 'app'), not {type(app_key).__name__} {app_key!r}"
        )
    if not app_key.strip():
        raise ValueError(
            f"{app_key!r} is blank; give the requestMetadata key that names the app "
            "(the default is 'app')"
        )
    return app_key


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
    -> ROLE; ``user/PATH/NAME`` and ``role/PATH/NAME`` -> NAME; a federated user ->
    ``federated-user`` (its name is a person's); anything else its resource (``root``).
    None for an empty name."""
    if not arn:
        return None
    kind, rest = _resource(arn)
    if kind == FEDERATED_USER:
        return FEDERATED_USER
    if kind == "assumed-role":
        return rest.partition("/")[0] or None
    if kind in ("user", "role"):
        return rest.rpartition("/")[2] or None
    return arn.rpartition(":")[2] or None


def principal_arn(arn: str) -> str:
    """The principal a session belongs to: ``arn:P:sts::ACCT:assumed-role/ROLE/SESSION`` ->
    ``arn:P:sts::ACCT:assumed-role/ROLE``; ``...:federated-user/NAME`` ->
    ``arn:P:sts::ACCT:federated-user``; any other ARN as it is.

    A session's name changes per session (a job number) or is a person's (IAM Identity Center
    sessions carry the user's e-mail): grouping by it splits one role into many rows."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "sts":
        return arn
    kind, _, rest = parts[5].partition("/")
    prefix = ":".join(parts[:5])
    if kind == "assumed-role" and rest:
        return f"{prefix}:assumed-role/{rest.partition('/')[0]}"
    if kind == FEDERATED_USER:
        return f"{prefix}:{FEDERATED_USER}"
    return arn


def role_arn(arn: str) -> str | None:
    """``arn:P:sts::ACCT:assumed-role/ROLE/SESSION`` -> ``arn:P:iam::ACCT:role/ROLE``; else None.

    Logs carry the session's STS ARN, which changes with every session; users name the role
    by its IAM ARN. (STS ARNs drop a role's path, so a mapping keyed by a role ARN with a
    path is matched by :func:`map_keys` through its last segment.)
    """
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "sts":
        return None
    kind, _, rest = parts[5].partition("/")
    role = rest.partition("/")[0]
    if kind != "assumed-role" or not role:
        return None
    return f"arn:{parts[1]}:iam::{parts[4]}:role/{role}"


def map_keys(arn: str, identity_app_map: dict[str, str]) -> Iterator[str]:
    """The keys of ``identity_app_map`` that name the caller ``arn``, most specific first:
    the ARN itself, then :func:`caller_keys`."""
    if arn in identity_app_map:
        yield arn
    yield from caller_keys(arn, identity_app_map)


def caller_keys(arn: str, identity_app_map: dict[str, str]) -> Iterator[str]:
    """The keys other than the ARN itself that name its caller: a session's principal (the
    STS ARN without the session, as the baseline shows callers); for a role session, its
    role's IAM ARN, then that ARN with a path, then the role name (none of them depends on
    the session); for a federated user, ``federated-user/NAME``, then NAME; for others (IAM
    users), the name."""
    principal = principal_arn(arn)
    if principal != arn and principal in identity_app_map:  # the form tables show callers in
        yield principal
    role = role_arn(arn)
    if role is not None:
        if role in identity_app_map:
            yield role
        yield from _role_with_path(role, identity_app_map)
    kind, rest = _resource(arn)
    names = (
        [f"{FEDERATED_USER}/{rest}", rest] if kind == FEDERATED_USER else [app_from_identity(arn)]
    )
    for name in names:
        if name and name in identity_app_map:
            yield name


def identity_app(arn: str, identity_app_map: dict[str, str] | None) -> str | None:
    """The app of a record without one in its metadata: the first of :func:`map_keys` in
    ``identity_app_map``, else :func:`app_from_identity`."""
    if identity_app_map:
        for key in map_keys(arn, identity_app_map):
            return identity_app_map[key]
    return app_from_identity(arn)


class IdentityAppMap(dict):
    """A checked ``identity_app_map`` whose role-ARN keys with a path are indexed by account
    and role name.

    Checked: every key and value a non-blank string (:func:`name_maps.check_name_map`), no
    wildcard (a key is matched as written, so ``*`` would match no caller), and no role named
    by two keys with different apps (``role/a/R5`` and ``role/b/R5`` both match the session
    ``assumed-role/R5/...``, as STS drops the path). ``MapError`` names the key(s) and the fix.

    Without the index, every lookup of a role that is not a key as it stands would scan the
    whole map (a map of thousands of roles, with a session name per request).
    """

    def __init__(self, mapping: dict[str, str]) -> None:
        super().__init__(check_name_map(mapping, IDENTITY_APP_EXAMPLE))
        self.role_keys: dict[tuple[str, str], list[str]] = {}
        for key in self:
            if "*" in key:
                raise MapError(
                    f"key {key!r} holds a wildcard; wildcards are not supported (a key is "
                    "matched as written): list each role, by name or ARN, as a key of its own"
                )
            head, sep, rest = key.partition(":role/")
            if sep and "/" in rest:
                self.role_keys.setdefault((head, rest.rpartition("/")[2]), []).append(key)
        for (head, name), keys in self.role_keys.items():
            plain = f"{head}:role/{name}"
            _refuse_two_apps(([plain] if plain in self else []) + keys, self)


def _refuse_two_apps(keys: list[str], mapping: dict[str, str]) -> None:
    """``MapError`` when ``keys`` (all naming one role) map it to more than one app."""
    first = keys[0]
    for other in keys[1:]:
        if mapping[other] != mapping[first]:
            raise MapError(
                f"keys {first!r} and {other!r} name the same role (a session's ARN drops the "
                f"role's path, so both match it) but map it to different apps, "
                f"{mapping[first]!r} and {mapping[other]!r}; keep one of them"
            )


def _role_with_path(role: str, identity_app_map: dict[str, str]) -> list[str]:
    """The map's keys ``arn:P:iam::ACCT:role/PATH/.../ROLE`` naming ``role`` (no path)."""
    head, _, name = role.partition(":role/")
    if isinstance(identity_app_map, IdentityAppMap):
        return identity_app_map.role_keys.get((head, name), [])
    return [
        key
        for key in identity_app_map
        if key.startswith(head + ":role/")
        and "/" in key[len(head) + 6 :]
        and key.rpartition("/")[2] == name
    ]


def near_miss_keys(metadata: Any, app_key: str) -> list[str]:
    """The keys of a requestMetadata object that differ from ``app_key`` only by case or
    surrounding white space (``App`` for ``app``), when ``app_key`` itself gives no app:
    the row's app then came from the map or the role, most likely by mistake."""
    if not isinstance(metadata, dict) or metadata_app(metadata.get(app_key)):
        return []
    want = app_key.strip().lower()
    return [
        k for k in metadata if k != app_key and isinstance(k, str) and k.strip().lower() == want
    ]
