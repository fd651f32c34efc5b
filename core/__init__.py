"""tracewire: automatic, fast and correct tracing for Python LLM applications.

The manual API follows MLflow Tracing 3.x, so MLflow's documented examples run unchanged with
``import tracewire as mlflow``::

    import tracewire

    @tracewire.trace(span_type=tracewire.SpanType.RETRIEVER)
    def retrieve(query: str) -> list[str]: ...

    with tracewire.start_span("rerank") as span:
        span.set_inputs({"n": 10})

Integrations come from plugins: ``tracewire.autolog()`` turns on every installed one, and
``tracewire.<name>.autolog()`` one of them (see :mod:`tracewire.integration`).
"""

from __future__ import annotations

from tracewire import entities, tracing
from tracewire._autolog import autolog
from tracewire._autolog import resolve as _resolve
from tracewire._decorator import trace
from tracewire._experiments import set_experiment
from tracewire._fluent import (
    delete_traces,
    flush,
    get_active_trace_id,
    get_current_active_span,
    get_last_active_trace_id,
    get_trace,
    search_traces,
    start_span,
    start_span_no_context,
    update_current_trace,
)
from tracewire._tracking import get_tracking_uri, set_tracking_uri
from tracewire.entities import (
    Document,
    LiveSpan,
    NoOpSpan,
    Span,
    SpanEvent,
    SpanStatus,
    SpanStatusCode,
    SpanType,
    Trace,
    TraceData,
    TraceInfo,
    TraceState,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tracewire import hookspecs as hookspecs
    from tracewire import integration as integration
    from tracewire import testing as testing
    from tracewire.hookspecs import hookimpl as hookimpl

__version__ = "0.1.0"

# Public names that cost an import (pluggy, wrapt), so they load on first access.
_LAZY_SUBMODULES = frozenset({"hookspecs", "integration", "testing"})
_LAZY_ATTRIBUTES = frozenset({"hookimpl", *_LAZY_SUBMODULES})


def __getattr__(name: str) -> Any:
    """Resolve lazy public names, then registered integrations: ``tracewire.openai``."""
    if name.startswith("_"):
        raise AttributeError(f"module 'tracewire' has no attribute {name!r}")
    from importlib import import_module  # noqa: PLC0415 - deferred: most programs never need it

    if name in _LAZY_SUBMODULES:
        return import_module(f"tracewire.{name}")
    if name == "hookimpl":
        return import_module("tracewire.hookspecs").hookimpl
    return _resolve(name)


def __dir__() -> list[str]:
    """List the public names and the registered integrations (loading the plugins)."""
    from tracewire._plugins import integrations  # noqa: PLC0415 - loads plugins on demand

    dunders = {name for name in globals() if name.startswith("__")}
    return sorted({*dunders, *__all__, *_LAZY_SUBMODULES, *integrations()})


__all__ = [
    "Document",
    "LiveSpan",
    "NoOpSpan",
    "Span",
    "SpanEvent",
    "SpanStatus",
    "SpanStatusCode",
    "SpanType",
    "Trace",
    "TraceData",
    "TraceInfo",
    "TraceState",
    "__version__",
    "autolog",
    "delete_traces",
    "entities",
    "flush",
    "get_active_trace_id",
    "get_current_active_span",
    "get_last_active_trace_id",
    "get_trace",
    "get_tracking_uri",
    "hookimpl",
    "search_traces",
    "set_experiment",
    "set_tracking_uri",
    "start_span",
    "start_span_no_context",
    "trace",
    "tracing",
    "update_current_trace",
]
