"""Patcher: every change is undone to the identical original object, newest first."""

from __future__ import annotations

import logging
import sys
import types
from typing import Any

import pytest
import wrapt

from tracewire.integration import Patcher


class Base:
    def inherited(self) -> str:
        return "base"


class Target(Base):
    def method(self, value: int) -> int:
        return value * 2

    @classmethod
    def build(cls) -> str:
        return cls.__name__

    @staticmethod
    def constant() -> int:
        return 7


def module_function(value: int) -> int:
    return value + 1


THIS_MODULE = sys.modules[__name__]


def passthrough(calls: list[str]) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        calls.append(wrapped.__name__)
        return wrapped(*args, **kwargs)

    return wrapper


@pytest.mark.parametrize("path", ["method", "build", "constant"])
def test_undo_restores_the_identical_class_attribute(path: str) -> None:
    """Methods, classmethods and staticmethods get back the very object from the class __dict__."""
    original = vars(Target)[path]
    patcher = Patcher(lambda: True)
    patcher.wrap(Target, path, passthrough([]))
    assert vars(Target)[path] is not original
    patcher.undo()
    assert vars(Target)[path] is original


def test_wrapped_methods_bind_like_the_originals() -> None:
    """Instance methods, classmethods and staticmethods still receive the right arguments."""
    calls: list[str] = []
    patcher = Patcher(lambda: True)
    for path in ("method", "build", "constant"):
        patcher.wrap(Target, path, passthrough(calls))
    try:
        assert Target().method(3) == 6
        assert Target.build() == "Target"
        assert Target.constant() == 7
    finally:
        patcher.undo()
    assert calls == ["method", "build", "constant"]


def test_undo_removes_an_attribute_that_was_only_inherited() -> None:
    """Wrapping an inherited method patches the subclass; undo deletes it so lookup reaches the base."""
    patcher = Patcher(lambda: True)
    patcher.wrap(Target, "inherited", passthrough([]))
    assert "inherited" in vars(Target)
    assert Target().inherited() == "base"
    patcher.undo()
    assert "inherited" not in vars(Target)
    assert Target.inherited is Base.inherited


def test_undo_restores_a_module_function() -> None:
    """A module-level function is restored by identity."""
    original = THIS_MODULE.module_function
    patcher = Patcher(lambda: True)
    patcher.wrap(THIS_MODULE, "module_function", passthrough([]))
    assert THIS_MODULE.module_function is not original
    assert THIS_MODULE.module_function(1) == 2
    patcher.undo()
    assert THIS_MODULE.module_function is original


def test_wrap_accepts_a_module_name() -> None:
    """The target may be given as the name of an importable module."""
    patcher = Patcher(lambda: True)
    patcher.wrap(__name__, "Target.method", passthrough([]))
    patcher.undo()
    assert vars(Target)["method"].__name__ == "method"


def test_replace_and_on_undo_revert_newest_first() -> None:
    """Plain replacements and cleanup callbacks are undone in reverse order."""
    namespace = types.SimpleNamespace(value="original")
    order: list[str] = []
    patcher = Patcher(lambda: True)
    patcher.replace(namespace, "value", "first")
    patcher.on_undo(lambda: order.append(f"callback saw {namespace.value}"))
    patcher.replace(namespace, "value", "second")
    patcher.undo()
    assert order == ["callback saw first"]
    assert namespace.value == "original"


def test_replace_of_a_missing_attribute_is_undone_by_deleting_it() -> None:
    """An attribute that did not exist before is removed again."""
    namespace = types.SimpleNamespace()
    patcher = Patcher(lambda: True)
    patcher.replace(namespace, "added", 1)
    patcher.undo()
    assert not hasattr(namespace, "added")


def test_wrappers_call_the_original_directly_when_tracing_is_unwanted() -> None:
    """The should_trace callable is checked per call; False bypasses the wrapper entirely."""
    calls: list[str] = []
    wanted = [False]
    patcher = Patcher(lambda: wanted[0])
    patcher.wrap(Target, "method", passthrough(calls))
    try:
        assert Target().method(1) == 2
        wanted[0] = True
        assert Target().method(1) == 2
    finally:
        patcher.undo()
    assert calls == ["method"]


def test_a_wrapper_patched_over_is_left_in_place_and_inert() -> None:
    """If someone wrapped on top of us, undo keeps their wrapper and ours stops doing anything."""
    original = vars(Target)["method"]
    ours: list[str] = []
    patcher = Patcher(lambda: True)
    patcher.wrap(Target, "method", passthrough(ours))
    theirs = wrapt.FunctionWrapper(vars(Target)["method"], passthrough([]))
    Target.method = theirs  # type: ignore[method-assign]
    try:
        patcher.undo()
        assert vars(Target)["method"] is theirs
        assert Target().method(2) == 4
        assert ours == []
    finally:
        Target.method = original  # type: ignore[method-assign]


def test_undo_is_idempotent_and_a_spent_patcher_refuses_new_changes() -> None:
    """A second undo does nothing; patching through an undone Patcher is an error."""
    patcher = Patcher(lambda: True)
    patcher.wrap(Target, "method", passthrough([]))
    patcher.undo()
    patcher.undo()
    assert not patcher.live
    with pytest.raises(RuntimeError, match="undone"):
        patcher.replace(types.SimpleNamespace(), "x", 1)


def test_a_failing_undo_step_does_not_stop_the_others(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """One cleanup raising is reported; the remaining changes are still reverted."""
    monkeypatch.delenv("TRACEWIRE_STRICT")
    namespace = types.SimpleNamespace(value="original")
    patcher = Patcher(lambda: True)
    patcher.replace(namespace, "value", "patched")

    def broken_cleanup() -> None:
        raise RuntimeError("cleanup failed")

    patcher.on_undo(broken_cleanup)
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        patcher.undo()
    assert namespace.value == "original"
    assert "undoing a patch" in caplog.text


def test_wrap_of_a_missing_path_raises_attribute_error() -> None:
    """A path that does not exist fails loudly, so the integration's patch rolls back."""
    patcher = Patcher(lambda: True)
    with pytest.raises(AttributeError):
        patcher.wrap(Target, "no_such_method", passthrough([]))


def test_strict_mode_runs_every_undo_step_before_raising() -> None:
    """Under TRACEWIRE_STRICT=1 a failing step still lets the others revert, then raises."""
    namespace = types.SimpleNamespace(value="original")
    patcher = Patcher(lambda: True)
    patcher.replace(namespace, "value", "patched")

    def broken_cleanup() -> None:
        raise RuntimeError("cleanup failed")

    patcher.on_undo(broken_cleanup)
    with pytest.raises(RuntimeError, match="cleanup failed"):
        patcher.undo()
    assert namespace.value == "original"


def test_when_imported_patches_an_imported_module_at_once() -> None:
    patcher = Patcher(lambda: True)
    seen: list[types.ModuleType] = []

    patcher.when_imported(__name__, seen.append)

    assert seen == [THIS_MODULE]


def test_when_imported_waits_for_the_import_and_undo_cancels_the_wait(
    site_packages: Any,
) -> None:
    site_packages.add_distribution("lazy-sdk", modules={"lazy_sdk": "VALUE = 1\n"})
    first, second = Patcher(lambda: True), Patcher(lambda: True)
    seen: list[str] = []
    first.when_imported("lazy_sdk", lambda module: seen.append("first"))
    second.when_imported("lazy_sdk", lambda module: seen.append("second"))
    assert seen == []

    first.undo()
    import lazy_sdk  # type: ignore[import-not-found]  # noqa: F401 - the import under test

    assert seen == ["second"]
