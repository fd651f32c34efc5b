"""Fixtures for the OpenAI integration tests: real SDK clients, HTTP replayed from cassettes.

Every test that talks HTTP is marked ``@pytest.mark.vcr("<cassette>.yaml")``; pytest-recording
replays ``cassettes/openai/<cassette>.yaml`` with ``record_mode=none`` (a request the cassette does
not hold fails the test), and ``nox -s openai`` runs with ``--block-network``.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

openai = pytest.importorskip("openai", reason="needs the openai SDK; run `nox -s openai`")

import tracewire  # noqa: E402 - after the skip above

CASSETTES = Path(__file__).parents[3] / "cassettes" / "openai"
OPENAI_VERSION = Version(importlib.metadata.version("openai"))
RESPONSES_API_VERSION = Version("1.66")
OFFICIAL_BASE_URL = "https://api.openai.com/v1"
COMPAT_BASE_URL = "http://localhost:8000/v1"
AZURE_ENDPOINT = "https://tracewire-test.openai.azure.com"


@pytest.fixture(scope="session")
def vcr_cassette_dir() -> str:
    return str(CASSETTES)


@pytest.fixture
def autolog() -> None:
    """Turn the OpenAI integration on for one test; the shared teardown turns it off again."""
    tracewire.openai.autolog()


@pytest.fixture
def client(autolog: None) -> Any:
    return openai.OpenAI(api_key="sk-test", base_url=OFFICIAL_BASE_URL, max_retries=0)


@pytest.fixture
def async_client(autolog: None) -> Any:
    return openai.AsyncOpenAI(api_key="sk-test", base_url=OFFICIAL_BASE_URL, max_retries=0)


@pytest.fixture
def compat_client(autolog: None) -> Any:
    """A client for an OpenAI-compatible server (vLLM-style) on localhost."""
    return openai.OpenAI(api_key="sk-test", base_url=COMPAT_BASE_URL, max_retries=0)


@pytest.fixture
def azure_client(autolog: None) -> Any:
    return openai.AzureOpenAI(
        api_key="test", api_version="2024-10-21", azure_endpoint=AZURE_ENDPOINT, max_retries=0
    )


@pytest.fixture
def async_azure_client(autolog: None) -> Any:
    return openai.AsyncAzureOpenAI(
        api_key="test", api_version="2024-10-21", azure_endpoint=AZURE_ENDPOINT, max_retries=0
    )


@pytest.fixture
def messages() -> list[dict[str, str]]:
    """The chat every chat cassette was recorded with."""
    return [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Say hello."},
    ]


@pytest.fixture
def responses_api() -> None:
    """Skip on SDKs older than the Responses API (openai 1.66)."""
    if OPENAI_VERSION < RESPONSES_API_VERSION:
        pytest.skip(f"openai {OPENAI_VERSION} has no Responses API (1.66+)")


def chat_parse(client: Any) -> Any:
    """``chat.completions.parse``, which lived under ``beta`` before openai 1.92."""
    completions = client.chat.completions
    return (
        completions.parse if hasattr(completions, "parse") else client.beta.chat.completions.parse
    )


@pytest.fixture
def parse_chat() -> Any:
    """Return ``chat_parse``: a client's ``chat.completions.parse`` whatever the SDK version."""
    return chat_parse
