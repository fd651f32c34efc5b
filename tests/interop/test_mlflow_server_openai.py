"""An autologged OpenAI call, replayed from its cassette, exported to a real ``mlflow server``.

The cassette is replayed with ``record_mode=none``; ``ignore_localhost`` lets the export (on the
export thread) and the mlflow client reach the server on 127.0.0.1, while ``nox -s interop`` runs
with ``--block-network --allowed-hosts=127.0.0.1`` so nothing else goes out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mlflow.server", reason="needs the full mlflow package: run `nox -s interop`")
openai = pytest.importorskip("openai", reason="needs the openai SDK: run `nox -s interop`")
pytest.importorskip("vcr", reason="needs vcrpy: run `nox -s interop`")

import tracewire  # noqa: E402 - after the skips above
from tracewire.entities import SpanType  # noqa: E402
from tracewire.tracing.constant import SpanAttributeKey  # noqa: E402

pytestmark = pytest.mark.mlflow_server

CASSETTES = Path(__file__).parents[2] / "cassettes" / "openai"
MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hello."},
]


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(CASSETTES)


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    return {"ignore_localhost": True, "record_mode": "none"}


@pytest.fixture
def client() -> Any:
    tracewire.openai.autolog()
    return openai.OpenAI(api_key="sk-test", base_url="https://api.openai.com/v1", max_retries=0)


@pytest.mark.vcr("chat_completion.yaml")
def test_autologged_chat_completion_reads_back_in_mlflow(
    client: Any, to_server: Any, mlflow_client: Any
) -> None:
    @tracewire.trace(span_type=SpanType.AGENT)
    def greet() -> str:
        response = client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, temperature=0.2, max_tokens=20
        )
        return str(response.choices[0].message.content)

    assert greet() == "Hello!"
    trace_id = tracewire.get_last_active_trace_id()
    assert tracewire.flush(60)
    local = tracewire.get_trace(trace_id or "")
    assert local is not None

    remote = mlflow_client.get_trace(trace_id)

    (chat,) = remote.search_spans(span_type="CHAT_MODEL")
    (ours,) = local.search_spans(span_type="CHAT_MODEL")
    assert chat.name == ours.name == "openai.chat.completions.create"
    assert chat.inputs == ours.inputs
    assert chat.inputs["messages"] == MESSAGES
    assert chat.outputs == ours.outputs
    assert chat.outputs["choices"][0]["message"]["content"] == "Hello!"
    assert chat.get_attribute(SpanAttributeKey.CHAT_USAGE) == ours.get_attribute(
        SpanAttributeKey.CHAT_USAGE
    )
    assert chat.get_attribute(SpanAttributeKey.CHAT_USAGE)["input_tokens"] == 19
    assert chat.get_attribute(SpanAttributeKey.MODEL) == ours.model_name
    assert chat.get_attribute(SpanAttributeKey.MODEL_PROVIDER) == "openai"
    assert chat.get_attribute(SpanAttributeKey.MESSAGE_FORMAT) == "openai"
    assert chat.get_attribute("temperature") == 0.2
    # The server sums the keys MLflow knows; `reasoning_tokens` is a tracewire addition it drops.
    ours_known = {k: v for k, v in local.info.token_usage.items() if k != "reasoning_tokens"}
    assert remote.info.token_usage == ours_known
    assert remote.info.token_usage["total_tokens"] == 21  # the OpenAI span counted once
    assert (
        remote.info.request_preview == local.info.request_preview == "{}"
    )  # greet() takes nothing
    assert remote.info.response_preview == local.info.response_preview == '"Hello!"'
    (root,) = remote.search_spans(span_type="AGENT")
    assert root.outputs == "Hello!"


@pytest.mark.vcr("chat_completion.yaml")
def test_chat_shaped_root_previews_show_the_messages(
    client: Any, to_server: Any, mlflow_client: Any
) -> None:
    client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, temperature=0.2, max_tokens=20
    )
    trace_id = tracewire.get_last_active_trace_id()
    assert tracewire.flush(60)
    local = tracewire.get_trace(trace_id or "")
    assert local is not None

    remote = mlflow_client.get_trace(trace_id)

    # The OpenAI span is the root: MLflow's chat-aware previews match tracewire's.
    assert remote.info.request_preview == local.info.request_preview == "Say hello."
    assert remote.info.response_preview == local.info.response_preview == "Hello!"
    assert remote.info.state.value == "OK"
    assert remote.info.tags["mlflow.traceName"] == "openai.chat.completions.create"
