"""A third-party plugin installed as a real distribution works end to end (``nox -s plugins``).

``tracewire-example`` ships a fake SDK, ``example_sdk``, and its plugin, ``tracewire_example``;
``tracewire-broken`` ships a plugin that raises at import. Both are found through their
``tracewire`` entry points, exactly as a user's installed plugins are.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest

import tracewire
from tracewire.testing import assert_span_tree, capture_traces
from tracewire.tracing.constant import SpanAttributeKey

pytestmark = pytest.mark.example_plugin

example_sdk = pytest.importorskip(
    "example_sdk", reason="needs the example plugin distributions; run `nox -s plugins`"
)

METHODS = ("complete", "acomplete", "stream")
STREAM_END = "tracewire.stream.end"


def test_the_plugin_is_discovered_through_its_entry_point() -> None:
    """The ``example`` entry point's integration is registered and is ``tracewire.example``."""
    registered = tracewire.integration.registered()
    assert "example" in registered
    assert "example" in dir(tracewire)
    assert tracewire.example is registered["example"]


def test_autolog_by_name_traces_a_call_with_its_inputs_and_outputs() -> None:
    """``tracewire.example.autolog()`` records a chat model span with the prompt and the answer."""
    tracewire.example.autolog()
    with capture_traces() as traces:
        completion = example_sdk.Client().complete("hello there", max_tokens=8)
    assert completion.text == "you said: hello there"
    assert_span_tree(traces[0], "Client.complete (CHAT_MODEL)")
    span = traces[0].data.spans[0]
    assert span.inputs == {"prompt": "hello there", "max_tokens": 8}
    assert span.outputs == {
        "text": "you said: hello there",
        "usage": {"input_tokens": 2, "output_tokens": 4},
    }
    assert span.get_attribute(SpanAttributeKey.MODEL) == "example-1"


def test_token_usage_is_recorded_on_the_span_and_the_trace() -> None:
    """The SDK's token counts land in ``mlflow.chat.tokenUsage`` and add up on the trace."""
    tracewire.example.autolog()
    with capture_traces() as traces:
        example_sdk.Client().complete("hello there")
    usage = {"input_tokens": 2, "output_tokens": 4, "total_tokens": 6}
    assert traces[0].data.spans[0].get_attribute(SpanAttributeKey.CHAT_USAGE) == usage
    assert traces[0].info.token_usage == usage


def test_clients_created_before_autolog_are_traced() -> None:
    """Patching the class, not instances, traces a client that existed before ``autolog()``."""
    client = example_sdk.Client()
    tracewire.example.autolog()
    with capture_traces() as traces:
        client.complete("hi")
    assert_span_tree(traces[0], "Client.complete (CHAT_MODEL)")


@pytest.mark.asyncio
async def test_an_async_call_is_traced() -> None:
    """An awaited ``acomplete`` call gets its own span with the answer as outputs."""
    tracewire.example.autolog()
    with capture_traces() as traces:
        completion = await example_sdk.Client().acomplete("hi")
    assert_span_tree(traces[0], "Client.acomplete (CHAT_MODEL)")
    assert traces[0].data.spans[0].outputs["text"] == completion.text


def test_a_stream_read_to_the_end_ends_its_span_once(caplog: pytest.LogCaptureFixture) -> None:
    """An exhausted stream ends its span with the joined text and usage; a later close() is a no-op."""
    tracewire.example.autolog()
    with capture_traces() as traces, caplog.at_level(logging.DEBUG, logger="tracewire"):
        stream = example_sdk.Client().stream("hello there")
        text = "".join(chunk.text for chunk in stream)
        stream.close()
    assert text == "you said: hello there"
    assert_span_tree(traces[0], "Client.stream (CHAT_MODEL)")
    span = traces[0].data.spans[0]
    assert span.get_attribute(STREAM_END) == "exhausted"
    assert span.outputs == text
    assert span.get_attribute(SpanAttributeKey.CHAT_USAGE)["total_tokens"] == 6
    assert "already ended" not in caplog.text


def test_a_stream_left_early_and_closed_ends_its_span_with_what_arrived() -> None:
    """Breaking out of the loop keeps the span open; ``close()`` then ends it with the partial text."""
    tracewire.example.autolog()
    with capture_traces() as traces:
        stream = example_sdk.Client().stream("hello there")
        for _chunk in stream:
            break
        assert len(traces) == 0
        stream.close()
    assert stream.closed
    span = traces[0].data.spans[0]
    assert span.get_attribute(STREAM_END) == "closed"
    assert span.outputs == "you"


def test_a_stream_used_in_a_with_block_ends_its_span_on_exit() -> None:
    """Leaving the stream's ``with`` block ends the span; the block gets the proxy, not the bare stream."""
    tracewire.example.autolog()
    with capture_traces() as traces:
        with example_sdk.Client().stream("hello there") as stream:
            first = next(stream)
        assert isinstance(stream, example_sdk.Stream)
    assert first.text == "you"
    assert traces[0].data.spans[0].get_attribute(STREAM_END) == "exited"


def test_the_sdk_error_reaches_the_caller_unchanged_and_marks_the_span_error() -> None:
    """The caller gets the SDK's own exception object; the span is ERROR with an exception event."""
    error = example_sdk.ExampleError("scripted failure")

    def failing_transport(prompt: str) -> str:
        raise error

    tracewire.example.autolog()
    with capture_traces() as traces, pytest.raises(example_sdk.ExampleError) as raised:
        example_sdk.Client(transport=failing_transport).complete("hi")
    assert raised.value is error
    assert_span_tree(traces[0], "Client.complete (CHAT_MODEL) ERROR")
    [event] = traces[0].data.spans[0].events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "ExampleError"
    assert event.attributes["exception.message"] == "scripted failure"


def test_options_are_read_at_call_time() -> None:
    """A repeated ``autolog(record_text=False)`` applies from the next call, without re-patching."""
    tracewire.example.autolog()
    patched = example_sdk.Client.__dict__["complete"]
    tracewire.example.autolog(record_text=False)
    assert example_sdk.Client.__dict__["complete"] is patched
    with capture_traces() as traces:
        example_sdk.Client().complete("a secret")
    span = traces[0].data.spans[0]
    assert span.inputs is None
    assert span.outputs is None
    assert span.get_attribute(SpanAttributeKey.CHAT_USAGE)["input_tokens"] == 2


def test_global_autolog_turns_the_plugin_on() -> None:
    """``tracewire.autolog()`` enables every registered integration, third-party ones included."""
    tracewire.autolog()
    assert tracewire.example.patched
    with capture_traces() as traces:
        example_sdk.Client().complete("hi")
    assert_span_tree(traces[0], "Client.complete (CHAT_MODEL)")


def test_global_disable_restores_the_identical_original_methods() -> None:
    """``tracewire.autolog(disable=True)`` puts back the very objects that were in the class."""
    originals = {name: example_sdk.Client.__dict__[name] for name in METHODS}
    tracewire.autolog()
    assert all(example_sdk.Client.__dict__[name] is not originals[name] for name in METHODS)
    tracewire.autolog(disable=True)
    assert all(example_sdk.Client.__dict__[name] is originals[name] for name in METHODS)
    with capture_traces() as traces:
        example_sdk.Client().complete("hi")
    assert len(traces) == 0


def test_autolog_before_the_sdk_is_imported_patches_it_on_import(tmp_path: Path) -> None:
    """In a fresh interpreter, ``autolog()`` imports nothing and patches ``example_sdk`` on import."""
    script = dedent(
        """
        import sys

        import tracewire
        from tracewire.testing import capture_traces, span_tree

        tracewire.autolog()
        assert "example_sdk" not in sys.modules, "autolog() imported the SDK"
        assert tracewire.example.enabled and not tracewire.example.patched

        import example_sdk

        assert tracewire.example.patched
        with capture_traces() as traces:
            example_sdk.Client().complete("hi")
        print(span_tree(traces[0]))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Client.complete (CHAT_MODEL)\n"


def test_a_broken_plugin_is_skipped_with_a_warning_naming_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A plugin that raises at import is logged with its name and distribution; the rest works."""
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        tracewire.autolog()
    [record] = [r for r in caplog.records if "broken" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (
        "tracewire: skipped plugin 'broken' from distribution 'tracewire-broken': "
        "it failed to load: RuntimeError: tracewire-broken is broken on purpose"
    )
    assert tracewire.example.patched


def test_plugins_listed_in_the_disable_variable_are_not_loaded(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """``TRACEWIRE_DISABLE_PLUGINS`` keeps both plugins out: no warning, no ``tracewire.example``."""
    monkeypatch.setenv("TRACEWIRE_DISABLE_PLUGINS", "broken, example")
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        registered = tracewire.integration.registered()
    assert "example" not in registered
    assert caplog.records == []
    with pytest.raises(AttributeError, match="blocked by TRACEWIRE_DISABLE_PLUGINS"):
        _ = tracewire.example
