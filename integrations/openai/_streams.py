"""Rebuild the whole result of an OpenAI stream from its chunks, for the span's outputs and usage.

Chat and legacy-completion streams are rebuilt into the non-stream response shape (content joined,
tool-call deltas merged by index, finish reason, id, model, usage). Responses API streams end with
a ``response.completed`` (or ``.incomplete`` / ``.failed``) event that carries the whole response;
if the stream stops before it, the text that arrived is kept.

Recorders run once per chunk on the caller's thread, so they only collect references and strings.
When the stream ends, the caller's thread detaches the usage from the SDK's objects; the output
dict and the span attributes are built later, on the export thread (``LiveSpan._record_later``).
"""

from __future__ import annotations

from tracewire._constants import SpanAttributeKey
from tracewire._responses import plain, usage_and_model
from tracewire._streams import StreamRecorder
from tracewire.openai._responses import record_response
from tracewire.openai._usage import token_usage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tracewire._span import LiveSpan

_OUTPUTS = SpanAttributeKey.OUTPUTS
_FINAL_RESPONSE_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


class _ToolCall:
    """One tool call being assembled from its deltas."""

    __slots__ = ("arguments", "id", "name", "type")

    def __init__(self) -> None:
        self.id: str | None = None
        self.type: str | None = None
        self.name: str | None = None
        self.arguments: list[str] = []

    def add(self, delta: Any) -> None:
        if delta.id:
            self.id = delta.id
        if getattr(delta, "type", None):
            self.type = delta.type
        function = delta.function
        if function is not None:
            if function.name:
                self.name = function.name
            if function.arguments:
                self.arguments.append(function.arguments)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type or "function",
            "function": {"name": self.name, "arguments": "".join(self.arguments)},
        }


class _Choice:
    """One choice (``n`` > 1 streams several) being assembled from its deltas."""

    __slots__ = ("finish_reason", "parts", "refusal", "role", "tool_calls")

    def __init__(self) -> None:
        self.role: str | None = None
        self.parts: list[str] = []
        self.refusal: list[str] = []
        self.tool_calls: dict[int, _ToolCall] = {}
        self.finish_reason: str | None = None


class _StreamRecorder(StreamRecorder):
    """The state every OpenAI chunk recorder keeps: ids, model, usage, the hidden usage chunk.

    When the stream ends it hands the span a derivation of the rebuilt result (see
    ``LiveSpan._record_later``).
    """

    def __init__(self, *, hide_usage_chunk: bool, request_model: Any) -> None:
        self.hide_usage_chunk = hide_usage_chunk
        self.request_model = request_model
        self.id: str | None = None
        self.model: str | None = None
        self.created: int | None = None
        self.system_fingerprint: str | None = None
        self.usage: Any = None

    def _note(self, chunk: Any) -> bool:
        """Keep a chunk's id, model and usage; return whether to pass the chunk to the caller."""
        # Every chunk repeats these; the first with an id sets them. (Azure's first chunk, with
        # prompt filter results, has an empty id and model.)
        if self.id is None and chunk.id:
            self.id = chunk.id
            self.model = chunk.model
            self.created = chunk.created
            self.system_fingerprint = getattr(chunk, "system_fingerprint", None)
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = usage
            # The usage-only chunk tracewire asked for: the caller did not, and code that reads
            # chunk.choices[0] must not meet it.
            return not (self.hide_usage_chunk and not chunk.choices)
        return True

    def on_end(self, span: LiveSpan, end: str, error: BaseException | None) -> None:
        # The usage object belongs to a chunk the caller may still hold: copy its fields now (it
        # is then freed with its chunk, not kept for the export thread). Everything else is the
        # recorder's own strings, safe to assemble later.
        if self.usage is not None:
            self.usage = plain(self.usage)
        span._record_later(self._attributes)

    def _attributes(self) -> dict[str, Any]:
        outputs = self._outputs()
        if self.usage is not None:
            outputs["usage"] = self.usage
        attributes = usage_and_model(token_usage(self.usage), self.model, self.request_model)
        attributes[_OUTPUTS] = outputs
        return attributes

    def _outputs(self) -> dict[str, Any]:
        """The rebuilt result, without its usage."""
        raise NotImplementedError

    def _header(self, kind: str) -> dict[str, Any]:
        result: dict[str, Any] = {"id": self.id, "object": kind, "created": self.created}
        result["model"] = self.model
        if self.system_fingerprint is not None:
            result["system_fingerprint"] = self.system_fingerprint
        return result


class ChatStreamRecorder(_StreamRecorder):
    """Rebuilds a ``chat.completion`` from ``chat.completion.chunk`` items.

    Args:
        hide_usage_chunk: tracewire added ``include_usage`` to the request, so the usage-only chunk
            is recorded but not passed on.
        request_model: The ``model`` argument, used when no chunk names the model.
    """

    def __init__(self, *, hide_usage_chunk: bool, request_model: Any) -> None:
        super().__init__(hide_usage_chunk=hide_usage_chunk, request_model=request_model)
        self.choices: dict[int, _Choice] = {}

    def on_item(self, item: Any) -> bool:
        for choice in item.choices:
            state = self.choices.get(choice.index)
            if state is None:
                state = self.choices[choice.index] = _Choice()
            delta = choice.delta
            if delta is not None:
                if delta.content:
                    state.parts.append(delta.content)
                if delta.role:
                    state.role = delta.role
                if getattr(delta, "refusal", None):
                    state.refusal.append(delta.refusal)
                if delta.tool_calls:
                    for call in delta.tool_calls:
                        tool_call = state.tool_calls.get(call.index)
                        if tool_call is None:
                            tool_call = state.tool_calls[call.index] = _ToolCall()
                        tool_call.add(call)
            if choice.finish_reason:
                state.finish_reason = choice.finish_reason
        return self._note(item)

    def _outputs(self) -> dict[str, Any]:
        outputs = self._header("chat.completion")
        choices = []
        for index in sorted(self.choices):
            state = self.choices[index]
            message: dict[str, Any] = {
                "role": state.role or "assistant",
                "content": "".join(state.parts) if state.parts else None,
            }
            if state.refusal:
                message["refusal"] = "".join(state.refusal)
            if state.tool_calls:
                message["tool_calls"] = [
                    state.tool_calls[i].as_dict() for i in sorted(state.tool_calls)
                ]
            choices.append(
                {"index": index, "message": message, "finish_reason": state.finish_reason}
            )
        outputs["choices"] = choices
        return outputs


class CompletionStreamRecorder(_StreamRecorder):
    """Rebuilds a legacy ``text_completion`` from its streamed chunks.

    Args:
        hide_usage_chunk: As for :class:`ChatStreamRecorder`.
        request_model: As for :class:`ChatStreamRecorder`.
    """

    def __init__(self, *, hide_usage_chunk: bool, request_model: Any) -> None:
        super().__init__(hide_usage_chunk=hide_usage_chunk, request_model=request_model)
        self.texts: dict[int, list[str]] = {}
        self.finish_reasons: dict[int, str] = {}

    def on_item(self, item: Any) -> bool:
        for choice in item.choices:
            if choice.text:
                self.texts.setdefault(choice.index, []).append(choice.text)
            if choice.finish_reason:
                self.finish_reasons[choice.index] = choice.finish_reason
        return self._note(item)

    def _outputs(self) -> dict[str, Any]:
        outputs = self._header("text_completion")
        indexes = sorted(set(self.texts) | set(self.finish_reasons))
        outputs["choices"] = [
            {
                "index": index,
                "text": "".join(self.texts.get(index, ())),
                "finish_reason": self.finish_reasons.get(index),
            }
            for index in indexes
        ]
        return outputs


class ResponsesStreamRecorder(StreamRecorder):
    """Takes a Responses API stream's final response, or the text that arrived before it stopped.

    Args:
        request_model: As for :class:`ChatStreamRecorder`.
    """

    def __init__(self, *, request_model: Any) -> None:
        self.request_model = request_model
        self.started: Any = None
        self.final: Any = None
        self.text: list[str] = []

    def on_item(self, item: Any) -> bool:
        kind = getattr(item, "type", None)
        if kind == "response.output_text.delta":
            self.text.append(item.delta)
        elif kind in _FINAL_RESPONSE_EVENTS:
            self.final = item.response
        elif kind == "response.created":
            self.started = item.response
        return True

    def on_end(self, span: LiveSpan, end: str, error: BaseException | None) -> None:
        if self.final is not None:
            record_response(span, self.final, self.request_model)
            return
        partial: dict[str, Any] = {"object": "response", "status": "incomplete"}
        if self.started is not None:
            partial["id"] = self.started.id
            partial["model"] = self.started.model
        partial["output_text"] = "".join(self.text)
        for key, value in usage_and_model(None, partial.get("model"), self.request_model).items():
            span.set_attribute(key, value)
        span.set_outputs(partial)
