"""``tracewire demo``: the real OpenAI SDK against the local server, traced and shown.

Needs the ``openai`` package (``nox -s demo`` installs it); skipped cleanly without it, except the
test that checks the message a user without it gets.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tracewire
from tracewire._cli import main
from tracewire._demo_server import DemoServer, compose_answer, count_tokens
from tracewire.entities import Trace

needs_openai = pytest.mark.skipif(
    importlib.util.find_spec("openai") is None, reason="needs the openai package (nox -s demo)"
)


@pytest.fixture
def client() -> Iterator[Any]:
    openai = pytest.importorskip("openai")
    with DemoServer() as server:
        http_client = openai.DefaultHttpxClient(trust_env=False)
        yield openai.OpenAI(
            base_url=server.base_url, api_key="test", max_retries=0, http_client=http_client
        )
        http_client.close()


MESSAGES = [
    {"role": "system", "content": "Answer in one sentence."},
    {"role": "user", "content": "Context:\n- a: Traces go to SQLite.\n\nQuestion: where?"},
]


def test_the_server_answers_like_the_api(client: Any) -> None:
    raw = client.chat.completions.with_raw_response.create(model="m", messages=MESSAGES)
    assert raw.headers["content-type"] == "application/json"
    assert raw.headers["x-request-id"].startswith("req_")
    response = raw.parse()
    assert response.object == "chat.completion"
    assert response.id.startswith("chatcmpl-")
    assert response.model == "m"
    assert response.choices[0].message.content == "According to the documents, traces go to SQLite."
    assert response.choices[0].finish_reason == "stop"
    usage = response.usage
    assert usage.prompt_tokens == 3 + 4 + count_tokens(MESSAGES[0]["content"]) + 4 + count_tokens(
        MESSAGES[1]["content"]
    )
    assert usage.completion_tokens == count_tokens(response.choices[0].message.content)
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.prompt_tokens_details.cached_tokens == 0


def test_the_server_streams_like_the_api(client: Any) -> None:
    chunks = list(
        client.chat.completions.create(
            model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "According to the documents, traces go to SQLite."
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []  # the usage chunk, as OpenAI sends it
    assert chunks[-1].usage.total_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])
    plain = list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))
    assert all(c.choices and c.usage is None for c in plain)  # no usage chunk unless asked


def test_the_server_refuses_other_paths_like_the_api(client: Any) -> None:
    import openai

    with pytest.raises(openai.NotFoundError, match="Invalid URL"):
        client.embeddings.create(model="m", input="x")


def test_an_answer_comes_from_the_prompts_context() -> None:
    assert compose_answer([{"role": "user", "content": "no context here"}]).startswith(
        "I could not find"
    )


@needs_openai
def test_demo_records_and_shows_the_pipeline(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo"])
    out, err = capsys.readouterr()
    assert code == 0, err
    traces = tracewire.search_traces(return_type="list")
    assert len(traces) == 2
    for trace in traces:
        names = [(s.name, s.span_type) for s in trace.data.spans]
        assert names == [
            ("rag_pipeline", "CHAIN"),
            ("retrieve", "RETRIEVER"),
            ("build_prompt", "PARSER"),
            ("openai.chat.completions.create", "CHAT_MODEL"),
        ]
        llm = trace.data.spans[-1]
        usage = llm.get_attribute("mlflow.chat.tokenUsage")
        assert usage["input_tokens"] > 50
        assert trace.info.token_usage == {
            **{k: usage[k] for k in ("input_tokens", "output_tokens", "total_tokens")},
            "cache_read_input_tokens": 0,
            "reasoning_tokens": 0,
        }
        assert trace.data.spans[1].outputs[0]["metadata"]["source"].startswith("docs/")
    streamed, plain = traces  # newest first
    assert streamed.data.spans[-1].get_attribute("tracewire.stream.end") == "exhausted"
    assert plain.data.spans[-1].get_attribute("tracewire.stream.end") is None
    assert "A (streamed): According to the documents" in out
    assert f"Trace    {plain.trace_id}  rag_pipeline" in out
    assert "openai.chat.completions.create  gpt-4o-mini  CHAT_MODEL  OK" in out
    assert "→" in out
    assert f"tracewire traces show {streamed.trace_id}" in out


@needs_openai
def test_demo_real_needs_a_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code = main(["demo", "--real"])
    _, err = capsys.readouterr()
    assert code == 2
    assert err == (
        "tracewire: error: --real calls the OpenAI API and needs OPENAI_API_KEY to be set\n"
    )


def test_demo_without_openai_says_how_to_install_it() -> None:
    code = (
        "import sys\n"
        "sys.modules['openai'] = None  # as if it were not installed\n"
        "from tracewire._cli import main\n"
        "sys.exit(main(['demo']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "tracewire: error: tracewire demo needs the OpenAI SDK: pip install 'tracewire[openai]'\n"
    )


@needs_openai
def test_demo_command_stores_its_traces_for_the_other_commands(tmp_path: Path) -> None:
    """The literal commands, in real processes, on the SQLite store."""
    pytest.importorskip("tracewire._sqlite_store")
    env = {**os.environ, "TRACEWIRE_TRACKING_URI": f"sqlite:///{tmp_path / 'demo.db'}"}
    demo = subprocess.run(
        [sys.executable, "-m", "tracewire", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr
    exported = subprocess.run(
        [
            sys.executable,
            "-m",
            "tracewire",
            "traces",
            "export",
            "--filter",
            "name = 'rag_pipeline'",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    traces = [Trace.from_dict(d) for d in json.loads(exported.stdout)]
    assert len(traces) == 2
    assert all(t.info.token_usage for t in traces)


def test_a_client_resetting_its_connection_is_not_reported_as_an_error(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with DemoServer() as server:
        port = int(server.base_url.split(":")[2].split("/")[0])
        connection = socket.create_connection(("127.0.0.1", port))
        connection.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 10\r\n\r\n")
        # Closing with unread data and a zero linger time sends a reset, not a clean close.
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()
        time.sleep(0.2)

    assert "Exception occurred" not in capfd.readouterr().err
