"""Run parameters: one YAML file, validated against the notebooks before anything runs.

Layout of a params file::

    run:                  # what to ingest, and how (read by the runner)
      source: sample      # sample | a local folder | s3://bucket/prefix | cloudwatch-logs://GROUP
      ...
    common:               # passed to every notebook that declares the parameter
      price_sheet: current
    00_baseline:          # one section per notebook, keyed by its file name without .ipynb
      top_n: 10

Unknown keys, wrong types, keys left blank (null: papermill would pass None over the
notebook's default) and values the code using them would refuse (checked by
:mod:`bedrock_finops.params_values`, on the values each notebook gets, ``common``'s included)
are errors that name the file, the key and the fix. The file is read by
:mod:`bedrock_finops.user_yaml`, which refuses a key given twice and aliases repeating more
values than any settings need, before anything reads the values.
The notebooks' own parameters cells (read with ``papermill.inspect_notebook``) are the
reference, so a new notebook parameter is accepted as soon as the notebook declares it.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bedrock_finops.name_maps import not_utf8
from bedrock_finops.sources.time_folders import WINDOW_YEARS
from bedrock_finops.user_paths import UserPathError, expand_user
from bedrock_finops.user_yaml import YamlRefused, item_problem, load_yaml, yaml_problem

RUNNER_SET = {"run_dir"}  # notebook parameters the runner injects itself
# the keys that name files or folders, a leading ~ expanded as a shell would (user_paths)
RUN_PATH_KEYS = ("source", "cur", "focus")
NOTEBOOK_PATH_KEYS = ("price_sheet", "price_overrides", "eval_results", "export_dir")

# The `run` section: key -> (accepted types, default, help)
RUN_KEYS: dict[str, tuple[tuple[type, ...], Any, str]] = {
    "source": (
        (str,),
        "sample",
        "sample, a local folder, s3://bucket/prefix or cloudwatch-logs://GROUP",
    ),
    "start": ((str, dt.date, type(None)), None, "first day to ingest (YYYY-MM-DD), inclusive"),
    "end": ((str, dt.date, type(None)), None, "day after the last day to ingest (YYYY-MM-DD)"),
    "window": (
        (str, type(None)),
        None,
        "days relative to the run's day, instead of start/end: previous_month, month_to_date, "
        "last_N_days (UTC, today left out)",
    ),
    "region": ((str, type(None)), None, "AWS region of the S3 bucket or log group"),
    "endpoint_url": ((str, type(None)), None, "custom AWS endpoint (testing)"),
    "app_key": ((str,), "app", "requestMetadata key that names the app"),
    "identity_app_map": ((dict,), {}, "IAM role (name or ARN), user or federated user -> app"),
    "profile_map": (
        (dict,),
        {},
        "application inference profile / provisioned model ARN -> model ID",
    ),
    "lookup_profiles": (
        (bool,),
        True,
        "look unmapped application inference profiles up (bedrock:GetInferenceProfile)",
    ),
    "fetch_large_bodies": ((bool,), False, "read bodies over 100 KB from data/ (slower)"),
    "sample": ((dict,), {}, "embedded sample options: days, scale, seed, start"),
    "cur": ((str, list, type(None)), None, "CUR 2.0 export file(s) or folder for reconciliation"),
    "focus": ((str, type(None)), None, "FOCUS export file for reconciliation"),
    "cost_explorer": ((bool,), False, "read billed cost from Cost Explorer ($0.01 per call)"),
    "metrics": ((bool,), False, "read AWS/Bedrock CloudWatch metrics for the period"),
}
RELATIVE_HINT = (
    "; for days relative to the run's day, give run.window instead (previous_month, "
    "month_to_date, last_N_days)"
)
SAMPLE_KEYS = {"days": int, "scale": (int, float), "seed": int, "start": (str, dt.date)}
TYPE_NAMES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "dict": (dict,),
    "list": (list,),
}


class ParamsError(ValueError):
    """A params file that cannot be run: names the key, the file and the valid choices."""


@dataclass
class RunParams:
    path: Path | None
    run: dict[str, Any]
    common: dict[str, Any]
    notebooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    # notebook -> the parameters its parameters cell declares (papermill.inspect_notebook)
    declared: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def for_notebook(self, name: str, declared: dict[str, Any] | None = None) -> dict[str, Any]:
        """Parameters to inject into one notebook: the common ones it declares + its section."""
        if declared is None:
            declared = self.declared[name]
        out = {k: v for k, v in self.common.items() if k in declared}
        out.update(self.notebooks.get(name, {}))
        return out

    def key_path(self, name: str, key: str) -> str:
        """Where the file sets a notebook's value: its own section, else ``common``."""
        return f"{name}.{key}" if key in self.notebooks.get(name, {}) else f"common.{key}"


def notebook_parameters(notebook: Path) -> dict[str, dict[str, Any]]:
    """The parameters a notebook declares in its ``parameters`` cell."""
    import papermill

    return papermill.inspect_notebook(str(notebook))


def notebook_defaults(declared: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A notebook's parameters as its parameters cell sets them (``notebook_parameters``); a
    default that is no Python literal stays its source text."""
    out = {}
    for name, spec in declared.items():
        try:
            out[name] = ast.literal_eval(str(spec.get("default")))
        except (ValueError, SyntaxError):
            out[name] = spec.get("default")
    return out


PROJECT_ROOT = Path(__file__).resolve().parents[1]  # a checkout: params/ is beside the package
DEFAULT_PARAMS = Path("params") / "default.yaml"


def missing_file(path: Path) -> str:
    """Why a params file is not found, and where the file meant may be: a relative path is
    read from the current directory, which under cron or systemd is not the project's."""
    if path.is_absolute():
        message = f"params file {path} does not exist"
    else:
        message = (
            f"params file {path} does not exist in the current directory ({Path.cwd()}), "
            "which a relative path is read from"
        )
    in_project = PROJECT_ROOT / path
    if not path.is_absolute() and in_project.is_file():
        return f"{message}; the project's is {in_project}: give its absolute path"
    if (PROJECT_ROOT / DEFAULT_PARAMS).is_file():
        return f"{message}; the project's default params file is {PROJECT_ROOT / DEFAULT_PARAMS}"
    return message


def load(path: str | Path | None, notebooks: dict[str, Path]) -> RunParams:
    """Read and validate a params file against ``notebooks`` (a run passes all those in its
    folder, whichever it runs, so one file serves ``--only``)."""
    raw: dict[str, Any] = {}
    where = "(defaults)"
    if path is not None:
        p = Path(path)
        where = str(p)
        if not p.exists():
            raise ParamsError(missing_file(p))
        try:
            raw = load_yaml(p.read_text(encoding="utf-8")) or {}
        except UnicodeDecodeError as exc:
            raise ParamsError(f"{p} {not_utf8(exc)}") from None
        except yaml.YAMLError as exc:
            raise ParamsError(f"{p} is not valid YAML: {yaml_problem(exc)}") from None
        except YamlRefused as exc:  # a key given twice, aliases repeating too many values
            raise ParamsError(f"{p}: {exc}") from None
        except ValueError as exc:  # a value an explicit tag cannot make (`!!int ten`)
            raise ParamsError(f"{p}: a value YAML cannot read: {exc}") from None
        if not isinstance(raw, dict):
            raise ParamsError(f"{p} must hold a mapping of sections (run, common, <notebook>)")
    declared = {name: notebook_parameters(nb) for name, nb in notebooks.items()}
    valid_sections = ["run", "common", *sorted(notebooks)]
    for section in raw:
        if section not in valid_sections:
            raise ParamsError(
                f"{where}: unknown section {section!r}; valid sections: {', '.join(valid_sections)}"
                + _did_you_mean(section, valid_sections)
            )
    run = _expanded_paths(
        _validate_run(raw.get("run") or {}, where), RUN_PATH_KEYS, f"{where}: run"
    )
    all_declared: dict[str, dict[str, Any]] = {}
    for params in declared.values():
        for k, v in params.items():
            all_declared.setdefault(k, v)
    common = _validate_section(raw.get("common") or {}, all_declared, f"{where}: common", set())
    common = _expanded_paths(common, NOTEBOOK_PATH_KEYS, f"{where}: common")
    sections = {}
    for name in notebooks:
        section = _validate_section(
            raw.get(name) or {}, declared[name], f"{where}: {name}", RUNNER_SET
        )
        sections[name] = _expanded_paths(section, NOTEBOOK_PATH_KEYS, f"{where}: {name}")
    from bedrock_finops.params_values import check_values

    loaded = RunParams(Path(path) if path else None, run, common, sections, raw, declared)
    check_values(where, loaded)
    return loaded


def _validate_run(section: Any, where: str) -> dict[str, Any]:
    if not isinstance(section, dict):
        raise ParamsError(f"{where}: section 'run' must be a mapping")
    out = {k: spec[1] for k, spec in RUN_KEYS.items()}
    for key, value in section.items():
        if key not in RUN_KEYS:
            raise ParamsError(
                f"{where}: unknown key run.{key}; valid keys: {', '.join(RUN_KEYS)}"
                + _did_you_mean(key, list(RUN_KEYS))
            )
        types = RUN_KEYS[key][0]
        if value is None and type(None) not in types:
            raise ParamsError(_blank(f"{where}: run.{key}", repr(RUN_KEYS[key][1])))
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise ParamsError(
                f"{where}: run.{key} must be {' or '.join(t.__name__ for t in types)}, "
                f"got {type(value).__name__} {value!r} ({RUN_KEYS[key][2]})"
            )
        out[key] = value
    _check_path_list(out["cur"], f"{where}: run.cur")
    for key, value in (out["sample"] or {}).items():
        if key not in SAMPLE_KEYS:
            raise ParamsError(
                f"{where}: unknown key run.sample.{key}; valid keys: {', '.join(SAMPLE_KEYS)}"
            )
        if value is None:
            from bedrock_finops.notebook import SAMPLE_DEFAULTS

            raise ParamsError(_blank(f"{where}: run.sample.{key}", repr(SAMPLE_DEFAULTS[key])))
        if not isinstance(value, SAMPLE_KEYS[key]) or isinstance(value, bool):
            raise ParamsError(f"{where}: run.sample.{key} has the wrong type: {value!r}")
        if key == "start" and isinstance(value, str):
            _parse_day(value, f"{where}: run.sample.start")
    for key in ("start", "end"):
        value = out[key]
        if isinstance(value, dt.datetime):  # YAML reads an unquoted timestamp as a datetime
            if value.time() != dt.time() or value.utcoffset():
                raise ParamsError(
                    f"{where}: run.{key} must be a day YYYY-MM-DD (the window is whole days, "
                    f"UTC), got {value}"
                )
            out[key] = value.date()
        elif isinstance(value, str):
            out[key] = _parse_day(value, f"{where}: run.{key}", RELATIVE_HINT)
        if out[key] and not WINDOW_YEARS[0] <= out[key].year <= WINDOW_YEARS[1]:
            raise ParamsError(
                f"{where}: run.{key} {out[key]} is outside the years {WINDOW_YEARS[0]}-"
                f"{WINDOW_YEARS[1]} a window can name; leave it out (null) to read "
                + ("from the first record" if key == "start" else "to the last record")
            )
    if out["start"] and out["end"] and out["start"] >= out["end"]:
        raise ParamsError(
            f"{where}: run.start {out['start']} is not before run.end {out['end']}; the window "
            "is [start, end): end is the day after the last day to ingest"
        )
    if out["window"] is not None:
        _check_relative_window(out, where)
    return out


def _check_path_list(value: Any, key_path: str) -> None:
    """Each item of a list of files and folders (``run.cur``) a string: YAML reads ``[a, b]``
    in it as a list, ``2026`` as a number, which no check of the paths would name."""
    if not isinstance(value, list):
        return
    for index, item in enumerate(value):
        if not isinstance(item, str):
            example = "cur: [exports/2026-10, exports/2026-11]"
            problem = item_problem("cur", index, item, "a file or folder", example)
            raise ParamsError(f"{key_path}: {problem}")


def _check_relative_window(run: dict[str, Any], where: str) -> None:
    """``run.window`` alone (``run.start``/``run.end`` would name other days) and one the
    run can resolve; it is resolved when the run starts (``relative_window.resolved_run``)."""
    from bedrock_finops.relative_window import check_window

    fixed = [f"run.{key}" for key in ("start", "end") if run[key] is not None]
    if fixed:
        raise ParamsError(
            f"{where}: run.window and {' and '.join(fixed)} are both set; give run.window for "
            "days relative to the run's day, or run.start/run.end for fixed days, not both"
        )
    try:
        check_window(run["window"])
    except ValueError as exc:
        raise ParamsError(f"{where}: run.window {exc}") from None


def _expanded_paths(section: dict[str, Any], keys: tuple[str, ...], where: str) -> dict[str, Any]:
    """``section`` with a leading ``~`` expanded in the files and folders its ``keys`` name
    (each of a list too: ``run.cur``); one that cannot be expanded names its key path."""
    out = dict(section)
    for key in keys:
        value = out.get(key)
        try:
            if isinstance(value, str):
                out[key] = expand_user(value)
            elif isinstance(value, list):
                out[key] = [expand_user(v) if isinstance(v, str) else v for v in value]
        except UserPathError as exc:
            raise ParamsError(f"{where}.{key}: {exc}") from None
    return out


def _parse_day(value: str, key_path: str, hint: str = "") -> dt.date:
    """``value`` as a day, else ``ParamsError`` naming the key and the value; a day that does
    not exist (``2026-11-31``, which YAML leaves as text) says why, other text adds ``hint``."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        shaped = re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()) is not None
        why = f" ({exc})" if shaped else hint
        raise ParamsError(f"{key_path} must be a date YYYY-MM-DD, got {value!r}{why}") from None


def _validate_section(
    section: Any, declared: dict[str, dict[str, Any]], where: str, reserved: set[str]
) -> dict[str, Any]:
    if not isinstance(section, dict):
        raise ParamsError(f"{where} must be a mapping of parameter: value")
    out = {}
    choices = sorted(k for k in declared if k not in reserved)
    for key, value in section.items():
        if key in reserved:
            raise ParamsError(f"{where}.{key} is set by the runner; remove it from the params file")
        if key not in declared:
            raise ParamsError(
                f"{where}: unknown parameter {key!r}; valid parameters: {', '.join(choices)}"
                + _did_you_mean(key, choices)
            )
        if value is None and not _takes_none(declared[key]):
            raise ParamsError(_blank(f"{where}.{key}", declared[key].get("default")))
        type_name = declared[key].get("inferred_type_name", "None")
        types = TYPE_NAMES.get(type_name.replace("Optional[", "").rstrip("]"))
        bad_bool = isinstance(value, bool) and type_name in ("int", "float")
        if types and value is not None and (not isinstance(value, types) or bad_bool):
            raise ParamsError(
                f"{where}: {key} must be {type_name}, got {type(value).__name__} {value!r}"
                f" ({declared[key].get('help') or 'see the notebook parameters cell'})"
            )
        out[key] = value
    return out


def _takes_none(spec: dict[str, Any]) -> bool:
    """Whether a notebook parameter takes None: declared Optional, or None by default."""
    type_name = str(spec.get("inferred_type_name", ""))
    return type_name.startswith("Optional[") or spec.get("default") == "None"


def _blank(key_path: str, default: Any) -> str:
    """A key given no value: papermill would pass None over the default, which no notebook
    code expects, so the file must give a value or leave the key out."""
    return (
        f"{key_path}: no value (YAML reads a key left blank as null); give a value, or remove "
        f"the key to keep the default ({default})"
    )


def _did_you_mean(word: str, choices: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
