"""The hooks a tracewire plugin can implement: the plugin author's reference.

A plugin is a module named by an entry point in the ``tracewire`` group of its distribution's
metadata. tracewire's own integrations are declared the same way, in tracewire's ``pyproject.toml``::

    [project.entry-points.tracewire]
    mysdk = "tracewire_mysdk"

The module implements hooks with the :data:`hookimpl` marker (also available as
``tracewire.hookimpl``)::

    import tracewire

    @tracewire.hookimpl
    def tracewire_register_integrations(register):
        register(MySdkIntegration())

Plugins are loaded once, lazily: on the first ``tracewire.autolog()`` call, the first
``tracewire.<name>`` lookup of an integration, or ``tracewire.integration.registered()``. Hooks run
at load time only; no hook is ever called while spans are being recorded. Set
``TRACEWIRE_DISABLE_PLUGINS=name1,name2`` to keep plugins (by entry-point or integration name)
from loading.

See ``docs/plugins.md`` for a complete walk-through.
"""

from __future__ import annotations

import pluggy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from tracewire._integration import Integration

#: The entry-point group and pluggy project name shared by built-in and third-party plugins.
PROJECT_NAME = "tracewire"

#: Marks the hook specifications below (used by tracewire itself).
hookspec = pluggy.HookspecMarker(PROJECT_NAME)

#: Marks a plugin's hook implementations: decorate functions named after a hook below.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def tracewire_register_integrations(register: Callable[[Integration], None]) -> None:
    """Register the integrations this plugin provides.

    Called once per process, when tracewire loads its plugins. Call ``register`` once for each
    integration, with an instance of a :class:`tracewire.integration.Integration` subclass. The
    instance is the one ``tracewire.<name>`` returns and the global ``tracewire.autolog()`` drives,
    so create it once (a module-level instance is typical).

    Rules ``register`` enforces (a violation is logged and that integration skipped; the rest of
    the plugin, and tracewire, keep working):

    * ``name`` must be a Python identifier not starting with ``_`` and not already a ``tracewire``
      attribute (``trace``, ``autolog``, ...).
    * Names are unique: when two plugins register the same name, the first one loaded wins and a
      warning names both distributions. tracewire's own integrations load first, then third-party
      plugins ordered by distribution name.
    * ``requirements`` must be valid requirement strings (``"mysdk>=1.2,<3"``).
    * A name listed in ``TRACEWIRE_DISABLE_PLUGINS`` is skipped.

    Do not patch anything here, and do not import the SDK: patching happens in
    ``Integration.patch`` when the user enables the integration and the SDK is imported.

    Args:
        register: Call it with each integration instance.

    .. versionadded:: 0.1.0
    """


__all__ = ["PROJECT_NAME", "hookimpl", "hookspec", "tracewire_register_integrations"]
