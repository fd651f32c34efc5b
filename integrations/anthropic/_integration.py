"""The Anthropic integration: which SDK methods are wrapped, and what each call's span records."""

from __future__ import annotations

from contextvars import ContextVar
from functools import partial
from types import MappingProxyType

from tracewire._constants import SpanAttributeKey, SpanType
from tracewire._errors import log
from tracewire._fluent import start_span_no_context
from tracewire._guards import trace_async_call, trace_call
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

# The traced Anthropic call running in this context, if any: an SDK method that calls another
# patched one produces one span, not two.
_INSIDE_CALL: ContextVar[bool] = ContextVar("tracewire_anthropic_inside_call", default=False)

# (module, class, method). The resource module is imported lazily by the SDK (on the first
# `client.messages`), and patched then, so that autolog() imports none of it.
_TARGETS = (
    ("anthropic.resources.messages", "Messages", "create"),
    ("anthropic.resources.messages", "AsyncMessages", "create"),
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
        """Wrap ``Messages.create`` and ``AsyncMessages.create`` on the classes (existing clients too).

        The resource module is patched when the SDK first imports it, not imported here.
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
        for class_name, method in targets:
            owner = getattr(module, class_name, None)
            if owner is None or not hasattr(owner, method):
                raise AttributeError(
                    f"{module.__name__}.{class_name}.{method} not in this anthropic"
                )
            is_async = class_name.startswith("Async")
            patcher.wrap(owner, method, self._async_wrapper if is_async else self._wrapper)
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


class _Call:
    """One traced ``messages.create`` call: what was asked, and how its result is recorded."""

    __slots__ = ("integration", "kwargs")

    def __init__(self, integration: AnthropicIntegration, kwargs: Kwargs) -> None:
        self.integration = integration
        self.kwargs = kwargs

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
            SPAN_NAME, span_type=SpanType.CHAT_MODEL, inputs=inputs, attributes=attributes
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

    def _recorder(self) -> MessageStreamRecorder:
        return MessageStreamRecorder(request_model=self.kwargs.get("model"))


INTEGRATION = AnthropicIntegration()
