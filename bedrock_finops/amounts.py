"""Dollar and percentage text: cents, float noise clamped to zero, never "-0.00", and no
amount that is not zero shown as zero.

Sums of the same costs taken in a different order differ by ~1e-15; shown raw they read as
"-5.496e-15" or "$-0.00". A run of one request costs $0.00023: to the cent it read "0.00",
as if it were free. Every figure printed for a person goes through here.
"""

from __future__ import annotations

import math

NOISE = 1e-9  # below this (dollars or percent) a figure is float noise, shown as 0
CENT = 0.01  # a figure under this that is not zero keeps two significant digits
MOST_DECIMALS = 10  # enough for two significant digits of the smallest figure not noise


def clean(value: float, noise: float = NOISE) -> float:
    """``value`` with float noise clamped to 0.0 (and -0.0 made 0.0)."""
    return 0.0 if abs(value) < noise else float(value) + 0.0


def decimals(value: float, at_least: int = 2) -> int:
    """How many decimals show ``value``: ``at_least`` (2: cents), more for a figure under a
    cent that is not zero: two significant digits (0.00023, 0.0074), so it never reads 0."""
    size = abs(clean(value))
    if size == 0 or size != size or size >= CENT:
        return at_least
    needed = min(1 - math.floor(math.log10(size)), MOST_DECIMALS)
    return at_least if round(size, needed) >= CENT else max(at_least, needed)  # 0.00999: 0.01


def figure(value: float, at_least: int = 2) -> str:
    """``1,234.56``, ``-0.53``, ``0.00023``, ``0.0074``; float noise ``0.00``, never
    ``-0.00``; thousands separated. NaN is "nan": callers say what it means."""
    value = clean(value)
    return f"{value:,.{decimals(value, at_least)}f}"


def rounded(value: float) -> float:
    """``value`` as a number rounded as :func:`figure` shows it: to the cent, a figure under a
    cent to two significant digits (0.0074, not 0.0), float noise 0.0. For JSON a program reads
    (the run manifest), where a bill of $0.0074 rounded to the cent would read as free."""
    value = clean(value)
    return value if value != value else round(value, decimals(value)) + 0.0


def usd(value: float, at_least: int = 2) -> str:
    """``$1,234.56``, ``-$0.53``, ``$0.00023`` (a figure under a cent, see :func:`figure`);
    float noise ``$0.00``; NaN (an unpriced cost) ``unpriced``."""
    value = clean(value)
    if value != value:  # NaN
        return "unpriced"
    text = f"${figure(abs(value), at_least)}"
    return f"-{text}" if value < 0 else text


def pct(value: float, digits: int = 1) -> str:
    """``-15.0%``; a figure that rounds to zero is ``0.0%``."""
    value = clean(value)
    if value != value:
        return "n/a"
    return f"{value + 0.0 if round(value, digits) != 0 else 0.0:,.{digits}f}%"
