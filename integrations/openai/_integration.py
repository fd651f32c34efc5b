"""The OpenAI integration: which SDK methods are wrapped, and what each call's span records."""

from __future__ import annotations

import importlib
from functools import partial
from types import MappingProxyType

from tracewire._constants import SpanType
from tracewire._errors import log
from tracewire._guards import guard
from tracewire._integration import Integration
from tracewire._json import snapshot
from tracewire._sdk_calls import (
    ProviderCall,
    SdkTypes,
    call_factory,
    capture_bodies,
    trace_method,
)
from tracewire._streams import AsyncStreamProxy, StreamEnd, StreamProxy
from tracewire.openai._requests import REQUESTS, add_usage_request
from tracewire.openai._responses import record_response, response_body_attributes
from tracewire.openai._streams import (
    EventStreamRecorder,
    chat_attributes,
    completion_attributes,
    responses_attributes,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any

    from tracewire._patching import Patcher
    from tracewire._span import LiveSpan
    from tracewire._streams import StreamRecorder

    Wrapped = Callable[..., Any]
    Args = tuple[Any, ...]
    Kwargs = dict[str, Any]


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


def _capture_bodies(patcher: Patcher, class_name: str, module: ModuleType) -> None:
    capture_bodies(patcher, getattr(module, class_name, None), _Call)


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


def _sdk_types(openai: ModuleType) -> SdkTypes:
    """The SDK's result classes, looked up once the SDK is imported."""
    legacy = importlib.import_module("openai._legacy_response")
    response = importlib.import_module("openai._response")
    # with_raw_response returns a LegacyAPIResponse, whose body the SDK has read;
    # with_streaming_response an (Async)APIResponse, whose body the caller reads.
    return SdkTypes(
        stream=openai.Stream,
        async_stream=openai.AsyncStream,
        raw=(legacy.LegacyAPIResponse, response.APIResponse),
        async_raw=(response.AsyncAPIResponse,),
        read_raw=(legacy.LegacyAPIResponse,),
        error=openai.APIError,
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
        self._types: SdkTypes | None = None

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
        self._types = _sdk_types(module)
        seen: set[tuple[int, str]] = set()  # a class re-exported under two modules is wrapped once
        for module_name, targets in _by_module(_TARGETS).items():
            patcher.when_imported(
                module_name, partial(self._patch_resources, patcher, targets, seen)
            )
        for module_name, class_name in _BODY_PARSERS:
            patcher.when_imported(module_name, partial(_capture_bodies, patcher, class_name))
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
            trace_method(
                patcher,
                self,
                owner,
                method,
                _Call,
                call_factory(_Call, api.name, api.span_type, self, api),
                asynchronous=is_async,
            )


class _Call(ProviderCall):
    """One traced OpenAI call: its API, and the usage request and body it may add."""

    __slots__ = ("api", "hide_usage_chunk")

    rules = REQUESTS

    def __init__(self, integration: OpenAIIntegration, api: _Api, resource: Any, kwargs: Kwargs):
        types = integration._types
        assert types is not None  # set by patch() before any wrapper exists
        # The `create` methods' bodies are their results; `parse` adds a parsed field the body
        # lacks, and embeddings bodies hold base64 where the caller gets floats.
        super().__init__(types, api.stream_kind is not None, resource, kwargs)
        self.api = api
        self.hide_usage_chunk = False
        if kwargs.get("stream") is True and api.stream_kind in ("chat", "completion"):
            with guard("asking an OpenAI stream for usage"):
                send = dict(kwargs)
                stream_usage = integration.options["stream_usage"]
                if add_usage_request(send, stream_usage, _host(resource)):
                    self.send = send
                    self.hide_usage_chunk = True
                    if "stream_options" in kwargs:
                        # The body carries the include_usage tracewire added: record the
                        # caller's options instead.
                        self.copied_inputs = {
                            **(self.copied_inputs or {}),
                            "stream_options": snapshot(kwargs["stream_options"]),
                        }

    def record(self, span: LiveSpan, result: Any) -> None:
        record_response(span, result, self.kwargs.get("model"))

    def outputs_from_body(self, body: bytes) -> dict[str, Any]:
        return response_body_attributes(body, self.kwargs.get("model"))

    def recorder(self, stream: Any) -> StreamRecorder:
        kind = self.api.stream_kind
        if kind == "responses":
            assemble = responses_attributes
        elif kind == "completion":
            assemble = completion_attributes
        else:
            assemble = chat_attributes
        return EventStreamRecorder(
            stream,
            assemble,
            request_model=self.kwargs.get("model"),
            hide_usage_chunk=self.hide_usage_chunk,
        )


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
