"""Plugin discovery: entry points, blocking, broken and duplicate plugins, ``tracewire.<name>``."""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import sys
from typing import Any

import pytest

import tracewire
from tracewire import _plugins
from tracewire.integration import registered


def plugin_source(*names: str, body: str = "") -> str:
    """Source of a plugin module registering one trivial integration per name."""
    classes = "".join(
        f"class {name.title().replace('_', '')}(Integration):\n"
        f"    name = {name!r}\n"
        f"    module = 'toy_sdk'\n"
        f"    def patch(self, patcher, module):\n"
        f"        pass\n\n"
        for name in names
    )
    registrations = (
        "".join(f"    register({name.title().replace('_', '')}())\n" for name in names)
        or "    pass\n"
    )
    return (
        "import tracewire\n"
        "from tracewire.integration import Integration\n\n"
        f"{classes}{body}\n"
        "@tracewire.hookimpl\n"
        "def tracewire_register_integrations(register):\n"
        f"{registrations}"
    )


def built_in() -> set[str]:
    """Integrations tracewire's own distribution registers (always present beside test plugins)."""
    entry_points = importlib.metadata.distribution("tracewire").entry_points
    return {entry_point.name for entry_point in entry_points if entry_point.group == "tracewire"}


def third_party() -> set[str]:
    """Names of the registered integrations that do not come with tracewire."""
    return set(registered()) - built_in()


def warnings_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_integrations_are_discovered_through_the_entry_point_group(toy: Any) -> None:
    """A distribution's `tracewire` entry point contributes its integrations."""
    assert third_party() == {"toy", "toy_helper", "toy_missing"}
    assert registered()["toy"] is toy.TOY


def test_plugins_load_once(toy: Any) -> None:
    """The registry is built on first use and reused afterwards."""
    assert _plugins.integrations() is _plugins.integrations()


def test_attribute_access_returns_a_third_party_integration(toy: Any) -> None:
    """`tracewire.<name>` resolves a registered plugin's integration, offering autolog()."""
    assert tracewire.toy is toy.TOY  # type: ignore[attr-defined]
    tracewire.toy.autolog()  # type: ignore[attr-defined]
    assert toy.TOY.enabled


def test_dir_lists_registered_integrations(toy: Any) -> None:
    """dir(tracewire) shows the integrations next to the public API."""
    names = dir(tracewire)
    assert {"toy", "toy_helper", "autolog", "trace", "integration"} <= set(names)
    assert "TYPE_CHECKING" not in names


def test_unknown_name_lists_the_available_integrations(toy: Any) -> None:
    """A name no plugin registered raises AttributeError naming the registered ones."""
    with pytest.raises(
        AttributeError,
        match="Registered integrations: anthropic, openai, toy, toy_helper, toy_missing",
    ):
        _ = tracewire.openia  # type: ignore[attr-defined]


def test_private_names_never_load_plugins() -> None:
    """Introspection of dunder or private names does not trigger plugin loading."""
    assert not hasattr(tracewire, "__wrapped__")
    assert not hasattr(tracewire, "_no_such_thing")
    assert _plugins._registry is None


def test_plugin_blocked_by_entry_point_name(toy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """TRACEWIRE_DISABLE_PLUGINS with an entry-point name keeps the whole plugin from loading."""
    monkeypatch.setenv("TRACEWIRE_DISABLE_PLUGINS", " other , toy ")
    assert third_party() == set()
    with pytest.raises(AttributeError, match="'toy' is blocked by TRACEWIRE_DISABLE_PLUGINS"):
        _ = tracewire.toy  # type: ignore[attr-defined]


def test_integration_blocked_by_its_own_name(toy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocking an integration name skips that integration and keeps its siblings."""
    monkeypatch.setenv("TRACEWIRE_DISABLE_PLUGINS", "toy_helper")
    assert third_party() == {"toy", "toy_missing"}


def test_plugin_failing_to_import_is_skipped_with_its_name_and_error(
    toy: Any, site_packages: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A plugin raising at import is logged with name, distribution and error; the rest load."""
    site_packages.add_distribution(
        "tracewire-bad",
        entry_points={"bad": "tracewire_bad"},
        modules={"tracewire_bad": "raise RuntimeError('bad on purpose')\n"},
    )
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        assert "toy" in registered()
    (message,) = warnings_in(caplog)
    assert "plugin 'bad' from distribution 'tracewire-bad'" in message
    assert "RuntimeError: bad on purpose" in message
    tracewire.autolog()
    assert toy.TOY.enabled


def test_plugin_calling_autolog_at_import_time_still_registers(site_packages: Any) -> None:
    """A plugin module that calls tracewire.autolog() while it is being loaded still registers."""
    source = plugin_source("eager").replace(
        "import tracewire\n", "import tracewire\ntracewire.autolog()\n", 1
    )
    site_packages.add_distribution(
        "tracewire-eager",
        entry_points={"eager": "tracewire_eager"},
        modules={"tracewire_eager": source},
    )
    assert third_party() == {"eager"}


def test_plugin_with_a_missing_module_is_skipped(
    site_packages: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """An entry point naming a module that does not exist is logged and skipped."""
    site_packages.add_distribution("tracewire-ghost", entry_points={"ghost": "no_such_module"})
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        assert third_party() == set()
    assert "ModuleNotFoundError" in warnings_in(caplog)[0]


def test_plugin_whose_hook_raises_is_skipped(
    site_packages: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception inside tracewire_register_integrations skips that plugin only."""
    site_packages.add_distribution(
        "tracewire-raises",
        entry_points={"raises": "tracewire_raises"},
        modules={
            "tracewire_raises": plugin_source("early")
            + "    raise ValueError('registration exploded')\n"
        },
    )
    site_packages.add_distribution(
        "tracewire-fine",
        entry_points={"fine": "tracewire_fine"},
        modules={"tracewire_fine": plugin_source("fine")},
    )
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        assert third_party() == {"fine"}
    (message,) = warnings_in(caplog)
    assert "plugin 'raises'" in message
    assert "ValueError: registration exploded" in message


def test_plugin_implementing_an_unknown_hook_is_skipped(
    site_packages: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A misspelt hook name is reported instead of silently doing nothing."""
    source = plugin_source("typo").replace(
        "def tracewire_register_integrations", "def tracewire_register_integration"
    )
    site_packages.add_distribution(
        "tracewire-typo",
        entry_points={"typo": "tracewire_typo"},
        modules={"tracewire_typo": source},
    )
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        assert third_party() == set()
    assert "unknown hook(s) tracewire_register_integration" in warnings_in(caplog)[0]


def test_optional_hooks_from_newer_tracewire_versions_are_accepted(site_packages: Any) -> None:
    """A hook unknown to this version but marked optionalhook does not get the plugin skipped."""
    source = plugin_source("modern") + (
        "\n@tracewire.hookimpl(optionalhook=True)\n"
        "def tracewire_hook_from_the_future(config):\n"
        "    pass\n"
    )
    site_packages.add_distribution(
        "tracewire-modern",
        entry_points={"modern": "tracewire_modern"},
        modules={"tracewire_modern": source},
    )
    assert third_party() == {"modern"}


@pytest.mark.parametrize(
    ("registration", "problem"),
    [
        ("register(object())", "is not a tracewire.integration.Integration instance"),
        ("register(Named('trace'))", "name 'trace' would hide tracewire.trace"),
        ("register(Named('testing'))", "name 'testing' would hide tracewire.testing"),
        ("register(Named('annotations'))", "name 'annotations' would hide tracewire.annotations"),
        ("register(Named('not-an-identifier'))", "is not a public Python identifier"),
        ("register(Named('_private'))", "is not a public Python identifier"),
        ("register(Named('ok', requirement='sdk >= = 1'))", "invalid requirement 'sdk >= = 1'"),
    ],
)
def test_invalid_integrations_are_skipped_with_the_reason(
    site_packages: Any, caplog: pytest.LogCaptureFixture, registration: str, problem: str
) -> None:
    """register() refuses objects that would break tracewire, and says why."""
    source = (
        "import tracewire\n"
        "from tracewire.integration import Integration\n\n"
        "def Named(name, requirement=None):\n"
        "    attributes = {'name': name, 'requirements': (requirement,) if requirement else ()}\n"
        "    return type('Named', (Integration,), attributes)()\n\n"
        "@tracewire.hookimpl\n"
        "def tracewire_register_integrations(register):\n"
        f"    {registration}\n"
        "    register(Named('survivor'))\n"
    )
    site_packages.add_distribution(
        "tracewire-odd", entry_points={"odd": "tracewire_odd"}, modules={"tracewire_odd": source}
    )
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        assert third_party() == {"survivor"}
    assert problem in warnings_in(caplog)[0]


def test_duplicate_entry_point_names_keep_the_first_and_name_both_distributions(
    site_packages: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Two distributions with the same plugin name: a warning names both; the first loaded wins."""
    for distribution, integration in (
        ("tracewire-zeta", "from_zeta"),
        ("tracewire-alpha", "from_alpha"),
    ):
        module = distribution.replace("-", "_")
        site_packages.add_distribution(
            distribution,
            entry_points={"same": module},
            modules={module: plugin_source(integration)},
        )
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        assert third_party() == {"from_alpha"}
    (message,) = warnings_in(caplog)
    assert "two plugins are named 'same'" in message
    assert "'tracewire-alpha'" in message
    assert "'tracewire-zeta'" in message


def test_duplicate_integration_names_keep_the_first_and_name_both_distributions(
    site_packages: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Two plugins registering the same integration name: the first wins, both are named."""
    for distribution in ("tracewire-one", "tracewire-two"):
        module = distribution.replace("-", "_")
        site_packages.add_distribution(
            distribution, entry_points={module: module}, modules={module: plugin_source("shared")}
        )
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        winner = registered()["shared"]
    assert type(winner).__module__ == "tracewire_one"
    (message,) = warnings_in(caplog)
    assert "two integrations are named 'shared'" in message
    assert "distribution 'tracewire-one'" in message
    assert "distribution 'tracewire-two'" in message


def test_tracewire_own_integrations_load_before_third_party_ones(
    site_packages: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Built-ins (declared in tracewire's own metadata) win a name even against an earlier-sorting rival."""
    site_packages.add_distribution(
        "aaa-rival",
        entry_points={"rival": "aaa_rival"},
        modules={"aaa_rival": plugin_source("shared")},
    )
    # A `tracewire` distribution earlier on sys.path stands in for tracewire's own metadata.
    site_packages.add_distribution(
        "tracewire",
        entry_points={"builtin": "tw_builtin"},
        modules={"tw_builtin": plugin_source("shared")},
    )
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        assert type(registered()["shared"]).__module__ == "tw_builtin"
    assert "distribution 'aaa-rival'" in warnings_in(caplog)[0]


def test_a_builtin_subpackage_wins_over_the_integration_object(
    site_packages: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For an integration shipped as `tracewire.<name>`, attribute access returns that module."""
    site_packages.add_distribution(
        "tracewire-demo",
        entry_points={"demo": "tw_demo"},
        modules={"tw_demo": plugin_source("demo")},
    )
    # Stand-in for an integration folder shipped inside tracewire: a `tracewire.demo` subpackage.
    extension = site_packages.root / "tracewire_extension"
    (extension / "demo").mkdir(parents=True)
    (extension / "demo" / "__init__.py").write_text("SHIPPED = True\n")
    monkeypatch.setattr(tracewire, "__path__", [*tracewire.__path__, str(extension)])
    try:
        assert tracewire.demo.SHIPPED  # type: ignore[attr-defined]
        assert tracewire.demo is importlib.import_module("tracewire.demo")  # type: ignore[attr-defined]
    finally:
        sys.modules.pop("tracewire.demo", None)
        vars(tracewire).pop("demo", None)


def test_pluggy_is_never_called_while_tracing(toy: Any) -> None:
    """Traced SDK calls and decorated functions run no pluggy code at all."""
    toy_sdk = importlib.import_module("toy_sdk")
    tracewire.autolog()
    client = toy_sdk.Client()

    @tracewire.trace
    def pipeline() -> None:
        client.complete("hi")

    pluggy_frames: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if frame.f_globals.get("__name__", "").startswith("pluggy"):
            pluggy_frames.append(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        for _ in range(10):
            pipeline()
    finally:
        sys.setprofile(None)
    assert pluggy_frames == []


def test_import_tracewire_does_not_load_plugins(toy: Any, site_packages: Any) -> None:
    """Plugins, pluggy and wrapt load on first use, not at `import tracewire`."""
    code = (
        "import sys, tracewire\n"
        "print(sorted(m for m in ('pluggy', 'wrapt', 'tracewire_toy') if m in sys.modules))\n"
        "tracewire.autolog()\n"
        "print(sorted(m for m in ('pluggy', 'wrapt', 'tracewire_toy') if m in sys.modules))\n"
    )
    assert site_packages.run_python(code).split("\n")[:2] == [
        "[]",
        "['pluggy', 'tracewire_toy', 'wrapt']",
    ]
