"""What a run needs from outside its params file, checked before its folder is made.

The log folder of a local source, the billing exports, the price sheet, overrides,
evaluation results and batch jobs folder the params name, and AWS credentials where a source
calls AWS: a mistake in one is refused up front, naming the params file, the key path and the
fix, instead of failing after the ingest. Relative paths (``PATH_KEYS``) are read from the
working directory; :func:`absolute_paths` gives them to the notebooks, which run inside the
run folder, as the checks saw them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bedrock_finops.params import NOTEBOOK_PATH_KEYS, ParamsError, RunParams
from bedrock_finops.user_paths import expand_user

PRICE_KEYS = ("price_sheet", "price_overrides", "discount_pct")
# the notebook parameters that name a file or folder (their parameters cells)
PATH_KEYS = NOTEBOOK_PATH_KEYS


@dataclass
class PriceSheets:
    """The prices a run uses, for its manifest: those ``common`` names (every notebook's, but
    where its section names others) and those each notebook prices with."""

    common: dict[str, Any]
    notebooks: dict[str, dict[str, Any]] = field(default_factory=dict)


def check_inputs(params: RunParams, names: list[str] | None = None) -> PriceSheets:
    """Raise ``ParamsError`` for anything a run of the notebooks ``names`` (default: all)
    would fail on later; returns the prices the run uses."""
    from bedrock_finops.quality_gate import check_eval_results_file

    where = str(params.path) if params.path else "(defaults)"
    _check_source(where, params.run)
    _check_billing_files(where, params.run)
    names = list(params.notebooks) if names is None else names
    for name in names:
        values = params.for_notebook(name)  # common's too
        if values.get("eval_results"):
            key_path = params.key_path(name, "eval_results")
            _refuse_errors(where, key_path, check_eval_results_file, values["eval_results"])
        if values.get("export_dir"):
            key_path = params.key_path(name, "export_dir")
            _refuse_errors(where, key_path, check_export_dir, values["export_dir"])
    return _check_all_prices(where, params, names)


def _check_all_prices(where: str, params: RunParams, names: list[str]) -> PriceSheets:
    """Load the catalog ``common`` names, then each notebook's (its own values, once each)."""
    common = {k: params.common[k] for k in PRICE_KEYS if k in params.common}
    loaded = {_price_key(common): _check_prices(where, common, {k: f"common.{k}" for k in common})}
    sheets = PriceSheets(loaded[_price_key(common)])
    for name in names:
        if not any(k in params.declared[name] for k in PRICE_KEYS):
            continue  # a notebook that prices nothing
        values = {k: v for k, v in params.for_notebook(name).items() if k in PRICE_KEYS}
        if _price_key(values) not in loaded:
            paths = {k: params.key_path(name, k) for k in values}
            loaded[_price_key(values)] = _check_prices(where, values, paths)
        sheets.notebooks[name] = loaded[_price_key(values)]
    return sheets


def _price_key(values: dict[str, Any]) -> tuple[Any, ...]:
    """The catalog ``values`` load: the sheet, the overrides and the discount."""
    return (
        values.get("price_sheet") or "current",
        values.get("price_overrides") or None,
        values.get("discount_pct") or 0.0,
    )


def absolute_paths(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the files they name as absolute paths (a bundled sheet stays a name),
    ``~`` expanded as :func:`bedrock_finops.params.load` does (``values`` may be as written)."""
    from bedrock_finops.price_sheets import BUNDLED_SHEETS

    out = dict(values)
    for key in PATH_KEYS:
        value = out.get(key)
        if key == "price_sheet" and value in BUNDLED_SHEETS:
            continue
        if isinstance(value, str) and value:
            out[key] = str(Path(expand_user(value)).absolute())
    return out


def check_export_dir(export_dir: str) -> None:
    """The folder batch jobs are written to (made when missing): not a file, nor under one."""
    path = Path(export_dir)
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise ValueError(f"{export_dir}: {existing} is a file; give a folder for the batch jobs")


def _check_source(where: str, run: dict[str, Any]) -> None:
    from bedrock_finops.ingest import IngestError, local_source
    from bedrock_finops.sources.invocation_logs import check_local_root
    from bedrock_finops.sources.source_errors import SourceError

    source = str(run["source"])
    if source != "sample":
        try:
            root = local_source(source, run.get("region") or None)  # "" is none, as run reads it
            if root is not None:
                check_local_root(root)
        except (IngestError, SourceError) as exc:
            raise ParamsError(f"{where}: run.source: {exc}") from None
        if root is None:
            _need_credentials(where, "run.source", f"reading {source}")
    for key, what in (("cost_explorer", "Cost Explorer"), ("metrics", "CloudWatch metrics")):
        if run.get(key):
            _need_credentials(where, f"run.{key}", f"reading {what}")


def _need_credentials(where: str, key_path: str, what: str) -> None:
    from botocore.exceptions import BotoCoreError

    from bedrock_finops.sources.aws_clients import has_credentials
    from bedrock_finops.sources.source_errors import (
        NO_CREDENTIALS_FIX,
        credential_setup_error,
        credential_setup_errors,
    )

    try:
        found = has_credentials()
    except credential_setup_errors() as exc:  # a profile that does not exist or is broken
        raise ParamsError(f"{where}: {key_path}: {what}: {credential_setup_error(exc)}") from None
    except BotoCoreError as exc:
        raise ParamsError(f"{where}: {key_path}: {what} needs AWS credentials: {exc}") from None
    if not found:
        raise ParamsError(
            f"{where}: {key_path}: {what} needs AWS credentials and none were found; "
            f"{NO_CREDENTIALS_FIX}"
        )


def _check_billing_files(where: str, run: dict[str, Any]) -> None:
    from bedrock_finops.sources.cur import export_files

    for key in ("cur", "focus"):
        if run.get(key) and run[key] != "sample":
            _refuse_errors(where, f"run.{key}", export_files, run[key])


def _check_prices(where: str, values: dict[str, Any], paths: dict[str, str]) -> dict[str, Any]:
    """Load the catalog a notebook would: each key's error names where that key was set
    (``paths``; a key not set is the notebook's default, named as ``common``'s)."""
    from bedrock_finops.price_sheets import check_overrides_file, check_sheet
    from bedrock_finops.pricing import PriceCatalog, check_discount_pct

    path = {k: paths.get(k, f"common.{k}") for k in PRICE_KEYS}
    sheet, overrides, discount = _price_key(values)
    _refuse_errors(where, path["discount_pct"], check_discount_pct, discount)
    _refuse_errors(where, path["price_sheet"], check_sheet, sheet)
    if overrides is None:
        catalog = _refuse_errors(
            where, path["price_sheet"], PriceCatalog.load, sheet, None, discount
        )
    else:  # the sheet alone first, so an error in either names its own key
        _refuse_errors(where, path["price_sheet"], PriceCatalog.load, sheet)
        _refuse_errors(where, path["price_overrides"], check_overrides_file, overrides)
        catalog = _refuse_errors(
            where, path["price_overrides"], PriceCatalog.load, sheet, overrides, discount
        )
    return {
        "sheet": catalog.sheet_name,
        "as_of": None if catalog.as_of is None else catalog.as_of.date().isoformat(),
        "discount_pct": discount,
        "overrides": str(Path(overrides).absolute()) if overrides else None,
    }


def _refuse_errors(where: str, key_path: str, check: Any, *args: Any) -> Any:
    """``check(*args)``, its error (a missing file, a bad value) as a ``ParamsError``."""
    try:
        return check(*args)
    except (OSError, ValueError) as exc:
        raise ParamsError(f"{where}: {key_path}: {exc}") from None
