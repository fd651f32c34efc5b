"""Shared fixtures: strict internal errors, and a fresh tracer state for every test."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

# Our own bugs must fail tests instead of being logged (see tracewire._errors).
os.environ["TRACEWIRE_STRICT"] = "1"
# Traces stay in memory, in this process and in the subprocesses tests start: nothing may write a
# tracewire.db into the working directory (tests of the default URI remove this).
os.environ["TRACEWIRE_TRACKING_URI"] = "memory://"

import tracewire
from tracewire import _experiments, _plugins, _trace_manager, _tracking
from tracewire._config import SETTINGS
from tracewire._destinations import MemoryDestination
from tracewire._export import EXPORTER, set_destination


@pytest.fixture(autouse=True)
def fresh_tracer() -> Iterator[MemoryDestination]:
    """Give each test an empty in-memory destination and default settings; check nothing leaks."""
    destination = MemoryDestination()
    set_destination(destination)
    _tracking.reset_tracking_uri()
    _experiments.reset_active_experiment()
    _trace_manager.clear_in_progress()
    SETTINGS.enabled = True
    SETTINGS.span_processors = ()
    SETTINGS.reload_environment()
    EXPORTER.dropped = 0
    yield destination
    _plugins.unload()  # every integration off, plugins reloaded by the next test that needs them
    tracewire.flush()
    assert tracewire.get_current_active_span() is None, "a test left a span active"
    _trace_manager.clear_in_progress()


@pytest.fixture
def request_bodies_after(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Return a spy: ``spy(cls, "method")`` lists each provider call's request body after that method.

    For methods of ``tracewire._sdk_calls.ProviderCall`` (or a subclass), whose first argument is
    the call.
    """

    def spy(cls: type, method: str) -> list[bytes | None]:
        bodies: list[bytes | None] = []
        original = getattr(cls, method)

        def spied(call: Any, *args: Any) -> Any:
            result = original(call, *args)
            bodies.append(call.request_body)
            return result

        monkeypatch.setattr(cls, method, spied)
        return bodies

    return spy


@pytest.fixture
def last_trace() -> object:
    """Return a function that flushes and returns the most recently finished trace."""

    def read() -> tracewire.Trace:
        trace_id = tracewire.get_last_active_trace_id()
        assert trace_id is not None, "no trace was finished"
        trace = tracewire.get_trace(trace_id)
        assert trace is not None
        return trace

    return read


class SitePackages:
    """A throwaway site-packages directory on ``sys.path``, holding real distributions.

    Distributions written here are found by ``importlib.metadata`` exactly like installed ones
    (``*.dist-info`` with ``METADATA`` and ``entry_points.txt``), so plugin discovery runs for real.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.modules: set[str] = set()

    def add_distribution(
        self,
        name: str,
        version: str = "1.0",
        *,
        entry_points: dict[str, str] | None = None,
        modules: dict[str, str] | None = None,
    ) -> None:
        """Write a distribution: its metadata, its ``tracewire`` entry points and its modules.

        Args:
            name: The distribution name.
            version: Its version.
            entry_points: ``{entry point name: "module"}`` in the ``tracewire`` group.
            modules: ``{dotted module name: source}``; packages get an ``__init__.py``.
        """
        info = self.root / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        if entry_points:
            lines = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
            (info / "entry_points.txt").write_text(f"[tracewire]\n{lines}")
        for module, source in (modules or {}).items():
            path = self.root.joinpath(*module.split("."))
            if module in {m.rsplit(".", 1)[0] for m in modules or {} if "." in m}:
                path.mkdir(parents=True, exist_ok=True)
                path = path / "__init__.py"
            else:
                path = path.with_suffix(".py")
                path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(dedent(source))
            self.modules.add(module)
        importlib.invalidate_caches()

    def run_python(self, code: str) -> str:
        """Run ``code`` in a fresh interpreter that sees these distributions; return its stdout."""
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            env={
                "PYTHONPATH": str(self.root),
                "TRACEWIRE_STRICT": "1",
                "TRACEWIRE_TRACKING_URI": "memory://",
            },
        )
        return result.stdout


@pytest.fixture
def site_packages(tmp_path: Path) -> Iterator[SitePackages]:
    """A fresh directory on ``sys.path`` for real test distributions; removed, with its modules, after."""
    root = tmp_path / "site-packages"
    root.mkdir()
    sys.path.insert(0, str(root))
    site = SitePackages(root)
    yield site
    _plugins.unload()
    sys.path.remove(str(root))
    for name in list(sys.modules):
        if name in site.modules or name.split(".")[0] in site.modules:
            del sys.modules[name]
    importlib.invalidate_caches()


# A tiny SDK and a plugin that instruments it, installed as two real distributions by `toy`.
TOY_SDK_SOURCE = """
class ToyError(Exception):
    pass


class Client:
    def complete(self, prompt):
        if prompt == "fail":
            raise ToyError("the toy SDK failed")
        return {"text": prompt.upper()}

    async def acomplete(self, prompt):
        return self.complete(prompt)

    @classmethod
    def from_env(cls):
        return cls()

    @staticmethod
    def version():
        return "1.0"


class BaseResource:
    def fetch(self, key):
        return key * 2


class Resource(BaseResource):
    pass


def helper(value):
    return value + 1
"""

TOY_PLUGIN_SOURCE = """
import tracewire
from tracewire.integration import Integration, trace_async_call, trace_call


def _start(name, inputs):
    return lambda: tracewire.start_span_no_context(name, span_type="LLM", inputs=inputs)


class ToyIntegration(Integration):
    name = "toy"
    module = "toy_sdk"
    requirements = ("toy-sdk>=1.0,<2",)
    default_options = {"label": "toy"}

    def patch(self, patcher, module):
        patcher.wrap(module, "Client.complete", self.traced)
        patcher.wrap(module, "Client.acomplete", self.traced_async)
        patcher.wrap(module, "Client.from_env", self.traced)
        patcher.wrap(module, "Client.version", self.traced)
        patcher.wrap(module, "Resource.fetch", self.traced)  # inherited from BaseResource

    def traced(self, wrapped, instance, args, kwargs):
        name = f"{self.options['label']}.{wrapped.__name__}"
        return trace_call(wrapped, args, kwargs, start=_start(name, list(args)))

    def traced_async(self, wrapped, instance, args, kwargs):
        name = f"{self.options['label']}.{wrapped.__name__}"
        return trace_async_call(wrapped, args, kwargs, start=_start(name, list(args)))


class ToyHelperIntegration(Integration):
    name = "toy_helper"
    module = "toy_sdk"
    requirements = ("toy-sdk",)

    def patch(self, patcher, module):
        patcher.wrap(module, "helper", self.traced)

    def traced(self, wrapped, instance, args, kwargs):
        return trace_call(wrapped, args, kwargs, start=_start("helper", list(args)))


class MissingSdkIntegration(Integration):
    name = "toy_missing"
    module = "toy_missing_sdk"
    requirements = ("toy-missing-sdk>=1",)

    def patch(self, patcher, module):
        raise AssertionError("never patched: the SDK is not installed")


TOY = ToyIntegration()
TOY_HELPER = ToyHelperIntegration()
TOY_MISSING = MissingSdkIntegration()


@tracewire.hookimpl
def tracewire_register_integrations(register):
    register(TOY)
    register(TOY_HELPER)
    register(TOY_MISSING)
"""


@pytest.fixture
def toy(site_packages: SitePackages) -> Any:
    """Install the toy SDK (not imported yet) and its plugin; return the plugin module."""
    site_packages.add_distribution("toy-sdk", "1.2.0", modules={"toy_sdk": TOY_SDK_SOURCE})
    site_packages.add_distribution(
        "tracewire-toy",
        entry_points={"toy": "tracewire_toy"},
        modules={"tracewire_toy": TOY_PLUGIN_SOURCE},
    )
    return importlib.import_module("tracewire_toy")
