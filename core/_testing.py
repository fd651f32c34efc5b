"""Implementation of :mod:`tracewire.testing` (trace capture, span-tree assertions, fixture)."""

from __future__ import annotations

from collections.abc import Sequence
from textwrap import dedent

from tracewire._destinations import MemoryDestination
from tracewire._export import EXPORTER, swap_destination
from tracewire._status import SpanStatusCode
from tracewire._trace import Trace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import TracebackType
    from typing import overload

    from tracewire._destinations import TraceDestination
    from tracewire._span import Span


class TraceCapture(Sequence[Trace]):
    """The traces finished while a :func:`capture_traces` block is (or was) active, oldest first.

    Reading it waits for traces still being exported, so a trace is visible as soon as its root
    span has ended.
    """

    def __init__(self, destination: MemoryDestination) -> None:
        self._destination = destination
        self._open = True

    def _traces(self) -> list[Trace]:
        if self._open:
            EXPORTER.flush()
        return self._destination.list_traces()[::-1]

    if TYPE_CHECKING:

        @overload
        def __getitem__(self, index: int) -> Trace: ...

        @overload
        def __getitem__(self, index: slice) -> list[Trace]: ...

    def __getitem__(self, index: int | slice) -> Trace | list[Trace]:
        return self._traces()[index]

    def __len__(self) -> int:
        return len(self._traces())

    def __iter__(self) -> Iterator[Trace]:
        return iter(self._traces())

    def __repr__(self) -> str:
        return f"TraceCapture({self._traces()!r})"

    @property
    def spans(self) -> list[Span]:
        """Every captured span, trace by trace, each trace's spans in start order."""
        return [span for trace in self._traces() for span in _by_start(trace.data.spans)]

    def clear(self) -> None:
        """Forget the traces captured so far."""
        self._traces()  # let pending exports land first, so they are cleared too
        self._destination.clear()


class capture_traces:  # lowercase: used like a function, `with capture_traces() as t:`
    """Capture every trace finished inside the block, in memory, instead of exporting it.

    Traces finished before the block go to the configured destination as usual, and the previous
    destination is back in place after the block. Blocks may be nested; the inner one captures.

    Args:
        max_traces: How many traces to keep (oldest dropped first).

    Example:
        >>> with capture_traces() as traces:
        ...     answer("question")
        >>> traces[0].info.state
        'OK'
    """

    __slots__ = ("_capture", "_max_traces", "_previous")

    def __init__(self, max_traces: int = 10_000) -> None:
        self._max_traces = max_traces
        self._previous: TraceDestination | None = None
        self._capture: TraceCapture | None = None

    def __enter__(self) -> TraceCapture:
        if self._capture is not None:
            raise RuntimeError("this capture_traces() block is already active; create a new one")
        destination = MemoryDestination(max_traces=self._max_traces)
        self._previous = swap_destination(destination)
        self._capture = TraceCapture(destination)
        return self._capture

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        capture, previous = self._capture, self._previous
        self._capture = self._previous = None
        if capture is None or previous is None:
            return
        swap_destination(previous)  # flushes first, so the capture holds every finished trace
        capture._open = False


def _by_start(spans: Sequence[Span]) -> list[Span]:
    return sorted(spans, key=lambda span: span.start_time_ns)


def span_tree(trace: Trace) -> str:
    """Render a trace's spans as an indented tree, children in start order.

    Each line is ``name (SPAN_TYPE)``, followed by `` ERROR`` for spans with an error status;
    children are indented by two spaces. Spans whose parent is missing appear at the top level.

    Args:
        trace: A finished trace.

    Returns:
        The tree, one span per line, without a trailing newline.
    """
    spans = _by_start(trace.data.spans)
    ids = {span.span_id for span in spans}
    children: dict[str | None, list[Span]] = {}
    for span in spans:
        parent = span.parent_id if span.parent_id in ids else None
        children.setdefault(parent, []).append(span)
    lines: list[str] = []

    def render(parent: str | None, depth: int) -> None:
        for span in children.get(parent, []):
            error = " ERROR" if span.status.status_code == SpanStatusCode.ERROR else ""
            lines.append(f"{'  ' * depth}{span.name} ({span.span_type}){error}")
            render(span.span_id, depth + 1)

    render(None, 0)
    return "\n".join(lines)


def assert_span_tree(trace: Trace, expected: str) -> None:
    """Assert that ``trace`` has exactly the span tree ``expected`` (see :func:`span_tree`).

    ``expected`` may be indented as a whole (it is dedented) and may start or end with blank lines.

    Args:
        trace: A finished trace.
        expected: The expected tree.

    Raises:
        AssertionError: With both trees, if they differ.
    """
    wanted = dedent(expected.strip("\n")).rstrip()
    actual = span_tree(trace)
    if actual != wanted:
        raise AssertionError(f"span tree differs.\nexpected:\n{wanted}\nactual:\n{actual}")


def reset_integrations() -> None:
    """Turn every integration off and forget per-name choices, so each test starts clean.

    ``tracewire.autolog(disable=True)`` deliberately keeps an integration that was disabled by name
    off across later global enables; between tests that memory is unwanted. Call this in a fixture's
    teardown.
    """
    from tracewire._plugins import reset_integrations as reset  # noqa: PLC0415 - loads pluggy

    reset()
