"""Discover plugins through the ``tracewire`` entry-point group and collect their integrations.

Loading happens once, lazily, under a lock. Built-in integrations are declared in tracewire's own
``pyproject.toml`` under the same group as third-party ones; they load first so that a third-party
plugin cannot take a built-in's name. A broken plugin is logged with its name and skipped.
"""

from __future__ import annotations

import os
from _thread import RLock

from tracewire._errors import log
from tracewire._integration import ACTIVE, CHOSEN_BY_NAME, Integration

TYPE_CHECKING = False
if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    import pluggy

GROUP = "tracewire"
_DISABLE_ENV = "TRACEWIRE_DISABLE_PLUGINS"
_OWN_DISTRIBUTION = "tracewire"

_lock = RLock()
_registry: dict[str, Integration] | None = None
_loading: _Loader | None = None  # the loader at work, while plugin modules are being imported


class _Origin:
    """Where an integration came from, for log messages."""

    __slots__ = ("distribution", "plugin")

    def __init__(self, plugin: str, distribution: str) -> None:
        self.plugin = plugin
        self.distribution = distribution

    def __str__(self) -> str:
        return f"plugin {self.plugin!r} from distribution {self.distribution!r}"


def blocked_names() -> frozenset[str]:
    """Return the plugin and integration names listed in ``TRACEWIRE_DISABLE_PLUGINS``."""
    raw = os.environ.get(_DISABLE_ENV, "")
    return frozenset(name.strip() for name in raw.split(",") if name.strip())


def integrations() -> dict[str, Integration]:
    """Return the registered integrations by name, loading the plugins on first use."""
    global _registry
    registry = _registry
    if registry is None:
        with _lock:
            if _registry is None:
                if _loading is not None:
                    return _loading.registry  # a plugin module asked while being loaded
                _registry = _Loader().load()
            registry = _registry
    return registry


def reset_integrations() -> None:
    """Turn every integration off and forget every per-name choice (plugins stay loaded)."""
    with _lock:
        for integration in {*ACTIVE, *CHOSEN_BY_NAME, *(_registry or {}).values()}:
            integration._reset()


def unload() -> None:
    """Reset every integration and forget the loaded plugins (the next access reloads them)."""
    global _registry
    with _lock:
        reset_integrations()
        _registry = None


def _distribution_name(entry_point: EntryPoint) -> str:
    distribution = getattr(entry_point, "dist", None)
    return distribution.name if distribution is not None else "<unknown distribution>"


def _ordered(entry_points: list[EntryPoint]) -> list[EntryPoint]:
    """Built-ins first, then third parties by distribution name: a stable first-one-wins order."""

    def key(entry_point: EntryPoint) -> tuple[bool, str, str]:
        distribution = _distribution_name(entry_point)
        return (distribution != _OWN_DISTRIBUTION, distribution.lower(), entry_point.name)

    return sorted(entry_points, key=key)


class _Loader:
    """One pass over the entry points, producing the integration registry."""

    def __init__(self) -> None:
        self.blocked = blocked_names()
        self.registry: dict[str, Integration] = {}
        self.origins: dict[str, _Origin] = {}
        self.plugin_origins: dict[str, str] = {}

    def load(self) -> dict[str, Integration]:
        global _loading
        _loading = self
        try:
            return self._load_all()
        finally:
            _loading = None

    def _load_all(self) -> dict[str, Integration]:
        from importlib.metadata import entry_points  # noqa: PLC0415 - deferred until first use

        import pluggy  # noqa: PLC0415 - pluggy stays out of `import tracewire`

        from tracewire import hookspecs  # noqa: PLC0415 - imports pluggy

        manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        manager.add_hookspecs(hookspecs)
        for name in self.blocked:
            manager.set_blocked(name)
        for entry_point in _ordered(list(entry_points(group=GROUP))):
            self._load_plugin(manager, entry_point)
        return self.registry

    def _load_plugin(self, manager: pluggy.PluginManager, entry_point: EntryPoint) -> None:
        name = entry_point.name
        distribution = _distribution_name(entry_point)
        if name in self.blocked:
            log().debug("tracewire: plugin %r is blocked by %s", name, _DISABLE_ENV)
            return
        if name in self.plugin_origins:
            log().warning(
                "tracewire: two plugins are named %r, from distributions %r and %r; "
                "using the one from %r",
                name,
                self.plugin_origins[name],
                distribution,
                self.plugin_origins[name],
            )
            return
        origin = _Origin(name, distribution)
        try:
            plugin = entry_point.load()
            manager.register(plugin, name=name)
        except Exception as error:  # noqa: BLE001 - a broken plugin must not break tracewire
            log().warning(
                "tracewire: skipped %s: it failed to load: %s: %s",
                origin,
                type(error).__name__,
                error,
                exc_info=True,
            )
            return
        self.plugin_origins[name] = distribution
        unknown = [
            caller.name
            for caller in manager.get_hookcallers(plugin) or ()
            if not caller.has_spec()
            and any(
                impl.plugin is plugin and not impl.optionalhook for impl in caller.get_hookimpls()
            )
        ]
        if unknown:
            manager.unregister(plugin)
            log().warning(
                "tracewire: skipped %s: it implements unknown hook(s) %s; the known hooks are in "
                "tracewire.hookspecs",
                origin,
                ", ".join(unknown),
            )
            return
        self._run_registration(manager, plugin, origin)

    def _run_registration(
        self, manager: pluggy.PluginManager, plugin: object, origin: _Origin
    ) -> None:
        # Each plugin's hook runs on its own, so one plugin raising cannot stop the others (a
        # plain pm.hook call would abort at the first exception).
        registered: list[Integration] = []
        for implementation in manager.hook.tracewire_register_integrations.get_hookimpls():
            if implementation.plugin is not plugin:
                continue
            arguments = {"register": registered.append}
            try:
                implementation.function(**{a: arguments[a] for a in implementation.argnames})
            except Exception as error:  # noqa: BLE001 - a broken plugin must not break tracewire
                log().warning(
                    "tracewire: skipped %s: tracewire_register_integrations raised %s: %s",
                    origin,
                    type(error).__name__,
                    error,
                    exc_info=True,
                )
                manager.unregister(plugin)
                return
        for integration in registered:
            self._add(integration, origin)

    def _add(self, integration: object, origin: _Origin) -> None:
        problem = _registration_problem(integration)
        if problem:
            log().warning("tracewire: %s registered an invalid integration: %s", origin, problem)
            return
        assert isinstance(integration, Integration)  # checked by _registration_problem
        name = integration.name
        if name in self.blocked:
            log().debug("tracewire: integration %r is blocked by %s", name, _DISABLE_ENV)
            return
        if name in self.registry:
            log().warning(
                "tracewire: two integrations are named %r: one from %s, one from %s; "
                "using the first",
                name,
                self.origins[name],
                origin,
            )
            return
        self.registry[name] = integration
        self.origins[name] = origin


def _registration_problem(integration: object) -> str | None:
    """Return why ``integration`` cannot be registered, or ``None`` if it can."""
    import tracewire  # noqa: PLC0415 - the package is fully imported by the time plugins load

    if not isinstance(integration, Integration):
        return f"{integration!r} is not a tracewire.integration.Integration instance"
    name = getattr(integration, "name", None)
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
        return f"name {name!r} is not a public Python identifier"
    existing = vars(tracewire).get(name)
    shipped_subpackage = getattr(existing, "__name__", None) == f"tracewire.{name}"
    if (
        name in tracewire.__all__
        or name in tracewire._LAZY_ATTRIBUTES
        or (existing is not None and not shipped_subpackage)
    ):
        return f"name {name!r} would hide tracewire.{name}"
    from tracewire._requirements import requirement_name  # noqa: PLC0415 - deferred

    for requirement in integration.requirements:
        try:
            requirement_name(requirement)
        except ValueError as error:
            return f"{name}: invalid requirement {requirement!r}: {error}"
    return None
