"""Build an integration: the contract every built-in and third-party integration follows.

An integration subclasses :class:`Integration`, declares the SDK it instruments, and patches it in
:meth:`Integration.patch` through a :class:`Patcher`. Wrappers use :func:`trace_call` /
:func:`trace_async_call` so that the host call is never disturbed, and return a
:class:`StreamProxy` / :class:`AsyncStreamProxy` for streams. Plugins register integrations with
the ``tracewire_register_integrations`` hook (:mod:`tracewire.hookspecs`).

A complete example is in ``docs/plugins.md``.
"""

from __future__ import annotations

from tracewire._guards import guard, trace_async_call, trace_call
from tracewire._integration import Integration, IntegrationNotInstalledError
from tracewire._patching import Patcher
from tracewire._streams import AsyncStreamProxy, StreamEnd, StreamProxy, StreamRecorder

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


def registered() -> Mapping[str, Integration]:
    """Return the registered integrations by name (loading plugins on first use).

    Returns:
        A read-only mapping; each value's ``enabled``, ``patched`` and ``options`` show its state.
    """
    from types import MappingProxyType  # noqa: PLC0415 - deferred

    from tracewire._plugins import integrations  # noqa: PLC0415 - loads pluggy on first use

    return MappingProxyType(integrations())


__all__ = [
    "AsyncStreamProxy",
    "Integration",
    "IntegrationNotInstalledError",
    "Patcher",
    "StreamEnd",
    "StreamProxy",
    "StreamRecorder",
    "guard",
    "registered",
    "trace_async_call",
    "trace_call",
]
