"""Turning OpenAI tracing on and off: import order, existing clients, identity restore, options."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.resources import embeddings
from openai.resources.chat import completions as chat_completions

import tracewire
from tracewire._config import SETTINGS
from tracewire._span import LiveSpan
from tracewire.openai import _integration

MATCH_BODY = ["method", "scheme", "host", "port", "path", "query", "body"]


def patched_methods() -> dict[str, Any]:
    """Every patched attribute, as stored on its class (not bound), keyed by target."""
    found = {}
    for module_name, class_name in _integration._BODY_PARSERS:
        owner = getattr(importlib.import_module(module_name), class_name)
        found[f"{module_name}.{class_name}._parse"] = vars(owner).get("_parse")
    for module_name, path, _api, _required in _integration._TARGETS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue  # not in this SDK version
        target = _integration._owner(module, path)
        if target is not None:
            owner, method = target
            found[f"{module_name}.{path}"] = vars(owner).get(method)
    return found


def test_importing_the_integration_does_not_import_openai(fresh_process: Any) -> None:
    assert fresh_process.sdk_modules_autolog_imports("openai", sdk_imported=False) == []


def test_autolog_after_import_openai_imports_nothing_more_of_openai(fresh_process: Any) -> None:
    # The SDK's resource modules are patched when the application imports them; importing them
    # all in autolog() would cost most of a second (openai 2.x, 3.x).
    assert fresh_process.sdk_modules_autolog_imports("openai", sdk_imported=True) == []


def test_autolog_before_importing_openai_patches_it_on_import(
    fresh_process: Any, vcr_cassette_dir: str
) -> None:
    usage = fresh_process.trace_usage_of_call_after_import(
        "openai",
        client='openai.OpenAI(api_key="sk-test", max_retries=0)',
        call='client.chat.completions.create(model="gpt-4o-mini", messages=['
        '{"role": "system", "content": "You are terse."}, '
        '{"role": "user", "content": "Say hello."}])',
        cassette=Path(vcr_cassette_dir) / "chat_completion.yaml",
    )

    assert usage["total_tokens"] == 21


@pytest.mark.vcr("chat_completion.yaml")
def test_client_created_before_autolog_is_traced(messages: Any, last_trace: Any) -> None:
    client = openai.OpenAI(api_key="sk-test", max_retries=0)
    _ = client.chat.completions  # resources created before patching, too
    tracewire.openai.autolog()

    client.chat.completions.create(model="gpt-4o-mini", messages=messages)

    assert last_trace().data.spans[0].name == "openai.chat.completions.create"


def test_disable_restores_every_method_to_the_identical_object(
    assert_disable_restores: Any,
) -> None:
    original = vars(chat_completions.Completions)["create"]

    assert_disable_restores(tracewire.openai.autolog, patched_methods)

    assert vars(chat_completions.Completions)["create"] is original


def test_global_autolog_switches_openai_on_and_off() -> None:
    original = vars(embeddings.Embeddings)["create"]

    tracewire.autolog()
    assert tracewire.openai.INTEGRATION.patched
    tracewire.autolog(disable=True)

    assert vars(embeddings.Embeddings)["create"] is original


@pytest.mark.vcr("chat_completion.yaml", allow_playback_repeats=True)
def test_repeated_autolog_never_wraps_twice(client: Any, messages: Any, fresh_tracer: Any) -> None:
    wrapper = vars(chat_completions.Completions)["create"]
    tracewire.openai.autolog()
    tracewire.openai.autolog(stream_usage=True)

    assert vars(chat_completions.Completions)["create"] is wrapper
    client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    tracewire.flush()
    (trace,) = fresh_tracer.list_traces()
    assert len(trace.data.spans) == 1


@pytest.mark.vcr("chat_stream_without_usage.yaml", match_on=MATCH_BODY)
def test_log_traces_false_records_nothing_and_leaves_requests_alone(
    messages: Any, fresh_tracer: Any
) -> None:
    tracewire.openai.autolog(log_traces=False)
    client = openai.OpenAI(api_key="sk-test", max_retries=0)

    chunks = list(
        client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)
    )

    assert len(chunks) == 5
    tracewire.flush()
    assert fresh_tracer.list_traces() == []


@pytest.mark.vcr("chat_stream_without_usage.yaml", match_on=MATCH_BODY)
def test_a_sampled_out_stream_is_sent_and_returned_as_the_caller_made_it(
    messages: Any, fresh_tracer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACEWIRE_TRACE_SAMPLING_RATIO", "0")
    SETTINGS.reload_environment()
    tracewire.openai.autolog()
    client = openai.OpenAI(api_key="sk-test", max_retries=0)

    chunks = list(
        client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)
    )

    assert len(chunks) == 5  # no usage request added, so no usage-only chunk to hide
    tracewire.flush()
    assert fresh_tracer.list_traces() == []


@pytest.mark.parametrize("value", ["yes", 1, 0])
def test_stream_usage_accepts_only_none_true_or_false(value: Any) -> None:
    with pytest.raises(TypeError, match="stream_usage"):
        tracewire.openai.autolog(stream_usage=value)


@pytest.mark.vcr("chat_completion.yaml")
def test_a_tracewire_bug_never_reaches_the_caller(
    client: Any, messages: Any, plant_bug: Any, lenient_errors: Any, last_trace: Any
) -> None:
    bug = plant_bug(LiveSpan, "_record_later")

    response = client.chat.completions.create(model="gpt-4o-mini", messages=messages)

    assert response.choices[0].message.content == "Hello!"
    assert bug in lenient_errors.text
    assert last_trace().data.spans[0].end_time_ns is not None  # the span was still closed


@pytest.mark.vcr("chat_completion.yaml")
def test_a_bug_reading_the_response_body_keeps_the_rest_of_the_span(
    client: Any, messages: Any, plant_bug: Any, lenient_errors: Any, last_trace: Any
) -> None:
    bug = plant_bug(_integration, "response_body_attributes")

    response = client.chat.completions.create(model="gpt-4o-mini", messages=messages)

    assert response.choices[0].message.content == "Hello!"
    span = last_trace().data.spans[0]  # the body is read on the export thread
    assert bug in lenient_errors.text
    assert span.inputs["messages"] == messages
    assert span.outputs is None
