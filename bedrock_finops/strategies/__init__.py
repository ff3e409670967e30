"""Cost strategies, one module each, all with the same shape.

``analyze(usage, catalog, *, prompts=None, **params) -> Findings`` measures the opportunity on
the run's own traffic and prices it with the cost engine; helper functions return the
DataFrames the strategy's notebook displays, and the per-request effects the summary applies.
"""

from __future__ import annotations

from typing import Any


def merge_params(strategy: str, defaults: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """``params`` over ``defaults`` (a None keeps the default); an unknown key is an error.

    The error names the strategy, the unknown keys and the valid ones: a typo in a params file
    must not silently fall back to a default.
    """
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ValueError(f"unknown {strategy} parameters {unknown}; valid: {sorted(defaults)}")
    return {**defaults, **{k: v for k, v in params.items() if v is not None}}
