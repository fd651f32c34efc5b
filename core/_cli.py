"""The ``tracewire`` command line: argument parsing, the trace store to read, and error reporting.

The commands live in :mod:`tracewire._cli_traces` and :mod:`tracewire._demo`; rendering in
:mod:`tracewire._render`. Nothing here is imported by ``import tracewire``.

Exit codes: 0 success, 1 a failure (unknown trace id, unreadable store, the demo failing), 2 a usage
error (bad arguments, a malformed filter). Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import tracewire

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
_DEFAULT_URI = "sqlite:///tracewire.db"


class CliError(Exception):
    """A failure reported as one line on stderr, with the exit code to return.

    Args:
        message: What went wrong and, where possible, what to do about it.
        code: The exit code (:data:`EXIT_FAILURE` or :data:`EXIT_USAGE`).
    """

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code


def set_tracking_uri(uri: str) -> None:
    """Point tracewire at ``uri`` for this command.

    Raises:
        CliError: If the URI is not valid.
    """
    try:
        tracewire.set_tracking_uri(uri)
    except ValueError as error:
        raise CliError(f"invalid --tracking-uri {uri!r}: {error}", EXIT_USAGE) from None


def tracking_uri() -> str:
    """Return the URI of the store tracewire reads and writes now."""
    return tracewire.get_tracking_uri()


def sqlite_path(uri: str) -> str | None:
    """The file of a ``sqlite:///relative.db`` or ``sqlite:////absolute.db`` URI, else ``None``."""
    if not uri.startswith("sqlite:///"):
        return None
    return uri[len("sqlite:///") :] or None


def require_store(uri: str) -> None:
    """Fail, without creating it, when the store to read is a SQLite file that does not exist.

    Raises:
        CliError: If the file is missing.
    """
    path = sqlite_path(uri)
    if path is not None and not os.path.exists(path):
        raise CliError(
            f"no trace store at {path}: nothing was recorded there yet. Record a trace with "
            "'tracewire demo', or choose a store with --tracking-uri"
        )


class _WarningFormatter(logging.Formatter):
    """One line per warning, without the traceback a log record may carry."""

    def format(self, record: logging.LogRecord) -> str:
        return f"tracewire: {record.levelname.lower()}: {record.getMessage()}"


class _Session:
    """What every command runs inside: tracewire's warnings as one-liners on stderr.

    Args:
        strict: Raise tracewire's internal errors (a failing store read) instead of logging
            them, so that the command can report them as its own error.
    """

    def __init__(self, strict: bool) -> None:
        self._strict = strict
        self._handler = logging.StreamHandler(sys.stderr)
        self._handler.setFormatter(_WarningFormatter())
        self._handler.setLevel(logging.WARNING)
        self._previous_strict: str | None = None

    def __enter__(self) -> None:
        logger = logging.getLogger("tracewire")
        logger.addHandler(self._handler)
        self._propagate = logger.propagate
        logger.propagate = False  # no second copy through the root logger's handlers
        if self._strict:
            self._previous_strict = os.environ.get("TRACEWIRE_STRICT")
            os.environ["TRACEWIRE_STRICT"] = "1"

    def __exit__(self, *exc_info: object) -> None:
        logger = logging.getLogger("tracewire")
        logger.removeHandler(self._handler)
        logger.propagate = self._propagate
        if self._strict:
            if self._previous_strict is None:
                os.environ.pop("TRACEWIRE_STRICT", None)
            else:
                os.environ["TRACEWIRE_STRICT"] = self._previous_strict


def _display_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--ascii",
        action="store_true",
        help="draw with ASCII only (automatic when the output cannot encode unicode)",
    )
    parent.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the output: auto (a terminal, unless NO_COLOR is set), always or never",
    )
    return parent


def _store_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--tracking-uri",
        default=argparse.SUPPRESS,  # given after the command, it overrides the global option
        metavar="URI",
        help="the trace store: sqlite:///path.db, memory://, ... (default: "
        f"$TRACEWIRE_TRACKING_URI, else {_DEFAULT_URI})",
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of every command."""
    from tracewire import _cli_traces, _demo  # noqa: PLC0415 - each command's module, on demand

    parser = argparse.ArgumentParser(
        prog="tracewire",
        description="Look at the traces tracewire recorded, and run a traced demo.",
        epilog="Run 'tracewire demo' to record a first trace, then 'tracewire traces list'.",
    )
    parser.add_argument("--version", action="version", version=f"tracewire {tracewire.__version__}")
    parser.add_argument(
        "--tracking-uri",
        default=None,
        metavar="URI",
        help=f"the trace store (default: $TRACEWIRE_TRACKING_URI, else {_DEFAULT_URI})",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parents = [_store_options(), _display_options()]
    _cli_traces.add_parser(commands, parents)
    _demo.add_parser(commands, parents)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tracewire`` command.

    Args:
        argv: The arguments, without the program name; defaults to ``sys.argv[1:]``.

    Returns:
        The exit code.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or a usage error argparse reported
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        reads = args.command != "demo"
        with _Session(strict=reads):
            if reads:  # before the store is opened: opening a SQLite store may create its file
                require_store(args.tracking_uri or tracking_uri())
            if args.tracking_uri is not None:
                set_tracking_uri(args.tracking_uri)
            return int(args.run(args))
    except CliError as error:
        print(f"tracewire: error: {error}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        print("tracewire: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `tracewire traces list | head`: the reader has what it wanted
        _discard_stdout()
        return EXIT_OK
    except Exception as error:  # noqa: BLE001 - a command line prints errors, never a traceback
        print(f"tracewire: error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_FAILURE


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's exit flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # not a real file (captured output): nothing to flush
        pass
