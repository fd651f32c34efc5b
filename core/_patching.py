"""Monkey-patching with an undo log: every change can be reverted to the identical original object."""

from __future__ import annotations

import sys

from tracewire._errors import log, log_internal_error, strict_mode

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any

    Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]

_MISSING = object()


class _Change:
    """One reversible attribute change: ``owner.attribute`` was ``original`` (or absent)."""

    __slots__ = ("attribute", "original", "owner", "replacement")

    def __init__(self, owner: Any, attribute: str, original: Any, replacement: Any) -> None:
        self.owner = owner
        self.attribute = attribute
        self.original = original  # _MISSING when the attribute was inherited, not set on owner
        self.replacement = replacement

    def revert(self) -> None:
        current = _own_attribute(self.owner, self.attribute)
        if current is not self.replacement:
            # Someone patched over us (another tracer, a test's monkeypatch). Putting our original
            # back would silently remove their change; our wrapper stays in their chain instead,
            # inert, because its patcher is no longer live.
            log().debug(
                "tracewire: %r.%s was replaced after we patched it; leaving it in place",
                self.owner,
                self.attribute,
            )
            return
        if self.original is _MISSING:
            delattr(self.owner, self.attribute)
        else:
            setattr(self.owner, self.attribute, self.original)


def _own_attribute(owner: Any, attribute: str) -> Any:
    """Return ``owner``'s own value for ``attribute`` (not an inherited one, not bound), or _MISSING."""
    try:
        namespace = vars(owner)
    except TypeError:  # objects without __dict__ (slots): fall back to plain lookup
        return getattr(owner, attribute, _MISSING)
    return namespace.get(attribute, _MISSING)


class Patcher:
    """Applies an integration's patches and remembers how to undo each one.

    An :class:`~tracewire.integration.Integration` receives a fresh ``Patcher`` in its ``patch``
    method. If ``patch`` raises, everything already applied is undone, so an SDK is never left half
    patched. Disabling the integration calls :meth:`undo`, which restores every attribute to the
    identical object it held before (``is`` holds), removes attributes that were only inherited, and
    runs the cleanup callbacks registered with :meth:`on_undo`, newest first.

    Args:
        should_trace: Checked on every call of a wrapped function; when it returns ``False`` the
            original runs directly, untouched.
    """

    def __init__(self, should_trace: Callable[[], bool]) -> None:
        self._should_trace = should_trace
        self._undo_log: list[_Change | Callable[[], None]] = []
        self._live = True

    @property
    def live(self) -> bool:
        """Whether the patches are in place (``False`` once :meth:`undo` ran)."""
        return self._live

    def _wrappers_enabled(self) -> bool:
        return self._live and self._should_trace()

    def wrap(self, target: ModuleType | type | str, path: str, wrapper: Wrapper) -> None:
        """Wrap the function, method, classmethod or staticmethod at ``target.path`` with ``wrapper``.

        Patch classes rather than instances: clients created before patching are then traced too.

        Args:
            target: A module, a class, or the name of an already-importable module.
            path: Dotted attribute path below ``target``, such as ``"Completions.create"``.
            wrapper: ``wrapper(wrapped, instance, args, kwargs)``, wrapt's wrapper signature. It must
                call ``wrapped(*args, **kwargs)`` exactly once and return its result (or a proxy of
                it); :func:`~tracewire.integration.trace_call` does this safely.

        Raises:
            AttributeError: If ``path`` does not exist (the integration's patch then rolls back).
        """
        import wrapt  # noqa: PLC0415 - wrapt stays out of `import tracewire`

        owner, attribute, original = wrapt.resolve_path(target, path)
        replacement = wrapt.FunctionWrapper(original, wrapper, enabled=self._wrappers_enabled)
        self.replace(owner, attribute, replacement)

    def replace(self, owner: Any, attribute: str, value: Any) -> None:
        """Set ``owner.attribute = value``, remembering the original for :meth:`undo`.

        Args:
            owner: A module, class or other object.
            attribute: The attribute name.
            value: The new value.
        """
        if not self._live:
            raise RuntimeError("this Patcher was undone; the integration gets a new one")
        change = _Change(owner, attribute, _own_attribute(owner, attribute), value)
        setattr(owner, attribute, value)
        self._undo_log.append(change)

    def when_imported(self, module_name: str, callback: Callable[[ModuleType], None]) -> None:
        """Run ``callback(module)`` now if ``module_name`` is imported, else as soon as it is.

        Use it for SDK submodules that are expensive to import or that the SDK loads lazily: the
        integration then patches them when the application first uses them, and ``autolog()``
        imports nothing. Undoing before the import cancels the wait.

        Args:
            module_name: The absolute module name, such as ``"openai.resources.embeddings"``.
            callback: Applies patches through this patcher; its exceptions are reported (raised
                under ``TRACEWIRE_STRICT=1``). A module that never gets imported never calls it.
        """
        if not self._live:
            raise RuntimeError("this Patcher was undone; the integration gets a new one")
        from tracewire._post_import import call_when_imported, cancel  # noqa: PLC0415 - deferred

        def on_import(module: ModuleType) -> None:
            if self._live:
                callback(module)

        if call_when_imported(module_name, on_import):
            self.on_undo(lambda: cancel(module_name, on_import))
        else:
            callback(sys.modules[module_name])

    def on_undo(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on undo, e.g. to remove a callback handler registered with a framework.

        Args:
            callback: Called with no arguments; its exceptions are reported, not raised.
        """
        self._undo_log.append(callback)

    def undo(self) -> None:
        """Revert every change, newest first. Safe to call more than once.

        A step that fails is reported and the remaining steps still run; under
        ``TRACEWIRE_STRICT=1`` the first failure is raised once every step has run.
        """
        self._live = False
        first_error: Exception | None = None
        while self._undo_log:
            step = self._undo_log.pop()
            try:
                if isinstance(step, _Change):
                    step.revert()
                else:
                    step()
            except Exception as error:  # noqa: BLE001 - one failed step must not keep the others applied
                if strict_mode():
                    first_error = first_error or error
                else:
                    log_internal_error("undoing a patch", error)
        if first_error is not None:
            raise first_error
