"""Tracing controls: ``enable``, ``disable``, ``configure`` (span processors), ``suppress``.

Mirrors ``mlflow.tracing`` so MLflow's documented calls run unchanged with ``import tracewire as mlflow``.
"""

from __future__ import annotations

from tracewire._controls import configure, disable, enable, is_enabled, suppress

__all__ = [
    "configure",
    "disable",
    "enable",
    "is_enabled",
    "suppress",
]
