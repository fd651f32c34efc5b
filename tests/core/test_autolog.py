"""The global switch: every row of the README's table of global vs per-name rules."""

from __future__ import annotations

import importlib
import logging
from typing import Any

import pytest

import tracewire

# Each step is (who, keyword arguments): "all" is tracewire.autolog, "x" the toy integration.
Step = tuple[str, dict[str, Any]]

ON_GLOBAL = (True, True, {"label": "toy"})  # enabled, log_traces, options
OFF = (False, True, {"label": "toy"})

RULES: list[tuple[str, list[Step], tuple[bool, bool, dict[str, Any]]]] = [
    ("global enable turns it on", [("all", {})], ON_GLOBAL),
    ("global disable after global enable", [("all", {}), ("all", {"disable": True})], OFF),
    ("global disable includes a per-name enable", [("x", {}), ("all", {"disable": True})], OFF),
    ("per-name disable survives global enable", [("x", {"disable": True}), ("all", {})], OFF),
    (
        "per-name disable after global enable survives the next global enable",
        [("all", {}), ("x", {"disable": True}), ("all", {})],
        OFF,
    ),
    (
        "per-name disable survives a global disable and re-enable",
        [("x", {"disable": True}), ("all", {"disable": True}), ("all", {})],
        OFF,
    ),
    ("per-name enable undoes a per-name disable", [("x", {"disable": True}), ("x", {})], ON_GLOBAL),
    (
        "per-name options win over a later global enable",
        [("x", {"label": "mine"}), ("all", {"log_traces": False})],
        (True, True, {"label": "mine"}),
    ),
    (
        "after a global disable, global enable applies global options",
        [("x", {"label": "mine"}), ("all", {"disable": True}), ("all", {"log_traces": False})],
        (True, False, {"label": "toy"}),
    ),
    (
        "exclude turns off what a global enable turned on",
        [("all", {}), ("all", {"exclude": ["toy"]})],
        OFF,
    ),
    ("exclude leaves a per-name enable on", [("x", {}), ("all", {"exclude": ["toy"]})], ON_GLOBAL),
    ("exclude accepts a single name", [("all", {"exclude": "toy"})], OFF),
    (
        "global log_traces=False applies",
        [("all", {"log_traces": False})],
        (True, False, {"label": "toy"}),
    ),
]


@pytest.mark.parametrize(("steps", "expected"), [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_global_and_per_name_rules(
    toy: Any, steps: list[Step], expected: tuple[bool, bool, dict[str, Any]]
) -> None:
    """The integration ends in the state the README's table promises."""
    for who, kwargs in steps:
        if who == "all":
            tracewire.autolog(**kwargs)
        else:
            toy.TOY.autolog(**kwargs)
    enabled, log_traces, options = expected
    assert toy.TOY.enabled is enabled
    if enabled:
        assert toy.TOY.log_traces is log_traces
        assert dict(toy.TOY.options) == options


def test_global_enable_covers_sdks_imported_later(toy: Any) -> None:
    """Installed but not yet imported SDKs are patched when they are imported."""
    tracewire.autolog()
    assert toy.TOY.enabled
    assert toy.TOY_HELPER.enabled
    assert not toy.TOY.patched
    toy_sdk = importlib.import_module("toy_sdk")
    assert toy.TOY.patched
    assert toy.TOY_HELPER.patched
    assert toy_sdk.helper(1) == 2


def test_global_enable_skips_integrations_whose_sdk_is_missing(
    toy: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A registered integration without its SDK is skipped quietly (debug log only)."""
    with caplog.at_level(logging.DEBUG, logger="tracewire"):
        tracewire.autolog()
    assert not toy.TOY_MISSING.enabled
    missing = [r for r in caplog.records if "toy-missing-sdk" in r.getMessage()]
    assert [r.levelno for r in missing] == [logging.DEBUG]


def test_global_disable_restores_every_sdk_exactly(toy: Any) -> None:
    """tracewire.autolog(disable=True) restores the identical objects of every integration."""
    toy_sdk = importlib.import_module("toy_sdk")
    before = {name: vars(toy_sdk)[name] for name in ("helper",)} | dict(vars(toy_sdk.Client))
    toy.TOY.autolog()
    tracewire.autolog()
    tracewire.autolog(disable=True)
    after = {name: vars(toy_sdk)[name] for name in ("helper",)} | dict(vars(toy_sdk.Client))
    assert after.keys() == before.keys()
    assert all(after[name] is before[name] for name in before)


def test_global_disable_reaches_integrations_outside_the_registry(
    toy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An integration enabled directly although its plugin is blocked is still turned off."""
    monkeypatch.setenv("TRACEWIRE_DISABLE_PLUGINS", "toy")
    toy.TOY.autolog()
    tracewire.autolog(disable=True)
    assert not toy.TOY.enabled


def test_unknown_exclude_names_are_warned_about(toy: Any, caplog: pytest.LogCaptureFixture) -> None:
    """A typo in exclude gets a warning listing the registered names; the rest still applies."""
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        tracewire.autolog(exclude=["tyo"])
    assert "no integration is named 'tyo'; registered: " in caplog.text
    assert "toy, toy_helper, toy_missing" in caplog.text
    assert toy.TOY.enabled


def test_silent_global_enable_logs_nothing(toy: Any, caplog: pytest.LogCaptureFixture) -> None:
    """silent=True suppresses the global switch's warnings."""
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        tracewire.autolog(exclude=["tyo"], silent=True)
    assert caplog.records == []


def test_exclude_must_hold_names() -> None:
    """Non-string names in exclude are a TypeError."""
    with pytest.raises(TypeError, match="takes integration names"):
        tracewire.autolog(exclude=[1])  # type: ignore[list-item]


def test_global_autolog_without_any_plugin_is_a_no_op() -> None:
    """With nothing registered, enabling and disabling everything just works."""
    tracewire.autolog()
    tracewire.autolog(disable=True)
