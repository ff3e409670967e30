"""A run's own settings, for a command that redoes one of its notebooks' work.

``batch-export`` and ``eval-sample`` plan as the run's ``02_batch_inference`` and
``01_model_sizing`` notebooks did: with the values each notebook ran with, which the run's
``manifest.json`` records (``notebook_params``), a flag given on the command line over them. A
manifest that does not record them (written before it did, or by a run without that notebook)
gives the run's params file over the notebook's defaults; a folder without one (the sample's,
an ingest's) the defaults. Each command says where its settings came from, and an error names
a setting as the flag given, or as the run's (or the default) with the flag that replaces it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bedrock_finops.pricing import PriceCatalog

RUN_MANIFEST = "manifest.json"
# the settings a command opens the run's prices with (``notebook.open_run``), not its plan's
PRICE_SETTINGS = ("price_sheet", "price_overrides", "discount_pct")


class RunSettingsError(ValueError):
    """A run's setting, or its manifest, that a command cannot use: the message names it (where
    it came from, the flag that replaces it) and the fix."""


@dataclass(frozen=True)
class RunSettings:
    """The settings a command runs with, and how an error names each one.

    ``origin``: where those no flag gave came from; ``from_run``: they are the run's own (its
    manifest's), not the notebook's defaults; ``flags``: the flag (argparse ``dest``) that
    sets each setting, None for one no flag sets; ``given``: the settings a flag gave;
    ``origins``: where each setting no flag gave came from (:meth:`origin_of`); ``filed``:
    the params file's key that set each of the run's settings it set (``common.discount_pct
    in params/acme.yaml``)."""

    values: dict[str, Any]
    origin: str
    from_run: bool
    flags: Mapping[str, str | None]
    given: frozenset[str]
    origins: Mapping[str, str] = field(default_factory=dict)
    filed: Mapping[str, str] = field(default_factory=dict)

    def named(self, name: str, with_value: bool = True) -> str:
        """How an error names the setting ``name`` (see :func:`setting_named`), and where it
        came from: a flag given, the command line (``--discount-pct 150 (command line)``); the
        run's, with its params file's key when that set it."""
        value = self.values[name] if with_value else None
        given = name in self.given
        said = setting_named(
            name,
            value,
            self.flags.get(name),
            given,
            self.from_run,
            with_value,
            self.filed.get(name),
        )
        return f"{said} (command line)" if given else said

    def origin_of(self, name: str) -> str:
        """Where the setting ``name`` came from, for an error about a value in it (a model it
        names, an app): the flag given on the command line (``--discount-pct 10 (command
        line)``); the run's setting, with the params file's key that set it when it did (``the
        run's candidates (its manifest.json; 01_model_sizing.candidates in params/acme.yaml)``);
        or the notebook's default."""
        if name in self.given:
            return self.named(name)
        return self.origins.get(name, f"the notebook's default {name}")

    def check_alone(self, names: Iterable[str], check: Callable[[dict[str, Any]], object]) -> None:
        """Run ``check`` on each setting of ``names`` alone (``{name: value}``): a plan's check
        names only the setting (``threshold 1.5 must be in [0, 1]``), not whether a flag or the
        run gave it, so the error begins with where its value came from (:meth:`origin_of`).
        Raises :class:`RunSettingsError`."""
        for name in names:
            try:
                check({name: self.values[name]})
            except ValueError as exc:
                raise RunSettingsError(f"{self.origin_of(name)}: {exc}") from None


def notebook_settings(
    run_dir: Path,
    notebook: str,
    defaults: Mapping[str, Any],
    flags: Mapping[str, str | None],
    args: Mapping[str, Any],
    *,
    doing: str,
    older: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> RunSettings:
    """The settings of ``defaults``' keys a command uses on the run in ``run_dir``: what its
    ``notebook`` ran with (its ``manifest.json``), else what its params file set (``older``
    renames a section's keys an earlier version wrote), else ``defaults``; a flag given
    (``args``: the parsed command line, ``flags``: each setting's flag) wins over all; a
    setting ``flags`` names and ``defaults`` does not is the command line's alone, never the
    run's (``batch-export``'s ``--role-arn``).
    ``doing``: the command's work, as the error on a damaged manifest names it."""
    values = dict(defaults)
    origins: dict[str, str] = {}
    filed_at: dict[str, str] = {}
    manifest = run_dir / RUN_MANIFEST
    origin, from_run = f"the notebook's defaults (no {RUN_MANIFEST} in the run)", False
    if manifest.is_file():
        doc = read_run_manifest(manifest, doing)
        ran = _ran_with(doc, notebook)
        filed, where = _params_file_settings(doc, notebook, older)
        if ran is not None:
            values.update({k: v for k, v in ran.items() if k in defaults})
            origins = {k: _run_origin(k, where.get(k)) for k in ran if k in defaults}
            filed_at = {k: where[k] for k in ran if k in defaults and k in where}
            origin, from_run = f"the run's own ({manifest})", True
        elif any(k in defaults for k in filed):
            values.update({k: v for k, v in filed.items() if k in defaults})
            origins = {k: _run_origin(k, where[k]) for k in filed if k in defaults}
            filed_at = {k: where[k] for k in filed if k in defaults}
            origin, from_run = (
                f"the run's params file over the notebook's defaults ({manifest} does not "
                f"record what its {notebook} notebook ran with)",
                True,
            )
        else:
            origin = (
                f"the notebook's defaults ({manifest} does not record what its {notebook} "
                "notebook ran with, and its params file sets none of them)"
            )
    given = _flags_given(flags, args)
    for name in given:
        values[name] = args[str(flags[name])]
    return RunSettings(values, origin, from_run, flags, given, origins, filed_at)


def command_line_settings(
    defaults: Mapping[str, Any], flags: Mapping[str, str | None], args: Mapping[str, Any]
) -> RunSettings:
    """The settings of a command that takes them from its flags alone (``prices show``), over
    ``defaults``: an error names each as the flag given, on the command line, as
    :func:`notebook_settings`' do."""
    given = _flags_given(flags, args)
    values = {**defaults, **{name: args[str(flags[name])] for name in given}}
    return RunSettings(values, "the command line", False, flags, given)


def _flags_given(flags: Mapping[str, str | None], args: Mapping[str, Any]) -> frozenset[str]:
    """The settings a flag was given for (``args``: the parsed command line)."""
    return frozenset(
        name for name, flag in flags.items() if flag is not None and args.get(flag) is not None
    )


def _run_origin(name: str, filed: str | None) -> str:
    """How an error names the run's setting ``name``, with where its params file set it."""
    return f"the run's {name} (its {RUN_MANIFEST}{f'; {filed}' if filed else ''})"


def read_run_manifest(path: Path, doing: str) -> dict[str, Any]:
    """A run's ``manifest.json``; one that is no JSON object (cut short by a full disk, by an
    earlier version that rewrote it in place) is a :class:`RunSettingsError` naming it."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:  # JSON's errors, and text that is not UTF-8
        doc, problem = None, f"is not valid JSON ({exc})"
    else:
        problem = "is not a run's manifest (no JSON object)"
    if not isinstance(doc, dict):
        raise RunSettingsError(
            f"{path} {problem}: the run's record is damaged (a full disk as it was written?); "
            f"run again, or move it aside to {doing} with the notebook's defaults and the flags"
        )
    return doc


def _ran_with(manifest: dict[str, Any], notebook: str) -> dict[str, Any] | None:
    """The parameters ``notebook`` ran with (``notebook_params``), None when not recorded."""
    ran = ((manifest.get("notebook_params") or {}).get(notebook) or {}).get("parameters")
    return ran if isinstance(ran, dict) else None


def _params_file_settings(
    manifest: dict[str, Any],
    notebook: str,
    older: Callable[[dict[str, Any]], dict[str, Any]] | None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The values the run's params file set in ``common`` and the notebook's section, and
    where it set each (``01_model_sizing.candidates in params/acme.yaml``: the section over
    ``common``, in the file the manifest names)."""
    params = manifest.get("params") or {}
    path = manifest.get("params_file")
    in_file = f" in {path}" if path else " in the run's params file"
    out: dict[str, Any] = {}
    where: dict[str, str] = {}
    for section in ("common", notebook):
        own = dict(params.get(section) or {})
        own = older(own) if older else own
        out.update(own)
        where.update({key: f"{section}.{key}{in_file}" for key in own})
    return out, where


def setting_named(
    name: str,
    value: Any,
    flag: str | None,
    given: bool,
    from_run: bool,
    with_value: bool = True,
    filed: str | None = None,
) -> str:
    """How an error names a setting: the flag as given, else the run's own setting (or the
    notebook's default, for a run without a manifest) and the flag that replaces it.
    ``with_value=False``: without its value, for an error that names the value itself (a
    file's problem, naming the file). ``filed``: the run's params file's key that set it
    (``common.discount_pct in params/acme.yaml``)."""
    option = "--" + str(flag).replace("_", "-")
    if given:
        if not with_value:
            return option
        return f"{option} {value:g}" if isinstance(value, float) else f"{option} {value}"
    shown = f" {value!r}" if with_value else ""
    manifest = f"its {RUN_MANIFEST}{f'; {filed}' if filed else ''}"
    if flag is None:
        return f"the run's {name}{shown} ({manifest})" if from_run else name + shown
    if not from_run:
        return f"the default {name}{shown} ({option} sets it)"
    return f"the run's {name}{shown} ({manifest}; {option} overrides it)"


def check_prices(values: Mapping[str, Any], named: Callable[..., str]) -> PriceCatalog:
    """Load the price catalog of ``values`` (``price_sheet``, ``price_overrides``,
    ``discount_pct``) as the command will, the sheet alone first, so an error names the
    setting at fault as ``named(key)`` does (``named(key, False)``: without its value, for a
    file's own problem, which names the file; :meth:`RunSettings.named`: where it came from):
    a run's overrides file moved since is the run's setting, which the flag replaces. Returns
    the catalog; raises :class:`RunSettingsError`."""
    from bedrock_finops.price_sheets import check_overrides_file, check_sheet
    from bedrock_finops.pricing import check_discount_pct

    sheet, overrides = values["price_sheet"], values["price_overrides"] or None
    try:
        check_discount_pct(float(values["discount_pct"]), named("discount_pct"))
        check_sheet(sheet, named("price_sheet"))
        if overrides is not None:
            check_overrides_file(overrides, named("price_overrides"))
    except (OSError, ValueError) as exc:
        raise RunSettingsError(str(exc)) from None
    discount = float(values["discount_pct"])
    if overrides is None:
        return _load_named(named("price_sheet", False), sheet, None, discount)
    _load_named(named("price_sheet", False), sheet, None, discount)
    return _load_named(named("price_overrides", False), sheet, overrides, discount)


def _load_named(name: str, sheet: str, overrides: str | None, discount: float) -> PriceCatalog:
    """Load the catalog; an error in a file (its columns, values or rows) begins with
    ``name``, the setting that gave it."""
    from bedrock_finops.pricing import PriceCatalog

    try:
        return PriceCatalog.load(sheet, overrides, discount)
    except (OSError, ValueError) as exc:
        raise RunSettingsError(f"{name}: {exc}") from None
