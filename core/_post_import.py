"""Run a callback when a module is imported, without importing it ourselves.

wrapt's post-import hooks cannot be unregistered, and each registration stays until the module is
imported. Enabling and disabling an integration many times must not pile hooks up, so wrapt gets at
most one dispatcher per module name, and the callbacks waiting for that module live here, where
they can be cancelled.
"""

from __future__ import annotations

import sys
from _thread import allocate_lock

from tracewire._errors import report_internal_error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

    ImportCallback = Callable[[ModuleType], None]

_lock = allocate_lock()
_waiting: dict[str, list[ImportCallback]] = {}
_dispatcher_registered: set[str] = set()


def call_when_imported(module_name: str, callback: ImportCallback) -> bool:
    """Arrange for ``callback(module)`` to run once ``module_name`` is imported.

    Args:
        module_name: The absolute module name, such as ``"openai"``.
        callback: Called once with the module, on the importing thread, right after the module
            finished executing. It is not called when the module is already imported.

    Returns:
        ``True`` if the callback now waits for the import; ``False`` if the module is already
        imported (the caller should act on it directly).
    """
    import wrapt  # noqa: PLC0415 - wrapt stays out of `import tracewire`

    with _lock:
        if module_name in sys.modules:
            return False
        _waiting.setdefault(module_name, [])
        if callback not in _waiting[module_name]:
            _waiting[module_name].append(callback)
        needs_dispatcher = module_name not in _dispatcher_registered
        _dispatcher_registered.add(module_name)
    if needs_dispatcher:
        wrapt.register_post_import_hook(_dispatch, module_name)
    return True


def cancel(module_name: str, callback: ImportCallback) -> None:
    """Stop ``callback`` from waiting for ``module_name``; harmless if it was not waiting."""
    with _lock:
        callbacks = _waiting.get(module_name)
        if callbacks and callback in callbacks:
            callbacks.remove(callback)
            if not callbacks:
                del _waiting[module_name]


def waiting_count() -> int:
    """Return how many callbacks are waiting for an import (for tests and diagnostics)."""
    with _lock:
        return sum(len(callbacks) for callbacks in _waiting.values())


def _dispatch(module: ModuleType) -> None:
    # wrapt drops its hook once fired; forget ours too so a re-import (after the module was removed
    # from sys.modules) registers a fresh one.
    with _lock:
        _dispatcher_registered.discard(module.__name__)
        callbacks = _waiting.pop(module.__name__, [])
    for callback in callbacks:
        try:
            callback(module)
        except Exception:  # noqa: BLE001 - an exception here would fail the user's import
            report_internal_error(f"reacting to the import of {module.__name__}")
