"""The OpenAI integration: which SDK methods are wrapped, and what each call's span records."""

from __future__ import annotations

import importlib
from contextvars import ContextVar
from functools import partial
from types import MappingProxyType

from tracewire._constants import SpanAttributeKey, SpanType
from tracewire._errors import log
from tracewire._fluent import start_span_no_context
from tracewire._guards import guard, trace_async_call, trace_call
from tracewire._integration import Integration
from tracewire._raw import AsyncRawResponseProxy, RawResponseProxy
from tracewire._streams import AsyncStreamProxy, StreamEnd, StreamProxy
from tracewire.openai._requests import (
    add_usage_request,
    chat_tools,
    request_inputs,
    request_parameters,
)
from tracewire.openai._responses import record_response
from tracewire.openai._streams import (
    ChatStreamRecorder,
    CompletionStreamRecorder,
    ResponsesStreamRecorder,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any

    from tracewire._patching import Patcher
    from tracewire._span import LiveSpan, NoOpSpan
    from tracewire._streams import StreamRecorder

    Wrapped = Callable[..., Any]
    Args = tuple[Any, ...]
    Kwargs = dict[str, Any]

PROVIDER = "openai"

# The traced OpenAI call running in this context, if any: SDK methods calling other patched methods
# (an old SDK's beta `parse` calls `create`) produce one span, not two, and the SDK's response
# parser hands the call the body it parsed.
_INSIDE_CALL: ContextVar[_Call | None] = ContextVar("tracewire_openai_inside_call", default=None)


class _Api:
    """One traced API: its span name and type, and how its streams are rebuilt."""

    __slots__ = ("name", "span_type", "stream_kind")

    def __init__(self, name: str, span_type: str, stream_kind: str | None) -> None:
        self.name = name
        self.span_type = span_type
        self.stream_kind = stream_kind  # "chat", "completion", "responses", or None


_CHAT_CREATE = _Api("openai.chat.completions.create", SpanType.CHAT_MODEL, "chat")
_CHAT_PARSE = _Api("openai.chat.completions.parse", SpanType.CHAT_MODEL, None)
_RESPONSES_CREATE = _Api("openai.responses.create", SpanType.CHAT_MODEL, "responses")
_RESPONSES_PARSE = _Api("openai.responses.parse", SpanType.CHAT_MODEL, None)
_EMBEDDINGS = _Api("openai.embeddings.create", SpanType.EMBEDDING, None)
_COMPLETIONS = _Api("openai.completions.create", SpanType.LLM, "completion")

# (module, "Class.method", api, required). Optional targets exist only in some SDK versions: chat
# `parse` left `beta` in 1.92; the Responses API arrived in 1.66; `beta.responses` is 3.x only.
_TARGETS = (
    ("openai.resources.chat.completions", "Completions.create", _CHAT_CREATE, True),
    ("openai.resources.chat.completions", "AsyncCompletions.create", _CHAT_CREATE, True),
    ("openai.resources.chat.completions", "Completions.parse", _CHAT_PARSE, False),
    ("openai.resources.chat.completions", "AsyncCompletions.parse", _CHAT_PARSE, False),
    ("openai.resources.beta.chat.completions", "Completions.parse", _CHAT_PARSE, False),
    ("openai.resources.beta.chat.completions", "AsyncCompletions.parse", _CHAT_PARSE, False),
    ("openai.resources.responses", "Responses.create", _RESPONSES_CREATE, False),
    ("openai.resources.responses", "AsyncResponses.create", _RESPONSES_CREATE, False),
    ("openai.resources.responses", "Responses.parse", _RESPONSES_PARSE, False),
    ("openai.resources.responses", "AsyncResponses.parse", _RESPONSES_PARSE, False),
    ("openai.resources.beta.responses", "Responses.create", _RESPONSES_CREATE, False),
    ("openai.resources.beta.responses", "AsyncResponses.create", _RESPONSES_CREATE, False),
    ("openai.resources.embeddings", "Embeddings.create", _EMBEDDINGS, True),
    ("openai.resources.embeddings", "AsyncEmbeddings.create", _EMBEDDINGS, True),
    ("openai.resources.completions", "Completions.create", _COMPLETIONS, True),
    ("openai.resources.completions", "AsyncCompletions.create", _COMPLETIONS, True),
)
# The `.stream()` helpers' stream objects close the HTTP response, not the raw stream they read
# (our proxy); wrapping their close() ends the span when the helper is closed or exited early.
_HELPER_STREAMS = (
    ("openai.lib.streaming.chat", "ChatCompletionStream.close"),
    ("openai.lib.streaming.chat", "AsyncChatCompletionStream.close"),
    ("openai.lib.streaming.responses", "ResponseStream.close"),
    ("openai.lib.streaming.responses", "AsyncResponseStream.close"),
)


# The SDK's response classes; their `_parse` turns the HTTP body into the result object.
_BODY_PARSERS = (
    ("openai._response", "BaseAPIResponse"),
    ("openai._legacy_response", "LegacyAPIResponse"),
)


def _patch_body_parser(patcher: Patcher, class_name: str, module: ModuleType) -> None:
    """Let a traced call keep the JSON body its response was parsed from, as its outputs.

    The body is the response exactly as the API sent it, already in memory: recording it costs
    the caller's thread nothing, where re-encoding the parsed model costs more than the rest of
    the span. A plain function, not a wrapt wrapper: it runs once per call, traced or not.
    """
    owner = getattr(module, class_name, None)
    original = getattr(owner, "__dict__", {}).get("_parse")
    if original is None:  # a private method: a future SDK may drop it; outputs are then encoded
        log().debug("tracewire: openai has no %s.%s._parse", module.__name__, class_name)
        return

    def _parse(response: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(response, *args, **kwargs)
        call = _INSIDE_CALL.get()
        if call is not None and call.wants_body:
            call.wants_body = False  # the first parse is the call's own result
            call.body = getattr(response.http_response, "_content", None)
        return result

    patcher.replace(owner, "_parse", _parse)


def _patch_helpers(patcher: Patcher, paths: list[tuple[str]], module: ModuleType) -> None:
    for (path,) in paths:
        target = _owner(module, path)
        if target is not None:
            owner, method = target
            is_async = owner.__name__.startswith("Async")
            patcher.wrap(owner, method, _close_helper_async if is_async else _close_helper)


def _owner(module: ModuleType, path: str) -> tuple[Any, str] | None:
    """Return (class, method name) for ``module.path``, or ``None`` if this SDK version lacks it."""
    class_name, method = path.split(".")
    owner = getattr(module, class_name, None)  # 3.x re-exports lazily: this may import the class
    if owner is None or not hasattr(owner, method):
        return None
    return owner, method


def _by_module(targets: tuple[tuple[Any, ...], ...]) -> dict[str, list[Any]]:
    """Group ``(module name, *rest)`` rows by module name."""
    grouped: dict[str, list[Any]] = {}
    for module_name, *target in targets:
        grouped.setdefault(module_name, []).append(target)
    return grouped


class _SdkTypes:
    """The SDK's result classes, looked up once the SDK is imported."""

    def __init__(self, openai: ModuleType) -> None:
        legacy = importlib.import_module("openai._legacy_response")
        response = importlib.import_module("openai._response")
        self.stream: type[Any] = openai.Stream
        self.async_stream: type[Any] = openai.AsyncStream
        self.raw: type[Any] = legacy.LegacyAPIResponse
        self.streamed_raw: type[Any] = response.APIResponse
        self.async_streamed_raw: type[Any] = response.AsyncAPIResponse
        # Everything that is not a plain parsed result: one isinstance call rules them all out.
        self.wrappers: tuple[type[Any], ...] = (
            self.stream,
            self.async_stream,
            self.raw,
            self.streamed_raw,
            self.async_streamed_raw,
        )


class OpenAIIntegration(Integration):
    """Traces the OpenAI Python SDK (``openai`` >= 1.40): chat, responses, embeddings, completions.

    Option ``stream_usage`` (``None``, ``True`` or ``False``): whether to ask streams for their
    final usage chunk; see :func:`tracewire.openai.autolog`.
    """

    name = "openai"
    requirements = ("openai>=1.40,<4",)
    extra = "openai"
    default_options = MappingProxyType({"stream_usage": None})

    def __init__(self) -> None:
        super().__init__()
        self._types: _SdkTypes | None = None

    def autolog(  # type: ignore[override]  # narrows **options to the one this SDK has
        self,
        *,
        disable: bool = False,
        log_traces: bool = True,
        silent: bool = False,
        stream_usage: bool | None = None,
    ) -> None:
        """Trace every OpenAI call, or stop; see :func:`tracewire.openai.autolog`.

        Raises:
            IntegrationNotInstalledError: If ``openai`` is not installed.
            TypeError: If ``stream_usage`` is not ``None``, ``True`` or ``False``.
        """
        if stream_usage is not None and not isinstance(stream_usage, bool):
            raise TypeError(
                f"openai autolog() argument 'stream_usage' must be None, True or False, "
                f"got {stream_usage!r}"
            )
        super().autolog(
            disable=disable, log_traces=log_traces, silent=silent, stream_usage=stream_usage
        )

    def patch(self, patcher: Patcher, module: ModuleType) -> None:
        """Wrap the traced methods on the SDK's resource classes (existing clients included).

        Each resource module is patched when the application first imports it: the SDK loads
        them lazily, and importing them all here would cost most of a second.
        """
        self._types = _SdkTypes(module)
        seen: set[tuple[int, str]] = set()  # a class re-exported under two modules is wrapped once
        for module_name, targets in _by_module(_TARGETS).items():
            patcher.when_imported(
                module_name, partial(self._patch_resources, patcher, targets, seen)
            )
        for module_name, class_name in _BODY_PARSERS:
            patcher.when_imported(module_name, partial(_patch_body_parser, patcher, class_name))
        for module_name, paths in _by_module(_HELPER_STREAMS).items():
            patcher.when_imported(module_name, partial(_patch_helpers, patcher, paths))

    def _patch_resources(
        self,
        patcher: Patcher,
        targets: list[tuple[str, _Api, bool]],
        seen: set[tuple[int, str]],
        module: ModuleType,
    ) -> None:
        for path, api, required in targets:
            target = _owner(module, path)
            if target is None:
                if required:
                    raise AttributeError(f"{module.__name__}.{path} not found in this openai")
                log().debug("tracewire: openai has no %s.%s; not traced", module.__name__, path)
                continue
            owner, method = target
            if (id(owner), method) in seen:
                continue
            seen.add((id(owner), method))
            is_async = owner.__name__.startswith("Async")
            patcher.wrap(
                owner, method, self._async_wrapper(api) if is_async else self._wrapper(api)
            )

    # -- wrappers ---------------------------------------------------------------------------------

    def _wrapper(self, api: _Api) -> Callable[[Wrapped, Any, Args, Kwargs], Any]:
        def wrapper(wrapped: Wrapped, resource: Any, args: Args, kwargs: Kwargs) -> Any:
            if _INSIDE_CALL.get() is not None:
                return wrapped(*args, **kwargs)
            call = _Call(self, api, resource, kwargs)
            token = _INSIDE_CALL.set(call)
            try:
                return trace_call(wrapped, args, call.send, start=call.start, finish=call.finish)
            finally:
                _INSIDE_CALL.reset(token)

        return wrapper

    def _async_wrapper(self, api: _Api) -> Callable[[Wrapped, Any, Args, Kwargs], Any]:
        async def wrapper(wrapped: Wrapped, resource: Any, args: Args, kwargs: Kwargs) -> Any:
            if _INSIDE_CALL.get() is not None:
                return await wrapped(*args, **kwargs)
            call = _Call(self, api, resource, kwargs)
            token = _INSIDE_CALL.set(call)
            try:
                return await trace_async_call(
                    wrapped, args, call.send, start=call.start, finish=call.finish
                )
            finally:
                _INSIDE_CALL.reset(token)

        return wrapper


class _Call:
    """One traced SDK call: what was asked, what is sent, and how its result is recorded."""

    __slots__ = ("api", "body", "hide_usage_chunk", "integration", "kwargs", "send", "wants_body")

    def __init__(self, integration: OpenAIIntegration, api: _Api, resource: Any, kwargs: Kwargs):
        self.integration = integration
        self.api = api
        self.kwargs = kwargs
        self.send = kwargs
        self.hide_usage_chunk = False
        self.body: bytes | None = None
        streams = kwargs.get("stream") is True
        # The `create` methods' bodies are their results; `parse` adds a parsed field the body
        # lacks, and embeddings bodies hold base64 where the caller gets floats.
        self.wants_body = api.stream_kind is not None and not streams
        if streams and api.stream_kind in ("chat", "completion"):
            with guard("asking an OpenAI stream for usage"):
                send = dict(kwargs)
                stream_usage = integration.options["stream_usage"]
                if add_usage_request(send, stream_usage, _host(resource)):
                    self.send = send
                    self.hide_usage_chunk = True

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
            self.api.name, span_type=self.api.span_type, inputs=inputs, attributes=attributes
        )

    def finish(self, span: LiveSpan, result: Any) -> Any:
        types = self.integration._types
        assert types is not None  # set by patch() before any wrapper exists
        if not isinstance(result, types.wrappers):
            record_response(span, result, self.kwargs.get("model"), self.body)
            span.end()
            return result
        if isinstance(result, types.stream):
            return StreamProxy(result, span, self._recorder())
        if isinstance(result, types.async_stream):
            return AsyncStreamProxy(result, span, self._recorder())
        if isinstance(result, types.raw):
            if self.kwargs.get("stream") is True:
                return RawResponseProxy(result, span, self.finish)
            # A non-stream raw response's body is already read; parse() caches, so the caller's
            # own parse() later returns this very object.
            self.finish(span, result.parse())
            return result
        if isinstance(result, types.async_streamed_raw):
            return AsyncRawResponseProxy(result, span, self.finish)
        return RawResponseProxy(result, span, self.finish)  # a streamed raw response

    def _recorder(self) -> StreamRecorder:
        model = self.kwargs.get("model")
        kind = self.api.stream_kind
        if kind == "responses":
            return ResponsesStreamRecorder(request_model=model)
        if kind == "completion":
            return CompletionStreamRecorder(
                hide_usage_chunk=self.hide_usage_chunk, request_model=model
            )
        return ChatStreamRecorder(hide_usage_chunk=self.hide_usage_chunk, request_model=model)


def _host(resource: Any) -> str | None:
    """The host a resource's client sends requests to (``api.openai.com`` for OpenAI itself)."""
    base_url = getattr(getattr(resource, "_client", None), "base_url", None)
    host = getattr(base_url, "host", None)
    return host if isinstance(host, str) else None


def _close_helper(wrapped: Wrapped, helper: Any, args: Args, kwargs: Kwargs) -> Any:
    try:
        return wrapped(*args, **kwargs)
    finally:
        raw_stream = getattr(helper, "_raw_stream", None)
        if isinstance(raw_stream, StreamProxy):
            with guard("closing a stream helper's span"):
                raw_stream._self_end(StreamEnd.CLOSED, None)


async def _close_helper_async(wrapped: Wrapped, helper: Any, args: Args, kwargs: Kwargs) -> Any:
    try:
        return await wrapped(*args, **kwargs)
    finally:
        raw_stream = getattr(helper, "_raw_stream", None)
        if isinstance(raw_stream, AsyncStreamProxy):
            with guard("closing a stream helper's span"):
                raw_stream._self_end(StreamEnd.CLOSED, None)


INTEGRATION = OpenAIIntegration()
