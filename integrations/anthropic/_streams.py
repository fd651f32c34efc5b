"""Rebuild the final ``Message`` of an Anthropic event stream, for the span's outputs and usage.

The SDK's own accumulator (``accumulate_event``) lives in a private module, has changed signature
between releases, and re-parses a tool's partial JSON on every delta; this recorder only keeps
references and strings per event and builds the message once, when the stream ends.

Usage follows the API's rules: ``message_start`` carries the input and cache counts (and an
initial output count); each ``message_delta`` carries CUMULATIVE counts, so the last one
overwrites, never adds to, what came before.
"""

from __future__ import annotations

from tracewire._constants import SpanAttributeKey
from tracewire._responses import model_fields, plain, usage_and_model
from tracewire._streams import StreamRecorder
from tracewire.anthropic._responses import add_finish_reasons
from tracewire.anthropic._usage import token_usage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tracewire._span import LiveSpan

_OUTPUTS = SpanAttributeKey.OUTPUTS


class _Block:
    """One content block being assembled from its deltas."""

    __slots__ = ("citations", "json", "signature", "start", "text", "thinking")

    def __init__(self, start: Any) -> None:
        self.start = start  # the content_block_start's block
        self.text: list[str] = []
        self.json: list[str] = []
        self.thinking: list[str] = []
        self.signature: str | None = None
        self.citations: list[Any] = []

    def add(self, delta: Any) -> None:
        kind = delta.type
        if kind == "text_delta":
            self.text.append(delta.text)
        elif kind == "input_json_delta":
            self.json.append(delta.partial_json)
        elif kind == "thinking_delta":
            self.thinking.append(delta.thinking)
        elif kind == "signature_delta":
            self.signature = delta.signature
        elif kind == "citations_delta":
            self.citations.append(delta.citation)

    def freeze(self) -> None:
        """Replace the SDK's models with JSON-ready copies (the caller may still hold them)."""
        self.start = plain(self.start)
        self.citations = [plain(citation) for citation in self.citations]

    def as_dict(self) -> dict[str, Any]:
        """The assembled block; call :meth:`freeze` first."""
        block = self.start
        if not isinstance(block, dict):
            block = {"value": block}
        if self.text:
            block["text"] = block.get("text", "") + "".join(self.text)
        if self.thinking:
            block["thinking"] = block.get("thinking", "") + "".join(self.thinking)
        if self.signature is not None:
            block["signature"] = self.signature
        if self.citations:
            block["citations"] = [*(block.get("citations") or ()), *self.citations]
        if self.json:
            import json  # noqa: PLC0415 - once per streamed tool call, at the stream's end

            text = "".join(self.json)
            try:
                block["input"] = json.loads(text)
            except ValueError:  # the stream stopped mid-argument: keep what arrived, as text
                block["input"] = text
        return block


class MessageStreamRecorder(StreamRecorder):
    """Rebuilds a ``message`` from ``RawMessageStreamEvent`` items.

    Args:
        request_model: The ``model`` argument, used when the stream never named the model.
    """

    def __init__(self, *, request_model: Any) -> None:
        self.request_model = request_model
        self.message: Any = None  # the message_start's (empty) message
        self.blocks: dict[int, _Block] = {}
        self.delta: Any = None  # the last message_delta's delta: stop reason and sequence
        self.delta_usages: list[Any] = []  # every message_delta's usage, in order

    def on_item(self, item: Any) -> bool:
        kind = getattr(item, "type", None)
        if kind == "content_block_delta":
            block = self.blocks.get(item.index)
            if block is not None:
                block.add(item.delta)
        elif kind == "content_block_start":
            self.blocks[item.index] = _Block(item.content_block)
        elif kind == "message_start":
            self.message = item.message
        elif kind == "message_delta":
            self.delta = item.delta
            self.delta_usages.append(item.usage)
        return True

    def _usage(self) -> dict[str, Any] | None:
        message = self.message
        fields = model_fields(message.get("usage") if isinstance(message, dict) else None)
        # Fields the SDK declares but the server left out are None: not part of the message.
        usage = {k: v for k, v in fields.items() if v is not None} if fields is not None else None
        for delta_usage in self.delta_usages:
            counts = model_fields(delta_usage)
            if counts is None:
                continue
            if usage is None:
                usage = {}
            # Cumulative counts: a later value replaces the earlier one. Counts a delta leaves
            # out (None) keep the message_start value.
            usage.update({key: value for key, value in counts.items() if value is not None})
        return usage

    def on_end(self, span: LiveSpan, end: str, error: BaseException | None) -> None:
        # The events belong to the caller, who may still hold (or change) them: their models
        # are copied now, and freed with their events rather than kept for the export thread.
        # The message is assembled from the copies and the recorder's own strings later.
        if self.message is not None:
            self.message = plain(self.message)
        for block in self.blocks.values():
            block.freeze()
        delta = self.delta
        if delta is not None:
            self.delta = {
                "stop_reason": getattr(delta, "stop_reason", None),
                "stop_sequence": getattr(delta, "stop_sequence", None),
            }
        self.delta_usages = [plain(usage) for usage in self.delta_usages]
        span._record_later(self._attributes)

    def _attributes(self) -> dict[str, Any]:
        start = self.message
        outputs: dict[str, Any] = start if isinstance(start, dict) else {}
        outputs["content"] = [self.blocks[index].as_dict() for index in sorted(self.blocks)]
        if self.delta is not None:
            outputs.update(self.delta)
        usage = self._usage()
        counts = None
        if usage is not None:
            outputs["usage"] = usage
            counts = token_usage(usage)
        attributes = usage_and_model(counts, outputs.get("model"), self.request_model)
        add_finish_reasons(attributes, outputs.get("stop_reason"))
        attributes[_OUTPUTS] = outputs
        return attributes
