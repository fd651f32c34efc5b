"""Our own bugs never reach the user's code, except under TRACEWIRE_STRICT=1."""

from __future__ import annotations

import logging

import pytest

import tracewire
from tracewire import _context


def _broken_ids(*args: object) -> str:
    raise RuntimeError("tracewire bug")


def _break_span_creation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_context, "new_span_id", _broken_ids)
    monkeypatch.setattr(_context, "getrandbits", _broken_ids)


@tracewire.trace
def _double(x: int) -> int:
    return 2 * x


def test_internal_error_is_logged_once_and_the_call_still_works(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Without strict mode, a failure inside tracewire is logged once; the user's call returns."""
    monkeypatch.setenv("TRACEWIRE_STRICT", "0")
    _break_span_creation(monkeypatch)
    monkeypatch.setattr(tracewire._errors, "_reported", set())
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        assert _double(2) == 4
        assert _double(3) == 6
        with tracewire.start_span("manual") as span:
            span.set_inputs("ignored")
    warnings = [r for r in caplog.records if "internal error" in r.getMessage()]
    assert len(warnings) == 1
    assert "tracewire bug" in caplog.text


def test_internal_error_keeps_the_users_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    """When tracing is broken, the user's own exception still propagates unchanged."""
    monkeypatch.setenv("TRACEWIRE_STRICT", "0")
    _break_span_creation(monkeypatch)
    error = LookupError("user's")

    @tracewire.trace
    def fail() -> None:
        raise error

    with pytest.raises(LookupError) as caught:
        fail()
    assert caught.value is error


def test_internal_error_raises_in_strict_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """With TRACEWIRE_STRICT=1 (the test suite's setting) internal errors raise."""
    _break_span_creation(monkeypatch)
    with pytest.raises(RuntimeError, match="tracewire bug"):
        _double(1)
