"""Fixtures every integration's tests share: cassette replay, span checks, error policy, fresh processes.

Each integration's own ``conftest.py`` (beside its tests) adds its SDK's clients and
``vcr_cassette_dir``; the fixtures here do not depend on any SDK.
"""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tracewire
from tracewire import _errors
from tracewire.entities import SpanStatusCode
from tracewire.tracing.constant import SpanAttributeKey


@pytest.fixture(scope="session")
def vcr_config() -> dict[str, Any]:
    """Replay only: a request the cassette does not hold fails the test.

    The credential headers are listed for anyone who records with this configuration; the
    cassettes' own recording scripts drop them too.
    """
    return {"record_mode": "none", "filter_headers": ["authorization", "api-key", "x-api-key"]}


@pytest.fixture
def collect_garbage() -> Callable[[], None]:
    """Return a function that finalizes unreachable objects (two passes, for proxy cycles)."""

    def collect() -> None:
        gc.collect()
        gc.collect()

    return collect


@pytest.fixture
def only_span(fresh_tracer: Any) -> Callable[[], Any]:
    """Return a function that flushes and returns the one span of the one trace recorded so far."""

    def read() -> Any:
        tracewire.flush()
        (trace,) = fresh_tracer.list_traces()
        (span,) = trace.data.spans
        return span

    return read


@pytest.fixture
def assert_failed_call() -> Callable[[Any, BaseException], None]:
    """Return a check that a span recorded the SDK error ``error``: ERROR, its event, no usage."""

    def check(span: Any, error: BaseException) -> None:
        assert span.status.status_code == SpanStatusCode.ERROR
        (event,) = span.events
        assert event.name == "exception"
        assert event.attributes["exception.type"] == type(error).__name__
        assert event.attributes["exception.message"] == str(error)
        assert SpanAttributeKey.CHAT_USAGE not in span.attributes  # no made-up usage

    return check


@pytest.fixture
def assert_disable_restores() -> Callable[
    [Callable[..., None], Callable[[], dict[str, Any]]], None
]:
    """Return a check that ``autolog()`` replaces every patch target and ``disable`` restores it.

    The check takes the integration's ``autolog`` and a function returning each patched
    attribute as stored on its owner, keyed by target; the originals must come back identical.
    """

    def check(autolog: Callable[..., None], patched_methods: Callable[[], dict[str, Any]]) -> None:
        originals = patched_methods()
        assert originals, "no patch target found"
        autolog()
        assert all(patched_methods()[key] is not originals[key] for key in originals)

        autolog(disable=True)

        assert all(patched_methods()[key] is originals[key] for key in originals)

    return check


@pytest.fixture
def lenient_errors(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> pytest.LogCaptureFixture:
    """Log tracewire's own errors as users get them (not raised) and return the captured log.

    Each error is logged as if for the first time in the process: tracewire logs an error once
    per place, and another test may already have met the same place.
    """
    monkeypatch.setenv("TRACEWIRE_STRICT", "0")
    monkeypatch.setattr(_errors, "_reported", set())
    caplog.set_level(logging.WARNING, logger="tracewire")
    return caplog


@pytest.fixture
def plant_bug(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any, str], str]:
    """Return a function that replaces ``module.name`` with one that raises; it returns the message.

    Stands in for a bug in tracewire's own code, to check that the host call never sees it.
    """

    def plant(module: Any, name: str) -> str:
        message = f"planted bug in {name}"

        def broken(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError(message)

        monkeypatch.setattr(module, name, broken)
        return message

    return plant


class FreshProcess:
    """Runs tracewire in a new interpreter, for what a process shows only once: its first imports.

    Args:
        site: The ``site_packages`` fixture, whose ``run_python`` starts the interpreter.
    """

    def __init__(self, site: Any) -> None:
        self._site = site

    def sdk_modules_autolog_imports(self, sdk: str, *, sdk_imported: bool) -> list[str]:
        """Return the modules of ``sdk`` that ``tracewire.<sdk>.autolog()`` imported.

        Args:
            sdk: The SDK's top-level module, also the integration's name.
            sdk_imported: Whether the application imported the SDK before calling autolog().
        """
        code = (
            "import json, sys\n"
            f"{'import ' + sdk if sdk_imported else ''}\n"
            "before = set(sys.modules)\n"
            f"import tracewire, tracewire.{sdk}\n"
            f"tracewire.{sdk}.autolog()\n"
            "added = set(sys.modules) - before\n"
            f"print(json.dumps(sorted(m for m in added if m.split('.')[0] == {sdk!r})))\n"
        )
        modules: list[str] = json.loads(self._site.run_python(code))
        return modules

    def trace_usage_of_call_after_import(
        self, sdk: str, *, client: str, call: str, cassette: Path
    ) -> dict[str, int]:
        """Call autolog(), only then import the SDK, make one call; return the trace's usage.

        Args:
            sdk: The SDK's top-level module, also the integration's name.
            client: An expression building the client (the SDK is imported as ``sdk``).
            call: A statement making the call with ``client``.
            cassette: The cassette the call is replayed from.
        """
        code = (
            "import json, tracewire, vcr\n"
            f"tracewire.{sdk}.autolog()\n"
            f"import {sdk}\n"
            f"client = {client}\n"
            f"with vcr.use_cassette({str(cassette)!r}, record_mode='none'):\n"
            f"    {call}\n"
            "trace = tracewire.get_trace(tracewire.get_last_active_trace_id())\n"
            "print(json.dumps(trace.info.token_usage))\n"
        )
        usage: dict[str, int] = json.loads(self._site.run_python(code))
        return usage


@pytest.fixture
def fresh_process(site_packages: Any) -> FreshProcess:
    """A :class:`FreshProcess` that runs tracewire in new interpreters."""
    return FreshProcess(site_packages)
