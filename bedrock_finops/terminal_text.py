"""Values read from the logs, shown safely on a terminal line.

A model ID, an error code, an app name or a folder name is whatever the logs or the folder
hold: whoever can write there can put terminal control in it. Printed as it is, an ESC
sequence moves the cursor, rewrites the lines above or sets the window title, a CR or LF
starts a line of its own, and a bidi override reverses the text after it. ``for_terminal``
writes each such character as an escape (``\\x1b``, ``\\n``, ``\\u202e``); all other text,
accents and scripts included, is left as it is (a backslash too, as a file name that is not
UTF-8 is shown: ``caf\\xe9``). The files the commands write keep the values as logged: only
what reaches a terminal is escaped.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import pandas as pd

# C0 controls (ESC, CR, LF, TAB, BEL, ...), DEL, C1 controls (CSI U+009B, NEL U+0085, ...),
# and the bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def for_terminal(value: object) -> str:
    """``value`` as text for one terminal line: control characters and bidi overrides as
    escapes, line breaks included."""
    return _CONTROL.sub(_escape, str(value))


def lines_for_terminal(text: str) -> str:
    """Text of several lines, each shown as :func:`for_terminal` shows it, its line breaks
    kept. A line break inside a value cannot be told from the text's own here: where the
    lines are built from logged values, escape each line as it is built."""
    return "\n".join(for_terminal(line) for line in text.split("\n"))


def cells_for_terminal(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with each text cell shown as :func:`for_terminal` shows it, for a table a
    command prints (``to_string``): escaped before the columns are laid out, they stay aligned,
    and a line break in a cell cannot start a row of its own."""
    from pandas.api.types import is_string_dtype

    out = table.copy()
    for column in out.columns:
        if is_string_dtype(out[column].dtype):
            out[column] = out[column].map(_cell_for_terminal)
    return out


def _cell_for_terminal(value: Any) -> Any:
    return for_terminal(value) if isinstance(value, str) else value


def print_line(line: str, file: TextIO | None = None) -> None:
    """Print one line a command composed, the logged values in it escaped."""
    print(for_terminal(line), file=file)


def print_lines(text: str, file: TextIO | None = None) -> None:
    """Print text of several lines (a table), each escaped, its line breaks kept."""
    print(lines_for_terminal(text), file=file)
