"""Rendering for the CLI: numbers, styles, the trace table, the span tree and its critical path."""

from __future__ import annotations

import io
from typing import Any

import pytest

import tracewire
from tracewire._critical_path import GAPS, CriticalPath
from tracewire._render import (
    Style,
    detect_style,
    fit,
    format_count,
    format_duration,
    format_time,
    trace_table,
)
from tracewire._render_tree import render_trace
from tracewire.entities import SpanStatus, SpanType, Trace
from tracewire.tracing.constant import SpanAttributeKey

UNICODE = Style(unicode=True, color=False)
ASCII = Style(unicode=False, color=False)
BASE_NS = 1_700_000_000_000_000_000
MS = 1_000_000


def make_trace(*spans: tuple[str, str | None, float, float], **extra: dict[str, Any]) -> Trace:
    """Record a real trace with exact times: ``(name, parent name, start ms, end ms)`` each.

    ``extra[name]`` may set ``type``, ``usage``, ``model`` and ``error`` for a span. Names are
    unique keys here; the first span is the root.
    """
    live: dict[str, Any] = {}
    for name, parent, start, _ in spans:
        options = extra.get(name, {})
        span = tracewire.start_span_no_context(
            name.split("#")[0],
            span_type=options.get("type", SpanType.UNKNOWN),
            parent_span=live[parent] if parent else None,
            start_time_ns=BASE_NS + int(start * MS),
        )
        if "usage" in options:
            span.set_attribute(SpanAttributeKey.CHAT_USAGE, options["usage"])
        if "model" in options:
            span.set_attribute(SpanAttributeKey.MODEL, options["model"])
        if "error" in options:
            span.set_status(SpanStatus("ERROR", options["error"]))
        live[name] = span
    for name, _, _, end in reversed(spans):
        live[name].end(end_time_ns=BASE_NS + int(end * MS))
    trace = tracewire.get_trace(live[spans[0][0]].trace_id)
    assert trace is not None
    return trace


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0 µs"),
        (850_000, "850 µs"),
        (12_345_678, "12.3 ms"),
        (123_456_789, "123 ms"),
        (1_234_000_000, "1.23 s"),
        (12_300_000_000, "12.3 s"),
        (125_000_000_000, "2 m 05 s"),
        (7_260_000_000_000, "2 h 01 m"),
        (None, "?"),
    ],
)
def test_durations_are_human_readable(ns: int | None, text: str) -> None:
    assert format_duration(ns, UNICODE) == text


def test_ascii_durations_spell_micro_as_u() -> None:
    assert format_duration(850_000, ASCII) == "850 us"


def test_counts_have_thousands_separators() -> None:
    assert format_count(1_234_567) == "1,234,567"
    assert format_count(None) == "-"


def test_fit_cuts_with_an_ellipsis_and_keeps_one_line() -> None:
    assert fit("short", 10, UNICODE) == "short"
    assert fit("a  long\nline of text", 8, UNICODE) == "a long …"
    assert fit("a long line", 8, ASCII) == "a lon..."
    assert fit("abc", 2, ASCII) == ".."


class _Terminal(io.StringIO):
    """A text stream that says it is a terminal, with a chosen encoding."""

    def __init__(self, encoding: str = "utf-8", tty: bool = True) -> None:
        super().__init__()
        self._encoding = encoding
        self._tty = tty

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding

    def isatty(self) -> bool:
        return self._tty


def test_style_follows_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert detect_style(_Terminal()).color
    assert detect_style(_Terminal()).unicode
    assert not detect_style(_Terminal(tty=False)).color
    assert detect_style(_Terminal(tty=False), color="always").color
    assert not detect_style(_Terminal(), color="never").color
    assert not detect_style(_Terminal(encoding="ascii")).unicode
    assert not detect_style(_Terminal(encoding="latin-1")).unicode
    assert not detect_style(_Terminal(), ascii_only=True).unicode
    monkeypatch.setenv("NO_COLOR", "1")
    assert not detect_style(_Terminal()).color


def test_critical_path_follows_the_last_finishing_child_back() -> None:
    trace = make_trace(
        ("root", None, 0, 100),
        ("a", "root", 0, 10),
        ("b", "root", 10, 60),
        ("parallel", "root", 15, 40),  # overlaps b and ends first: off the path
        ("b1", "b", 12, 58),
        ("d", "root", 60, 100),
    )
    names = {s.span_id: s.name for s in trace.data.spans}
    path = CriticalPath(trace.data.spans)
    assert {names[i] for i in path.span_ids} == {"root", "a", "b", "b1", "d"}
    assert path.total_ns == 100 * MS
    assert path.contributors(names, 2) == [("b1", 46 * MS, 1), ("d", 40 * MS, 1)]


def test_critical_path_of_children_started_together_is_the_slowest() -> None:
    trace = make_trace(
        ("root", None, 0, 50),
        ("fast", "root", 1, 10),
        ("slow", "root", 1, 45),
        ("medium", "root", 1, 30),
    )
    names = {s.span_id: s.name for s in trace.data.spans}
    assert {names[i] for i in CriticalPath(trace.data.spans).span_ids} == {"root", "slow"}


def test_critical_path_of_a_distributed_part_counts_the_gaps_between_top_spans() -> None:
    spans = make_trace(("top1", None, 0, 10), ("x", "top1", 1, 9)).data.spans
    spans += make_trace(("top2", None, 30, 40)).data.spans
    path = CriticalPath(spans)
    names = {s.span_id: s.name for s in spans}
    assert path.total_ns == 40 * MS
    assert (GAPS, 20 * MS, 1) in path.contributors(names, 5)


def _pipeline() -> Trace:
    return make_trace(
        ("rag", None, 0, 1240),
        ("retrieve", "rag", 1, 3),
        ("llm", "rag", 5, 1230),
        ("tool", "rag", 1231, 1239),
        rag={"type": SpanType.CHAIN},
        retrieve={"type": SpanType.RETRIEVER},
        llm={
            "type": SpanType.CHAT_MODEL,
            "model": "gpt-4o-mini",
            "usage": {"input_tokens": 1234, "output_tokens": 56, "total_tokens": 1290},
        },
        tool={"type": SpanType.TOOL, "error": "ValueError: boom"},
    )


def test_tree_shows_types_durations_status_tokens_and_the_critical_path() -> None:
    lines = render_trace(_pipeline(), UNICODE, 120)
    text = "\n".join(lines)
    assert "Tokens   1,234 in · 56 out · 1,290 total" in text
    llm = next(line for line in lines if "└─" not in line and " llm " in line)
    assert llm.startswith("◆ ├─ llm  gpt-4o-mini")
    assert llm.split()[4:9] == ["CHAT_MODEL", "OK", "1.23", "s", "1,234"]
    assert "1,234 → 56" in llm
    tool = next(line for line in lines if " tool " in line)
    assert tool.split()[3:5] == ["TOOL", "ERROR"]
    assert lines[lines.index(tool) + 1].strip() == "└─ ValueError: boom"
    assert "◆ critical path 1.24 s: llm 1.23 s (99%)" in text
    assert all(len(line) <= 120 for line in lines)


def test_tree_in_ascii_has_no_other_characters() -> None:
    text = "\n".join(render_trace(_pipeline(), ASCII, 120))
    assert text.isascii()
    assert "* |- llm" in text
    assert "1,234 -> 56" in text


def test_colour_only_when_asked() -> None:
    assert "\x1b[" not in "\n".join(render_trace(_pipeline(), UNICODE, 120))
    coloured = "\n".join(render_trace(_pipeline(), Style(color=True), 120))
    assert "\x1b[31;1mERROR\x1b[0m" in coloured


def test_narrow_terminals_drop_the_timeline_and_cut_names() -> None:
    wide = render_trace(_pipeline(), UNICODE, 140)
    narrow = render_trace(_pipeline(), UNICODE, 70)
    assert any("TIMELINE" in line for line in wide)
    assert not any("TIMELINE" in line for line in narrow)


def _wide_trace(count: int) -> Trace:
    spans: list[tuple[str, str | None, float, float]] = [("agent", None, 0, count + 10)]
    extra: dict[str, dict[str, Any]] = {}
    for i in range(count):
        spans.append((f"embed#{i}", "agent", i, i + 0.5))
        spans.append((f"inner#{i}", f"embed#{i}", i + 0.1, i + 0.2))
        extra[f"embed#{i}"] = {
            "type": SpanType.EMBEDDING,
            "usage": {"input_tokens": 10, "total_tokens": 10},
        }
    extra[f"embed#{count // 2}"]["error"] = "RateLimitError: slow down"
    return make_trace(*spans, **extra)


def test_a_large_trace_stays_readable_by_folding_long_sibling_runs() -> None:
    trace = _wide_trace(120)
    assert len(trace.data.spans) == 241
    lines = render_trace(trace, UNICODE, 120)
    text = "\n".join(lines)
    assert len(lines) < 40
    assert "more 'embed' spans" in text
    assert "RateLimitError: slow down" in text  # a failed span is never folded away
    assert "tokens" in text
    assert all(len(line) <= 120 for line in lines)
    unfolded = render_trace(trace, UNICODE, 120, collapse=0)
    assert len(unfolded) > 240


def test_depth_cuts_the_tree() -> None:
    lines = render_trace(_wide_trace(3), UNICODE, 120, depth=0)
    assert any("6 spans below (--depth)" in line for line in lines)
    assert not any("─ embed" in line for line in lines)


def test_a_distributed_part_says_its_root_is_elsewhere() -> None:
    headers = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
    with (
        tracewire.tracing.set_tracing_context_from_http_request_headers(headers),
        tracewire.start_span("handler"),
    ):
        pass
    trace = tracewire.get_trace("tr-4bf92f3577b34da6a3ce929d0e0e4736")
    assert trace is not None
    text = "\n".join(render_trace(trace, UNICODE, 120))
    assert "one process's part of a distributed trace" in text
    assert "handler  (parent 00f067aa0ba902b7 is in another process)" in text


def test_trace_table_keeps_ids_whole_and_cuts_long_names() -> None:
    trace = make_trace(("a_very_long_pipeline_name_that_goes_on_and_on", None, 0, 5))
    lines = trace_table([_pipeline(), trace], UNICODE, 120)
    columns = "TRACE ID NAME STATE STARTED DURATION IN OUT TOTAL"
    assert lines[0].split() == columns.split()
    assert trace.trace_id in lines[2]
    started = BASE_NS // MS
    short = format_time(started, compact=True)  # the year went first
    assert f"a_very_long_pipeline_name_that…  OK     {short}" in lines[2]
    roomy = trace_table([trace], UNICODE, 160)[1]
    assert f"a_very_long_pipeline_name_that_goes_on_and_on  OK     {format_time(started)}" in roomy
    assert lines[1].split()[-3:] == ["1,234", "56", "1,290"]
    assert lines[2].split()[-3:] == ["-", "-", "-"]
    assert all(len(line) <= 120 for line in lines)
    assert "a_very_…" in trace_table([trace], UNICODE, 60)[1]  # never narrower than 8


def test_a_trace_without_token_usage_has_no_tokens_column() -> None:
    lines = render_trace(make_trace(("a", None, 0, 1), ("b", "a", 0, 1)), UNICODE, 120)
    header = next(line for line in lines if line.startswith("SPAN"))
    assert header.split() == ["SPAN", "TYPE", "STATUS", "DURATION", "TIMELINE"]
    assert not any(line.startswith("Tokens") for line in lines)
