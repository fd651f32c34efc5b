"""The critical path of a trace: the chain of spans that determines its duration.

Walking back from the end of a span, the child that finished last is on the path, then the child
that finished last before that one started, and so on, recursively. Time on the path that no child
covers is the span's own ("self") time there; the spans with the most of it are where the trace's
duration goes. Overlapping (parallel) children that finish earlier are off the path.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from tracewire._span import Span

GAPS = "(between top spans)"


def span_end(span: Span) -> int:
    """A span's end in nanoseconds; an unfinished span counts as instantaneous."""
    return span.end_time_ns if span.end_time_ns is not None else span.start_time_ns


class CriticalPath:
    """The spans on a trace's critical path and each one's self time on it.

    Args:
        spans: The trace's spans.
    """

    def __init__(self, spans: Sequence[Span]) -> None:
        self.span_ids: set[str] = set()
        #: Self time on the path per span id; ``None`` is time between the top spans.
        self.self_ns: dict[str | None, int] = {}
        self.total_ns = 0
        if not spans:
            return
        by_id = {span.span_id: span for span in spans}
        children: dict[str | None, list[Span]] = {}
        for span in spans:
            parent = span.parent_id if span.parent_id in by_id else None
            children.setdefault(parent, []).append(span)
        start = min(span.start_time_ns for span in spans)
        end = max(span_end(span) for span in spans)
        self.total_ns = end - start
        # A virtual root spans the whole trace, so a distributed part's several top spans (and
        # the gaps between them) are handled like a root's children.
        stack: list[tuple[str | None, int, int]] = [(None, start, end)]
        while stack:
            owner, low, high = stack.pop()
            covered = 0
            cursor = high
            # Latest end first: the first child starting before the cursor is the next one back.
            # A child skipped for starting at or after the cursor never qualifies again, since the
            # cursor only moves back, so one pass over the sorted children suffices.
            for child in sorted(children.get(owner, ()), key=span_end, reverse=True):
                if cursor <= low:
                    break
                if child.start_time_ns >= cursor or span_end(child) <= low:
                    continue
                child_low = max(child.start_time_ns, low)
                child_high = min(span_end(child), cursor)
                self.span_ids.add(child.span_id)
                covered += child_high - child_low
                stack.append((child.span_id, child_low, child_high))
                cursor = child_low
            self.self_ns[owner] = max(0, high - low - covered)

    def contributors(self, names: dict[str, str], count: int) -> list[tuple[str, int, int]]:
        """Where the path's time goes: self time summed per span name, largest first.

        Args:
            names: Span id to name.
            count: How many names to return.

        Returns:
            ``(name, nanoseconds, number of spans)``; time between a distributed part's top
            spans is named :data:`GAPS`.
        """
        totals: dict[str, list[int]] = {}
        for span_id, ns in self.self_ns.items():
            if ns <= 0:
                continue
            name = names.get(span_id, "") if span_id is not None else GAPS
            entry = totals.setdefault(name, [0, 0])
            entry[0] += ns
            entry[1] += 1
        ranked = sorted(totals.items(), key=lambda item: item[1][0], reverse=True)
        return [(name, ns, spans) for name, (ns, spans) in ranked[:count]]
