"""Developer and CI sessions; plain ``nox`` runs every session but ``bench``."""

from __future__ import annotations

import os
import shutil

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = [
    "lint",
    "typecheck",
    "tests",
    "tests_oldest_deps",
    "mlflow_compat",
    "plugins",
    "openai",
    "anthropic",
    "interop",
    "demo",
]
nox.options.error_on_missing_interpreters = False

# The real MLflow package our traces must stay readable by (its tracing-only distribution).
MLFLOW_TRACING = "mlflow-tracing>=3.5"
# The full package, for `mlflow server`: OTLP ingestion needs a 3.4+ server with a SQL store.
MLFLOW_SERVER = "mlflow>=3.4"
TEST_REQUIREMENTS = ["pytest>=8", "pytest-asyncio>=0.23"]
# The floors declared in pyproject.toml: wrapt 1.x (what older OpenTelemetry releases pin) and the
# oldest pluggy and packaging we claim to support.
OLDEST_RUNTIME_DEPENDENCIES = ["wrapt==1.16.0", "pluggy==1.5.0", "packaging==22.0"]
# Integration tests replay HTTP from cassettes; --block-network makes any real request fail.
CASSETTE_REQUIREMENTS = ["vcrpy>=7", "pytest-recording>=0.13"]
# The oldest supported openai, the newest 2.x and the newest 3.x. 1.40 predates httpx 0.28 (which
# removed an argument it passes) and asks for base64 embeddings only when numpy is installed.
# openai 3.x cannot share an environment with dspy (litellm pins openai<3): this session has neither.
OPENAI_VERSIONS = {
    "oldest": ["openai==1.40.0", "httpx<0.28", "numpy"],
    "2.x": ["openai>=2,<3"],
    "3.x": ["openai>=3,<4"],
}

# The oldest supported anthropic and the newest 2.x. Every 0.x gives `Stream` a metaclass whose
# isinstance() check answers False for any proxy (a leftover of an old MessageStream subclass),
# so a traced stream would fail `isinstance(stream, anthropic.Stream)` there; 1.0 dropped it.
ANTHROPIC_VERSIONS = {
    "oldest": ["anthropic==1.0.0"],
    "newest": ["anthropic>=2,<3"],
}


@nox.session
def lint(session: nox.Session) -> None:
    """Run ruff's linter and formatter check."""
    session.install("ruff==0.17.6")  # pinned: formatting changes between releases
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check the package with mypy in strict mode."""
    session.install("-e", ".[otlp]", "--config-settings", "editable_mode=strict")
    # types-protobuf: the stubs opentelemetry-proto's own .pyi files import.
    session.install("mypy>=1.11", "pydantic>=2", "pytest>=8", "types-protobuf")
    session.run("mypy")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite against a non-editable install (what users get), no LLM SDKs installed.

    The ``otlp`` extra is installed so the OTLP conversion and destination tests run here, and
    ``opentelemetry-sdk`` to show that a global OpenTelemetry provider does not duplicate our spans.
    """
    session.install(
        ".[otlp]", *TEST_REQUIREMENTS, "pydantic>=2", "pandas", "build", "opentelemetry-sdk"
    )
    session.run(
        "pytest",
        "tests",
        "--ignore=tests/integrations",  # each SDK has its own session, with the SDK installed
        "-m",
        "not mlflow and not mlflow_server and not example_plugin",
        *session.posargs,
    )


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
def interop(session: nox.Session) -> None:
    """Export to a real ``mlflow server`` (started on 127.0.0.1) and read back with the mlflow client.

    The full ``mlflow`` package provides the server and the client; openai and the cassette tools
    replay an autologged OpenAI call. Network access is blocked except for 127.0.0.1.
    """
    session.install(
        ".[otlp,openai]", *TEST_REQUIREMENTS, *CASSETTE_REQUIREMENTS, MLFLOW_SERVER, "pydantic>=2"
    )
    session.run(
        "pytest",
        "tests/interop",
        "-m",
        "mlflow_server",
        "--block-network",
        "--allowed-hosts=127.0.0.1",
        *session.posargs,
    )


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
@nox.parametrize("openai", list(OPENAI_VERSIONS), ids=list(OPENAI_VERSIONS))
def openai(session: nox.Session, openai: str) -> None:
    """Run the OpenAI integration tests on the oldest supported, newest 2.x and newest 3.x openai."""
    session.install(
        ".", *OPENAI_VERSIONS[openai], *TEST_REQUIREMENTS, *CASSETTE_REQUIREMENTS, "pydantic>=2"
    )
    session.run("python", "-c", "import openai; print('openai', openai.__version__)")
    session.run("pytest", "tests/integrations/openai", "--block-network", *session.posargs)


@nox.session
@nox.parametrize("anthropic", list(ANTHROPIC_VERSIONS), ids=list(ANTHROPIC_VERSIONS))
def anthropic(session: nox.Session, anthropic: str) -> None:
    """Run the Anthropic integration tests on the oldest supported and the newest anthropic."""
    session.install(
        ".",
        *ANTHROPIC_VERSIONS[anthropic],
        *TEST_REQUIREMENTS,
        *CASSETTE_REQUIREMENTS,
        "pydantic>=2",
        "opentelemetry-sdk",  # anthropic 2.x's own spans must not duplicate ours
        "boto3",  # AnthropicBedrock signs with it and decodes its event streams with botocore
    )
    session.run("python", "-c", "import anthropic; print('anthropic', anthropic.__version__)")
    session.run("pytest", "tests/integrations/anthropic", "--block-network", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """Run the demo's tests and the README's ``tracewire demo`` command, with the OpenAI SDK."""
    session.install(".[openai]", *TEST_REQUIREMENTS)
    session.run("pytest", "tests/core/test_demo.py", *session.posargs)
    store = os.path.join(session.create_tmp(), "demo.db")
    if os.path.exists(store):
        os.remove(store)
    env = {"TRACEWIRE_TRACKING_URI": f"sqlite:///{store}"}
    session.run("tracewire", "demo", env=env)
    session.run("tracewire", "traces", "list", env=env)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmark tracewire against mlflow-tracing side by side, in one run (not in the default set)."""
    session.install(".[openai,anthropic,otlp]", MLFLOW_TRACING)
    session.run("python", "benchmarks/bench_core.py", *session.posargs)
    session.run("python", "benchmarks/bench_openai.py", *session.posargs)
    session.run("python", "benchmarks/bench_anthropic.py", *session.posargs)
    session.run("python", "benchmarks/bench_store.py", *session.posargs)
    session.run("python", "benchmarks/bench_export_backends.py", *session.posargs)
    if shutil.which("valgrind"):
        for sdk in ("openai", "anthropic"):
            session.run("python", "benchmarks/bench_instructions.py", "--sdk", sdk)
    else:
        session.log("valgrind is not installed: skipping bench_instructions.py")
