"""The `aftersales` command. Each stage registers its own subcommands; this module only wires them,
and turns every failure into one short line and exit status 2: never a traceback."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import NoReturn

from aftersales.errors import MESSAGE_LIMIT, UserError, clip, first_line, is_disk_full

# Modules that expose `register(subparsers)`; each adds its subcommands.
COMMAND_MODULES = [
    "pipelines.cli",
    "metrics.cli",
    "forecasts.cli",
    "reports.cli",
    "reports.scorecard_cli",
    "dashboard.cli",
    "alerts.cli",  # issue 16: alert rules, delivery
    "aftersales.users_cli",  # issue 17: dashboard accounts and the audit trail
]
# Set to see the traceback of an unexpected error instead of the one-line message.
DEBUG_ENV = "AFTERSALES_DEBUG"


class OneLineParser(argparse.ArgumentParser):
    """A usage mistake is one line too, naming the command's help (subcommands inherit it)."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {clip(message, MESSAGE_LIMIT)} (see `{self.prog} --help`)", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="aftersales",
        description="After-sales service analytics: load exports into DuckDB, compute KPIs, forecast, report.",
    )
    parser.add_argument("--db", help="database file (default: $AFTERSALES_DB or data/aftersales.duckdb)")
    parser.add_argument("--config", help="TOML configuration file (default: $AFTERSALES_CONFIG or aftersales.toml beside the database)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def unexpected_message(exc: BaseException) -> str:
    """What to say about an exception nobody anticipated: what happened, in one clipped line,
    that the step did not complete, and where to look next."""
    if is_disk_full(exc):
        return (f"disk full ({first_line(exc)}); the unfinished step changed nothing. "
                "Free space on that disk and run the command again")
    if isinstance(exc, MemoryError):
        return ("out of memory; the unfinished step changed nothing. Close other programs, or load the files "
                "one at a time, and run the command again")
    return (f"unexpected error ({type(exc).__name__}: {first_line(exc)}); the unfinished step changed nothing. "
            f"Run the command again with {DEBUG_ENV}=1 to see where it failed, and report it with that output")


def _say(command: str, message: str) -> None:
    print(f"aftersales {command}: error: {clip(message, MESSAGE_LIMIT)}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # --config holds for everything the command does, including the steps that look the
    # configuration up again for the database they write (the rollups after a load).
    saved_config_env = os.environ.get("AFTERSALES_CONFIG")
    if args.config:
        os.environ["AFTERSALES_CONFIG"] = args.config
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        _say(args.command, str(exc))
        return 2
    except KeyboardInterrupt:
        print(f"aftersales {args.command}: interrupted; the database is unchanged by the unfinished step", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`aftersales rejects | head`): not an error of ours. Point stdout at
        # /dev/null so that Python's own flush at exit does not complain a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # the last line of defence: one short line, never a traceback
        if os.environ.get(DEBUG_ENV):
            raise
        _say(args.command, unexpected_message(exc))
        return 2
    finally:
        if saved_config_env is None:
            os.environ.pop("AFTERSALES_CONFIG", None)
        else:
            os.environ["AFTERSALES_CONFIG"] = saved_config_env


if __name__ == "__main__":
    sys.exit(main())
