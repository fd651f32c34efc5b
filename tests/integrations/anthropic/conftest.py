"""Fixtures for the Anthropic integration tests: real SDK clients, HTTP replayed from cassettes.

Every test that talks HTTP is marked ``@pytest.mark.vcr("<cassette>.yaml")``; pytest-recording
replays ``cassettes/anthropic/<cassette>.yaml`` with ``record_mode=none`` (a request the cassette
does not hold fails the test), and ``nox -s anthropic`` runs with ``--block-network``.
"""

from __future__ import annotations

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
def hello_event_types() -> list[str]:
    """The event types the caller sees in the recorded "Say hello." streams (``ping`` dropped)."""
    return [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


@pytest.fixture
def messages() -> list[dict[str, str]]:
    """The chat the plain cassettes were recorded with."""
    return [{"role": "user", "content": "Say hello."}]


@pytest.fixture
def hello_usage() -> dict[str, int]:
    """``mlflow.chat.tokenUsage`` of the "Say hello." cassettes (create, stream, beta, Vertex).

    The streamed ones say 14 in / 1 out in ``message_start`` and 5 out in ``message_delta``.
    """
    return {
        "input_tokens": 14,
        "output_tokens": 5,
        "total_tokens": 19,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
    }


@pytest.fixture
def weather_tool() -> dict[str, Any]:
    """The custom tool of the ``*_tool_use`` cassettes."""
    return {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "input_schema": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name, e.g. Paris"}},
            "required": ["city"],
        },
    }


@pytest.fixture
def weather_messages() -> list[dict[str, str]]:
    """The chat of the ``*_tool_use`` cassettes."""
    return [{"role": "user", "content": "What is the weather in Paris?"}]


@pytest.fixture
def cached_system() -> list[dict[str, Any]]:
    """The system prompt of the ``*_prompt_caching_*`` cassettes (a stand-in for a long one)."""
    return [
        {
            "type": "text",
            "text": "You are a meticulous assistant. <long reference document stands here>",
            "cache_control": {"type": "ephemeral"},
        }
    ]
