"""The ``bedrock-finops`` command. Each subcommand lives beside the code it drives.

A module listed in ``COMMAND_MODULES`` exposes ``register(subparsers)``, which adds its
subparser and sets ``func`` (called with the parsed args; returns the exit code).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import sys

from bedrock_finops.disk_space import FULL_ERRNOS
from bedrock_finops.interrupts import EXIT_INTERRUPTED, Terminated, terminating_raises

COMMAND_MODULES = [
    "bedrock_finops.batch_export_cli",
    "bedrock_finops.billing_cli",
    "bedrock_finops.ingest",
    "bedrock_finops.pricing_cli",
    "bedrock_finops.quality_gate",
    "bedrock_finops.runner",
    "bedrock_finops.sample",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bedrock-finops",
        description="Measure and price Amazon Bedrock cost-saving strategies on your own traffic.",
    )
    from bedrock_finops import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    _configure_console()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        with terminating_raises():  # SIGTERM, SIGHUP clean up as Ctrl-C does (see interrupts)
            return int(args.func(args) or 0)
    except Terminated as exc:
        _say_stopped(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _say_stopped("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of stdout left (`| head`): the work itself is done
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # nothing more to write at exit either
        return 141  # as a command ended by SIGPIPE
    except _user_errors() as exc:
        if os.environ.get("BEDROCK_FINOPS_TRACEBACK"):
            raise
        _say_error(_error_line(exc), exc)
        return 2
    except OSError as exc:  # a full disk, a quota, a read-only file system: the user's to fix
        if exc.errno not in _FILE_SYSTEM_ERRNOS or os.environ.get("BEDROCK_FINOPS_TRACEBACK"):
            raise
        _say_error(_file_system_error(exc), exc)
        return 2
    except ValueError as exc:  # botocore refuses an endpoint URL only once a client is made
        from bedrock_finops.sources.aws_clients import invalid_endpoint_message

        message = invalid_endpoint_message(exc)
        if message is None or os.environ.get("BEDROCK_FINOPS_TRACEBACK"):
            raise
        _say_error(message, exc)
        return 2


def _say_error(message: str, exc: BaseException | None = None) -> None:
    """The ``error:`` line a failed command ends with, on stderr, with any credential value
    from the environment redacted: the message may quote a path or a source named after one,
    and a scheduled run's stderr is mailed or kept in a log.

    The values a message quotes (a path, an S3 key, a source, a log group) are the user's or
    the source's, so its control characters are escaped for the terminal, line breaks too: a
    file named ``a\nerror: ...`` would print a line of its own. Only the text of AWS's own
    errors (botocore's: ``exc``, or an error it was raised from, quoted in the message) keeps
    its lines, as ParamValidationError's list of problems."""
    from bedrock_finops.runner import scrubbed
    from bedrock_finops.terminal_text import for_terminal, lines_for_terminal

    text = scrubbed(message) or ""
    shown = for_terminal(text)
    for said in _aws_texts(exc):
        said = scrubbed(said) or ""
        if "\n" in said and said in text:
            shown = shown.replace(for_terminal(said), lines_for_terminal(said))
    print(f"error: {shown}", file=sys.stderr)


def _aws_texts(exc: BaseException | None) -> list[str]:
    """The text of each botocore error among ``exc`` and the errors it was raised from or
    while handling (an error of the tool's own quoting AWS's): its message, and a
    ClientError's own Message as AWS sent it."""
    from botocore.exceptions import BotoCoreError, ClientError

    texts: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, BotoCoreError | ClientError):
            texts.append(str(exc))
        if isinstance(exc, ClientError):
            said = str(exc.response.get("Error", {}).get("Message") or "")
            texts += [said, said.strip()]
        exc = exc.__cause__ or exc.__context__
    return texts


def _configure_console() -> None:
    """stdout and stderr write a character their encoding lacks as an escape (``\\u2022``)
    and each line as it is printed.

    On a terminal that is not UTF-8 (a C or Latin-1 locale) a command that has done its work
    (an ingest's tables written) must not fail printing its summary, a model ID or an app
    name; files are written as UTF-8 regardless. Into a file or a pipe (cron's
    ``>> cron.log 2>&1``, a CI log) Python's stdout otherwise holds its lines in an 8 KB
    buffer: the errors on stderr landed above the progress lines printed before them, and a
    killed run (SIGKILL, out of memory) lost the lines it had printed."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)  # a replaced stream may have none
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="backslashreplace", line_buffering=True)


def _say_stopped(message: str) -> None:
    """The one line a stopped command ends with. After a SIGHUP the terminal is gone, and
    writing to it fails (EIO): the stop's exit code is kept, and nothing left to write at
    exit can fail either (Python would exit 120)."""
    try:
        print(message, file=sys.stderr, flush=True)
    except OSError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                os.dup2(devnull, stream.fileno())


# a full disk or quota (``disk_space.FULL_ERRNOS``: EDQUOT is not on every platform), or a
# read-only file system: the fix for each, in the folder written
_FILE_SYSTEM_ERRNOS = {
    e: "free space in {folder}, or write elsewhere (--out)"
    if e == errno.ENOSPC
    else "the disk quota is used up: free space in {folder}, or write elsewhere (--out)"
    for e in FULL_ERRNOS
} | {errno.EROFS: "{folder} is on a read-only file system: write elsewhere (--out)"}


def _file_system_error(exc: OSError) -> str:
    """The line for a full disk, a quota or a read-only file system: the file written and the
    fix in its folder. A copy's or a rename's error names its source first and the file
    written second; a failed write may name none (the folder is then not known)."""
    written = exc.filename2 or exc.filename
    if written is None:
        return f"{exc.strerror}; " + _FILE_SYSTEM_ERRNOS[exc.errno].format(
            folder="the folder written"
        )
    written = os.fsdecode(written)
    fix = _FILE_SYSTEM_ERRNOS[exc.errno].format(folder=os.path.dirname(written) or ".")
    return f"{exc.strerror} ({written}); {fix}"


def _error_line(exc: BaseException) -> str:
    """The one line a user error prints: its message and, for AWS's, the fix."""
    from bedrock_finops.sources.source_errors import (
        credential_setup_error,
        credential_setup_errors,
    )

    if isinstance(exc, credential_setup_errors()):  # (the ingest's say what they were reading)
        return str(credential_setup_error(exc))
    hint = _hint(exc)
    message = str(exc).rstrip(".") if hint else str(exc)
    return f"{message}{hint}"


def _hint(exc: BaseException) -> str:
    from botocore.exceptions import (
        EndpointConnectionError,
        HTTPClientError,
        InvalidRegionError,
        NoRegionError,
    )

    if isinstance(exc, NoRegionError):
        return "; pass --region or set AWS_DEFAULT_REGION (boto3 does not read AWS_REGION)"
    if isinstance(exc, EndpointConnectionError):
        endpoint = os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            return (
                f"; the endpoint comes from AWS_ENDPOINT_URL={endpoint}: check it, or unset it "
                "to reach AWS"
            )
        return "; check the network (a proxy needs HTTPS_PROXY) and the Region"
    if isinstance(exc, HTTPClientError):  # a connection closed or timed out, after the retries
        return "; the connection kept failing after every retry: check the network and run again"
    if isinstance(exc, InvalidRegionError):
        return "; a Region is written like us-east-1 (--region, AWS_DEFAULT_REGION or the profile)"
    return ""


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors about the user's input, files or AWS access: their message says what to fix, so
    the command prints it alone (set BEDROCK_FINOPS_TRACEBACK=1 to see the traceback too)."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        HTTPClientError,
        InvalidRegionError,
        NoRegionError,
        ParamValidationError,
    )

    from bedrock_finops.batch_export_cli import BatchExportError
    from bedrock_finops.batch_submit import BatchSubmitError
    from bedrock_finops.ingest import IngestError
    from bedrock_finops.notebook import CacheFolderError
    from bedrock_finops.params import ParamsError
    from bedrock_finops.price_sheets import PriceInputError
    from bedrock_finops.run_settings import RunSettingsError
    from bedrock_finops.sources.cost_explorer import BillingPeriodError
    from bedrock_finops.sources.cur import BillingFormatError
    from bedrock_finops.sources.source_errors import SourceError, credential_setup_errors
    from bedrock_finops.user_paths import UserPathError
    from bedrock_finops.worker_pool import WorkerDied

    files = (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)
    aws = (
        *credential_setup_errors(),  # none found, a missing profile, an expired SSO login, ...
        NoRegionError,
        EndpointConnectionError,
        HTTPClientError,  # a connection closed or timed out after every retry
        InvalidRegionError,
        ParamValidationError,  # a value AWS cannot take (a bucket or group name): it says which
    )
    mistakes = (
        BatchExportError,
        BatchSubmitError,  # a write batch-export --apply could not make: it names which
        IngestError,
        ParamsError,
        PriceInputError,
        RunSettingsError,  # a run's setting (or its manifest) a command cannot use: it says which
        BillingFormatError,
        BillingPeriodError,
        SourceError,
        CacheFolderError,  # no folder for the embedded sample's cache: the variables to set
        UserPathError,  # a ~ that names no home folder
        WorkerDied,  # killed for memory, most likely: it says so, and what it was reading
    )
    return (*mistakes, *files, *aws, ClientError)


if __name__ == "__main__":
    sys.exit(main())
