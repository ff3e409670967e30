"""Dollar and percentage text: two decimals, float noise clamped to zero, never "-0.00".

Sums of the same costs taken in a different order differ by ~1e-15; shown raw they read as
"-5.496e-15" or "$-0.00". Every figure printed for a person goes through here.
"""

from __future__ import annotations

NOISE = 1e-9  # below this (dollars or percent) a figure is float noise, shown as 0


def clean(value: float, noise: float = NOISE) -> float:
    """``value`` with float noise clamped to 0.0 (and -0.0 made 0.0)."""
    return 0.0 if abs(value) < noise else float(value) + 0.0


def usd(value: float) -> str:
    """``$1,234.56``, ``-$0.53``; a figure that rounds to zero cents is ``$0.00``."""
    value = clean(value)
    if value != value:  # NaN
        return "unpriced"
    text = f"${abs(value):,.2f}"
    return f"-{text}" if round(value, 2) < 0 else text


def pct(value: float, digits: int = 1) -> str:
    """``-15.0%``; a figure that rounds to zero is ``0.0%``."""
    value = clean(value)
    if value != value:
        return "n/a"
    return f"{value + 0.0 if round(value, digits) != 0 else 0.0:,.{digits}f}%"
