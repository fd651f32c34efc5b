"""Trace the OpenAI Python SDK: every chat, responses, embeddings and completions call becomes a span.

Example:
    >>> import tracewire
    >>> tracewire.openai.autolog()
    >>> client = openai.OpenAI()
    >>> client.chat.completions.create(model="gpt-4o-mini", messages=[...])  # traced

Importing this module does not import ``openai``: the SDK is patched when ``autolog()`` runs, or
later, when the SDK is first imported. The README lists the traced calls and recorded attributes.
"""

from __future__ import annotations

from tracewire.openai._integration import INTEGRATION


def autolog(
    *,
    disable: bool = False,
    log_traces: bool = True,
    silent: bool = False,
    stream_usage: bool | None = None,
) -> None:
    """Trace every OpenAI SDK call, with exact token usage, streams included; or stop tracing.

    Traced: ``chat.completions.create`` (streams and the ``.stream()`` helper included) and
    ``parse``; ``responses.create`` / ``parse`` / ``stream``; ``embeddings.create``; legacy
    ``completions.create``; sync and async; through ``OpenAI``, ``AzureOpenAI`` and their async
    twins, and through ``with_raw_response`` / ``with_streaming_response``. Clients created before
    this call are traced too. Calling it again updates the options; nothing is wrapped twice.

    Args:
        disable: Remove the instrumentation; every patched method is restored to the identical
            original object.
        log_traces: ``False`` keeps the instrumentation installed but records nothing.
        silent: Suppress tracewire's warnings about this integration.
        stream_usage: Whether to ask chat and completions streams for their token usage. OpenAI
            sends a stream's usage only in an extra final chunk, and only if the request set
            ``stream_options={"include_usage": True}``. ``None`` (the default) adds it when the
            request goes to ``api.openai.com`` and the caller set no ``stream_options``; ``True``
            adds it for every endpoint (OpenAI-compatible servers, Azure) unless the caller set
            ``include_usage`` themselves; ``False`` never changes the request. When tracewire added
            it, the usage-only chunk is recorded but not passed to the caller, whose code sees the
            same chunks as without tracing.

    Raises:
        IntegrationNotInstalledError: If ``openai`` is not installed (an ``ImportError``).
        TypeError: If an argument has the wrong type.
    """
    INTEGRATION.autolog(
        disable=disable, log_traces=log_traces, silent=silent, stream_usage=stream_usage
    )


__all__ = ["autolog"]
