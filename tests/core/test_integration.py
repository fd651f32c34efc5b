"""The Integration contract: idempotent, reversible, all-or-nothing, deferred until import."""

from __future__ import annotations

import gc
import importlib
import logging
import sys
import threading
from typing import Any

import pytest
import wrapt

import tracewire
from tracewire import _post_import
from tracewire.integration import Integration, IntegrationNotInstalledError, Patcher
from tracewire.testing import assert_span_tree, capture_traces

PATCHED = ("complete", "acomplete", "from_env", "version")


def originals(module: Any) -> dict[str, Any]:
    return {name: vars(module.Client)[name] for name in PATCHED}


def test_autolog_before_import_patches_when_the_sdk_is_imported(toy: Any) -> None:
    """The SDK is not imported by autolog; its import triggers the patch."""
    toy.TOY.autolog()
    assert "toy_sdk" not in sys.modules
    assert toy.TOY.enabled
    assert not toy.TOY.patched
    toy_sdk = importlib.import_module("toy_sdk")
    assert toy.TOY.patched
    with capture_traces() as traces:
        toy_sdk.Client().complete("hi")
    assert_span_tree(traces[0], "toy.complete (LLM)")


def test_clients_created_before_autolog_are_traced(toy: Any) -> None:
    """Classes are patched, not instances, so existing clients are traced too."""
    toy_sdk = importlib.import_module("toy_sdk")
    client = toy_sdk.Client()
    toy.TOY.autolog()
    with capture_traces() as traces:
        assert client.complete("hi") == {"text": "HI"}
    assert traces[0].data.spans[0].outputs == {"text": "HI"}


def test_repeated_autolog_never_wraps_twice(toy: Any) -> None:
    """Calling autolog again leaves the same wrapper in place and records one span per call."""
    toy_sdk = importlib.import_module("toy_sdk")
    toy.TOY.autolog()
    wrapper = vars(toy_sdk.Client)["complete"]
    toy.TOY.autolog()
    toy.TOY.autolog(label="again")
    assert vars(toy_sdk.Client)["complete"] is wrapper
    with capture_traces() as traces:
        toy_sdk.Client().complete("hi")
    assert_span_tree(traces[0], "again.complete (LLM)")


def test_options_are_read_at_call_time(toy: Any) -> None:
    """A repeated call updates the options the wrappers read on the next call."""
    toy_sdk = importlib.import_module("toy_sdk")
    toy.TOY.autolog(label="first")
    client = toy_sdk.Client()
    with capture_traces() as traces:
        client.complete("a")
        toy.TOY.autolog(label="second")
        client.complete("b")
    assert [t.data.spans[0].name for t in traces] == ["first.complete", "second.complete"]
    assert toy.TOY.options == {"label": "second"}


def test_disable_restores_every_attribute_to_the_identical_object(toy: Any) -> None:
    """disable=True puts back the very objects (functions, classmethod, staticmethod, inherited)."""
    toy_sdk = importlib.import_module("toy_sdk")
    before = originals(toy_sdk)
    toy.TOY.autolog()
    assert all(vars(toy_sdk.Client)[name] is not before[name] for name in PATCHED)
    assert "fetch" in vars(toy_sdk.Resource)
    toy.TOY.autolog(disable=True)
    assert originals(toy_sdk) == before
    assert all(vars(toy_sdk.Client)[name] is before[name] for name in PATCHED)
    assert "fetch" not in vars(toy_sdk.Resource)
    assert not toy.TOY.enabled


def test_double_disable_is_harmless(toy: Any) -> None:
    """Disabling twice, or disabling what was never enabled, does nothing."""
    toy.TOY.autolog(disable=True)
    toy.TOY.autolog()
    toy.TOY.autolog(disable=True)
    toy.TOY.autolog(disable=True)
    assert not toy.TOY.enabled


def test_disable_before_import_cancels_the_pending_patch(toy: Any) -> None:
    """Disabling while waiting for the import means the later import is left untouched."""
    toy.TOY.autolog()
    toy.TOY.autolog(disable=True)
    toy_sdk = importlib.import_module("toy_sdk")
    assert not any(isinstance(vars(toy_sdk.Client)[n], wrapt.FunctionWrapper) for n in PATCHED)
    assert _post_import.waiting_count() == 0


def test_log_traces_false_keeps_patches_but_records_nothing(toy: Any) -> None:
    """log_traces=False leaves the SDK patched and records no trace."""
    toy_sdk = importlib.import_module("toy_sdk")
    toy.TOY.autolog(log_traces=False)
    assert toy.TOY.patched
    with capture_traces() as traces:
        toy_sdk.Client().complete("hi")
    assert len(traces) == 0


def test_tracing_disable_turns_integration_spans_off(toy: Any) -> None:
    """tracewire.tracing.disable() also silences autologged calls."""
    toy_sdk = importlib.import_module("toy_sdk")
    toy.TOY.autolog()
    tracewire.tracing.disable()
    with capture_traces() as traces:
        toy_sdk.Client().complete("hi")
    assert len(traces) == 0


def test_host_exception_reaches_the_caller_unchanged(toy: Any) -> None:
    """The SDK's exception object propagates as is, and the span records it."""
    toy_sdk = importlib.import_module("toy_sdk")
    toy.TOY.autolog()
    with capture_traces() as traces, pytest.raises(toy_sdk.ToyError, match="toy SDK failed"):
        toy_sdk.Client().complete("fail")
    assert_span_tree(traces[0], "toy.complete (LLM) ERROR")


@pytest.mark.asyncio
async def test_async_methods_are_traced(toy: Any) -> None:
    """A coroutine method is traced around its await, nesting the inner call."""
    toy_sdk = importlib.import_module("toy_sdk")
    toy.TOY.autolog()
    with capture_traces() as traces:
        assert await toy_sdk.Client().acomplete("hi") == {"text": "HI"}
    assert_span_tree(
        traces[0],
        """
        toy.acomplete (LLM)
          toy.complete (LLM)
        """,
    )


def test_unknown_option_is_a_type_error_naming_the_accepted_ones(toy: Any) -> None:
    """A misspelt option fails loudly, before anything changes."""
    with pytest.raises(TypeError, match=r"unknown option\(s\) 'lable'; its options are: label"):
        toy.TOY.autolog(lable="x")
    assert not toy.TOY.enabled


def test_non_bool_flags_are_rejected(toy: Any) -> None:
    """disable, log_traces and silent must be booleans."""
    with pytest.raises(TypeError, match="'disable' must be True or False"):
        toy.TOY.autolog(disable="yes")


def test_missing_sdk_raises_import_error_with_the_install_command(toy: Any) -> None:
    """An explicit autolog for an SDK that is not installed says how to install it."""
    with pytest.raises(IntegrationNotInstalledError) as raised:
        toy.TOY_MISSING.autolog()
    assert isinstance(raised.value, ImportError)
    assert "toy-missing-sdk" in str(raised.value)
    assert "pip install 'toy-missing-sdk>=1'" in str(raised.value)
    assert not toy.TOY_MISSING.enabled


def test_builtin_integrations_name_their_extra_in_the_install_command() -> None:
    """An integration shipped with tracewire points at `pip install 'tracewire[<extra>]'`."""

    class Shipped(Integration):
        name = "shipped"
        requirements = ("no-such-sdk-anywhere>=1",)
        extra = "shipped"

    with pytest.raises(IntegrationNotInstalledError, match=r"pip install 'tracewire\[shipped\]'"):
        Shipped().autolog()


def test_unsupported_version_warns_once_then_patches(
    site_packages: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """An SDK outside the supported range gets one warning, and is traced anyway."""
    site_packages.add_distribution(
        "toy-sdk", "2.5.0", modules={"toy_sdk": "def helper(x):\n    return x\n"}
    )

    class Picky(Integration):
        name = "picky"
        module = "toy_sdk"
        requirements = ("toy-sdk>=1,<2",)

        def patch(self, patcher: Patcher, module: Any) -> None:
            patcher.replace(module, "marker", True)

    picky = Picky()
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        picky.autolog()
        picky.autolog(disable=True)
        picky.autolog()
    importlib.import_module("toy_sdk")
    warnings = [r for r in caplog.records if "supports toy-sdk>=1,<2" in r.getMessage()]
    assert len(warnings) == 1
    assert "found toy-sdk 2.5.0" in warnings[0].getMessage()
    assert picky.patched
    picky.autolog(disable=True)


def test_silent_suppresses_the_version_warning(
    site_packages: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """silent=True keeps tracewire's setup warnings out of the logs."""
    site_packages.add_distribution("toy-sdk", "2.5.0", modules={"toy_sdk": ""})

    class Picky(Integration):
        name = "picky"
        module = "toy_sdk"
        requirements = ("toy-sdk>=1,<2",)

        def patch(self, patcher: Patcher, module: Any) -> None:
            pass

    with caplog.at_level(logging.WARNING, logger="tracewire"):
        Picky().autolog(silent=True)
    assert caplog.records == []


class HalfPatching(Integration):
    """Wraps two methods, then fails on a third that does not exist."""

    name = "half"
    module = "toy_sdk"

    def patch(self, patcher: Patcher, module: Any) -> None:
        patcher.wrap(module, "Client.complete", lambda w, i, a, k: w(*a, **k))
        patcher.wrap(module, "Client.version", lambda w, i, a, k: w(*a, **k))
        patcher.wrap(module, "Client.no_such_method", lambda w, i, a, k: w(*a, **k))


def test_failed_patch_is_rolled_back_and_logged_once(
    toy: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Outside strict mode a failure halfway undoes what was applied and logs one warning."""
    monkeypatch.delenv("TRACEWIRE_STRICT")
    toy_sdk = importlib.import_module("toy_sdk")
    before = originals(toy_sdk)
    half = HalfPatching()
    with caplog.at_level(logging.WARNING, logger="tracewire"):
        half.autolog()
        half.autolog()
    assert originals(toy_sdk) == before
    assert all(vars(toy_sdk.Client)[name] is before[name] for name in PATCHED)
    assert not half.enabled
    failures = [r for r in caplog.records if "could not instrument half" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].exc_info is not None


def test_failed_patch_is_rolled_back_and_raised_in_strict_mode(toy: Any) -> None:
    """Under TRACEWIRE_STRICT=1 the failure raises, after the rollback."""
    toy_sdk = importlib.import_module("toy_sdk")
    before = originals(toy_sdk)
    with pytest.raises(AttributeError, match="no_such_method"):
        HalfPatching().autolog()
    assert all(vars(toy_sdk.Client)[name] is before[name] for name in PATCHED)


def test_hundred_enable_disable_cycles_leave_nothing_behind(toy: Any) -> None:
    """No wrappers, import hooks, threads or integration objects accumulate over many cycles."""
    toy.TOY.autolog()
    toy.TOY.autolog(disable=True)  # warm up: lazy imports, the export thread
    threads = threading.active_count()
    hooks = _post_import.waiting_count()
    for _ in range(50):  # 50 cycles while the SDK is not imported yet...
        toy.TOY.autolog()
        toy.TOY.autolog(disable=True)
    toy_sdk = importlib.import_module("toy_sdk")
    before = originals(toy_sdk)
    for _ in range(50):  # ...and 50 after
        toy.TOY.autolog()
        toy.TOY.autolog(disable=True)
    assert _post_import.waiting_count() == hooks == 0
    assert all(vars(toy_sdk.Client)[name] is before[name] for name in PATCHED)
    assert "fetch" not in vars(toy_sdk.Resource)
    gc.collect()
    assert threading.active_count() == threads
    live_wrappers = [
        obj
        for obj in gc.get_objects()
        if isinstance(obj, wrapt.FunctionWrapper) and obj.__wrapped__ in before.values()
    ]
    assert live_wrappers == []


def test_autolog_in_a_fresh_interpreter_does_not_import_the_sdk(
    toy: Any, site_packages: Any
) -> None:
    """Enabling an integration imports neither the SDK nor its submodules."""
    code = (
        "import sys, tracewire_toy\n"
        "tracewire_toy.TOY.autolog()\n"
        "assert 'toy_sdk' not in sys.modules\n"
        "import toy_sdk\n"
        "print(tracewire_toy.TOY.patched)\n"
    )
    assert site_packages.run_python(code).strip() == "True"
