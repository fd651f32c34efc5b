"""Rebuild the final ``Message`` of an Anthropic event stream, for the span's outputs and usage.

The recorder keeps each server-sent event as the SDK reads it (see
``tracewire._sdk_calls.KeptEventsRecorder``): the events exactly as the API sent them, which
nothing can change afterwards. The message is rebuilt from them on the export thread, so
following the stream costs the caller's thread nothing per event. (The SDK's own accumulator,
``accumulate_event``, lives in a private module, has changed signature between releases, and
re-parses a tool's partial JSON on every delta.)

Usage follows the API's rules: ``message_start`` carries the input and cache counts (and an
initial output count); each ``message_delta`` carries CUMULATIVE counts, so the last one
overwrites, never adds to, what came before.
"""

from __future__ import annotations

from tracewire._constants import SpanAttributeKey
from tracewire._json import loads
from tracewire._responses import decoded_events, usage_and_model
from tracewire._sdk_calls import KeptEventsRecorder
from tracewire.anthropic._responses import add_finish_reasons
from tracewire.anthropic._usage import token_usage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any


_OUTPUTS = SpanAttributeKey.OUTPUTS


class _Block:
    """One content block being assembled from its deltas."""

    __slots__ = ("block", "citations", "json", "signature", "text", "thinking")

    def __init__(self, start: Any) -> None:
        # The content_block_start's block; a new dict, decoded for this record alone.
        self.block: dict[str, Any] = start if isinstance(start, dict) else {"value": start}
        self.text: list[str] = []
        self.json: list[str] = []
        self.thinking: list[str] = []
        self.signature: str | None = None
        self.citations: list[Any] = []

    def add(self, delta: dict[str, Any]) -> None:
        kind = delta.get("type")
        if kind == "text_delta":
            self.text.append(delta.get("text") or "")
        elif kind == "input_json_delta":
            self.json.append(delta.get("partial_json") or "")
        elif kind == "thinking_delta":
            self.thinking.append(delta.get("thinking") or "")
        elif kind == "signature_delta":
            self.signature = delta.get("signature")
        elif kind == "citations_delta":
            self.citations.append(delta.get("citation"))

    def as_dict(self) -> dict[str, Any]:
        block = self.block
        if self.text:
            block["text"] = (block.get("text") or "") + "".join(self.text)
        if self.thinking:
            block["thinking"] = (block.get("thinking") or "") + "".join(self.thinking)
        if self.signature is not None:
            block["signature"] = self.signature
        if self.citations:
            block["citations"] = [*(block.get("citations") or ()), *self.citations]
        arguments = "".join(self.json)
        if arguments:  # a tool called without arguments streams "": the start's {} stands
            # A stream stopped mid-argument leaves text that is no JSON: kept as it arrived.
            block["input"] = loads(arguments)
        return block


def _usage(start: Any, delta_usages: list[Any]) -> dict[str, Any] | None:
    """message_start's counts, each replaced by the last message_delta that reports it."""
    # A count the server sent as null is not part of the message.
    usage = {k: v for k, v in start.items() if v is not None} if isinstance(start, dict) else None
    for counts in delta_usages:
        if isinstance(counts, dict):
            if usage is None:
                usage = {}
            usage.update({key: value for key, value in counts.items() if value is not None})
    return usage


def message_attributes(events: Sequence[Any], request_model: Any) -> dict[str, Any]:
    """Outputs (the rebuilt message), usage, model and stop reason of a message stream.

    Args:
        events: The stream's events in order: the server-sent events the SDK read, or dicts
            already decoded (see ``decoded_events``).
        request_model: The ``model`` argument, used when the stream never named the model.

    Returns:
        The span attributes to set.
    """
    message: dict[str, Any] = {}
    blocks: dict[Any, _Block] = {}
    delta_usages: list[Any] = []
    for event in decoded_events(events):
        kind = event.get("type")
        if kind == "content_block_delta":
            block = blocks.get(event.get("index"))
            delta = event.get("delta")
            if block is not None and isinstance(delta, dict):
                block.add(delta)
        elif kind == "content_block_start":
            blocks[event.get("index")] = _Block(event.get("content_block"))
        elif kind == "message_start":
            start = event.get("message")
            if isinstance(start, dict):
                message = start
        elif kind == "message_delta":
            delta = event.get("delta")
            if isinstance(delta, dict):
                message.update(delta)  # stop_reason, stop_sequence: the message's own fields
            delta_usages.append(event.get("usage"))
    # The API starts the blocks in index order.
    message["content"] = [block.as_dict() for block in blocks.values()]
    usage = _usage(message.get("usage"), delta_usages)
    counts = None
    if usage is not None:
        message["usage"] = usage
        counts = token_usage(usage)
    attributes = usage_and_model(counts, message.get("model"), request_model)
    add_finish_reasons(attributes, message.get("stop_reason"))
    attributes[_OUTPUTS] = message
    return attributes


class MessageStreamRecorder(KeptEventsRecorder):
    """Rebuilds a ``message`` from the events of an Anthropic stream, once the stream has ended.

    Args:
        stream: The SDK's stream, not read yet: the recorder keeps each event it reads.
        request_model: The ``model`` argument, used when the stream never named the model.
    """

    assemble = staticmethod(message_attributes)
