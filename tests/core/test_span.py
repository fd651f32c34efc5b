"""LiveSpan, Span and NoOpSpan behaviour."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable

import pytest

import tracewire
from tracewire import _errors
from tracewire.entities import (
    LiveSpan,
    NoOpSpan,
    Span,
    SpanEvent,
    SpanStatus,
    SpanStatusCode,
    SpanType,
)
from tracewire.tracing.constant import SpanAttributeKey

LastTrace = Callable[[], tracewire.Trace]


def test_setters_are_visible_on_the_live_span() -> None:
    """Inputs, outputs, attributes and type read back from the live span as set."""
    with tracewire.start_span("s") as span:
        assert isinstance(span, LiveSpan)
        span.set_inputs({"q": "hi"})
        span.set_outputs(["a"])
        span.set_attributes({"k": 1, "nested": {"x": [1, 2]}})
        span.set_span_type(SpanType.RERANKER)
        assert span.inputs == {"q": "hi"}
        assert span.outputs == ["a"]
        assert span.get_attribute("nested") == {"x": [1, 2]}
        assert span.span_type == SpanType.RERANKER
        assert span.attributes[SpanAttributeKey.REQUEST_ID] == span.trace_id


def test_recorded_values_do_not_follow_later_mutation(last_trace: LastTrace) -> None:
    """Mutating an object after recording it does not rewrite what the span recorded."""
    messages = [{"role": "user", "content": "first"}]
    params = {"temperature": 0.1}
    with tracewire.start_span("s") as span:
        span.set_inputs(messages)
        span.set_attribute("params", params)
    messages.append({"role": "user", "content": "second"})
    params["temperature"] = 0.9
    recorded = last_trace().data.spans[0]
    assert recorded.inputs == [{"role": "user", "content": "first"}]
    assert recorded.get_attribute("params") == {"temperature": 0.1}


def test_unset_status_becomes_ok_at_end(last_trace: LastTrace) -> None:
    """A span that never set a status ends OK."""
    with tracewire.start_span("s"):
        pass
    assert last_trace().data.spans[0].status == SpanStatus(SpanStatusCode.OK)


@pytest.mark.parametrize(
    "status", ["ERROR", "error", SpanStatusCode.ERROR, SpanStatus("ERROR", "boom")]
)
def test_set_status_accepts_enum_string_and_status(status: object, last_trace: LastTrace) -> None:
    """``set_status`` takes a SpanStatus, a SpanStatusCode or its name."""
    with tracewire.start_span("s") as span:
        span.set_status(status)  # type: ignore[arg-type]
    assert last_trace().data.spans[0].status.status_code == SpanStatusCode.ERROR


def test_set_status_rejects_unknown_codes() -> None:
    """An unknown status is a clear ValueError."""
    with tracewire.start_span("s") as span, pytest.raises(ValueError, match="status code"):
        span.set_status("MAYBE")


def test_add_event_requires_a_span_event(last_trace: LastTrace) -> None:
    """Events are SpanEvent objects; anything else is a TypeError."""
    with tracewire.start_span("s") as span:
        span.add_event(SpanEvent("retry", attributes={"attempt": 2}))
        with pytest.raises(TypeError, match="SpanEvent"):
            span.add_event("retry")  # type: ignore[arg-type]
    event = last_trace().data.spans[0].events[0]
    assert (event.name, event.attributes) == ("retry", {"attempt": 2})


def test_record_exception_with_message_string(last_trace: LastTrace) -> None:
    """``record_exception`` also accepts a plain message."""
    with tracewire.start_span("s") as span:
        span.record_exception("upstream timed out")
    recorded = last_trace().data.spans[0]
    assert recorded.status.description == "Exception: upstream timed out"
    assert recorded.events[0].attributes["exception.message"] == "upstream timed out"
    assert recorded.events[0].attributes["exception.type"] == "Exception"


def test_end_is_idempotent_and_freezes_the_span(
    caplog: pytest.LogCaptureFixture, last_trace: LastTrace
) -> None:
    """A second ``end()`` does nothing; setters after end are ignored with a warning."""
    span = tracewire.start_span_no_context("detached")
    span.end(outputs="first")
    span.end(outputs="second")
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        span.set_attribute("late", True)
    recorded = last_trace().data.spans[0]
    assert recorded.outputs == "first"
    assert recorded.get_attribute("late") is None
    assert "already ended" in caplog.text


def test_end_accepts_outputs_attributes_status_and_time(last_trace: LastTrace) -> None:
    """``end()`` applies its keyword arguments before freezing."""
    span = tracewire.start_span_no_context("s", start_time_ns=1_000_000_000)
    span.end(outputs={"ok": 1}, attributes={"a": "b"}, status="ERROR", end_time_ns=3_000_000_000)
    recorded = last_trace().data.spans[0]
    assert recorded.outputs == {"ok": 1}
    assert recorded.get_attribute("a") == "b"
    assert recorded.status.status_code == SpanStatusCode.ERROR
    assert (recorded.start_time_ns, recorded.end_time_ns) == (1_000_000_000, 3_000_000_000)
    assert last_trace().info.execution_duration == 2000


def test_ids_have_mlflow_formats() -> None:
    """Trace ids are ``tr-`` + 32 hex digits; span ids 16 hex digits."""
    with tracewire.start_span("s") as span:
        assert span.trace_id.startswith("tr-")
        int(span.trace_id[3:], 16)
        assert len(span.trace_id) == 35
        assert span.span_id is not None
        assert len(span.span_id) == 16
        int(span.span_id, 16)


def test_span_dict_round_trip(last_trace: LastTrace) -> None:
    """``Span.from_dict(span.to_dict())`` preserves every field."""
    with tracewire.start_span("parent"), tracewire.start_span("child", SpanType.LLM) as child:
        child.set_inputs({"prompt": "p"})
        child.add_event(SpanEvent("e", timestamp=5, attributes={"n": [1, 2]}))
    original = last_trace().data.spans[1]
    copy = Span.from_dict(original.to_dict())
    for field in ("trace_id", "span_id", "parent_id", "name", "start_time_ns", "end_time_ns"):
        assert getattr(copy, field) == getattr(original, field)
    assert copy.status == original.status
    assert copy.attributes == original.attributes
    assert copy.events == original.events


def test_span_to_dict_uses_mlflow_wire_shape(last_trace: LastTrace) -> None:
    """Ids are base64 of their bytes, attributes JSON strings, status OTLP-style."""
    with tracewire.start_span("s") as span:
        span.set_inputs("x")
    data = last_trace().data.spans[0].to_dict()
    assert (len(data["trace_id"]), len(data["span_id"])) == (24, 12)
    assert data["parent_span_id"] is None
    assert data["attributes"][SpanAttributeKey.INPUTS] == '"x"'
    assert data["status"] == {"code": "STATUS_CODE_OK", "message": ""}
    assert data["kind"] == "SPAN_KIND_INTERNAL"


def test_span_from_dict_reports_missing_fields() -> None:
    """A span dict without ids is a clear ValueError."""
    with pytest.raises(ValueError, match="span_id"):
        Span.from_dict({"name": "x", "trace_id": "AAAA"})


def test_live_span_cannot_be_pickled() -> None:
    """Pickling a live span fails clearly instead of copying tracer internals."""
    with tracewire.start_span("s") as span, pytest.raises(TypeError, match="to_immutable_span"):
        pickle.dumps(span)


def test_no_op_span_accepts_every_call() -> None:
    """NoOpSpan's methods do nothing and its ids are empty."""
    span = NoOpSpan()
    span.set_inputs(1)
    span.set_outputs(1)
    span.set_attribute("a", 1)
    span.set_attributes({"a": 1})
    span.set_status("OK")
    span.add_event(SpanEvent("e"))
    span.record_exception(ValueError())
    span.end()
    assert span.span_id is None
    assert span.trace_id == "MLFLOW_NO_OP_SPAN_TRACE_ID"
    assert span.attributes == {}


def _start_root(name: str = "call") -> LiveSpan:
    span = tracewire.start_span_no_context(name)
    assert isinstance(span, LiveSpan)
    return span


def test_attributes_recorded_later_reach_the_exported_span(last_trace: LastTrace) -> None:
    """A derivation set before the end is run once; its attributes are exported with the span."""
    runs: list[int] = []

    def derive() -> dict[str, object]:
        runs.append(1)
        return {"usage": {"input_tokens": 3}, SpanAttributeKey.OUTPUTS: "done"}

    span = _start_root()
    span._record_later(derive)
    span.end()

    recorded = last_trace().data.spans[0]
    assert recorded.get_attribute("usage") == {"input_tokens": 3}
    assert recorded.outputs == "done"
    assert runs == [1]


def test_attributes_recorded_later_are_visible_on_the_live_span_before_export() -> None:
    """Reading the live span runs the derivation at once; the export does not run it again."""
    runs: list[int] = []

    def derive() -> dict[str, object]:
        runs.append(1)
        return {"model": "m-1"}

    span = _start_root()
    span._record_later(derive)
    span.end()

    assert span.get_attribute("model") == "m-1"
    assert span.attributes["model"] == "m-1"
    tracewire.flush()
    assert runs == [1]


def test_a_key_the_derivation_leaves_out_is_absent(last_trace: LastTrace) -> None:
    """Nothing is invented for a value the derivation did not return (no null, no 0)."""
    span = _start_root()
    span._record_later(dict)
    span.end()

    recorded = last_trace().data.spans[0]
    assert SpanAttributeKey.CHAT_USAGE not in recorded.attributes


def test_span_processors_see_attributes_recorded_later(last_trace: LastTrace) -> None:
    """Processors run at the end on every attribute, derived ones included, and may redact them."""

    def redact(span: LiveSpan) -> None:
        if span.outputs == "secret":
            span.set_outputs("***")

    tracewire.tracing.configure(span_processors=[redact])
    span = _start_root()
    span._record_later(lambda: {SpanAttributeKey.OUTPUTS: "secret"})
    span.end()

    assert last_trace().data.spans[0].outputs == "***"


def test_a_failing_derivation_raises_in_strict_mode() -> None:
    """Under ``TRACEWIRE_STRICT=1`` a broken derivation is a failure, not a silent loss."""
    span = _start_root()
    span._record_later(lambda: 1 / 0)  # type: ignore[arg-type, return-value]
    span.end()

    with pytest.raises(ZeroDivisionError):
        span.get_attribute("anything")


def test_a_failing_derivation_keeps_the_rest_of_the_trace(
    monkeypatch: pytest.MonkeyPatch, last_trace: LastTrace, caplog: pytest.LogCaptureFixture
) -> None:
    """Outside strict mode the error is logged; the span is exported with what it had."""
    monkeypatch.delenv("TRACEWIRE_STRICT")
    monkeypatch.setattr(_errors, "_reported", set())
    span = _start_root()
    span.set_inputs({"q": "hi"})
    span._record_later(lambda: 1 / 0)  # type: ignore[arg-type, return-value]
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        span.end()
        recorded = last_trace().data.spans[0]

    assert recorded.inputs == {"q": "hi"}
    assert "recording a call's result" in caplog.text


def test_two_derivations_both_run_in_order(last_trace: LastTrace) -> None:
    """A call's inputs and its result are derived separately; the later one's keys win."""
    span = _start_root()
    span._record_later(lambda: {SpanAttributeKey.INPUTS: "asked", "model": "requested"})
    span._record_later(lambda: {SpanAttributeKey.OUTPUTS: "answered", "model": "answering"})
    span.end()

    recorded = last_trace().data.spans[0]
    assert (recorded.inputs, recorded.outputs) == ("asked", "answered")
    assert recorded.get_attribute("model") == "answering"


def test_three_derivations_all_run_in_order(last_trace: LastTrace) -> None:
    span = _start_root()
    for number in range(3):
        span._record_later(lambda number=number: {f"k{number}": number, "last": number})
    span.end()

    recorded = last_trace().data.spans[0]
    assert [recorded.get_attribute(key) for key in ("k0", "k1", "k2", "last")] == [0, 1, 2, 2]


def test_one_failing_derivation_keeps_the_other(
    monkeypatch: pytest.MonkeyPatch, last_trace: LastTrace, caplog: pytest.LogCaptureFixture
) -> None:
    """Outside strict mode, a broken inputs derivation does not cost the span its outputs."""
    monkeypatch.delenv("TRACEWIRE_STRICT")
    monkeypatch.setattr(_errors, "_reported", set())
    span = _start_root()
    span._record_later(lambda: 1 / 0)  # type: ignore[arg-type, return-value]
    span._record_later(lambda: {SpanAttributeKey.OUTPUTS: "answered"})
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        span.end()
        recorded = last_trace().data.spans[0]

    assert recorded.outputs == "answered"
    assert "recording a call's result" in caplog.text
