"""Tracing controls (``enable``, ``disable``, ``configure``, ``suppress``) and distributed tracing.

Mirrors ``mlflow.tracing`` so MLflow's documented calls run unchanged with ``import tracewire as mlflow``.
"""

from __future__ import annotations

from tracewire._controls import configure, disable, enable, is_enabled, suppress
from tracewire._propagation import (
    get_tracing_context_headers_for_http_request,
    set_tracing_context_from_http_request_headers,
)

__all__ = [
    "configure",
    "disable",
    "enable",
    "get_tracing_context_headers_for_http_request",
    "is_enabled",
    "set_tracing_context_from_http_request_headers",
    "suppress",
]
