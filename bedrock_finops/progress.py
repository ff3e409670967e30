"""Progress on stderr (files, records, rate), shown only to a person watching a terminal."""

from __future__ import annotations

import sys
from typing import Any


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

            self._bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True)

    def update(self, files: int = 1, records: int = 0) -> None:
        self.records += records
        if self._bar is not None:
            self._bar.update(files)
            rate = self.records / max(self._bar.format_dict.get("elapsed") or 1e-9, 1e-9)
            self._bar.set_postfix(records=self.records, rec_per_s=f"{rate:,.0f}", refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
