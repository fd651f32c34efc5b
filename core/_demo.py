"""``tracewire demo``: a small retrieval-augmented pipeline, traced, with a real OpenAI SDK call.

The pipeline retrieves from a few built-in documents (a ``RETRIEVER`` span), builds the prompt
(a ``PARSER`` span) and asks a chat model through the real ``openai`` SDK with
``tracewire.openai.autolog()`` on (a ``CHAT_MODEL`` span with token usage): once plainly, once
streamed. The model is a local OpenAI-compatible server on 127.0.0.1 that the demo starts, or the
real API with ``--real`` and ``OPENAI_API_KEY``. The traces go to the configured store and are shown
the way ``tracewire traces show`` shows them.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import time

import tracewire
from tracewire._cli import EXIT_OK, EXIT_USAGE, CliError, tracking_uri
from tracewire._constants import SpanType
from tracewire._document import Document
from tracewire._render import detect_style, trace_table
from tracewire._render_tree import render_trace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

DOCUMENTS = (
    Document(
        id="tracing",
        page_content="tracewire records every LLM call as a span with its inputs, outputs, "
        "latency and token usage.",
        metadata={"source": "docs/tracing.md"},
    ),
    Document(
        id="autolog",
        page_content="tracewire.openai.autolog() traces every OpenAI SDK call, streams included, "
        "without code changes.",
        metadata={"source": "docs/openai.md"},
    ),
    Document(
        id="store",
        page_content="Traces are stored in a local SQLite file, tracewire.db in the working "
        "directory, unless TRACEWIRE_TRACKING_URI names another store.",
        metadata={"source": "docs/destinations.md"},
    ),
    Document(
        id="mlflow",
        page_content="Traces use MLflow's format, so an MLflow tracking server and its UI can "
        "show them.",
        metadata={"source": "docs/mlflow.md"},
    ),
    Document(
        id="cli",
        page_content="The tracewire command lists, shows, exports and deletes the stored traces.",
        metadata={"source": "docs/cli.md"},
    ),
)
QUESTIONS = (
    ("How does tracewire record LLM calls and their token usage?", False),
    ("Where are the traces stored, and how do I look at them?", True),
)
_STOPWORDS = frozenset({"does", "the", "and", "are", "how", "what", "where", "their", "with"})


@tracewire.trace(span_type=SpanType.RETRIEVER)
def retrieve(question: str, k: int = 2) -> list[Document]:
    """Return the ``k`` documents sharing the most words with the question."""
    words = {w.strip("?.,!").lower() for w in question.split()} - _STOPWORDS
    scored = []
    for doc in DOCUMENTS:
        text = doc.page_content.lower()
        score = sum(1 for word in words if len(word) > 2 and word in text)
        if score:
            scored.append((score, doc))
    scored.sort(key=lambda item: item[0], reverse=True)
    return [doc for _, doc in scored[:k]]


@tracewire.trace(span_type=SpanType.PARSER)
def build_prompt(question: str, documents: list[Document]) -> list[dict[str, str]]:
    """Build the chat messages: instructions, the retrieved context, the question."""
    context = "\n".join(f"- {doc.id}: {doc.page_content}" for doc in documents)
    return [
        {"role": "system", "content": "Answer in one sentence, from the context only."},
        {"role": "user", "content": f"Context:\n{context}\n\nQuestion: {question}"},
    ]


class Pipeline:
    """Retrieve, prompt, generate, with one OpenAI client.

    Args:
        client: An ``openai.OpenAI`` client.
        model: The chat model to ask.
    """

    def __init__(self, client: Any, model: str) -> None:
        self.client = client
        self.model = model

    @tracewire.trace(name="rag_pipeline", span_type=SpanType.CHAIN)
    def answer(self, question: str, stream: bool = False) -> str:
        """Answer ``question`` from the documents; ``stream`` asks for the reply in chunks."""
        messages = build_prompt(question, retrieve(question))
        if not stream:
            response = self.client.chat.completions.create(
                model=self.model, messages=messages, temperature=0.2, max_tokens=80
            )
            return str(response.choices[0].message.content)
        chunks = self.client.chat.completions.create(
            model=self.model,
            messages=messages,
            temperature=0.2,
            max_tokens=80,
            stream=True,
            stream_options={"include_usage": True},  # OpenAI sends a stream's usage only if asked
        )
        # The last chunk carries the usage and no choices.
        return "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)


def add_parser(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``demo`` to the ``tracewire`` parser."""
    demo = commands.add_parser(
        "demo",
        parents=parents,
        help="run a small traced RAG pipeline and show its trace",
        description="Run a small retrieval-augmented pipeline, traced: a RETRIEVER span, a "
        "prompt step, and a real OpenAI SDK call (tracewire.openai.autolog() on), once plain "
        "and once streamed. The model is a local OpenAI-compatible server on 127.0.0.1 that the "
        "demo starts, so no network or API key is needed. The traces go to the configured store "
        "and are shown as 'tracewire traces show' shows them. Needs the OpenAI SDK: "
        "pip install 'tracewire[openai]'.",
    )
    demo.add_argument(
        "--real",
        action="store_true",
        help="call the real OpenAI API instead of the local server (needs OPENAI_API_KEY; "
        "costs a few hundred tokens)",
    )
    demo.add_argument(
        "--model", default="gpt-4o-mini", help="the chat model to ask (default gpt-4o-mini)"
    )
    demo.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """``tracewire demo``."""
    out = out or sys.stdout
    try:
        # By name: the SDK is an optional dependency, absent where the package is type-checked.
        openai = importlib.import_module("openai")
    except ImportError:
        raise CliError(
            "tracewire demo needs the OpenAI SDK: pip install 'tracewire[openai]'"
        ) from None
    if args.real and not os.environ.get("OPENAI_API_KEY"):
        raise CliError("--real calls the OpenAI API and needs OPENAI_API_KEY to be set", EXIT_USAGE)
    import tracewire.openai as openai_integration  # noqa: PLC0415 - loads the plugin on demand

    openai_integration.autolog()
    started = time.perf_counter()
    trace_ids = _run_pipeline(openai, args, out)
    tracewire.flush()
    elapsed = time.perf_counter() - started
    traces = [trace for trace in map(tracewire.get_trace, trace_ids) if trace is not None]
    if len(traces) != len(trace_ids):
        raise CliError(f"the demo's traces could not be read back from {tracking_uri()}")
    style = detect_style(out, ascii_only=args.ascii, color=args.color)
    width = shutil.get_terminal_size((120, 24)).columns
    where = tracking_uri()
    lines = [
        "",
        style.paint(
            f"Recorded {len(traces)} traces in {elapsed:.2f} s, stored in {where}:", "bold"
        ),
        "",
        *trace_table(traces, style, width),
        "",
        *render_trace(traces[0], style, width),
        "",
        *_next_steps(args, traces[-1].trace_id, where, style),
    ]
    print("\n".join(lines), file=out)
    return EXIT_OK


def _run_pipeline(openai: Any, args: argparse.Namespace, out: TextIO) -> list[str]:
    """Answer the demo questions; return the trace ids."""
    from contextlib import nullcontext  # noqa: PLC0415 - this command only

    from tracewire._demo_server import DemoServer  # noqa: PLC0415 - this command only

    server = nullcontext() if args.real else DemoServer()
    trace_ids = []
    with server:
        if isinstance(server, DemoServer):
            # The local server needs no key; trust_env=False keeps a proxy from the environment
            # away from 127.0.0.1.
            client = openai.OpenAI(
                base_url=server.base_url,
                api_key="tracewire-demo",
                max_retries=0,
                http_client=openai.DefaultHttpxClient(trust_env=False),
            )
            print(f"Local OpenAI-compatible server: {server.base_url}", file=out)
        else:
            client = openai.OpenAI()
            print("Calling the OpenAI API (--real).", file=out)
        # The SDK imports its chat module on first use (and autolog patches it then): do that
        # now, so that the trace shows the pipeline's time, not a one-off import.
        _ = client.chat.completions
        pipeline = Pipeline(client, args.model)
        for question, stream in QUESTIONS:
            try:
                reply = pipeline.answer(question, stream=stream)
            except openai.OpenAIError as error:
                raise CliError(f"the OpenAI call failed: {type(error).__name__}: {error}") from None
            trace_id = tracewire.get_last_active_trace_id(thread_local=True)
            if trace_id is None:
                raise CliError("the demo recorded no trace: is tracing disabled?")
            trace_ids.append(trace_id)
            how = "streamed" if stream else "one response"
            print(f"\nQ: {question}\nA ({how}): {reply}", file=out)
    return trace_ids


def _next_steps(args: argparse.Namespace, trace_id: str, where: str, style: Any) -> list[str]:
    option = f" --tracking-uri {args.tracking_uri}" if args.tracking_uri else ""
    lines = [style.paint("Next, try:", "bold")]
    lines += [
        f"  tracewire traces list{option}",
        f"  tracewire traces show {trace_id}{option}",
        f"  tracewire traces export {trace_id}{option} --output trace.json",
        "  tracewire demo --real          (the real OpenAI API; needs OPENAI_API_KEY)",
    ]
    if where.startswith("memory:"):
        lines.append(
            style.paint(
                "memory:// keeps traces in this process only; use --tracking-uri "
                "sqlite:///tracewire.db to keep them.",
                "dim",
            )
        )
    return lines
