"""Cost strategies, one module each, all with the same shape.

``analyze(usage, catalog, *, prompts=None, **params) -> Findings`` measures the opportunity on
the run's own traffic and prices it with the cost engine; helper functions return the
DataFrames the strategy's notebook displays, and the per-request effects the summary applies.
"""
