"""``tracewire traces list|show|export|delete``: read and manage the traces in the store.

Reads go through the public API (``get_trace``, ``search_traces``, ``delete_traces``), so every store
tracewire can use is covered, and a store that fails to read is reported as one error line.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys

import tracewire
from tracewire._cli import EXIT_OK, EXIT_USAGE, CliError, tracking_uri
from tracewire._render import detect_style, trace_table
from tracewire._render_tree import render_trace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, TextIO

    from tracewire._trace import Trace

_HEX = frozenset("0123456789abcdef")


def add_parser(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``traces`` and its subcommands to the ``tracewire`` parser."""
    store, display = parents
    traces = commands.add_parser(
        "traces",
        help="list, show, export or delete stored traces",
        description="List, show, export or delete the traces in the store.",
    )
    actions = traces.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser(
        "list",
        parents=[store, display],
        help="a table of traces, newest first",
        description="A table of traces: id, name, state, start time, duration and tokens "
        "(input / output / total).",
    )
    listing.add_argument("--filter", metavar="FILTER", help=_FILTER_HELP)
    listing.add_argument("--limit", type=_positive, default=20, metavar="N", help="at most N (20)")
    listing.add_argument(
        "--order-by",
        action="append",
        metavar="CLAUSE",
        help="sort, e.g. 'execution_time_ms DESC'; repeat to add keys (default: newest first)",
    )
    listing.set_defaults(run=run_list)

    show = actions.add_parser(
        "show",
        parents=[store, display],
        help="the span tree of one trace",
        description="The span tree of one trace: types, durations, status and token usage, with "
        "the critical path (the spans that determine the trace's duration) marked.",
    )
    show.add_argument("trace_id", metavar="TRACE_ID", help="the trace id (tr-...)")
    show.add_argument(
        "--depth", type=_natural, metavar="N", help="show spans down to depth N (0: top spans only)"
    )
    show.add_argument(
        "--collapse",
        type=_natural,
        default=5,
        metavar="N",
        help="fold runs of more than N siblings of one name (default 5; 0: never fold)",
    )
    show.set_defaults(run=run_show)

    export = actions.add_parser(
        "export",
        parents=[store],
        help="traces as MLflow-compatible JSON",
        description="Write traces as MLflow-compatible JSON (Trace.to_dict). --format json "
        "writes one trace document for one TRACE_ID, else a JSON array; --format jsonl writes "
        "one document per line.",
    )
    _selection(export)
    export.add_argument(
        "--format",
        choices=("json", "jsonl"),
        default="json",
        help="json (default): one document for one TRACE_ID, else an array; jsonl: one per line",
    )
    export.add_argument("--output", "-o", metavar="FILE", help="write to FILE (default: stdout)")
    export.set_defaults(run=run_export)

    delete = actions.add_parser(
        "delete",
        parents=[store],
        help="delete traces",
        description="Delete traces by id or by filter. Asks first unless --yes is given.",
    )
    _selection(delete)
    delete.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    delete.set_defaults(run=run_delete)


_FILTER_HELP = (
    "a search filter, e.g. \"tags.env = 'prod' AND execution_time_ms > 500\" (fields: name, "
    "state, timestamp_ms, execution_time_ms, tags.<key>, metadata.<key>)"
)


def _selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trace_ids", nargs="*", metavar="TRACE_ID", help="trace ids")
    parser.add_argument("--filter", metavar="FILTER", help=_FILTER_HELP + "; instead of ids")
    parser.add_argument("--limit", type=_positive, metavar="N", help="with --filter: at most N")


def _positive(text: str) -> int:
    value = _natural(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def _natural(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def _width() -> int:
    return shutil.get_terminal_size((120, 24)).columns


def _store_failure(error: Exception) -> CliError:
    return CliError(
        f"cannot read the trace store {tracking_uri()}: {type(error).__name__}: {error}"
    )


def normalize_id(text: str) -> str:
    """Accept ``tr-<32 hex>`` and a bare 32-digit hex id (as an OTel backend shows it)."""
    text = text.strip()
    bare = text.lower()
    if len(bare) == 32 and _HEX.issuperset(bare):
        return "tr-" + bare
    return text


def fetch(trace_ids: Sequence[str]) -> list[Trace]:
    """Read traces by id.

    Raises:
        CliError: If an id is unknown, or the store cannot be read.
    """
    traces, missing = [], []
    for trace_id in trace_ids:
        try:
            trace = tracewire.get_trace(normalize_id(trace_id))
        except Exception as error:  # noqa: BLE001 - any failure to read is the store's
            raise _store_failure(error) from None
        if trace is None:
            missing.append(trace_id)
        else:
            traces.append(trace)
    if missing:
        raise CliError(
            f"no trace with id {', '.join(missing)} in {tracking_uri()} "
            "(see 'tracewire traces list')"
        )
    return traces


def search(filter_string: str | None, limit: int | None, order_by: list[str] | None) -> list[Trace]:
    """Search the store.

    Raises:
        CliError: With :data:`EXIT_USAGE` for a malformed filter or order, else for a store that
            cannot be read.
    """
    try:
        found = tracewire.search_traces(
            filter_string=filter_string, max_results=limit, order_by=order_by, return_type="list"
        )
    except ValueError as error:  # the search API's message points at the problem
        raise CliError(str(error), EXIT_USAGE) from None
    except Exception as error:  # noqa: BLE001 - any other failure is the store's
        raise _store_failure(error) from None
    return list(found)


def _select(args: argparse.Namespace) -> list[Trace]:
    """The traces named by ids, or matched by ``--filter`` (exactly one of the two)."""
    if bool(args.trace_ids) == bool(args.filter):
        raise CliError("give either trace ids or --filter (one of the two)", EXIT_USAGE)
    if args.limit is not None and not args.filter:
        raise CliError("--limit goes with --filter", EXIT_USAGE)
    if args.trace_ids:
        return fetch(args.trace_ids)
    return search(args.filter, args.limit, None)


def run_list(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """``tracewire traces list``."""
    out = out or sys.stdout
    found = search(args.filter, args.limit + 1, args.order_by)
    more = len(found) > args.limit
    found = found[: args.limit]
    where = tracking_uri()
    if not found:
        matching = " matching the filter" if args.filter else ""
        print(f"No traces{matching} in {where}. Record one with 'tracewire demo'.", file=out)
        return EXIT_OK
    style = detect_style(out, ascii_only=args.ascii, color=args.color)
    for line in trace_table(found, style, _width()):
        print(line, file=out)
    count = f"{len(found)} trace{'s' if len(found) != 1 else ''} from {where}"
    if more:
        count += f"; more match (--limit {args.limit * 5})"
    print(style.paint(f"\n{count}. Show one: tracewire traces show <TRACE ID>", "dim"), file=out)
    return EXIT_OK


def run_show(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """``tracewire traces show``."""
    out = out or sys.stdout
    (trace,) = fetch([args.trace_id])
    style = detect_style(out, ascii_only=args.ascii, color=args.color)
    lines = render_trace(trace, style, _width(), depth=args.depth, collapse=args.collapse)
    for line in lines:
        print(line, file=out)
    return EXIT_OK


def run_export(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """``tracewire traces export``."""
    out = out or sys.stdout
    traces = _select(args)
    documents = [trace.to_dict() for trace in traces]
    target_encoding = "utf-8" if args.output else (getattr(out, "encoding", None) or "")
    ascii_only = not target_encoding.lower().replace("-", "").startswith("utf")
    if args.format == "jsonl":
        text = "".join(json.dumps(doc, ensure_ascii=ascii_only) + "\n" for doc in documents)
    else:
        single = len(args.trace_ids) == 1  # the shape follows the command, not the result count
        payload: Any = documents[0] if single else documents
        text = json.dumps(payload, indent=2, ensure_ascii=ascii_only) + "\n"
    if not args.output or args.output == "-":
        out.write(text)
        return EXIT_OK
    try:
        with open(args.output, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as error:
        raise CliError(f"cannot write {args.output}: {error.strerror or error}") from None
    print(f"Exported {len(documents)} trace(s) to {args.output}.", file=sys.stderr)
    return EXIT_OK


def run_delete(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """``tracewire traces delete``."""
    out = out or sys.stdout
    traces = _select(args)
    where = tracking_uri()
    if not traces:
        print(f"No traces match the filter in {where}; nothing deleted.", file=out)
        return EXIT_OK
    ids = [trace.trace_id for trace in traces]
    if not args.yes:
        _confirm(ids, where)
    try:
        deleted = _delete(ids)
    except Exception as error:  # noqa: BLE001 - a failure to delete is the store's
        raise CliError(f"cannot delete from {where}: {type(error).__name__}: {error}") from None
    print(f"Deleted {deleted} trace{'s' if deleted != 1 else ''} from {where}.", file=out)
    return EXIT_OK


def _confirm(ids: list[str], where: str) -> None:
    if not sys.stdin.isatty():
        raise CliError(
            f"refusing to delete {len(ids)} trace(s) without --yes: no terminal to ask on",
            EXIT_USAGE,
        )
    shown = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
    answer = input(f"Delete {len(ids)} trace(s) from {where} ({shown})? [y/N] ")
    if answer.strip().lower() not in ("y", "yes"):
        raise CliError("nothing deleted")


def _delete(ids: list[str]) -> int:
    return tracewire.delete_traces(trace_ids=ids)
