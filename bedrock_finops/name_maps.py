"""Maps of names to names a run is given: caller identity -> app, inference profile -> model.

A map comes from a YAML or JSON file (``--identity-app-map``, ``--profile-map``) or from a
params file's ``run`` section; either way it passes the same checks here: every key and value
a non-blank string, no key given twice. YAML reads ``2024``, ``yes`` or a nested mapping as
a number, a boolean or a dict, which would otherwise become an app named ``2024``, ``True``
or ``{'app': 'search'}``; and a repeated key would silently keep its last value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from bedrock_finops.user_yaml import (
    YamlRefused,
    as_written,
    bool_note,
    load_yaml,
    value_kind,
    yaml_problem,
)

IDENTITY_APP_EXAMPLE = '{"support-bot-role": "support"}'
PROFILE_MAP_EXAMPLE = (
    '{"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123": '
    '"anthropic.claude-sonnet-4-20250514-v1:0"}'
)


class MapError(ValueError):
    """A map that cannot be used: the message names the key, the problem and the fix."""


def not_utf8(exc: UnicodeDecodeError) -> str:
    """A text file's decoding error in one line, with the fix."""
    byte = exc.object[exc.start : exc.start + 1].hex()
    return f"is not UTF-8 text (byte 0x{byte} at offset {exc.start}); save it as UTF-8"


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads``'s ``object_pairs_hook``: a JSON object with a key given twice is refused."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise MapError(f"key {key!r} is given twice; keep one")
        out[key] = value
    return out


def load_map_text(text: str) -> Any:
    """A map file's content: JSON when it parses as JSON, else YAML. (JSON is read as JSON
    first: PyYAML refuses some valid JSON, such as JSON indented with tabs.)"""
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs)
    except json.JSONDecodeError:
        pass
    try:
        return load_yaml(text)
    except YamlRefused as exc:  # a key given twice, aliases repeating too many values
        raise MapError(str(exc)) from None


def load_map_file(path: Path, what: str, example: str) -> dict[str, str]:
    """A YAML or JSON file holding one map of names to names, checked by
    :func:`check_name_map`; ``MapError`` names ``what`` (the option), the file and the
    problem."""
    try:
        return check_name_map(load_map_text(path.read_text(encoding="utf-8")), example)
    except UnicodeDecodeError as exc:
        raise MapError(f"{what} {path} {not_utf8(exc)}") from None
    except OSError as exc:
        raise MapError(f"{what} {path}: {exc.strerror}") from None
    except MapError as exc:
        raise MapError(f"{what} {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise MapError(
            f"{what} {path} is not valid YAML or JSON: {yaml_problem(exc)}; write one "
            f"mapping of names to names, e.g. {example}"
        ) from None


def check_name_map(data: Any, example: str) -> dict[str, str]:
    """``data`` as a mapping of names to names, each without surrounding white space (as a
    requestMetadata app is read: ``"support "`` and ``support`` are one app), if it is one
    mapping of non-blank strings to non-blank strings; otherwise ``MapError`` naming the
    first bad key and what to write instead (``example``: a valid map, for the error when
    ``data`` is no mapping at all)."""
    if not isinstance(data, dict):
        raise MapError(f"must hold one mapping of names to names, e.g. {example}")
    out: dict[str, str] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            raise MapError(
                f"the key {key!r} is {value_kind(key)}, not a name; write it in quotes, as the "
                f'file spells it ("{as_written(key)}": ... if that is how it reads)'
                f"{bool_note(key)}"
            )
        if not key.strip():
            raise MapError(f"a key is blank ({key!r}); give the name it maps")
        if not isinstance(value, str):
            raise MapError(
                f"the value of {key!r} is {value_kind(value)}, not a name; "
                f"{_fix(key, value)}{bool_note(value)}"
            )
        if not value.strip():
            raise MapError(f"the value of {key!r} is blank; give the name it maps to")
        name = key.strip()
        if name in out:
            raise MapError(
                f"key {name!r} is given twice (once with white space around it); keep one"
            )
        out[name] = value.strip()
    return out


def _fix(key: str, value: Any) -> str:
    """What to write instead of a value that is not a name."""
    if isinstance(value, dict) and len(value) == 1:
        (inner,) = value.values()
        if isinstance(inner, str):
            return f'give the name itself: "{key}": "{inner}"'
    if isinstance(value, (dict, list)) or value is None:
        return f'give one name: "{key}": "NAME"'
    return (
        f'write it in quotes, as the file spells it ("{key}": "{as_written(value)}" if that '
        "is how it reads: YAML reads 0700 as 448 and 1.10 as 1.1)"
    )
