"""Terminal rendering for the CLI: styles, human-readable numbers, and the trace table.

Unicode box drawing and ANSI colour are used only where the output can take them: unicode when the
stream's encoding can encode it (or ``--ascii`` is not given), colour on a terminal without
``NO_COLOR`` (or when ``--color always`` asks for it). The span tree is in :mod:`tracewire._render_tree`.
"""

from __future__ import annotations

import os
import time

from tracewire._constants import SpanAttributeKey, TraceTagKey

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, TextIO

    from tracewire._span import Span
    from tracewire._trace import Trace

_UNICODE_PROBE = "├─└│…µ◆█·→\u00d7"
_ANSI = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
}


class Style:
    """How to draw: unicode or ASCII characters, with or without ANSI colour.

    Args:
        unicode: Use box-drawing characters, ``…`` and ``µs``.
        color: Wrap text in ANSI colour codes.
    """

    def __init__(self, *, unicode: bool = True, color: bool = False) -> None:
        self.unicode = unicode
        self.color = color
        self.ellipsis = "…" if unicode else "..."
        self.arrow = "→" if unicode else "->"
        self.dot = "·" if unicode else "|"
        self.marker = "◆" if unicode else "*"
        self.bar = "█" if unicode else "#"
        self.track = "·" if unicode else "."
        self.micro = "µs" if unicode else "us"
        self.times = "\u00d7" if unicode else "x"  # multiplication sign
        # Tree pieces: a child with later siblings, the last child, and the continuations below.
        self.tee, self.corner = ("├─ ", "└─ ") if unicode else ("|- ", "`- ")
        self.pipe, self.blank = ("│  ", "   ") if unicode else ("|  ", "   ")

    def paint(self, text: str, *styles: str) -> str:
        """Return ``text`` in the given styles (``"bold"``, ``"red"``, ...) when colour is on."""
        if not self.color or not styles or not text:
            return text
        codes = ";".join(_ANSI[style] for style in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"


def detect_style(stream: TextIO, *, ascii_only: bool = False, color: str = "auto") -> Style:
    """Choose the style for ``stream``.

    Args:
        stream: Where the output goes.
        ascii_only: Force ASCII characters.
        color: ``"auto"`` (a terminal, and ``NO_COLOR`` unset or empty), ``"always"`` or ``"never"``.

    Returns:
        The style.
    """
    unicode = not ascii_only and _can_encode(stream, _UNICODE_PROBE)
    if color == "always":
        use_color = True
    elif color == "never":
        use_color = False
    else:
        is_tty = getattr(stream, "isatty", None)
        use_color = bool(is_tty and is_tty()) and not os.environ.get("NO_COLOR")
    return Style(unicode=unicode, color=use_color)


def _can_encode(stream: TextIO, text: str) -> bool:
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def format_duration(ns: int | None, style: Style) -> str:
    """Format a duration in nanoseconds: ``850 µs``, ``12.3 ms``, ``1.24 s``, ``2 m 05 s``."""
    if ns is None:
        return "?"
    if ns < 1_000_000:
        return f"{ns / 1000:.0f} {style.micro}"
    if ns < 1_000_000_000:
        ms = ns / 1_000_000
        return f"{ms:.1f} ms" if ms < 100 else f"{ms:.0f} ms"
    seconds = ns / 1e9
    if seconds < 60:
        return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} m {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} m"


def format_count(value: int | None) -> str:
    """Format a count with thousands separators; ``-`` when there is none."""
    return "-" if value is None else f"{value:,}"


def format_time(ms: int, compact: bool = False) -> str:
    """Format epoch milliseconds as local time, ``2025-01-31 14:05:09`` (compact: no year)."""
    return time.strftime(
        "%m-%d %H:%M:%S" if compact else "%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000)
    )


def fit(text: str, width: int, style: Style) -> str:
    """Cut ``text`` to ``width`` characters, marking the cut with an ellipsis; one line only."""
    text = " ".join(text.split())
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    cut = max(0, width - len(style.ellipsis))
    return text[:cut] + style.ellipsis[: width - cut]


def span_usage(span: Span) -> dict[str, int] | None:
    """Return a span's token usage (``mlflow.chat.tokenUsage``), if it recorded any."""
    usage = span.get_attribute(SpanAttributeKey.CHAT_USAGE)
    if not isinstance(usage, dict):
        return None
    counts = {key: value for key, value in usage.items() if type(value) is int}
    return counts or None


def top_spans(spans: Sequence[Span]) -> list[Span]:
    """The spans whose parent is not in the trace: the root, or a distributed part's top spans."""
    ids = {span.span_id for span in spans}
    return [span for span in spans if span.parent_id is None or span.parent_id not in ids]


def trace_window(trace: Trace) -> tuple[int, int]:
    """Return the trace's start and end in nanoseconds, from its spans (or its info)."""
    spans = trace.data.spans
    if not spans:
        start = trace.info.request_time * 1_000_000
        return start, start + (trace.info.execution_duration or 0) * 1_000_000
    start = min(span.start_time_ns for span in spans)
    end = max(span.end_time_ns or span.start_time_ns for span in spans)
    return start, end


def trace_name(trace: Trace) -> str:
    """The trace name: its ``mlflow.traceName`` tag, else its first top span's name."""
    name = trace.info.tags.get(TraceTagKey.TRACE_NAME)
    if name:
        return name
    tops = top_spans(trace.data.spans)
    return tops[0].name if tops else ""


def state_text(state: str, style: Style) -> str:
    """The trace or span state, coloured: OK green, ERROR red."""
    if state == "OK":
        return style.paint(state, "green")
    if state == "ERROR":
        return style.paint(state, "red", "bold")
    return style.paint(state, "yellow")


def _pad(text: str, plain: str, width: int, right: bool = False) -> str:
    """Pad ``text`` (maybe with colour codes) to ``width`` columns measured on ``plain``."""
    gap = " " * max(0, width - len(plain))
    return gap + text if right else text + gap


def trace_table(traces: Sequence[Trace], style: Style, width: int) -> list[str]:
    """Render traces as a table: id, name, state, start time, duration, tokens in/out/total.

    Args:
        traces: The traces, in the order to show.
        style: How to draw.
        width: The terminal width; the name column shrinks to fit (ids are never cut).

    Returns:
        The lines, header first.
    """
    headers = ("TRACE ID", "NAME", "STATE", "STARTED", "DURATION", "IN", "OUT", "TOTAL")
    rows: list[tuple[str, ...]] = []
    for trace in traces:
        start, end = trace_window(trace)
        usage = trace.info.token_usage or {}
        rows.append(
            (
                trace.trace_id,
                trace_name(trace),
                trace.info.state.value,
                format_time(trace.info.request_time),
                format_duration(end - start, style),
                format_count(usage.get("input_tokens")),
                format_count(usage.get("output_tokens")),
                format_count(usage.get("total_tokens")),
            )
        )
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(headers)]
    others = sum(widths) - widths[1] + 2 * (len(headers) - 1)
    if others + widths[1] > width:  # short of room: the year goes before the names are cut
        rows = [
            (*row[:3], format_time(t.info.request_time, True), *row[4:])
            for row, t in zip(rows, traces, strict=True)
        ]
        widths[3] = max(len(headers[3]), *(len(row[3]) for row in rows))
        others = sum(widths) - widths[1] + 2 * (len(headers) - 1)
    widths[1] = max(8, min(widths[1], width - others))
    right = {4, 5, 6, 7}
    lines = [
        "  ".join(
            _pad(style.paint(h, "bold"), h, widths[i], i in right) for i, h in enumerate(headers)
        ).rstrip()
    ]
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            plain = fit(value, widths[i], style) if i == 1 else value
            shown = state_text(plain, style) if i == 2 else plain
            cells.append(_pad(shown, plain, widths[i], i in right))
        lines.append("  ".join(cells).rstrip())
    return lines


def describe_value(value: Any, width: int, style: Style) -> str:
    """One line summarizing an input or output value, for the trace header."""
    if value is None:
        return ""
    if isinstance(value, str):
        return fit(value, width, style)
    import json  # noqa: PLC0415 - the CLI only; keeps `import tracewire` light

    return fit(json.dumps(value, ensure_ascii=False, default=str), width, style)
