"""The Integration base class: one object per SDK, with an idempotent, reversible ``autolog``."""

from __future__ import annotations

import sys
from _thread import RLock
from types import MappingProxyType

from tracewire._config import SETTINGS
from tracewire._context import ACTIVE_SPAN
from tracewire._errors import log, strict_mode, warn_once
from tracewire._patching import Patcher
from tracewire._post_import import call_when_imported, cancel
from tracewire._span import NO_OP_SPAN

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import ModuleType
    from typing import Any, ClassVar

_OFF = "off"
_WAITING = "waiting for import"
_ON = "on"

#: Integrations currently on or waiting for their SDK, including ones the plugin registry does not
#: know (imported directly although blocked), so the global switch can turn every one of them off.
ACTIVE: set[Integration] = set()
#: Integrations the user switched on or off by name, so a reset can forget every such choice, even
#: for an integration that is off and that the plugin registry does not hold.
CHOSEN_BY_NAME: set[Integration] = set()


class IntegrationNotInstalledError(ImportError):
    """Raised by an integration's ``autolog()`` when the SDK it instruments is not installed."""


def _check_flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"autolog() argument {name!r} must be True or False, got {value!r}")
    return value


class Integration:
    """Base class of every integration, built-in or third-party.

    Subclasses declare what they instrument in class attributes and implement :meth:`patch`. The
    base class provides ``autolog()`` with tracewire's guarantees: idempotent, reversible to the
    identical original objects, all-or-nothing, and deferred until the SDK is imported.

    Attributes:
        name: The integration's name: ``tracewire.<name>`` and ``autolog(exclude=[...])`` use it. A
            Python identifier, usually the SDK's import name.
        module: The module whose import triggers patching; defaults to ``name``.
        requirements: Requirement strings for the instrumented distribution(s) and the supported
            range, e.g. ``("openai>=1.40,<4",)``. They decide whether the SDK is installed and
            whether its version is supported; nothing is imported to find out.
        extra: For integrations shipped inside tracewire: the ``tracewire[<extra>]`` install extra.
        default_options: The integration's own ``autolog`` keyword options and their defaults.
    """

    name: ClassVar[str]
    module: ClassVar[str] = ""
    requirements: ClassVar[tuple[str, ...]] = ()
    extra: ClassVar[str | None] = None
    default_options: ClassVar[Mapping[str, Any]] = MappingProxyType({})

    def __init__(self) -> None:
        self._lock = RLock()
        self._state = _OFF
        self._patcher: Patcher | None = None
        self._chosen_by_name: bool | None = None  # the user's last per-name decision, if any
        self._log_traces = True
        self._silent = False
        self._options: Mapping[str, Any] = MappingProxyType(dict(self.default_options))
        self._version_checked = False

    # -- what subclasses implement -------------------------------------------------------------

    def patch(self, patcher: Patcher, module: ModuleType) -> None:
        """Install the instrumentation; called once the SDK's module is imported.

        Make every change through ``patcher`` (``wrap``, ``replace``, ``on_undo``), so that it can be
        undone. If this method raises, whatever it already applied is undone.

        Args:
            patcher: Records each change for undo.
            module: The imported SDK module named by :attr:`module`.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement patch()")

    # -- the public switch ---------------------------------------------------------------------

    def autolog(
        self,
        *,
        disable: bool = False,
        log_traces: bool = True,
        silent: bool = False,
        **options: Any,
    ) -> None:
        """Trace every call of this SDK, or stop tracing it.

        Idempotent: calling again updates the options, which wrappers read at call time; nothing
        is wrapped twice. Clients created before this call are traced too. If the SDK is not
        imported yet, it is patched when it is imported.

        Args:
            disable: Remove the instrumentation: every patched attribute gets back its identical
                original object, and registered callbacks are removed. Harmless when already off.
            log_traces: ``False`` keeps the instrumentation installed but records nothing.
            silent: Suppress tracewire's warnings about this integration (unsupported SDK
                version, failure to patch).
            **options: The integration's own options (see its documentation).

        Raises:
            IntegrationNotInstalledError: If the SDK is not installed (an ``ImportError``).
            TypeError: If an option is unknown or a flag is not a bool.
        """
        if _check_flag("disable", disable):
            with self._lock:
                self._chosen_by_name = False
                CHOSEN_BY_NAME.add(self)
                self._turn_off()
            return
        log_traces = _check_flag("log_traces", log_traces)
        silent = _check_flag("silent", silent)
        with self._lock:
            self._configure(log_traces, silent, options)
            self._turn_on(required=True)
            self._chosen_by_name = True
            CHOSEN_BY_NAME.add(self)

    @property
    def enabled(self) -> bool:
        """Whether autolog is on (patched, or waiting for the SDK to be imported)."""
        return self._state is not _OFF

    @property
    def patched(self) -> bool:
        """Whether the SDK is currently patched."""
        return self._state is _ON

    @property
    def log_traces(self) -> bool:
        """The ``log_traces`` setting of the last ``autolog()`` call."""
        return self._log_traces

    @property
    def options(self) -> Mapping[str, Any]:
        """The integration's own options as last set by ``autolog()`` (read-only)."""
        return self._options

    def should_trace(self) -> bool:
        """Return whether a call should be traced now: autolog on, logging traces, not suppressed.

        Wrappers installed through :meth:`Patcher.wrap` check this on every call and run the original
        untouched when it is ``False``.
        """
        return (
            self._state is _ON
            and self._log_traces
            and SETTINGS.enabled
            and ACTIVE_SPAN.get() is not NO_OP_SPAN
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self._state}>"

    # -- the global switch (tracewire.autolog) ---------------------------------------------------

    def _enable_globally(self, log_traces: bool, silent: bool) -> None:
        with self._lock:
            if self._chosen_by_name is not None:
                return  # a per-name decision (on with its own options, or off) outranks the global one
            self._configure(log_traces, silent, {})
            self._turn_on(required=False)

    def _disable_globally(self) -> None:
        with self._lock:
            if self._chosen_by_name:
                # "All off" includes an integration enabled by name; a later global enable brings
                # it back. One disabled by name stays disabled by name.
                self._chosen_by_name = None
            self._turn_off()

    def _reset(self) -> None:
        with self._lock:
            self._chosen_by_name = None
            CHOSEN_BY_NAME.discard(self)
            self._turn_off()

    def _exclude_globally(self) -> None:
        with self._lock:
            if self._chosen_by_name is None:
                self._turn_off()

    # -- state machine ---------------------------------------------------------------------------

    def _configure(self, log_traces: bool, silent: bool, options: Mapping[str, Any]) -> None:
        unknown = sorted(set(options) - set(self.default_options))
        if unknown:
            accepted = ", ".join(sorted(self.default_options)) or "none"
            raise TypeError(
                f"{self.name} autolog() got unknown option(s) {', '.join(map(repr, unknown))}; "
                f"its options are: {accepted}"
            )
        self._options = MappingProxyType({**self.default_options, **options})
        self._log_traces = log_traces
        self._silent = silent

    def _module_name(self) -> str:
        return self.module or self.name

    def _turn_on(self, *, required: bool) -> None:
        if not self._sdk_installed(required=required):
            return
        ACTIVE.add(self)
        if self._state is not _OFF:
            return  # already on: the new options apply from the next call
        module_name = self._module_name()
        if call_when_imported(module_name, self._on_import):
            self._state = _WAITING
        else:
            self._patch(sys.modules[module_name])

    def _turn_off(self) -> None:
        if self._state is _WAITING:
            cancel(self._module_name(), self._on_import)
        patcher, self._patcher = self._patcher, None
        self._state = _OFF
        ACTIVE.discard(self)
        if patcher is not None:
            patcher.undo()

    def _on_import(self, module: ModuleType) -> None:
        with self._lock:
            if self._state is _WAITING:
                self._patch(module)

    def _patch(self, module: ModuleType) -> None:
        patcher = Patcher(self.should_trace)
        self._state = _ON  # before patch() runs, so wrappers installed there are live at once
        try:
            self.patch(patcher, module)
        except Exception:
            patcher.undo()
            self._state = _OFF
            ACTIVE.discard(self)
            if strict_mode():
                raise
            if not self._silent:
                warn_once(
                    f"patch failed: {self.name}",
                    "tracewire could not instrument %s, so it is not traced; nothing was changed",
                    self.name,
                    exc_info=True,
                )
            return
        self._patcher = patcher

    # -- installation checks ---------------------------------------------------------------------

    def _install_hint(self) -> str:
        if self.extra:
            return f"pip install 'tracewire[{self.extra}]'"
        if self.requirements:
            return "pip install " + " ".join(f"'{r}'" for r in self.requirements)
        return f"pip install {self._module_name().split('.')[0]}"

    def _sdk_installed(self, *, required: bool) -> bool:
        from importlib.util import find_spec  # noqa: PLC0415 - only needed when autolog runs

        if self.requirements:
            missing = _missing_or_unsupported(self.requirements)
        else:
            top_level = self._module_name().split(".")[0]
            missing = ([] if find_spec(top_level) else [top_level], [])
        absent, unsupported = missing
        if absent:
            message = (
                f"the {self.name} integration needs {', '.join(absent)}, which is not installed; "
                f"install it with: {self._install_hint()}"
            )
            if required:
                raise IntegrationNotInstalledError(message, name=self._module_name())
            log().debug("tracewire: %s", message)
            return False
        if unsupported and not self._version_checked:
            self._version_checked = True
            if not self._silent:
                log().warning(
                    "tracewire's %s integration supports %s; found %s. Tracing it anyway; "
                    "please report problems",
                    self.name,
                    ", ".join(self.requirements),
                    ", ".join(unsupported),
                )
        return True


def _missing_or_unsupported(requirements: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Split ``requirements`` into distributions not installed and installed ones out of range."""
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415 - deferred

    from tracewire._requirements import is_satisfied, requirement_name  # noqa: PLC0415

    absent: list[str] = []
    unsupported: list[str] = []
    for text in requirements:
        name = requirement_name(text)
        try:
            installed = version(name)
        except PackageNotFoundError:
            absent.append(name)
            continue
        if not is_satisfied(text, installed):
            unsupported.append(f"{name} {installed}")
    return absent, unsupported
