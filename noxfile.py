"""Developer and CI sessions. ``nox`` runs the default set: lint, typecheck, tests, mlflow_compat."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "typecheck", "tests", "mlflow_compat"]
nox.options.error_on_missing_interpreters = False

# The real MLflow package our traces must stay readable by (its tracing-only distribution).
MLFLOW_TRACING = "mlflow-tracing>=3.5"
TEST_REQUIREMENTS = ["pytest>=8", "pytest-asyncio>=0.23"]


@nox.session
def lint(session: nox.Session) -> None:
    """Run ruff's linter and formatter check."""
    session.install("ruff==0.17.6")  # pinned: formatting changes between releases
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check the package with mypy in strict mode."""
    session.install("-e", ".", "--config-settings", "editable_mode=strict")
    session.install("mypy>=1.11", "pydantic>=2", "pytest>=8")
    session.run("mypy")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite against a non-editable install (what users get), no LLM SDKs installed."""
    session.install(".", *TEST_REQUIREMENTS, "pydantic>=2", "pandas", "build")
    session.run("pytest", "tests", "-m", "not mlflow", *session.posargs)


@nox.session
def mlflow_compat(session: nox.Session) -> None:
    """Check that the real ``mlflow-tracing`` package reads the traces tracewire writes."""
    session.install(".", *TEST_REQUIREMENTS, MLFLOW_TRACING)
    session.run("pytest", "tests", "-m", "mlflow", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmark tracewire against mlflow-tracing side by side, in one run (not in the default set)."""
    session.install(".", MLFLOW_TRACING)
    session.run("python", "benchmarks/bench_core.py", *session.posargs)
