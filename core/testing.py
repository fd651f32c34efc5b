"""Test helpers: capture the traces your code produces and assert on their span trees.

Works in any test framework::

    from tracewire.testing import assert_span_tree, capture_traces

    with capture_traces() as traces:
        my_pipeline("question")
    assert_span_tree(traces[0], '''
        my_pipeline (CHAIN)
          retrieve (RETRIEVER)
          chat (CHAT_MODEL)
    ''')

With pytest, opt in to the ``tracewire_capture`` fixture by adding
``pytest_plugins = ["tracewire.testing"]`` to your ``conftest.py`` (or run ``pytest -p
tracewire.testing``). Importing this module does not require pytest.
"""

from __future__ import annotations

from tracewire._testing import (
    TraceCapture,
    assert_span_tree,
    capture_traces,
    reset_integrations,
    span_tree,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

try:
    import pytest
except ModuleNotFoundError:  # the fixture needs pytest; nothing else in this module does
    pass
else:

    @pytest.fixture
    def tracewire_capture() -> Iterator[TraceCapture]:
        """Capture the traces a test produces (opt in with ``pytest_plugins = ["tracewire.testing"]``)."""
        with capture_traces() as traces:
            yield traces


__all__ = [
    "TraceCapture",
    "assert_span_tree",
    "capture_traces",
    "reset_integrations",
    "span_tree",
]
