"""Turning Anthropic tracing on and off: import order, existing clients, identity restore, options."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import anthropic
import pytest
from anthropic.resources import messages as messages_module

import tracewire
from tracewire._span import LiveSpan
from tracewire.anthropic import _integration

MODEL = "claude-opus-4-7"
MAX_TOKENS = 64


# Replaced besides the traced methods: what ends a followed stream's span when it is closed.
_STREAM_CLOSES = (
    ("anthropic._streaming", "Stream", "close"),
    ("anthropic._streaming", "Stream", "__exit__"),
    ("anthropic._streaming", "AsyncStream", "close"),
    ("anthropic._streaming", "AsyncStream", "__aexit__"),
)


def patched_methods() -> dict[str, Any]:
    """Every patched attribute, as stored on its class (not bound), keyed by target."""
    found = {}
    targets = [(module, cls, method) for module, cls, method, _, _ in _integration._TARGETS]
    for module_name, class_name, method in [*targets, *_STREAM_CLOSES]:
        owner = getattr(importlib.import_module(module_name), class_name)
        if hasattr(owner, method):  # optional targets are missing from some SDK versions
            found[f"{module_name}.{class_name}.{method}"] = vars(owner).get(method)
    return found


def create(client: Any, messages: Any) -> Any:
    return client.messages.create(
        model=MODEL, max_tokens=MAX_TOKENS, messages=messages, system="You are terse."
    )


def test_importing_the_integration_does_not_import_anthropic(fresh_process: Any) -> None:
    assert fresh_process.sdk_modules_autolog_imports("anthropic", sdk_imported=False) == []


def test_autolog_after_import_anthropic_imports_nothing_more_of_anthropic(
    fresh_process: Any,
) -> None:
    assert fresh_process.sdk_modules_autolog_imports("anthropic", sdk_imported=True) == []


def test_autolog_before_importing_anthropic_patches_it_on_import(
    fresh_process: Any, vcr_cassette_dir: str
) -> None:
    usage = fresh_process.trace_usage_of_call_after_import(
        "anthropic",
        client='anthropic.Anthropic(api_key="sk-ant-test", max_retries=0)',
        call=f'client.messages.create(model="{MODEL}", max_tokens={MAX_TOKENS}, '
        'system="You are terse.", messages=[{"role": "user", "content": "Say hello."}])',
        cassette=Path(vcr_cassette_dir) / "messages_create.yaml",
    )

    assert usage["total_tokens"] == 19


@pytest.mark.vcr("messages_create.yaml")
def test_client_created_before_autolog_is_traced(messages: Any, last_trace: Any) -> None:
    client = anthropic.Anthropic(api_key="sk-ant-test", max_retries=0)
    _ = client.messages  # the resource exists before patching, too
    tracewire.anthropic.autolog()

    create(client, messages)

    assert last_trace().data.spans[0].name == "anthropic.messages.create"


def test_disable_restores_every_method_to_the_identical_object(
    assert_disable_restores: Any,
) -> None:
    assert_disable_restores(tracewire.anthropic.autolog, patched_methods)


@pytest.mark.vcr("messages_create.yaml")
def test_disabled_integration_records_nothing(messages: Any, fresh_tracer: Any) -> None:
    tracewire.anthropic.autolog()
    tracewire.anthropic.autolog(disable=True)
    client = anthropic.Anthropic(api_key="sk-ant-test", max_retries=0)

    create(client, messages)

    tracewire.flush()
    assert fresh_tracer.list_traces() == []


def test_global_autolog_switches_anthropic_on_and_off() -> None:
    original = vars(messages_module.Messages)["create"]

    tracewire.autolog()
    assert tracewire.anthropic.INTEGRATION.patched
    assert vars(messages_module.Messages)["create"] is not original
    tracewire.autolog(disable=True)

    assert vars(messages_module.Messages)["create"] is original


@pytest.mark.vcr("messages_create.yaml", allow_playback_repeats=True)
def test_repeated_autolog_never_wraps_twice(client: Any, messages: Any, fresh_tracer: Any) -> None:
    wrapper = vars(messages_module.Messages)["create"]
    tracewire.anthropic.autolog()

    assert vars(messages_module.Messages)["create"] is wrapper
    create(client, messages)
    tracewire.flush()
    (trace,) = fresh_tracer.list_traces()
    assert len(trace.data.spans) == 1


@pytest.mark.vcr("messages_create.yaml")
def test_log_traces_false_records_nothing(messages: Any, fresh_tracer: Any) -> None:
    tracewire.anthropic.autolog(log_traces=False)
    client = anthropic.Anthropic(api_key="sk-ant-test", max_retries=0)

    assert create(client, messages).content[0].text == "Hello!"

    tracewire.flush()
    assert fresh_tracer.list_traces() == []


def test_unknown_option_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        tracewire.anthropic.autolog(stream_usage=True)  # type: ignore[call-arg]


@pytest.mark.vcr("messages_create.yaml")
def test_call_inside_a_traced_function_nests_and_counts_usage_once(
    client: Any, messages: Any, last_trace: Any
) -> None:
    @tracewire.trace
    def answer() -> str:
        return str(create(client, messages).content[0].text)

    assert answer() == "Hello!"
    trace = last_trace()
    root, child = trace.data.spans
    assert child.parent_id == root.span_id
    assert trace.info.token_usage["total_tokens"] == 19


@pytest.mark.vcr("messages_create.yaml")
def test_a_tracewire_bug_never_reaches_the_caller(
    client: Any, messages: Any, plant_bug: Any, lenient_errors: Any, last_trace: Any
) -> None:
    bug = plant_bug(LiveSpan, "_record_later")

    message = create(client, messages)

    assert message.content[0].text == "Hello!"
    assert bug in lenient_errors.text
    assert last_trace().data.spans[0].end_time_ns is not None  # the span was still closed


@pytest.mark.vcr("messages_create.yaml")
def test_a_bug_reading_the_response_body_keeps_the_rest_of_the_span(
    client: Any, messages: Any, plant_bug: Any, lenient_errors: Any, last_trace: Any
) -> None:
    bug = plant_bug(_integration, "message_body_attributes")

    message = create(client, messages)

    assert message.content[0].text == "Hello!"
    span = last_trace().data.spans[0]  # the body is read on the export thread
    assert bug in lenient_errors.text
    assert span.inputs["messages"] == messages
    assert span.outputs is None
