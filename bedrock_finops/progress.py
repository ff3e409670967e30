"""Progress on stderr (files, records, rate), shown only to a person watching a terminal."""

from __future__ import annotations

import os
import sys
from typing import Any


def _stderr_sized() -> bool:
    """Whether stderr is a terminal that reports both its width and its height."""
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError):  # not a terminal, or a stand-in stream
        return False
    return size.columns > 0 and size.lines > 0


class Progress:
    """A tqdm bar over files (or pages) with a records counter; a no-op when disabled."""

    def __init__(
        self,
        total: int | None,
        enabled: bool | None = None,
        desc: str = "ingest",
        unit: str = "file",
    ):
        if enabled is None:
            enabled = sys.stderr.isatty()
        self.records = 0
        self._bar: Any = None
        if enabled:
            from tqdm import tqdm

            # a terminal that reports no size (some CI shells, ``script``): tqdm would hide the bar
            sized = _stderr_sized()
            self._bar = tqdm(
                total=total, desc=desc, unit=unit, file=sys.stderr,
                dynamic_ncols=sized, ncols=None if sized else 100, nrows=None if sized else 24,
            )  # fmt: skip

    def update(self, files: int = 1, records: int = 0) -> None:
        self.records += records
        if self._bar is not None:
            rate = self.records / max(self._bar.format_dict.get("elapsed") or 1e-9, 1e-9)
            # the counts first, then the step: tqdm redraws on ``update`` (at most every
            # ``mininterval``), so the records shown are never one result behind; a step of 0
            # (a result that finishes no file) redraws them too
            self._bar.set_postfix(records=self.records, rec_per_s=f"{rate:,.0f}", refresh=False)
            if files:
                self._bar.update(files)
            else:
                self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
