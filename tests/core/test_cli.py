"""The ``tracewire`` command line: every command, its errors and exit codes.

In-process tests call ``main([...])`` against the test's in-memory destination. The end-to-end
tests at the bottom run the real command in subprocesses on a SQLite store, and are skipped until
that store exists in this build.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import tracewire
from tracewire._cli import main
from tracewire._destinations import MemoryDestination
from tracewire._export import set_destination
from tracewire.entities import SpanType, Trace
from tracewire.tracing.constant import SpanAttributeKey


def record(name: str = "pipeline", tokens: int | None = 1290, fail: bool = False) -> str:
    """Record a trace with a retriever and a chat model span; return its id."""
    with tracewire.start_span(name, span_type=SpanType.CHAIN) as root:
        root.set_inputs({"question": "what is tracewire?"})
        with tracewire.start_span("retrieve", span_type=SpanType.RETRIEVER):
            pass
        with tracewire.start_span("llm", span_type=SpanType.CHAT_MODEL) as llm:
            if tokens is not None:
                usage = {"input_tokens": tokens - 56, "output_tokens": 56, "total_tokens": tokens}
                llm.set_attribute(SpanAttributeKey.CHAT_USAGE, usage)
        if fail:
            root.set_status("ERROR")
    tracewire.flush()
    return root.trace_id


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "140")


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["traces"],
        ["traces", "list"],
        ["traces", "show"],
        ["traces", "export"],
        ["traces", "delete"],
        ["demo"],
    ],
)
def test_every_command_has_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *argv, "--help")
    assert code == 0
    assert out.startswith("usage: tracewire")


def test_a_usage_error_exits_2_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "traces", "frobnicate")
    assert code == 2
    assert "invalid choice: 'frobnicate'" in err
    code, _, err = run(capsys, "traces", "list", "--limit", "0")
    assert (code, "must be at least 1" in err) == (2, True)


def test_list_shows_a_table_with_tokens(capsys: pytest.CaptureFixture[str]) -> None:
    first = record("first", tokens=1290)
    second = record("second", tokens=None, fail=True)
    code, out, _ = run(capsys, "traces", "list")
    assert code == 0
    header, newest, oldest = out.splitlines()[:3]
    assert header.split()[:3] == ["TRACE", "ID", "NAME"]
    assert newest.split()[:3] == [second, "second", "ERROR"]
    assert oldest.split()[:3] == [first, "first", "OK"]
    assert oldest.split()[-3:] == ["1,234", "56", "1,290"]
    assert "2 traces from memory://" in out


def test_list_limit_says_when_more_traces_match(capsys: pytest.CaptureFixture[str]) -> None:
    record("a")
    record("b")
    code, out, _ = run(capsys, "traces", "list", "--limit", "1")
    assert code == 0
    assert "1 trace from memory://; more match (--limit 5)" in out


def test_list_order_by(capsys: pytest.CaptureFixture[str]) -> None:
    with tracewire.start_span("slow"):
        time.sleep(0.05)  # far above what "fast" takes even when the host stalls for a moment
    record("fast")
    code, out, _ = run(capsys, "traces", "list", "--order-by", "execution_time_ms DESC")
    assert code == 0
    assert [line.split()[1] for line in out.splitlines()[1:3]] == ["slow", "fast"]


def test_list_of_an_empty_store(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "traces", "list")
    assert (code, out) == (0, "No traces in memory://. Record one with 'tracewire demo'.\n")


@pytest.mark.parametrize("argv", [["traces", "list"], ["traces", "export"], ["traces", "delete"]])
def test_a_malformed_filter_is_a_usage_error_with_the_search_apis_message(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    record()
    code, out, err = run(capsys, *argv, "--filter", "name = ")
    assert code == 2
    assert out == ""
    assert err.startswith("tracewire: error: ")  # the message may go on to point at the problem
    assert "Traceback" not in err


def test_a_bad_order_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    record()
    code, _, err = run(capsys, "traces", "list", "--order-by", "colour DESC")
    assert code == 2
    assert "invalid order_by clause 'colour DESC'" in err


def test_show_prints_the_span_tree(capsys: pytest.CaptureFixture[str]) -> None:
    trace_id = record()
    code, out, _ = run(capsys, "traces", "show", trace_id)
    assert code == 0
    assert f"Trace    {trace_id}  pipeline" in out
    assert "Tokens   1,234 in · 56 out · 1,290 total" in out
    assert "├─ retrieve" in out
    assert "RETRIEVER" in out
    assert "└─ llm" in out
    assert "1,234 → 56" in out
    assert "critical path" in out


def test_show_accepts_a_bare_hex_id(capsys: pytest.CaptureFixture[str]) -> None:
    trace_id = record()
    code, out, _ = run(capsys, "traces", "show", trace_id[3:].upper())
    assert code == 0
    assert trace_id in out


def test_show_in_ascii_without_colour(capsys: pytest.CaptureFixture[str]) -> None:
    trace_id = record()
    code, out, _ = run(capsys, "traces", "show", trace_id, "--ascii")
    assert code == 0
    assert out.isascii()
    assert "`- llm" in out


def test_show_in_colour_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    trace_id = record()
    _, plain, _ = run(capsys, "traces", "show", trace_id)
    _, coloured, _ = run(capsys, "traces", "show", trace_id, "--color", "always")
    assert "\x1b[" not in plain
    assert "\x1b[32mOK\x1b[0m" in coloured


def test_show_depth_and_collapse(capsys: pytest.CaptureFixture[str]) -> None:
    trace_id = record()
    code, out, _ = run(capsys, "traces", "show", trace_id, "--depth", "0")
    assert code == 0
    assert "2 spans below (--depth)" in out


def test_an_unknown_id_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "traces", "show", "tr-0123")
    assert (code, out) == (1, "")
    assert err == (
        "tracewire: error: no trace with id tr-0123 in memory:// (see 'tracewire traces list')\n"
    )


class _UnreadableStore(MemoryDestination):
    """A store whose file is damaged: every read fails the way sqlite3 does."""

    def get_trace(self, trace_id: str) -> Trace | None:
        raise sqlite3.DatabaseError("file is not a database")

    def list_traces(self) -> list[Trace]:
        raise sqlite3.DatabaseError("file is not a database")


@pytest.mark.parametrize(
    "argv", [["traces", "show", "tr-1"], ["traces", "list"], ["traces", "export", "tr-1"]]
)
def test_an_unreadable_store_exits_1_without_a_traceback(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    set_destination(_UnreadableStore())
    code, out, err = run(capsys, *argv)
    assert (code, out) == (1, "")
    assert err == (
        "tracewire: error: cannot read the trace store memory://: "
        "DatabaseError: file is not a database\n"
    )


def test_export_one_id_writes_one_mlflow_trace_document(capsys: pytest.CaptureFixture[str]) -> None:
    trace_id = record()
    code, out, _ = run(capsys, "traces", "export", trace_id)
    assert code == 0
    document = json.loads(out)
    assert document == tracewire.get_trace(trace_id).to_dict()  # type: ignore[union-attr]
    assert Trace.from_dict(document).info.token_usage == {
        "input_tokens": 1234,
        "output_tokens": 56,
        "total_tokens": 1290,
    }


def test_export_several_ids_writes_an_array_and_jsonl_writes_lines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ids = [record("a"), record("b")]
    code, out, _ = run(capsys, "traces", "export", *ids)
    assert code == 0
    assert [doc["info"]["trace_id"] for doc in json.loads(out)] == ids
    target = tmp_path / "traces.jsonl"
    code, out, err = run(capsys, "traces", "export", *ids, "--format", "jsonl", "-o", str(target))
    assert (code, out) == (0, "")
    assert err == f"Exported 2 trace(s) to {target}.\n"
    lines = target.read_text(encoding="utf-8").splitlines()
    assert [Trace.from_json(line).trace_id for line in lines] == ids


def test_export_needs_ids_or_a_filter_not_both(capsys: pytest.CaptureFixture[str]) -> None:
    trace_id = record()
    code, _, err = run(capsys, "traces", "export")
    assert (code, err) == (
        2,
        "tracewire: error: give either trace ids or --filter (one of the two)\n",
    )
    code, _, _ = run(capsys, "traces", "export", trace_id, "--filter", "name = 'x'")
    assert code == 2


def test_export_to_an_unwritable_file_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    trace_id = record()
    code, _, err = run(capsys, "traces", "export", trace_id, "-o", str(tmp_path / "no" / "x.json"))
    assert code == 1
    assert err.startswith(f"tracewire: error: cannot write {tmp_path / 'no' / 'x.json'}: ")


def test_export_of_an_unknown_id_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    trace_id = record()
    code, out, err = run(capsys, "traces", "export", trace_id, "tr-missing")
    assert (code, out) == (1, "")
    assert "no trace with id tr-missing" in err


class _Keyboard(io.StringIO):
    """Standard input from a terminal, with the user's answer typed in."""

    def isatty(self) -> bool:
        return True


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str, tty: bool) -> None:
    monkeypatch.setattr(sys, "stdin", _Keyboard(text) if tty else io.StringIO(text))


def test_delete_with_yes(capsys: pytest.CaptureFixture[str]) -> None:
    keep, drop = record("keep"), record("drop")
    code, out, _ = run(capsys, "traces", "delete", drop, "--yes")
    assert (code, out) == (0, "Deleted 1 trace from memory://.\n")
    assert tracewire.get_trace(drop) is None
    assert tracewire.get_trace(keep) is not None


def test_delete_asks_on_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    trace_id = record()
    _stdin(monkeypatch, "n\n", tty=True)
    code, _, err = run(capsys, "traces", "delete", trace_id)
    assert (code, err) == (1, "tracewire: error: nothing deleted\n")
    assert tracewire.get_trace(trace_id) is not None
    _stdin(monkeypatch, "y\n", tty=True)
    code, out, _ = run(capsys, "traces", "delete", trace_id)
    assert code == 0
    assert out.startswith(f"Delete 1 trace(s) from memory:// ({trace_id})? [y/N] Deleted 1 trace")


def test_delete_without_a_terminal_needs_yes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    trace_id = record()
    _stdin(monkeypatch, "y\n", tty=False)
    code, _, err = run(capsys, "traces", "delete", trace_id)
    assert code == 2
    assert "refusing to delete 1 trace(s) without --yes" in err
    assert tracewire.get_trace(trace_id) is not None


def test_tracking_uri_memory_is_accepted_before_or_after_the_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for argv in (["--tracking-uri", "memory://", "traces", "list"], ["traces", "list"]):
        code, out, _ = run(capsys, *argv)
        assert code == 0, out
    code, _, _ = run(capsys, "traces", "list", "--tracking-uri", "memory://")
    assert code == 0


@pytest.mark.parametrize("action", [["list"], ["show", "tr-1"], ["delete", "tr-1", "--yes"]])
def test_a_missing_sqlite_store_is_reported_not_created(
    action: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    store = tmp_path / "nothing-here.db"
    code, out, err = run(capsys, "traces", *action, "--tracking-uri", f"sqlite:///{store}")
    assert (code, out) == (1, "")
    assert err.startswith(f"tracewire: error: no trace store at {store}: nothing was recorded")
    assert not store.exists()


def test_the_cli_is_not_imported_by_import_tracewire() -> None:
    code = (
        "import sys, tracewire\n"
        "print(sorted(m for m in sys.modules if m.startswith(('tracewire._cli', "
        "'tracewire._render', 'tracewire._demo', 'tracewire._critical', 'argparse'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_python_dash_m_tracewire_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tracewire", "--version"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout == f"tracewire {tracewire.__version__}\n"


# End to end, on the SQLite store: real processes write, the installed command reads.

RECORD_SCRIPT = textwrap.dedent(
    """
    import tracewire
    from tracewire.tracing.constant import SpanAttributeKey

    for name in ("alpha", "beta", "gamma"):
        with tracewire.start_span(name, span_type="CHAIN"):
            with tracewire.start_span("llm", span_type="CHAT_MODEL") as llm:
                usage = {"input_tokens": 1000, "output_tokens": 200, "total_tokens": 1200}
                llm.set_attribute(SpanAttributeKey.CHAT_USAGE, usage)
            tracewire.update_current_trace(tags={"env": "prod" if name != "gamma" else "dev"})
    """
)


def _tracewire(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracewire", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


@pytest.fixture
def store_env(tmp_path: Path) -> dict[str, str]:
    pytest.importorskip("tracewire._sqlite_store")
    return {**os.environ, "TRACEWIRE_TRACKING_URI": f"sqlite:///{tmp_path / 't.db'}"}


def test_end_to_end_on_the_sqlite_store(store_env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-c", RECORD_SCRIPT], env=store_env, check=True, timeout=60)
    listed = _tracewire(store_env, "traces", "list")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()[1:4]]
    assert [row[1] for row in rows] == ["gamma", "beta", "alpha"]
    assert all(row[-3:] == ["1,000", "200", "1,200"] for row in rows)
    gamma = rows[0][0]

    prod = _tracewire(store_env, "traces", "list", "--filter", "tags.env = 'prod'")
    assert [line.split()[1] for line in prod.stdout.splitlines()[1:3]] == ["beta", "alpha"]

    shown = _tracewire(store_env, "traces", "show", gamma)
    assert shown.returncode == 0
    assert "└─ llm" in shown.stdout or "`- llm" in shown.stdout

    exported = _tracewire(store_env, "traces", "export", "--filter", "tags.env = 'prod'")
    assert [Trace.from_dict(d).info.tags["env"] for d in json.loads(exported.stdout)] == [
        "prod",
        "prod",
    ]

    deleted = _tracewire(store_env, "traces", "delete", "--filter", "tags.env = 'dev'", "--yes")
    assert deleted.stdout.startswith("Deleted 1 trace")
    assert _tracewire(store_env, "traces", "show", gamma).returncode == 1


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_end_to_end_errors_of_the_store(
    damage: str, store_env: dict[str, str], tmp_path: Path
) -> None:
    if damage == "corrupt":
        (tmp_path / "t.db").write_bytes(b"this is not a database" * 100)
    for argv in (("traces", "list"), ("traces", "show", "tr-" + "0" * 32)):
        result = _tracewire(store_env, *argv)
        assert result.returncode == 1
        assert result.stderr.startswith("tracewire: error: ")
        assert "Traceback" not in result.stderr
    assert damage == "corrupt" or not (tmp_path / "t.db").exists()  # reading creates nothing
