"""Trace the Anthropic Python SDK: every messages call becomes a chat model span.

Example:
    >>> import tracewire
    >>> tracewire.anthropic.autolog()
    >>> client = anthropic.Anthropic()
    >>> client.messages.create(model="claude-opus-4-7", max_tokens=256, messages=[...])  # traced

Importing this module does not import ``anthropic``: the SDK is patched when ``autolog()`` runs,
or later, when the SDK is first imported.
"""

from __future__ import annotations

from tracewire.anthropic._integration import INTEGRATION


def autolog(*, disable: bool = False, log_traces: bool = True, silent: bool = False) -> None:
    """Trace every Anthropic messages call, with exact token usage; or stop tracing.

    Traced: ``messages.create`` (``stream=True`` too), the ``messages.stream()`` helper,
    ``messages.parse`` and the same calls of the beta resource; sync and async; through
    ``Anthropic``, ``AnthropicVertex`` and their async twins, and through ``with_raw_response`` /
    ``with_streaming_response``. Clients created before this call are traced too. Each call is a
    ``CHAT_MODEL`` span (``anthropic.messages.create``, ``anthropic.messages.stream``, ...) whose
    ``mlflow.chat.tokenUsage`` counts cache reads and writes in ``input_tokens``. Calling it again
    updates the options; nothing is wrapped twice.

    Args:
        disable: Remove the instrumentation; every patched method is restored to the identical
            original object.
        log_traces: ``False`` keeps the instrumentation installed but records nothing.
        silent: Suppress tracewire's warnings about this integration.

    Raises:
        IntegrationNotInstalledError: If ``anthropic`` is not installed (an ``ImportError``).
    """
    INTEGRATION.autolog(disable=disable, log_traces=log_traces, silent=silent)


__all__ = ["autolog"]
