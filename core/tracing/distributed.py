"""Distributed tracing helpers under MLflow's module path, ``mlflow.tracing.distributed``.

Both functions are also available as ``tracewire.tracing.<name>``; see :mod:`tracewire._propagation`.
"""

from __future__ import annotations

from tracewire._propagation import (
    get_tracing_context_headers_for_http_request,
    set_tracing_context_from_http_request_headers,
)

__all__ = [
    "get_tracing_context_headers_for_http_request",
    "set_tracing_context_from_http_request_headers",
]
