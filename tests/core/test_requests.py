"""Request inputs recorded from the JSON body the SDK sent, and copied when it sent none.

A toy client stands in for a Stainless SDK's: it serializes the arguments to a JSON request body,
as theirs do, and its response's ``_parse``, which :func:`capture_bodies` hooks with a real
patcher, turns the HTTP response into the result.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import tracewire
from tracewire._constants import SpanType
from tracewire._integration import Integration
from tracewire._patching import Patcher
from tracewire._requests import RequestRules
from tracewire._sdk_calls import (
    ProviderCall,
    SdkTypes,
    call_factory,
    capture_bodies,
    trace_method,
    traced_method,
)
from tracewire._streams import StreamRecorder
from tracewire.entities import LiveSpan, SpanStatusCode
from tracewire.tracing.constant import SpanAttributeKey

LastTrace = Callable[[], tracewire.Trace]


class HttpRequest:
    def __init__(self, content: bytes) -> None:
        self.content = content


class HttpResponse:
    def __init__(self, request: HttpRequest, content: bytes) -> None:
        self.request = request
        self._content = content


class Response:
    """The SDK's response: ``_parse`` turns the HTTP response into the call's result."""

    def __init__(self, http_response: HttpResponse) -> None:
        self.http_response = http_response

    def _parse(self) -> str:
        return str(json.loads(self.http_response._content)["text"])


class ApiError(Exception):
    """The SDK's error for a request the API refused: it keeps the request it sent."""

    def __init__(self, request: HttpRequest) -> None:
        super().__init__("429 Too Many Requests")
        self.request = request


class Client:
    """Sends each call's arguments as a JSON body, as the SDKs' clients do."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def create(
        self, *, fail_before_sending: bool = False, refused: bool = False, **kwargs: Any
    ) -> str:
        if fail_before_sending:
            raise TypeError("missing a required argument")
        sendable = {k: v for k, v in kwargs.items() if k not in ("extra_body", "betas")}
        sendable.update(kwargs.get("extra_body") or {})
        request = HttpRequest(json.dumps(sendable, separators=(",", ":")).encode())
        self.sent.append(request.content)
        if refused:
            raise ApiError(request)
        return Response(HttpResponse(request, b'{"text": "answer"}'))._parse()


def tool_named(tool: dict[str, Any]) -> dict[str, Any] | None:
    return {"type": "function", "function": {"name": tool["name"]}}


RULES = RequestRules(
    "toy",
    secret_headers=("x-api-key",),
    not_parameters=("messages",),
    chat_tool=tool_named,
    outside_body=("betas",),
)
TYPES = SdkTypes(stream=type(None), async_stream=type(None), raw=(), async_raw=(), error=ApiError)


class ToyCall(ProviderCall):
    __slots__ = ()

    rules = RULES

    def record(self, span: LiveSpan, result: Any) -> None:
        span.set_outputs(result)

    def recorder(self) -> StreamRecorder:
        raise NotImplementedError


class ToyIntegration(Integration):
    name = "toy_requests"


INTEGRATION = ToyIntegration()


make_call = call_factory(ToyCall, "toy.create", SpanType.CHAT_MODEL, TYPES, False)


@pytest.fixture
def client() -> Iterator[Client]:
    """A client whose requests' bodies reach the traced call, and whose ``create`` is traced."""
    patcher = Patcher(lambda: True)
    capture_bodies(patcher, Response, ToyCall)
    trace_method(patcher, INTEGRATION, Client, "create", ToyCall, make_call)
    yield Client()
    patcher.undo()


def only_span(last_trace: LastTrace) -> Any:
    (span,) = last_trace().data.spans
    return span


def test_inputs_are_the_arguments_as_sent_not_as_changed_after_the_call(
    client: Client, last_trace: LastTrace
) -> None:
    messages = [{"role": "user", "content": "hi"}]
    client.create(model="m", messages=messages)
    messages.append({"role": "assistant", "content": "changed"})
    messages[0]["content"] = "changed"

    span = only_span(last_trace)
    assert span.inputs == {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert span.attributes["model"] == "m"


def test_inputs_equal_to_the_body_are_recorded_as_its_json_text(
    client: Client, last_trace: LastTrace
) -> None:
    client.create(model="m", messages=[{"role": "user", "content": "hi"}])

    encoded = only_span(last_trace).to_dict()["attributes"][SpanAttributeKey.INPUTS]
    assert encoded == client.sent[0].decode()


def test_the_request_body_is_decoded_once_for_both_inputs_and_preview(
    client: Client, last_trace: LastTrace, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[Any] = []
    json_loads = json.loads

    def counting_loads(text: Any, **kwargs: Any) -> Any:
        decoded.append(text)
        return json_loads(text, **kwargs)

    monkeypatch.setattr(json, "loads", counting_loads)
    client.create(model="m", messages=[{"role": "user", "content": "hi"}])

    assert last_trace().info.request_preview == "hi"
    assert decoded.count(client.sent[0].decode()) == 1


def test_parameters_are_the_scalar_arguments_that_are_not_content(
    client: Client, last_trace: LastTrace
) -> None:
    client.create(model="m", temperature=0.5, messages="hi", stop=["x"], seed=None)

    attributes = only_span(last_trace).attributes
    assert (attributes["model"], attributes["temperature"]) == ("m", 0.5)
    assert not {"messages", "stop", "seed"} & set(attributes)


def test_tools_are_read_from_the_request_body(client: Client, last_trace: LastTrace) -> None:
    tools = [{"name": "lookup"}]
    client.create(model="m", tools=tools)
    tools.clear()

    tools_attribute = only_span(last_trace).attributes[SpanAttributeKey.CHAT_TOOLS]
    assert tools_attribute == [{"type": "function", "function": {"name": "lookup"}}]


def test_arguments_sent_outside_the_body_are_copied_when_the_call_starts(
    client: Client, last_trace: LastTrace
) -> None:
    extra_body = {"custom": [1]}
    betas = ["beta-1"]
    client.create(model="m", messages=[], extra_body=extra_body, betas=betas)
    extra_body["custom"].append(2)
    betas.append("beta-2")

    inputs = only_span(last_trace).inputs
    assert inputs["extra_body"] == {"custom": [1]}
    assert inputs["betas"] == ["beta-1"]
    assert "custom" not in inputs  # a field extra_body merged into the body is no argument


def test_the_body_read_is_the_request_the_parsed_response_answers(
    client: Client, request_bodies_after: Any
) -> None:
    bodies = request_bodies_after(ToyCall, "returned")
    client.create(model="m", messages=[])

    assert bodies == client.sent


def test_a_call_the_api_refused_records_the_arguments_it_sent(
    client: Client, last_trace: LastTrace, request_bodies_after: Any
) -> None:
    bodies = request_bodies_after(ToyCall, "failed")
    messages = [{"role": "user", "content": "hi"}]
    with pytest.raises(ApiError):
        client.create(model="m", messages=messages, refused=True)
    messages.clear()

    span = only_span(last_trace)
    assert span.status.status_code == SpanStatusCode.ERROR
    assert span.inputs["messages"] == [{"role": "user", "content": "hi"}]
    assert bodies == client.sent  # read from the request the error kept


def test_a_call_that_fails_before_sending_records_its_arguments(
    client: Client, last_trace: LastTrace
) -> None:
    messages = [{"role": "user", "content": "hi"}]
    with pytest.raises(TypeError, match="missing a required argument"):
        client.create(model="m", messages=messages, fail_before_sending=True)
    messages.clear()

    span = only_span(last_trace)
    assert span.status.status_code == SpanStatusCode.ERROR
    assert span.inputs["messages"] == [{"role": "user", "content": "hi"}]


def test_an_argument_missing_from_the_body_is_left_out(last_trace: LastTrace) -> None:
    def create(**kwargs: Any) -> str:
        call = tracewire.get_current_active_span()
        assert isinstance(call, ToyCall)
        call.request_body = b'{"model": "m"}'  # an SDK that renamed `messages` on the wire
        return "answer"

    method = traced_method(
        Patcher(lambda: True), INTEGRATION, lambda _, **kwargs: create(**kwargs), ToyCall, make_call
    )
    method(None, model="m", messages=["hi"])

    assert only_span(last_trace).inputs == {"model": "m"}


def test_undoing_the_patch_restores_the_original_parse() -> None:
    original = Response.__dict__["_parse"]
    patcher = Patcher(lambda: True)
    capture_bodies(patcher, Response, ToyCall)
    assert Response.__dict__["_parse"] is not original

    patcher.undo()

    assert Response.__dict__["_parse"] is original
