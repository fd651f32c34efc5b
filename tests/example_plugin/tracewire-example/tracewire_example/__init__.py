"""tracewire plugin for ``example_sdk``: a complete integration, small enough to copy.

Declared in this distribution's ``pyproject.toml``::

    [project.entry-points.tracewire]
    example = "tracewire_example"

``tracewire.autolog()`` or ``tracewire.example.autolog()`` then traces every ``example_sdk.Client``
call, on clients created before or after.
"""

from __future__ import annotations

from types import MappingProxyType

import tracewire
from tracewire.integration import (
    Integration,
    StreamProxy,
    StreamRecorder,
    trace_async_call,
    trace_call,
)
from tracewire.tracing.constant import SpanAttributeKey, TokenUsageKey

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any

    from example_sdk import Client, Completion, Stream, Usage

    from tracewire.entities import LiveSpan, NoOpSpan
    from tracewire.integration import Patcher

    Wrapped = Callable[..., Any]
    Args = tuple[Any, ...]
    Kwargs = dict[str, Any]


class ExampleIntegration(Integration):
    """Traces ``Client.complete``, ``Client.acomplete`` and ``Client.stream`` as chat model spans.

    Option ``record_text`` (default ``True``): ``False`` keeps prompts and answers out of traces.
    """

    name = "example"  # tracewire.example
    module = "example_sdk"  # patched when imported, or at once if it already is
    requirements = ("tracewire-example>=1.0",)  # the distribution that ships example_sdk
    default_options = MappingProxyType({"record_text": True})

    def patch(self, patcher: Patcher, module: ModuleType) -> None:
        """Wrap the client's three calls (on the class, so existing clients are traced too)."""
        patcher.wrap(module, "Client.complete", self._complete)
        patcher.wrap(module, "Client.acomplete", self._acomplete)
        patcher.wrap(module, "Client.stream", self._stream)

    # Wrappers have wrapt's signature; trace_call runs the SDK call exactly once, untouched.

    def _complete(self, wrapped: Wrapped, client: Client, args: Args, kwargs: Kwargs) -> Any:
        return trace_call(
            wrapped,
            args,
            kwargs,
            start=lambda: self._start("Client.complete", client, args, kwargs),
            finish=self._finish,
        )

    def _acomplete(self, wrapped: Wrapped, client: Client, args: Args, kwargs: Kwargs) -> Any:
        return trace_async_call(
            wrapped,
            args,
            kwargs,
            start=lambda: self._start("Client.acomplete", client, args, kwargs),
            finish=self._finish,
        )

    def _stream(self, wrapped: Wrapped, client: Client, args: Args, kwargs: Kwargs) -> Any:
        return trace_call(
            wrapped,
            args,
            kwargs,
            start=lambda: self._start("Client.stream", client, args, kwargs),
            finish=self._proxy,
        )

    # Span bookkeeping: options are read on every call, so autolog(record_text=...) applies at once.

    def _start(self, name: str, client: Client, args: Args, kwargs: Kwargs) -> LiveSpan | NoOpSpan:
        # Never bind the arguments to the signature here: a call the SDK rejects must still reach it.
        inputs = {"prompt": args[0], **kwargs} if args else kwargs
        return tracewire.start_span_no_context(
            name,
            span_type=tracewire.SpanType.CHAT_MODEL,
            inputs=inputs if self.options["record_text"] else None,
            attributes={SpanAttributeKey.MODEL: client.model},
        )

    def _finish(self, span: LiveSpan, completion: Completion) -> Completion:
        span.set_attribute(SpanAttributeKey.CHAT_USAGE, _usage(completion.usage))
        span.end(outputs=completion if self.options["record_text"] else None)
        return completion

    def _proxy(self, span: LiveSpan, stream: Stream) -> StreamProxy:
        return StreamProxy(stream, span, _ChunkRecorder(record_text=self.options["record_text"]))


class _ChunkRecorder(StreamRecorder):
    """Joins the streamed text; the usage arrives with the last chunk."""

    def __init__(self, *, record_text: bool) -> None:
        self.record_text = record_text
        self.parts: list[str] = []
        self.usage: Usage | None = None

    def on_item(self, item: Any) -> bool:
        self.parts.append(item.text)
        self.usage = item.usage or self.usage
        return True

    def on_end(self, span: LiveSpan, end: str, error: BaseException | None) -> None:
        if self.record_text:
            span.set_outputs("".join(self.parts))
        if self.usage is not None:
            span.set_attribute(SpanAttributeKey.CHAT_USAGE, _usage(self.usage))


def _usage(usage: Usage) -> dict[str, int]:
    """Convert the SDK's usage to MLflow's ``mlflow.chat.tokenUsage`` shape."""
    return {
        TokenUsageKey.INPUT_TOKENS: usage.input_tokens,
        TokenUsageKey.OUTPUT_TOKENS: usage.output_tokens,
        TokenUsageKey.TOTAL_TOKENS: usage.input_tokens + usage.output_tokens,
    }


#: The one instance: ``tracewire.example`` is this object.
INTEGRATION = ExampleIntegration()


@tracewire.hookimpl
def tracewire_register_integrations(register: Callable[[Integration], None]) -> None:
    """Register the example integration with tracewire."""
    register(INTEGRATION)
