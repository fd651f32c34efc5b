"""tracewire.testing: capturing traces and asserting span trees, with and without pytest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import tracewire
from tracewire import _plugins
from tracewire._destinations import MemoryDestination
from tracewire.testing import assert_span_tree, capture_traces, reset_integrations, span_tree


@tracewire.trace(span_type=tracewire.SpanType.RETRIEVER)
def retrieve(query: str) -> list[str]:
    return [query]


@tracewire.trace(span_type=tracewire.SpanType.CHAIN)
def pipeline(query: str, fail: bool = False) -> str:
    retrieve(query)
    with tracewire.start_span("generate", span_type=tracewire.SpanType.LLM):
        if fail:
            raise ValueError("generation failed")
    return "answer"


def test_capture_returns_finished_traces_oldest_first() -> None:
    """Every trace finished inside the block is captured, in finishing order."""
    with capture_traces() as traces:
        pipeline("a")
        pipeline("b")
    assert [t.data.spans[0].inputs["query"] for t in traces] == ["a", "b"]


def test_capture_is_readable_inside_the_block() -> None:
    """Traces are visible as soon as they finish, without leaving the block."""
    with capture_traces() as traces:
        pipeline("a")
        assert len(traces) == 1


def test_capture_diverts_from_and_then_restores_the_destination(
    fresh_tracer: MemoryDestination,
) -> None:
    """Captured traces bypass the configured destination, which receives traces again afterwards."""
    pipeline("before")
    with capture_traces() as traces:
        pipeline("inside")
    pipeline("after")
    tracewire.flush()
    kept = [t.data.spans[0].inputs["query"] for t in fresh_tracer.list_traces()]
    assert sorted(kept) == ["after", "before"]
    assert [t.data.spans[0].inputs["query"] for t in traces] == ["inside"]


def test_nested_captures_each_see_their_own_traces() -> None:
    """The inner block captures; the outer one gets traces finished outside the inner block."""
    with capture_traces() as outer:
        pipeline("outer")
        with capture_traces() as inner:
            pipeline("inner")
    assert [t.data.spans[0].inputs["query"] for t in outer] == ["outer"]
    assert [t.data.spans[0].inputs["query"] for t in inner] == ["inner"]


def test_spans_and_clear() -> None:
    """`spans` flattens every captured span in start order; clear() forgets them."""
    with capture_traces() as traces:
        pipeline("a")
        assert [s.name for s in traces.spans] == ["pipeline", "retrieve", "generate"]
        traces.clear()
        assert len(traces) == 0


def test_span_tree_renders_nesting_types_and_errors() -> None:
    """span_tree shows one span per line, indented by depth, with ERROR marks."""
    with capture_traces() as traces, pytest.raises(ValueError, match="generation failed"):
        pipeline("a", fail=True)
    assert span_tree(traces[0]) == (
        "pipeline (CHAIN) ERROR\n  retrieve (RETRIEVER)\n  generate (LLM) ERROR"
    )


def test_assert_span_tree_accepts_an_indented_block() -> None:
    """The expected tree may be written as an indented triple-quoted string."""
    with capture_traces() as traces:
        pipeline("a")
    assert_span_tree(
        traces[0],
        """
        pipeline (CHAIN)
          retrieve (RETRIEVER)
          generate (LLM)
        """,
    )


def test_assert_span_tree_shows_both_trees_on_mismatch() -> None:
    """A mismatch raises AssertionError with the expected and the actual tree."""
    with capture_traces() as traces:
        pipeline("a")
    with pytest.raises(
        AssertionError, match=r"(?s)expected:\npipeline \(CHAIN\)\nactual:\npipeline"
    ):
        assert_span_tree(traces[0], "pipeline (CHAIN)")


def test_opt_in_pytest_fixture(tmp_path: Path) -> None:
    """`pytest_plugins = ["tracewire.testing"]` provides the tracewire_capture fixture."""
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tracewire.testing"]\n')
    (tmp_path / "test_user.py").write_text(
        "import tracewire\n"
        "from tracewire.testing import assert_span_tree\n\n"
        "@tracewire.trace\n"
        "def step():\n"
        "    return 1\n\n"
        "def test_step(tracewire_capture):\n"
        "    step()\n"
        "    assert_span_tree(tracewire_capture[0], 'step (UNKNOWN)')\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_importing_the_module_does_not_need_pytest(tmp_path: Path) -> None:
    """tracewire.testing imports cleanly where pytest cannot be imported."""
    (tmp_path / "pytest.py").write_text("raise ModuleNotFoundError('no pytest here')\n")
    code = "import tracewire.testing as t; print(hasattr(t, 'tracewire_capture'))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=True,
    )
    assert result.stdout.strip() == "False"


def test_reset_integrations_forgets_per_name_choices(toy: Any) -> None:
    """After a reset, an integration disabled by name is enabled again by the global switch."""
    toy.TOY.autolog(disable=True)
    tracewire.autolog()
    assert not toy.TOY.enabled
    reset_integrations()
    tracewire.autolog()
    assert toy.TOY.enabled
    reset_integrations()
    assert not toy.TOY.enabled


def test_reset_integrations_forgets_choices_made_before_plugins_were_loaded(toy: Any) -> None:
    """A by-name disable made before the registry loaded is forgotten too (it is in no registry)."""
    toy.TOY.autolog(disable=True)  # the plugin module imported directly: the registry is not loaded
    _plugins.unload()  # what the shared test teardown does
    tracewire.autolog()
    assert toy.TOY.enabled
