"""The Anthropic integration: which SDK methods are wrapped, and what each call's span records."""

from __future__ import annotations

from functools import partial
from types import MappingProxyType

from tracewire._errors import log
from tracewire._guards import guard
from tracewire._integration import Integration
from tracewire._sdk_calls import (
    ProviderCall,
    SdkTypes,
    call_factory,
    capture_bodies,
    follow_stream_closes,
    trace_method,
)
from tracewire.anthropic._requests import REQUESTS
from tracewire.anthropic._responses import message_body_attributes, record_message
from tracewire.anthropic._streams import MessageStreamRecorder, message_attributes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any

    from tracewire._patching import Patcher
    from tracewire._sdk_calls import CallFactory
    from tracewire._span import LiveSpan, NoOpSpan

    Wrapped = Callable[..., Any]
    Args = tuple[Any, ...]
    Kwargs = dict[str, Any]
    Target = tuple[str, str, "str | None", bool]

SPAN_NAME = "anthropic.messages.create"
# Where the `stream()` wrapper leaves the span name and the request on the SDK's stream manager,
# for the manager's __enter__.
_REQUEST_ATTRIBUTE = "_tracewire_request"

# The header with which `with_raw_response` ("raw": the SDK reads the body before returning) and
# `with_streaming_response` ("stream": the caller reads it) mark their requests.
_RAW_RESPONSE_HEADER = "X-Stainless-Raw-Response"

_MESSAGES = "anthropic.resources.messages"
_BETA_MESSAGES = "anthropic.resources.beta.messages"
_HELPERS = "anthropic.lib.streaming"
# (module, class, method, span name, required). Each module is patched when the SDK imports it,
# so that autolog() imports none of it. Optional targets may be missing from an SDK version
# (both 1.0 and 2.12 have `parse`). `stream()` and `parse()` do not call `create`: `parse`
# posts by itself; `stream` posts when its manager is entered, so the managers are wrapped too.
_TARGETS = (
    (_MESSAGES, "Messages", "create", SPAN_NAME, True),
    (_MESSAGES, "AsyncMessages", "create", SPAN_NAME, True),
    (_MESSAGES, "Messages", "stream", "anthropic.messages.stream", True),
    (_MESSAGES, "AsyncMessages", "stream", "anthropic.messages.stream", True),
    (_MESSAGES, "Messages", "parse", "anthropic.messages.parse", False),
    (_MESSAGES, "AsyncMessages", "parse", "anthropic.messages.parse", False),
    (_BETA_MESSAGES, "Messages", "create", "anthropic.beta.messages.create", True),
    (_BETA_MESSAGES, "AsyncMessages", "create", "anthropic.beta.messages.create", True),
    (_BETA_MESSAGES, "Messages", "stream", "anthropic.beta.messages.stream", True),
    (_BETA_MESSAGES, "AsyncMessages", "stream", "anthropic.beta.messages.stream", True),
    (_BETA_MESSAGES, "Messages", "parse", "anthropic.beta.messages.parse", False),
    (_BETA_MESSAGES, "AsyncMessages", "parse", "anthropic.beta.messages.parse", False),
    (_HELPERS, "MessageStreamManager", "__enter__", None, True),
    (_HELPERS, "AsyncMessageStreamManager", "__aenter__", None, True),
    (_HELPERS, "BetaMessageStreamManager", "__enter__", None, True),
    (_HELPERS, "BetaAsyncMessageStreamManager", "__aenter__", None, True),
)


def _sdk_types(anthropic: ModuleType) -> SdkTypes:
    """The SDK's stream and raw-response classes, looked up once the SDK is imported."""
    return SdkTypes(
        stream=anthropic.Stream,
        async_stream=anthropic.AsyncStream,
        raw=(anthropic.APIResponse,),
        async_raw=(anthropic.AsyncAPIResponse,),
        error=anthropic.APIError,
    )


class AnthropicIntegration(Integration):
    """Traces the Anthropic SDK's messages (and beta messages) create, stream and parse calls."""

    name = "anthropic"
    requirements = ("anthropic>=1.0,<3",)
    extra = "anthropic"
    default_options = MappingProxyType({})

    def __init__(self) -> None:
        super().__init__()
        self._types: SdkTypes | None = None

    def patch(self, patcher: Patcher, module: ModuleType) -> None:
        """Wrap the traced methods on the SDK's classes, so that existing clients are traced too.

        Each module is patched when the SDK first imports it, not imported here.
        """
        self._types = _sdk_types(module)
        grouped: dict[str, list[Target]] = {}
        for module_name, class_name, method, span_name, required in _TARGETS:
            grouped.setdefault(module_name, []).append((class_name, method, span_name, required))
        for module_name, targets in grouped.items():
            patcher.when_imported(module_name, partial(self._patch_module, patcher, targets))
        patcher.when_imported("anthropic._response", partial(_capture_bodies, patcher))
        follow_stream_closes(patcher, self._types)

    def _patch_module(self, patcher: Patcher, targets: list[Target], module: ModuleType) -> None:
        for class_name, method, span_name, required in targets:
            owner = getattr(module, class_name, None)
            if owner is None or not hasattr(owner, method):
                if required:
                    raise AttributeError(
                        f"{module.__name__}.{class_name}.{method} not in this anthropic"
                    )
                log().debug("tracewire: no %s.%s.%s here", module.__name__, class_name, method)
                continue
            self._patch_method(patcher, owner, method, span_name)

    def _patch_method(
        self, patcher: Patcher, owner: type, method: str, span_name: str | None
    ) -> None:
        make_call: CallFactory
        if method in ("__enter__", "__aenter__"):
            make_call = self._helper_call
            asynchronous = method == "__aenter__"
        elif method == "stream":  # a plain method in both classes: it only builds the manager
            assert span_name is not None  # every resource method's row names its span
            patcher.wrap(owner, method, partial(_remember_request, span_name))
            return
        else:
            assert span_name is not None
            assert self._types is not None  # set by patch() before any module is patched
            make_call = call_factory(
                _Call, span_name, _Call.span_type, self._types, method == "create"
            )
            asynchronous = owner.__name__.startswith("Async")
        trace_method(patcher, self, owner, method, _Call, make_call, asynchronous=asynchronous)

    def _helper_call(self, manager: Any, kwargs: Kwargs) -> ProviderCall | NoOpSpan | None:
        """The call a ``messages.stream()`` manager's ``__enter__`` makes, if stream() built it."""
        request = getattr(manager, _REQUEST_ATTRIBUTE, None)
        if request is None:
            return None
        types = self._types
        assert types is not None  # set by patch() before any wrapper exists
        span_name, request_kwargs = request
        call = call_factory(_HelperCall, span_name, _HelperCall.span_type, types, False)(
            manager, request_kwargs
        )
        if isinstance(call, _HelperCall):
            # __enter__'s own arguments (none): the request was sent by stream().
            call.send = kwargs
        return call


def _capture_bodies(patcher: Patcher, module: ModuleType) -> None:
    capture_bodies(patcher, getattr(module, "BaseAPIResponse", None), _Call)


def _remember_request(
    span_name: str, wrapped: Wrapped, resource: Any, args: Args, kwargs: Kwargs
) -> Any:
    """Call ``messages.stream()`` and leave the span name and arguments on the manager it returns.

    The helper sends nothing: its manager posts the request when entered, so the span starts
    there (a manager never entered makes no call and no span).
    """
    manager = wrapped(*args, **kwargs)
    with guard("remembering a messages.stream() request"):
        setattr(manager, _REQUEST_ATTRIBUTE, (span_name, kwargs))
    return manager


class _Call(ProviderCall):
    """One traced call of a messages resource (create or parse).

    A ``create`` body is the message the caller gets; ``parse`` adds a parsed field it lacks.
    """

    __slots__ = ()

    rules = REQUESTS
    assemble_stream = staticmethod(message_attributes)

    def record(self, span: LiveSpan, result: Any) -> None:
        record_message(span, result, self.kwargs.get("model"))

    def outputs_from_body(self, body: bytes) -> dict[str, Any]:
        return message_body_attributes(body, self.kwargs.get("model"))

    def body_is_read(self, raw: Any) -> bool:
        # One APIResponse class serves both raw modes; the request's header tells them apart.
        headers = self.kwargs.get("extra_headers")
        return isinstance(headers, dict) and headers.get(_RAW_RESPONSE_HEADER) == "raw"

    def recorder(self, stream: Any) -> MessageStreamRecorder:
        return MessageStreamRecorder(stream, request_model=self.kwargs.get("model"))


class _HelperCall(_Call):
    """The call a ``messages.stream()`` manager makes when entered; it returns a MessageStream."""

    __slots__ = ()

    def finish(self, span: LiveSpan, result: Any) -> Any:
        """Follow the helper's raw event stream with the span; return the helper.

        Every way of reading a ``MessageStream`` (iterating it, ``text_stream``,
        ``until_done()``, ``get_final_message()``) pulls from its ``_raw_stream``, and its
        ``close()`` closes that: following it sees every event and ends the span exactly once.
        The helper has not read from the raw stream yet when its manager returns it.
        """
        raw_stream = getattr(result, "_raw_stream", None)
        if isinstance(raw_stream, self.types.streams):
            # The stream itself, followed in place, or a proxy the helper then reads through.
            result._raw_stream = self.follow(span, raw_stream)
        else:  # a future SDK that reads differently: record the request, not a stream
            log().debug("tracewire: anthropic %s has no raw stream", type(result).__name__)
            span.end()
        return result


INTEGRATION = AnthropicIntegration()
