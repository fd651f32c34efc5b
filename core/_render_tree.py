"""The span tree of one trace, with its critical path marked, for ``tracewire traces show``.

Large traces stay readable: a run of more than ``collapse`` siblings of one name and type is folded
into summary lines (critical and failed spans stay visible), and ``depth`` cuts the tree.
"""

from __future__ import annotations

from tracewire._critical_path import CriticalPath, span_end
from tracewire._render import (
    Style,
    fit,
    format_count,
    format_duration,
    format_time,
    span_usage,
    state_text,
    trace_name,
    trace_window,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from tracewire._span import Span
    from tracewire._trace import Trace

_MIN_BAR = 10
_MAX_BAR = 30
_MIN_NAME = 24


_end = span_end


class _Row:
    """One line of the tree: a span, or a note (``"error"`` message, ``"folded"`` spans)."""

    __slots__ = ("critical", "kind", "name", "prefix", "span", "suffix")

    def __init__(
        self, name: str, span: Span | None, *, kind: str = "span", suffix: str = ""
    ) -> None:
        self.prefix = ""
        self.name = name
        self.span = span
        self.kind = kind
        self.suffix = suffix
        self.critical = False


def _token_cell(span: Span, style: Style) -> str:
    usage = span_usage(span)
    if usage is None:
        return ""
    count_in, count_out = usage.get("input_tokens"), usage.get("output_tokens")
    if count_out is None:
        return f"{format_count(count_in)} in" if count_in is not None else ""
    return f"{format_count(count_in)} {style.arrow} {format_count(count_out)}"


def _descendants(span_id: str, children: dict[str | None, list[Span]]) -> int:
    count, stack = 0, [span_id]
    while stack:
        kids = children.get(stack.pop(), [])
        count += len(kids)
        stack.extend(kid.span_id for kid in kids)
    return count


class _TreeBuilder:
    """Lays out the rows of the tree: connectors, folded runs, depth cut, error notes."""

    def __init__(
        self,
        spans: Sequence[Span],
        path: CriticalPath,
        style: Style,
        depth: int | None,
        collapse: int,
    ) -> None:
        self.style = style
        self.path = path
        self.depth = depth
        self.collapse = collapse
        ids = {span.span_id for span in spans}
        self.children: dict[str | None, list[Span]] = {}
        for span in spans:
            parent = span.parent_id if span.parent_id in ids else None
            self.children.setdefault(parent, []).append(span)
        for kids in self.children.values():
            kids.sort(key=lambda span: span.start_time_ns)
        self.rows: list[_Row] = []

    def build(self) -> list[_Row]:
        for top in self.children.get(None, []):
            suffix = ""
            if top.parent_id is not None:
                suffix = f"(parent {top.parent_id} is in another process)"
            self._add(top, "", "", 0, suffix)
        return self.rows

    def _add(
        self, span: Span, prefix: str, child_prefix: str, level: int, suffix: str = ""
    ) -> None:
        row = _Row(span.name, span, suffix=suffix or (span.model_name or ""))
        row.prefix = prefix
        row.critical = span.span_id in self.path.span_ids
        self.rows.append(row)
        items: list[Span | _Row] = []
        if span.status.status_code.value == "ERROR" and span.status.description:
            items.append(_Row(span.status.description, None, kind="error"))
        kids = self.children.get(span.span_id, [])
        if kids and self.depth is not None and level >= self.depth:
            hidden = _descendants(span.span_id, self.children)
            note = f"{self.style.ellipsis} {hidden} spans below (--depth)"
            items.append(_Row(note, None, kind="folded"))
            kids = []
        items.extend(self._fold(kids))
        for index, item in enumerate(items):
            last = index == len(items) - 1
            connector = self.style.corner if last else self.style.tee
            below = child_prefix + (self.style.blank if last else self.style.pipe)
            if isinstance(item, _Row):
                item.prefix = child_prefix + connector
                self.rows.append(item)
            else:
                self._add(item, child_prefix + connector, below, level + 1)

    def _fold(self, kids: list[Span]) -> list[Span | _Row]:
        """Fold long runs of same-named siblings; the first two, last, slowest and failed stay."""
        if self.collapse <= 0 or len(kids) <= self.collapse:
            return list(kids)
        result: list[Span | _Row] = []
        start = 0
        while start < len(kids):
            end = start
            key = (kids[start].name, kids[start].span_type)
            while end + 1 < len(kids) and (kids[end + 1].name, kids[end + 1].span_type) == key:
                end += 1
            run = kids[start : end + 1]
            start = end + 1
            if len(run) <= self.collapse:
                result.extend(run)
                continue
            slowest = max(run, key=lambda span: _end(span) - span.start_time_ns)
            hidden: list[Span] = []
            for index, span in enumerate(run):
                failed = span.status.status_code.value == "ERROR"
                if index in (0, 1, len(run) - 1) or span is slowest or failed:
                    if hidden:
                        result.append(self._summary(hidden))
                        hidden = []
                    result.append(span)
                else:
                    hidden.append(span)
        return result

    def _summary(self, hidden: list[Span]) -> _Row:
        style = self.style
        duration = sum(_end(span) - span.start_time_ns for span in hidden)
        tokens = sum((span_usage(span) or {}).get("total_tokens", 0) for span in hidden)
        nested = sum(_descendants(span.span_id, self.children) for span in hidden)
        text = f"{style.ellipsis} {len(hidden)} more {hidden[0].name!r} spans"
        details = [f"{format_duration(duration, style)} in all"]
        if tokens:
            details.append(f"{format_count(tokens)} tokens")
        if nested:
            details.append(f"{nested} nested spans")
        row = _Row(f"{text} ({', '.join(details)})", None, kind="folded")
        row.critical = any(span.span_id in self.path.span_ids for span in hidden)
        return row


def _bar(span: Span, window: tuple[int, int], width: int, style: Style, paint: str) -> str:
    """The span's place in the trace's time window: a bar of ``width`` cells, at least one lit."""
    start, end = window
    total = max(1, end - start)
    first = min(width - 1, max(0, (span.start_time_ns - start) * width // total))
    last = min(width, max(first + 1, -(-(_end(span) - start) * width // total)))
    track = style.paint(style.track * first, "dim")
    tail = style.paint(style.track * (width - last), "dim")
    return track + style.paint(style.bar * (last - first), paint) + tail


def render_trace(
    trace: Trace, style: Style, width: int, *, depth: int | None = None, collapse: int = 5
) -> list[str]:
    """Render a trace: a summary, the span tree with its columns, and the critical path.

    Args:
        trace: The trace.
        style: How to draw.
        width: The terminal width; the timeline and then names shrink to fit it.
        depth: Show spans down to this depth (0 = top spans only); ``None`` for all.
        collapse: Fold runs of more than this many same-named siblings; 0 never folds.

    Returns:
        The lines.
    """
    spans = trace.data.spans
    path = CriticalPath(spans)
    window = trace_window(trace)
    lines = _summary_lines(trace, style, width, window)
    if not spans:
        return [*lines, "", "(this trace has no spans)"]
    rows = _TreeBuilder(spans, path, style, depth, collapse).build()
    lines += ["", *_table(rows, style, width, window)]
    lines += ["", *_path_lines(trace, path, style)]
    return lines


def _summary_lines(trace: Trace, style: Style, width: int, window: tuple[int, int]) -> list[str]:
    info = trace.info

    def label(text: str) -> str:
        return style.paint(f"{text:<9}", "bold")

    usage = info.token_usage
    lines = [
        f"{label('Trace')}{info.trace_id}  {style.paint(trace_name(trace), 'bold')}",
        f"{label('State')}{state_text(info.state.value, style)}",
        f"{label('Started')}{format_time(info.request_time)}  "
        f"({format_duration(window[1] - window[0], style)}, {len(trace.data.spans)} spans)",
    ]
    if usage:
        parts = [
            f"{format_count(usage[key])} {label_}"
            for key, label_ in _USAGE_LABELS
            if key in usage and (usage[key] or key in _TOTALS)  # a zero cache count is noise
        ]
        lines.append(f"{label('Tokens')}{f' {style.dot} '.join(parts)}")
    for name, preview in (("Request", info.request_preview), ("Response", info.response_preview)):
        if preview:
            lines.append(f"{label(name)}{fit(preview, width - 9, style)}")
    if trace.data.spans and all(span.parent_id is not None for span in trace.data.spans):
        lines.append(
            style.paint(
                "This is one process's part of a distributed trace: its root span ran elsewhere.",
                "dim",
            )
        )
    return lines


_TOTALS = ("input_tokens", "output_tokens", "total_tokens")
_USAGE_LABELS = (
    ("input_tokens", "in"),
    ("output_tokens", "out"),
    ("total_tokens", "total"),
    ("cache_read_input_tokens", "cache read"),
    ("cache_creation_input_tokens", "cache write"),
    ("reasoning_tokens", "reasoning"),
)


def _table(rows: list[_Row], style: Style, width: int, window: tuple[int, int]) -> list[str]:
    headers = ["TYPE", "STATUS", "DURATION", f"TOKENS in{style.arrow}out"]
    cells: list[list[str]] = []
    for row in rows:
        span = row.span
        if span is None:
            cells.append(["", "", "", ""])
            continue
        cells.append(
            [
                span.span_type or "",
                span.status.status_code.value,
                format_duration(_end(span) - span.start_time_ns, style),
                _token_cell(span, style),
            ]
        )
    if not any(values[3] for values in cells):  # no span reported tokens: no column for them
        headers.pop()
        cells = [values[:3] for values in cells]
    fixed = [max([len(h)] + [len(values[i]) for values in cells]) for i, h in enumerate(headers)]
    names = [
        2 + len(r.prefix) + len(r.name) + (len(r.suffix) + 2 if r.suffix else 0)
        for r in rows
        if r.span is not None  # notes run across the columns, so they do not widen this one
    ]
    name_width = max(len("SPAN") + 2, *names)
    rest = sum(fixed) + 2 * len(fixed)
    bar = min(_MAX_BAR, width - name_width - rest - 2)
    if bar < _MIN_BAR:
        bar = 0
        name_width = max(_MIN_NAME, min(name_width, width - rest))
    header = [_cell(style.paint("SPAN", "bold"), "SPAN", name_width)]
    header += [_cell(style.paint(h, "bold"), h, fixed[i], i == 2) for i, h in enumerate(headers)]
    if bar:
        header.append(style.paint("TIMELINE", "bold"))
    lines = ["  ".join(header).rstrip()]
    for row, values in zip(rows, cells, strict=True):
        if row.span is None:
            lines.append(_note_line(row, style, width))
        else:
            lines.append(_row_line(row, style, name_width, fixed, values, bar, window))
    return lines


def _cell(text: str, plain: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - len(plain))
    return gap + text if right else text + gap


def _note_line(row: _Row, style: Style, width: int) -> str:
    """An error message or folded spans: one line across the columns."""
    marker = style.marker + " " if row.critical else "  "
    lead = style.paint(marker, "yellow") + style.paint(row.prefix, "dim")
    text = fit(row.name, width - len(marker) - len(row.prefix), style)
    return lead + style.paint(text, "red" if row.kind == "error" else "dim")


def _row_line(
    row: _Row,
    style: Style,
    name_width: int,
    fixed: list[int],
    values: list[str],
    bar: int,
    window: tuple[int, int],
) -> str:
    span = row.span
    assert span is not None  # notes go through _note_line
    marker = style.marker + " " if row.critical else "  "
    room = name_width - 2 - len(row.prefix)
    name = fit(row.name, room, style)
    suffix = (
        fit(row.suffix, room - len(name) - 2, style) if row.suffix and room - len(name) > 3 else ""
    )
    plain = marker + row.prefix + name + (f"  {suffix}" if suffix else "")
    painted_name = style.paint(name, "bold") if row.critical else name
    text = (
        style.paint(marker, "yellow")
        + style.paint(row.prefix, "dim")
        + painted_name
        + (f"  {style.paint(suffix, 'dim')}" if suffix else "")
    )
    kind, status, duration = values[:3]
    parts = [
        _cell(text, plain, name_width),
        _cell(style.paint(kind, "cyan"), kind, fixed[0]),
        _cell(state_text(status, style), status, fixed[1]),
        _cell(duration, duration, fixed[2], True),
    ]
    if len(values) > 3:
        parts.append(_cell(values[3], values[3], fixed[3]))
    if bar:
        colour = "red" if status == "ERROR" else "yellow" if row.critical else "blue"
        parts.append(_bar(span, window, bar, style, colour))
    return "  ".join(parts).rstrip()


def _path_lines(trace: Trace, path: CriticalPath, style: Style) -> list[str]:
    names = {span.span_id: span.name for span in trace.data.spans}
    top = path.contributors(names, 3)
    if not top or path.total_ns <= 0:
        return []
    parts = []
    for name, ns, spans in top:
        times = f" {spans}{style.times}" if spans > 1 else ""
        share = 100 * ns / path.total_ns
        parts.append(f"{name}{times} {format_duration(ns, style)} ({share:.0f}%)")
    marker = style.paint(style.marker, "yellow")
    head = f"{marker} critical path {format_duration(path.total_ns, style)}: "
    return [
        head + f" {style.dot} ".join(parts),
        style.paint(
            "  (time on the path outside child spans, per span name, largest first)", "dim"
        ),
    ]
