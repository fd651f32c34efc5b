"""The README's demo command keeps working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_prints_the_trace_tree_with_token_usage() -> None:
    """``python docs/quickstart.py`` runs and shows the span tree with token counts."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "quickstart.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "retrieve [RETRIEVER] OK" in result.stdout
    assert "chat.completions [CHAT_MODEL] OK" in result.stdout
    assert "'total_tokens': 48" in result.stdout
