"""The `aftersales` command. Each stage registers its own subcommands; this module only wires them."""

from __future__ import annotations

import argparse
import importlib
import sys

from aftersales.errors import UserError

# Modules that expose `register(subparsers)`; each adds its subcommands.
COMMAND_MODULES = [
    "pipelines.cli",
    "metrics.cli",
    "forecasts.cli",
    "reports.cli",
    "dashboard.cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aftersales",
        description="After-sales service analytics: load exports into DuckDB, compute KPIs, forecast, report.",
    )
    parser.add_argument("--db", help="database file (default: $AFTERSALES_DB or data/aftersales.duckdb)")
    parser.add_argument("--config", help="TOML configuration file (default: $AFTERSALES_CONFIG or aftersales.toml beside the database)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"aftersales {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"aftersales {args.command}: interrupted; the database is unchanged by the unfinished step", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
