"""Developer and CI sessions; plain ``nox`` runs every session but ``bench``."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = [
    "lint",
    "typecheck",
    "tests",
    "tests_oldest_deps",
    "mlflow_compat",
    "plugins",
]
nox.options.error_on_missing_interpreters = False

# The real MLflow package our traces must stay readable by (its tracing-only distribution).
MLFLOW_TRACING = "mlflow-tracing>=3.5"
TEST_REQUIREMENTS = ["pytest>=8", "pytest-asyncio>=0.23"]
# The floors declared in pyproject.toml: wrapt 1.x (what older OpenTelemetry releases pin) and the
# oldest pluggy and packaging we claim to support.
OLDEST_RUNTIME_DEPENDENCIES = ["wrapt==1.16.0", "pluggy==1.5.0", "packaging==22.0"]


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
    session.run("pytest", "tests", "-m", "not mlflow and not example_plugin", *session.posargs)


@nox.session
def tests_oldest_deps(session: nox.Session) -> None:
    """Run the core tests on the oldest wrapt, pluggy and packaging that pyproject.toml allows."""
    session.install(".", *OLDEST_RUNTIME_DEPENDENCIES, *TEST_REQUIREMENTS, "pydantic>=2")
    session.run("pytest", "tests/core", *session.posargs)


@nox.session
def mlflow_compat(session: nox.Session) -> None:
    """Check that the real ``mlflow-tracing`` package reads the traces tracewire writes."""
    session.install(".", *TEST_REQUIREMENTS, MLFLOW_TRACING)
    session.run("pytest", "tests", "-m", "mlflow", *session.posargs)


@nox.session
def plugins(session: nox.Session) -> None:
    """Install the example plugin distributions beside tracewire and test plugin discovery for real."""
    session.install(
        ".",
        "./tests/example_plugin/tracewire-example",
        "./tests/example_plugin/tracewire-broken",
        *TEST_REQUIREMENTS,
    )
    session.run("pytest", "tests/example_plugin", "-m", "example_plugin", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmark tracewire against mlflow-tracing side by side, in one run (not in the default set)."""
    session.install(".", MLFLOW_TRACING)
    session.run("python", "benchmarks/bench_core.py", *session.posargs)
