"""The values in a params file, checked before a run reads anything.

The rules are the ones the code that uses a value applies itself (a strategy's
``check_settings``, the batch export's checks, the price catalog's discount, the sample's
size), called here early rather than written twice. Each notebook's values are checked as a
whole, as it gets them (``common`` merged with its section); the error names the key without
which they would pass, where the file sets it (``02_batch_inference.business_time_zone``,
``common.top_n``), or both keys of a pair in conflict. Rules that need the run's data (names
checked against its apps and segments) stay with the strategy, in the notebook; the files a
params file names are checked by :mod:`bedrock_finops.run_checks`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bedrock_finops.params import ParamsError, RunParams

Check = Callable[[dict[str, Any]], object]


def check_values(where: str, params: RunParams) -> None:
    """Raise ``ParamsError`` naming the file, the key path, the problem and the fix."""
    run = params.run
    _check_section(where, "run.sample", run.get("sample") or {}, _sample)
    _check_section(where, "run", _pick(run, ("source", "endpoint_url")), _source)
    _check_section(where, "run", _pick(run, ("app_key", *MAP_KEYS)), _attribution)
    _check_section(where, "common", params.common, _pricing)  # also where no notebook takes it
    for name in params.notebooks:
        values = params.for_notebook(name)  # what the notebook is given, common's included
        paths = {key: params.key_path(name, key) for key in values}
        _check_section(where, name, values, _pricing, paths)
        check = SECTION_CHECKS.get(name)
        if check is not None:
            _check_section(where, name, values, check, paths)


def _check_section(
    where: str,
    section: str,
    values: dict[str, Any],
    check: Check,
    paths: dict[str, str] | None = None,
) -> None:
    """``check(values)``; its error names the key(s) to blame by ``paths`` (key -> where the
    file sets it), by default ``section.key``."""
    # None: a run key left unset (region); a notebook parameter is given one only where it
    # takes None, the file being refused otherwise (params._blank)
    values = {k: v for k, v in values.items() if v is not None}
    problem = _problem(check, values)
    if problem is None:
        return
    # the key(s) without which the section passes: one for a bad value, two for a pair in
    # conflict (min_records_per_job over max_records_per_job)
    keys = [k for k in values if _problem(check, _without(values, k)) is None]
    if not keys:  # more than one mistake: the first key that is wrong on its own
        for key, value in values.items():
            alone = _problem(check, {key: value})
            if alone is not None:
                keys, problem = [key], alone
                break
    path = ", ".join((paths or {}).get(k, f"{section}.{k}") for k in keys) or section
    raise ParamsError(f"{where}: {path}: {problem}")


def _problem(check: Check, values: dict[str, Any]) -> str | None:
    try:
        check(values)
    except (ValueError, TypeError) as exc:
        return str(exc)
    return None


def _without(values: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k != key}


def _pick(values: dict[str, Any], keys: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k in keys}


def _pricing(values: dict[str, Any]) -> None:
    from bedrock_finops.pricing import check_discount_pct

    if "discount_pct" in values:
        check_discount_pct(values["discount_pct"])


def _sample(values: dict[str, Any]) -> None:
    from bedrock_finops.notebook import SAMPLE_DEFAULTS
    from bedrock_finops.sample import check_size

    size = {**SAMPLE_DEFAULTS, **values}
    check_size(size["days"], size["scale"])


def _source(values: dict[str, Any]) -> None:
    """The source and the endpoint override, as the ingest checks them: an empty source (an
    unset variable) names no folder, and a host name without https:// is no endpoint URL."""
    from bedrock_finops.sources.aws_clients import check_endpoint_url
    from bedrock_finops.sources.source_uri import SOURCE_FORMS

    source = values.get("source")
    if isinstance(source, str) and not source.strip():
        raise ValueError(f"{source!r} is empty; give sample, {SOURCE_FORMS}")
    check_endpoint_url(values.get("endpoint_url"), "")


MAP_KEYS = ("identity_app_map", "profile_map")


def _attribution(values: dict[str, Any]) -> None:
    """The app key and the two maps, checked as the ingest checks them (no blank app key; each
    map of names to names; no role named twice with two apps)."""
    from bedrock_finops.app_attribution import IdentityAppMap, check_app_key
    from bedrock_finops.name_maps import PROFILE_MAP_EXAMPLE, check_name_map

    if "app_key" in values:
        check_app_key(values["app_key"])
    if values.get("identity_app_map"):
        IdentityAppMap(values["identity_app_map"])
    if values.get("profile_map"):
        check_name_map(values["profile_map"], PROFILE_MAP_EXAMPLE)


def _model_sizing(values: dict[str, Any]) -> None:
    """The strategy's settings, and the segments its key figures name."""
    from bedrock_finops.strategies import model_sizing_params

    model_sizing_params.check_settings(_pick(values, model_sizing_params.DEFAULT_PARAMS))
    _top_n(values)


def _batch_inference(values: dict[str, Any]) -> None:
    """The strategy's settings and the job export's: role, S3 prefix, timeout, quotas."""
    from bedrock_finops import batch_jobs
    from bedrock_finops.strategies import batch_params

    batch_params.check_settings(_pick(values, batch_params.DEFAULT_PARAMS))
    _top_n(values)
    if "role_arn" in values:
        batch_jobs.check_role_arn(values["role_arn"])
    if "s3_prefix" in values:
        batch_jobs.check_s3_prefix(values["s3_prefix"])
    if "timeout_hours" in values:
        batch_jobs.check_timeout_hours(values["timeout_hours"])
    batch_jobs.job_quotas(values)


def _top_n(values: dict[str, Any]) -> None:
    """The rows of the top-N tables, the apps the per-app charts draw, the segments 01's
    key figures name (task types, savings, quality-gate verdicts)."""
    top_n = values.get("top_n", 10)
    if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
        raise ValueError(f"top_n {top_n!r} must be a positive whole number of table rows")


def _baseline(values: dict[str, Any]) -> None:
    """The top-N tables' length and the reconciliation's tolerance."""
    _top_n(values)
    tolerance = values.get("reconcile_tolerance_pct", 2.0)
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or tolerance < 0:
        raise ValueError(
            f"reconcile_tolerance_pct {tolerance!r} must be a percentage of billed cost, 0 or "
            "more (e.g. 2)"
        )


# notebook section -> the rules of the code its parameters are passed to
SECTION_CHECKS: dict[str, Check] = {
    "00_baseline": _baseline,
    "01_model_sizing": _model_sizing,
    "02_batch_inference": _batch_inference,
}
