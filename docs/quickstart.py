"""A runnable tour of tracewire's core API: a small retrieval-augmented pipeline, traced.

Run it with ``python docs/quickstart.py`` after ``pip install .``. No network and no API key are
needed: the "LLM" here is a stand-in that reports token usage the way a provider integration does.
"""

from __future__ import annotations

import tracewire
from tracewire.entities import Document, Span, SpanType
from tracewire.tracing.constant import SpanAttributeKey

KNOWLEDGE = {
    "tracewire": "tracewire records every LLM call as a span with its token usage.",
    "mlflow": "tracewire's traces use MLflow's data model, so an MLflow server can show them.",
}


@tracewire.trace(span_type=SpanType.RETRIEVER)
def retrieve(question: str) -> list[Document]:
    """Return the documents whose key appears in the question."""
    return [
        Document(page_content=text, metadata={"source": key}, id=key)
        for key, text in KNOWLEDGE.items()
        if key in question.lower()
    ]


@tracewire.trace(span_type=SpanType.PARSER)
def build_prompt(question: str, documents: list[Document]) -> str:
    """Put the retrieved context and the question into one prompt."""
    context = "\n".join(doc.page_content for doc in documents)
    return f"Context:\n{context}\n\nQuestion: {question}"


def call_model(prompt: str) -> str:
    """Stand in for a chat model call, recording what a provider integration records."""
    with tracewire.start_span("chat.completions", span_type=SpanType.CHAT_MODEL) as span:
        messages = [{"role": "user", "content": prompt}]
        span.set_inputs({"model": "demo-model", "messages": messages})
        answer = "tracewire traces LLM calls with exact token usage, in MLflow's format."
        span.set_outputs({"choices": [{"message": {"role": "assistant", "content": answer}}]})
        span.set_attributes(
            {
                SpanAttributeKey.MODEL: "demo-model",
                SpanAttributeKey.CHAT_USAGE: {
                    "input_tokens": len(prompt.split()),
                    "output_tokens": len(answer.split()),
                    "total_tokens": len(prompt.split()) + len(answer.split()),
                },
            }
        )
        return answer


@tracewire.trace(span_type=SpanType.CHAIN)
def answer(question: str) -> str:
    """Retrieve, prompt, generate."""
    tracewire.update_current_trace(tags={"app": "quickstart"})
    documents = retrieve(question)
    return call_model(build_prompt(question, documents))


def print_tree(trace: tracewire.Trace) -> None:
    """Print the span tree with types, durations and token usage."""
    children: dict[str | None, list[Span]] = {}
    for span in trace.data.spans:
        children.setdefault(span.parent_id, []).append(span)

    def show(span: Span, depth: int) -> None:
        duration_ms = ((span.end_time_ns or span.start_time_ns) - span.start_time_ns) / 1e6
        usage = span.get_attribute(SpanAttributeKey.CHAT_USAGE)
        tokens = f"  tokens {usage['input_tokens']}+{usage['output_tokens']}" if usage else ""
        print(
            f"{'  ' * depth}{span.name} [{span.span_type}] {span.status.status_code.value} "
            f"{duration_ms:.2f} ms{tokens}"
        )
        for child in children.get(span.span_id, []):
            show(child, depth + 1)

    for root in children.get(None, []):
        show(root, 0)


def main() -> None:
    """Run the pipeline once and show its trace."""
    print(answer("What does tracewire do, and does it work with MLflow?"))
    trace = tracewire.get_trace(tracewire.get_last_active_trace_id() or "")
    assert trace is not None
    print(f"\ntrace {trace.trace_id}  state {trace.info.state.value}")
    print(f"request:  {trace.info.request_preview}")
    print(f"response: {trace.info.response_preview}")
    print(f"tokens:   {trace.info.token_usage}\n")
    print_tree(trace)


if __name__ == "__main__":
    main()
