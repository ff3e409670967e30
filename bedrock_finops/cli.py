"""The ``bedrock-finops`` command. Each subcommand lives beside the code it drives.

A module listed in ``COMMAND_MODULES`` exposes ``register(subparsers)``, which adds its
subparser and sets ``func`` (called with the parsed args; returns the exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = [
    "bedrock_finops.batch_jobs",
    "bedrock_finops.ingest",
    "bedrock_finops.pricing_cli",
    "bedrock_finops.quality_gate",
    "bedrock_finops.reconcile",
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
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
