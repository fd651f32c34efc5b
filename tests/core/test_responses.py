"""Decoding the server-sent events a stream kept, for the recorders that rebuild its result."""

from __future__ import annotations

from typing import Any

from tracewire._constants import SpanAttributeKey
from tracewire._responses import body_attributes, decoded_events


class Event:
    """A server-sent event as the SDKs' decoders yield it: only ``data`` is read."""

    def __init__(self, data: Any) -> None:
        self.data = data


def test_events_are_decoded_in_order() -> None:
    events = [Event('{"n": 1}'), Event(' {"n": 2}\n'), Event('{"n": 3, "nested": {"a": [1]}}')]

    assert decoded_events(events) == [{"n": 1}, {"n": 2}, {"n": 3, "nested": {"a": [1]}}]


def test_events_that_are_no_json_object_are_left_out() -> None:
    events = [Event("[DONE]"), Event(""), Event(None), Event("[1]"), Event('{"n": 1}')]

    assert decoded_events(events) == [{"n": 1}]


def test_a_malformed_event_is_left_out_and_the_others_kept() -> None:
    events = [Event('{"n": 1}'), Event('{"n": '), Event('{"n": 2}'), Event('{"a": 1}, {"b": 2}')]

    assert decoded_events(events) == [{"n": 1}, {"n": 2}]


def test_copied_items_keep_their_place_among_events() -> None:
    events = [Event('{"n": 1}'), {"n": 2}, Event('{"n": 3}')]

    assert decoded_events(events) == [{"n": 1}, {"n": 2}, {"n": 3}]


def test_an_event_holding_two_objects_is_left_out() -> None:
    events = [Event('{"n": 1}'), Event('{"a": 1}, {"b": 2}')]

    assert decoded_events(events) == [{"n": 1}]


def test_the_outputs_keep_the_decoded_body_for_the_previews() -> None:
    body = b'{"model": "m", "content": [{"type": "text", "text": "hi"}], "usage": null}'
    attributes, data = body_attributes(body, "m", lambda usage: None)

    outputs = attributes[SpanAttributeKey.OUTPUTS]
    assert outputs == body.decode()
    assert outputs.decoded is data
