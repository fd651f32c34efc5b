"""The Anthropic integration: which SDK methods are wrapped, and what each call's span records."""

from __future__ import annotations

from contextvars import ContextVar
from functools import partial
from types import MappingProxyType

from tracewire._constants import SpanAttributeKey, SpanType
from tracewire._errors import log
from tracewire._fluent import start_span_no_context
from tracewire._guards import guard, trace_async_call, trace_call
from tracewire._integration import Integration
from tracewire._streams import AsyncStreamProxy, StreamProxy
from tracewire.anthropic._requests import chat_tools, request_inputs, request_parameters
from tracewire.anthropic._responses import record_message
from tracewire.anthropic._streams import MessageStreamRecorder

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any

    from tracewire._patching import Patcher
    from tracewire._span import LiveSpan, NoOpSpan

    Wrapped = Callable[..., Any]
    Args = tuple[Any, ...]
    Kwargs = dict[str, Any]

PROVIDER = "anthropic"
SPAN_NAME = "anthropic.messages.create"
STREAM_SPAN_NAME = "anthropic.messages.stream"
# Where the `stream()` wrapper leaves the request on the SDK's stream manager for its __enter__.
_REQUEST_ATTRIBUTE = "_tracewire_request"

# The traced Anthropic call running in this context, if any: an SDK method that calls another
# patched one produces one span, not two.
_INSIDE_CALL: ContextVar[bool] = ContextVar("tracewire_anthropic_inside_call", default=False)

# (module, class, method). Each module is patched when the SDK imports it, so that autolog()
# imports none of it.
_TARGETS = (
    ("anthropic.resources.messages", "Messages", "create"),
    ("anthropic.resources.messages", "AsyncMessages", "create"),
    # The `stream()` helper does not call `create`: it posts when its manager is entered.
    ("anthropic.resources.messages", "Messages", "stream"),
    ("anthropic.resources.messages", "AsyncMessages", "stream"),
    ("anthropic.lib.streaming", "MessageStreamManager", "__enter__"),
    ("anthropic.lib.streaming", "AsyncMessageStreamManager", "__aenter__"),
)


class _SdkTypes:
    """The SDK's stream classes, looked up once the SDK is imported."""

    def __init__(self, anthropic: ModuleType) -> None:
        self.stream: type[Any] = anthropic.Stream
        self.async_stream: type[Any] = anthropic.AsyncStream


class AnthropicIntegration(Integration):
    """Traces the Anthropic Python SDK's ``messages.create``, sync and async, streams included."""

    name = "anthropic"
    requirements = ("anthropic>=1.0,<3",)
    extra = "anthropic"
    default_options = MappingProxyType({})

    def __init__(self) -> None:
        super().__init__()
        self._types: _SdkTypes | None = None

    def patch(self, patcher: Patcher, module: ModuleType) -> None:
        """Wrap the traced methods on the SDK's classes, so that existing clients are traced too.

        Each module is patched when the SDK first imports it, not imported here.
        """
        self._types = _SdkTypes(module)
        grouped: dict[str, list[tuple[str, str]]] = {}
        for module_name, class_name, method in _TARGETS:
            grouped.setdefault(module_name, []).append((class_name, method))
        for module_name, targets in grouped.items():
            patcher.when_imported(module_name, partial(self._patch_resources, patcher, targets))

    def _patch_resources(
        self, patcher: Patcher, targets: list[tuple[str, str]], module: ModuleType
    ) -> None:
        wrappers: dict[str, Callable[[Wrapped, Any, Args, Kwargs], Any]] = {
            "create": self._wrapper,
            "stream": _remember_request,  # sync in both classes: it only builds the manager
            "__enter__": self._enter_wrapper,
            "__aenter__": self._aenter_wrapper,
        }
        for class_name, method in targets:
            owner = getattr(module, class_name, None)
            if owner is None or not hasattr(owner, method):
                raise AttributeError(
                    f"{module.__name__}.{class_name}.{method} not in this anthropic"
                )
            wrapper = wrappers[method]
            if method == "create" and class_name.startswith("Async"):
                wrapper = self._async_wrapper
            patcher.wrap(owner, method, wrapper)
            log().debug("tracewire: patched %s.%s.%s", module.__name__, class_name, method)

    # -- wrappers ---------------------------------------------------------------------------------

    def _wrapper(self, wrapped: Wrapped, resource: Any, args: Args, kwargs: Kwargs) -> Any:
        if _INSIDE_CALL.get():
            return wrapped(*args, **kwargs)
        call = _Call(self, kwargs)
        token = _INSIDE_CALL.set(True)
        try:
            return trace_call(wrapped, args, kwargs, start=call.start, finish=call.finish)
        finally:
            _INSIDE_CALL.reset(token)

    async def _async_wrapper(
        self, wrapped: Wrapped, resource: Any, args: Args, kwargs: Kwargs
    ) -> Any:
        if _INSIDE_CALL.get():
            return await wrapped(*args, **kwargs)
        call = _Call(self, kwargs)
        token = _INSIDE_CALL.set(True)
        try:
            return await trace_async_call(
                wrapped, args, kwargs, start=call.start, finish=call.finish
            )
        finally:
            _INSIDE_CALL.reset(token)

    def _enter_wrapper(self, wrapped: Wrapped, manager: Any, args: Args, kwargs: Kwargs) -> Any:
        request = getattr(manager, _REQUEST_ATTRIBUTE, None)
        if request is None or _INSIDE_CALL.get():
            return wrapped(*args, **kwargs)
        call = _Call(self, request, STREAM_SPAN_NAME)
        token = _INSIDE_CALL.set(True)
        try:
            return trace_call(wrapped, args, kwargs, start=call.start, finish=call.finish_helper)
        finally:
            _INSIDE_CALL.reset(token)

    async def _aenter_wrapper(
        self, wrapped: Wrapped, manager: Any, args: Args, kwargs: Kwargs
    ) -> Any:
        request = getattr(manager, _REQUEST_ATTRIBUTE, None)
        if request is None or _INSIDE_CALL.get():
            return await wrapped(*args, **kwargs)
        call = _Call(self, request, STREAM_SPAN_NAME)
        token = _INSIDE_CALL.set(True)
        try:
            return await trace_async_call(
                wrapped, args, kwargs, start=call.start, finish=call.finish_helper
            )
        finally:
            _INSIDE_CALL.reset(token)


def _remember_request(wrapped: Wrapped, resource: Any, args: Args, kwargs: Kwargs) -> Any:
    """Call ``messages.stream()`` and leave its arguments on the manager it returns.

    The helper sends nothing: its manager posts the request when entered, so the span starts
    there (a manager never entered makes no call and no span).
    """
    manager = wrapped(*args, **kwargs)
    with guard("remembering a messages.stream() request"):
        setattr(manager, _REQUEST_ATTRIBUTE, kwargs)
    return manager


class _Call:
    """One traced ``messages.create`` call: what was asked, and how its result is recorded."""

    __slots__ = ("integration", "kwargs", "name")

    def __init__(
        self, integration: AnthropicIntegration, kwargs: Kwargs, name: str = SPAN_NAME
    ) -> None:
        self.integration = integration
        self.kwargs = kwargs
        self.name = name

    def start(self) -> LiveSpan | NoOpSpan:
        inputs = request_inputs(self.kwargs)
        attributes = request_parameters(inputs)
        attributes[SpanAttributeKey.MODEL_PROVIDER] = PROVIDER
        attributes[SpanAttributeKey.MESSAGE_FORMAT] = PROVIDER
        if "tools" in inputs:
            tools = chat_tools(inputs["tools"])
            if tools is not None:
                attributes[SpanAttributeKey.CHAT_TOOLS] = tools
        return start_span_no_context(
            self.name, span_type=SpanType.CHAT_MODEL, inputs=inputs, attributes=attributes
        )

    def finish(self, span: LiveSpan, result: Any) -> Any:
        types = self.integration._types
        assert types is not None  # set by patch() before any wrapper exists
        if isinstance(result, types.stream):
            return StreamProxy(result, span, self._recorder())
        if isinstance(result, types.async_stream):
            return AsyncStreamProxy(result, span, self._recorder())
        record_message(span, result, self.kwargs.get("model"))
        span.end()
        return result

    def finish_helper(self, span: LiveSpan, helper: Any) -> Any:
        """Hand the span to a proxy around the helper's raw event stream; return the helper.

        Every way of reading a ``MessageStream`` (iterating it, ``text_stream``,
        ``until_done()``, ``get_final_message()``) pulls from its ``_raw_stream``, and its
        ``close()`` closes that: the proxy sees every event and ends the span exactly once. The
        helper has not read from the raw stream yet when its manager returns it.
        """
        types = self.integration._types
        assert types is not None  # set by patch() before any wrapper exists
        raw_stream = getattr(helper, "_raw_stream", None)
        if isinstance(raw_stream, types.stream):
            helper._raw_stream = StreamProxy(raw_stream, span, self._recorder())
        elif isinstance(raw_stream, types.async_stream):
            helper._raw_stream = AsyncStreamProxy(raw_stream, span, self._recorder())
        else:  # a future SDK that reads differently: record the request, not a stream
            log().debug("tracewire: anthropic %s has no raw stream", type(helper).__name__)
            span.end()
        return helper

    def _recorder(self) -> MessageStreamRecorder:
        return MessageStreamRecorder(request_model=self.kwargs.get("model"))


INTEGRATION = AnthropicIntegration()
