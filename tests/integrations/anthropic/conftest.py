"""Fixtures for the Anthropic integration tests: real SDK clients, HTTP replayed from cassettes.

Every test that talks HTTP is marked ``@pytest.mark.vcr("<cassette>.yaml")``; pytest-recording
replays ``cassettes/anthropic/<cassette>.yaml`` with ``record_mode=none`` (a request the cassette
does not hold fails the test), and ``nox -s anthropic`` runs with ``--block-network``.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

anthropic = pytest.importorskip(
    "anthropic", reason="needs the anthropic SDK; run `nox -s anthropic`"
)

import tracewire  # noqa: E402 - after the skip above

CASSETTES = Path(__file__).parents[3] / "cassettes" / "anthropic"


@pytest.fixture(scope="session")
def vcr_cassette_dir() -> str:
    return str(CASSETTES)


@pytest.fixture(scope="session")
def vcr_config() -> dict[str, Any]:
    return {"record_mode": "none", "filter_headers": ["x-api-key", "authorization"]}


@pytest.fixture
def autolog() -> None:
    """Turn the Anthropic integration on for one test; the shared teardown turns it off again."""
    tracewire.anthropic.autolog()


@pytest.fixture
def client(autolog: None) -> Any:
    return anthropic.Anthropic(api_key="sk-ant-test", max_retries=0)


@pytest.fixture
def async_client(autolog: None) -> Any:
    return anthropic.AsyncAnthropic(api_key="sk-ant-test", max_retries=0)


@pytest.fixture
def messages() -> list[dict[str, str]]:
    """The chat the plain cassettes were recorded with."""
    return [{"role": "user", "content": "Say hello."}]


@pytest.fixture
def collect_garbage() -> Callable[[], None]:
    """Return a function that finalizes unreachable objects (two passes, for proxy cycles)."""

    def collect() -> None:
        gc.collect()
        gc.collect()

    return collect
