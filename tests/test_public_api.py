"""The public surface is deliberate: sorted, complete, and light to import."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

import tracewire
import tracewire.entities
import tracewire.hookspecs
import tracewire.integration
import tracewire.testing
import tracewire.tracing
import tracewire.tracing.constant
import tracewire.tracing.distributed

PUBLIC_MODULES = [
    tracewire,
    tracewire.entities,
    tracewire.hookspecs,
    tracewire.integration,
    tracewire.testing,
    tracewire.tracing,
    tracewire.tracing.constant,
    tracewire.tracing.distributed,
]
# Not API: the postponed-annotations import, the type-checking switch, pytest fixtures (which
# users get through `pytest_plugins`), and names that tracewire resolves lazily on first access.
NOT_LISTED = {"annotations", "TYPE_CHECKING", "tracewire_capture"}


@pytest.mark.parametrize("module", PUBLIC_MODULES, ids=lambda m: m.__name__)
def test_all_is_sorted(module: types.ModuleType) -> None:
    """``__all__`` is sorted (ruff's RUF022 order), so additions are reviewed in one place."""
    assert module.__all__ == sorted(module.__all__)


@pytest.mark.parametrize("module", PUBLIC_MODULES, ids=lambda m: m.__name__)
def test_all_lists_exactly_the_public_names(module: types.ModuleType) -> None:
    """Every public non-module attribute is in ``__all__`` and every ``__all__`` entry exists."""
    lazy = getattr(module, "_LAZY_ATTRIBUTES", frozenset())

    def plain_public(names: object) -> set[str]:
        return {
            name
            for name in names  # type: ignore[attr-defined]
            if not name.startswith("_")
            and name not in NOT_LISTED
            and name not in lazy
            and not isinstance(getattr(module, name), types.ModuleType)
        }

    assert plain_public(vars(module)) == plain_public(module.__all__)
    assert all(hasattr(module, name) for name in module.__all__)


def test_mlflow_names_are_available() -> None:
    """The names MLflow's examples use exist under the same paths."""
    for name in (
        "trace",
        "start_span",
        "start_span_no_context",
        "get_current_active_span",
        "get_active_trace_id",
        "get_last_active_trace_id",
        "update_current_trace",
        "get_trace",
        "search_traces",
        "set_tracking_uri",
        "get_tracking_uri",
        "set_experiment",
        "delete_traces",
    ):
        assert callable(getattr(tracewire, name))
    assert tracewire.tracing.constant.SpanAttributeKey.CHAT_USAGE == "mlflow.chat.tokenUsage"
    assert len([n for n in vars(tracewire.SpanType) if n.isupper()]) == 15


def test_import_stays_light() -> None:
    """``import tracewire`` loads no SDK nor any module that would make it slow to import."""
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import tracewire\n"
        "added = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "heavy = {'openai', 'anthropic', 'langchain', 'llama_index', 'dspy', 'autogen',"
        " 'pydantic', 'opentelemetry', 'numpy', 'pandas', 'asyncio', 'inspect', 'wrapt',"
        " 'pluggy', 'typing', 'logging', 'json', 're', 'threading', 'datetime', 'traceback',"
        " 'sqlite3'}\n"
        "print(','.join(sorted(added & heavy)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""
