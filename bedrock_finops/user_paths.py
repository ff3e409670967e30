"""Paths a user gives, on the command line or in a params file: one rule for a leading ``~``.

A shell expands ``~`` only at the start of a word, so ``--out=~/runs``, a quoted ``"~/runs"``
and a params file's ``export_dir: ~/jobs`` arrive as written. Taken as they are, Python reads
them as a folder named ``~`` in the working directory, while pyarrow expands them to the home
folder, so one path could name two places. Every path the toolkit is given goes through
:func:`expand_user` instead, which expands ``~`` and ``~user`` as a shell would; a ``~name``
of no user, or ``~`` with no home folder to be found, is an error rather than a folder of
that name.
"""

from __future__ import annotations

import argparse
import os


class UserPathError(ValueError):
    """A path starting with ``~`` that cannot be expanded; the message says what to give."""


def expand_user(value: str) -> str:
    """``value`` with a leading ``~`` or ``~user`` expanded; any other value as it is (a
    bundled sheet's name, ``s3://...``, a relative path)."""
    if not value.startswith("~"):
        return value
    expanded = os.path.expanduser(value)
    if expanded.startswith("~"):  # os.path.expanduser leaves what it cannot expand
        raise UserPathError(f"{value!r}: {_why_not_expanded(value)}; give the full path")
    return expanded


def _why_not_expanded(value: str) -> str:
    user = value[1:].split("/", 1)[0].split(os.sep, 1)[0]
    if user:
        return f"~{user} names the home folder of user {user!r}, and there is no such user"
    return (
        "~ names the home folder, and there is none: HOME is not set, and this user has no "
        "entry in the password database"
    )


def path_argument(value: str) -> str:
    """:func:`expand_user` as an argparse ``type``: a ``~`` it cannot expand is the option's
    error (exit code 2), before the command does anything."""
    try:
        return expand_user(value)
    except UserPathError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
