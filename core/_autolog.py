"""The global switch, ``tracewire.autolog()``, and ``tracewire.<name>`` lookups."""

from __future__ import annotations

from tracewire._errors import log
from tracewire._integration import ACTIVE, _check_flag
from tracewire._plugins import blocked_names, integrations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any


def autolog(
    *,
    disable: bool = False,
    exclude: Iterable[str] = (),
    log_traces: bool = True,
    silent: bool = False,
) -> None:
    """Turn on every registered integration whose SDK is installed, or turn them all off.

    SDKs that are installed but not imported yet are patched when they are imported. Per-name
    choices win over global enables: an integration enabled by name keeps its own options, and one
    disabled by name (``tracewire.openai.autolog(disable=True)``) stays off until it is enabled by
    name again. ``disable=True`` turns off every integration, including ones enabled by name.
    The README has the full table of rules.

    Args:
        disable: Turn every integration off and restore every SDK exactly.
        exclude: Names of integrations to leave off. One that an earlier global call turned on is
            turned off; one enabled by name stays on.
        log_traces: ``False`` installs the integrations but records nothing.
        silent: Suppress tracewire's warnings (unknown names in ``exclude``, unsupported SDK
            versions, failures to patch).

    Raises:
        TypeError: If a flag is not a bool, or ``exclude`` is not a collection of names.
    """
    disable = _check_flag("disable", disable)
    log_traces = _check_flag("log_traces", log_traces)
    silent = _check_flag("silent", silent)
    excluded = _names(exclude)
    registry = integrations()
    if disable:
        for integration in {*registry.values(), *ACTIVE}:
            integration._disable_globally()
        return
    unknown = excluded - set(registry)
    if unknown and not silent:
        log().warning(
            "tracewire.autolog(exclude=...): no integration is named %s; registered: %s",
            ", ".join(sorted(map(repr, unknown))),
            ", ".join(sorted(registry)) or "none",
        )
    for name, integration in registry.items():
        if name in excluded:
            integration._exclude_globally()
        else:
            integration._enable_globally(log_traces, silent)


def _names(exclude: Iterable[str]) -> set[str]:
    if isinstance(exclude, str):
        return {exclude}  # a lone name, not its characters
    names = set(exclude)
    bad = [name for name in names if not isinstance(name, str)]
    if bad:
        raise TypeError(f"autolog(exclude=...) takes integration names, got {bad[0]!r}")
    return names


def resolve(name: str) -> Any:
    """Return what ``tracewire.<name>`` means for a registered integration.

    A built-in integration is its subpackage ``tracewire.<name>``; a third-party one is its
    :class:`~tracewire.integration.Integration` instance. Both offer ``autolog()``.

    Raises:
        AttributeError: If no integration has that name; the message lists the registered ones.
    """
    from importlib import import_module  # noqa: PLC0415 - deferred
    from importlib.util import find_spec  # noqa: PLC0415 - deferred

    if name not in blocked_names() and find_spec(f"tracewire.{name}") is not None:
        # A built-in: its subpackage is what the registry would name (tracewire's own plugins load
        # first and win), so the plugin machinery need not load just to find it.
        return import_module(f"tracewire.{name}")
    registry = integrations()
    integration = registry.get(name)
    if integration is None:
        available = ", ".join(sorted(registry)) or "none installed"
        hint = (
            f" ({name!r} is blocked by TRACEWIRE_DISABLE_PLUGINS)"
            if name in blocked_names()
            else ""
        )
        raise AttributeError(
            f"module 'tracewire' has no attribute {name!r}{hint}. "
            f"Registered integrations: {available}"
        )
    return integration
