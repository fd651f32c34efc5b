"""MLflow's documented manual-tracing examples, run unchanged with ``import tracewire as mlflow``.

Each test follows an example from MLflow Tracing 3.x's documentation (decorator, ``start_span``,
events, errors, retrievers, generators, async, threads, ``update_current_trace``, trace retrieval
and serialization) and asserts what MLflow itself does with it. Traces are read back the way
MLflow's docs and tests do: ``mlflow.get_trace(mlflow.get_last_active_trace_id())``.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import dataclasses
import inspect
import json
import math
import re
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

import pytest

import tracewire as mlflow
from tracewire.entities import Document, SpanEvent, SpanStatusCode, SpanType, Trace
from tracewire.tracing.constant import SpanAttributeKey

HEX_TRACE_ID = re.compile(r"tr-[0-9a-f]{32}")
HEX_SPAN_ID = re.compile(r"[0-9a-f]{16}")


def last_trace() -> Trace:
    """Read the most recently finished trace, as MLflow's docs do."""
    trace_id = mlflow.get_last_active_trace_id()
    assert trace_id is not None, "no trace was finished"
    trace = mlflow.get_trace(trace_id)
    assert trace is not None, f"trace {trace_id} was not found"
    return trace


def only_span(trace: Trace, name: str) -> Any:
    """Return the single span called ``name`` in ``trace``."""
    spans = trace.search_spans(name=name)
    assert len(spans) == 1, f"expected one span named {name!r}, got {spans}"
    return spans[0]


# --- the decorator ----------------------------------------------------------------------------


@mlflow.trace(span_type="func", attributes={"key": "value"})
def add_1(x: int) -> int:
    return x + 1


@mlflow.trace(span_type="func", attributes={"key1": "value1"})
def minus_1(x: int) -> int:
    return x - 1


@mlflow.trace(name="Trace Test")
def trace_test(x: int) -> int:
    step1 = add_1(x)
    return minus_1(step1)


def test_decorator_builds_one_span_per_call_under_the_named_root() -> None:
    """The docs' add_1/minus_1/trace_test example gives a root "Trace Test" with two children."""
    assert trace_test(4) == 4

    trace = last_trace()
    assert [span.name for span in trace.data.spans] == ["Trace Test", "add_1", "minus_1"]
    root = only_span(trace, "Trace Test")
    assert root.parent_id is None
    assert only_span(trace, "add_1").parent_id == root.span_id
    assert only_span(trace, "minus_1").parent_id == root.span_id


def test_decorator_records_inputs_and_outputs() -> None:
    """Decorated spans record the bound arguments as inputs and the return value as outputs."""
    trace_test(4)

    trace = last_trace()
    assert only_span(trace, "Trace Test").inputs == {"x": 4}
    assert only_span(trace, "Trace Test").outputs == 4
    assert only_span(trace, "add_1").inputs == {"x": 4}
    assert only_span(trace, "add_1").outputs == 5
    assert only_span(trace, "minus_1").inputs == {"x": 5}
    assert only_span(trace, "minus_1").outputs == 4


def test_decorator_sets_span_type_and_attributes() -> None:
    """``span_type`` and ``attributes`` given to the decorator land on every span it creates."""
    trace_test(4)

    trace = last_trace()
    add_span = only_span(trace, "add_1")
    assert add_span.span_type == "func"
    assert add_span.get_attribute("key") == "value"
    minus_span = only_span(trace, "minus_1")
    assert minus_span.span_type == "func"
    assert minus_span.get_attribute("key1") == "value1"
    assert only_span(trace, "Trace Test").span_type == SpanType.UNKNOWN


def test_decorator_records_the_function_name_attribute() -> None:
    """The span keeps the Python function name in ``mlflow.spanFunctionName``, even when renamed."""
    trace_test(4)

    root = only_span(last_trace(), "Trace Test")
    assert root.get_attribute(SpanAttributeKey.FUNCTION_NAME) == "trace_test"


def test_decorator_applies_default_arguments_to_inputs() -> None:
    """Inputs are bound with the function's defaults applied, keyword arguments included."""

    @mlflow.trace
    def greet(name: str, greeting: str = "Hello", punctuation: str = "!") -> str:
        return f"{greeting}, {name}{punctuation}"

    greet("Ada", punctuation="?")

    span = only_span(last_trace(), "greet")
    assert span.inputs == {"name": "Ada", "greeting": "Hello", "punctuation": "?"}
    assert span.outputs == "Hello, Ada?"


def test_decorator_on_a_method_drops_self_from_inputs() -> None:
    """Tracing a method records its arguments but not ``self``."""

    class Agent:
        @mlflow.trace(span_type=SpanType.AGENT)
        def run(self, question: str, k: int = 2) -> str:
            return question * k

    Agent().run("hi")

    span = only_span(last_trace(), "run")
    assert span.span_type == SpanType.AGENT
    assert span.inputs == {"question": "hi", "k": 2}
    assert span.outputs == "hihi"


def test_decorator_records_variadic_arguments_by_parameter_name() -> None:
    """``*args`` and ``**kwargs`` are recorded under their parameter names."""

    @mlflow.trace
    def collect(first: int, *args: int, **kwargs: int) -> int:
        return first + sum(args) + sum(kwargs.values())

    collect(1, 2, 3, extra=4)

    span = only_span(last_trace(), "collect")
    assert span.inputs == {"first": 1, "args": [2, 3], "kwargs": {"extra": 4}}
    assert span.outputs == 10


def test_decorator_on_classmethod_and_staticmethod() -> None:
    """Class and static methods can be traced; ``cls`` is dropped from the inputs."""

    class Tools:
        @mlflow.trace
        @classmethod
        def lookup(cls, key: str) -> str:
            return key

        @mlflow.trace
        @staticmethod
        def add(a: int, b: int) -> int:
            return a + b

    with mlflow.start_span(name="root"):
        Tools.lookup("k")
        Tools().add(1, 2)

    trace = last_trace()
    assert only_span(trace, "lookup").inputs == {"key": "k"}
    assert only_span(trace, "lookup").outputs == "k"
    assert only_span(trace, "add").inputs == {"a": 1, "b": 2}
    assert only_span(trace, "add").outputs == 3


def test_outputs_set_inside_a_decorated_function_are_kept() -> None:
    """When the body calls ``set_outputs``, that value is kept instead of the return value."""

    @mlflow.trace
    def summarize() -> dict[str, str]:
        span = mlflow.get_current_active_span()
        assert span is not None
        span.set_outputs("a short summary")
        return {"summary": "a short summary", "debug": "internal"}

    summarize()

    assert only_span(last_trace(), "summarize").outputs == "a short summary"


@dataclasses.dataclass
class Query:
    text: str
    top_k: int


class Opaque:
    def __str__(self) -> str:
        return "<opaque>"


def test_inputs_are_json_encoded_like_mlflow() -> None:
    """Dataclasses become dicts, tuples become lists and other objects fall back to ``str``."""

    @mlflow.trace
    def search(query: Query, client: Opaque, ids: tuple[int, int]) -> tuple[str, str]:
        return ("a", "b")

    search(Query("q", 3), Opaque(), (1, 2))

    span = only_span(last_trace(), "search")
    assert span.inputs == {"query": {"text": "q", "top_k": 3}, "client": "<opaque>", "ids": [1, 2]}
    assert span.outputs == ["a", "b"]


def test_wrapping_an_external_function() -> None:
    """``mlflow.trace(math.factorial)(5)`` traces a function we cannot decorate at definition."""
    traced_factorial = mlflow.trace(math.factorial)

    assert traced_factorial(5) == 120

    span = only_span(last_trace(), "factorial")
    # MLflow's example shows {"n": 5}: the parameter is "n" from Python 3.11 on ("x" in 3.10).
    (parameter,) = inspect.signature(math.factorial).parameters
    assert span.inputs == {parameter: 5}
    assert span.outputs == 120


# --- the start_span context manager ------------------------------------------------------------


def test_start_span_records_inputs_outputs_and_attribute() -> None:
    """The docs' ``with mlflow.start_span(name="my_span")`` example records what the block sets."""
    with mlflow.start_span(name="my_span") as span:
        x, y = 1, 2
        span.set_inputs({"x": x, "y": y})
        z = x + y
        span.set_outputs(z)
        span.set_attribute("key", "value")

    recorded = only_span(last_trace(), "my_span")
    assert recorded.inputs == {"x": 1, "y": 2}
    assert recorded.outputs == 3
    assert recorded.get_attribute("key") == "value"


def test_start_span_set_attributes_adds_to_existing_ones() -> None:
    """``set_attributes`` adds several attributes, keeping those set before."""
    with mlflow.start_span(name="span", attributes={"initial": 0}) as span:
        span.set_attribute("first", 1)
        span.set_attributes({"second": [1, 2], "third": {"nested": True}})

    recorded = only_span(last_trace(), "span")
    assert recorded.get_attribute("initial") == 0
    assert recorded.get_attribute("first") == 1
    assert recorded.get_attribute("second") == [1, 2]
    assert recorded.get_attribute("third") == {"nested": True}


def test_start_span_takes_span_type_and_attributes() -> None:
    """``start_span(span_type=..., attributes=...)`` sets the type and the initial attributes."""
    with mlflow.start_span(
        name="call_llm", span_type=SpanType.LLM, attributes={"model": "gpt-4o-mini"}
    ) as span:
        span.set_inputs({"prompt": "hi"})

    recorded = only_span(last_trace(), "call_llm")
    assert recorded.span_type == SpanType.LLM
    assert recorded.get_attribute("model") == "gpt-4o-mini"


def test_start_span_yields_the_active_span() -> None:
    """Inside the block, ``get_current_active_span`` returns the span ``start_span`` yielded."""
    with mlflow.start_span(name="outer") as span:
        active = mlflow.get_current_active_span()
        assert active is not None
        assert active.span_id == span.span_id
        assert mlflow.get_active_trace_id() == span.trace_id

    assert mlflow.get_current_active_span() is None


def test_start_span_ids_have_mlflows_format() -> None:
    """Trace ids are ``tr-`` plus 32 hex digits and span ids are 16 hex digits."""
    with mlflow.start_span(name="span") as span:
        pass

    assert HEX_TRACE_ID.fullmatch(span.trace_id)
    assert HEX_SPAN_ID.fullmatch(span.span_id)
    assert last_trace().info.trace_id == span.trace_id


# --- nesting -----------------------------------------------------------------------------------


def test_nested_spans_link_to_their_parents() -> None:
    """Spans opened inside other spans (decorator or context manager) get the right parent ids."""

    @mlflow.trace
    def inner(x: int) -> int:
        with mlflow.start_span(name="innermost") as span:
            span.set_inputs(x)
        return x

    with mlflow.start_span(name="outer") as outer, mlflow.start_span(name="middle"):
        inner(1)

    trace = last_trace()
    middle = only_span(trace, "middle")
    inner_span = only_span(trace, "inner")
    innermost = only_span(trace, "innermost")
    assert only_span(trace, "outer").parent_id is None
    assert middle.parent_id == outer.span_id
    assert inner_span.parent_id == middle.span_id
    assert innermost.parent_id == inner_span.span_id
    assert {span.trace_id for span in trace.data.spans} == {outer.trace_id}


def test_sibling_spans_share_the_parent_and_keep_duplicate_names() -> None:
    """Calling a traced function twice gives two sibling spans with the same name (no suffix)."""

    @mlflow.trace
    def step(i: int) -> int:
        return i

    with mlflow.start_span(name="parent") as parent:
        step(1)
        step(2)

    trace = last_trace()
    steps = trace.search_spans(name="step")
    assert [span.inputs for span in steps] == [{"i": 1}, {"i": 2}]
    assert {span.parent_id for span in steps} == {parent.span_id}
    assert len(trace.data.spans) == 3


# --- events ------------------------------------------------------------------------------------


def test_add_event_records_name_attributes_and_timestamp() -> None:
    """``span.add_event(SpanEvent(...))`` stores the event with its attributes and timestamp."""
    with mlflow.start_span(name="span") as span:
        span.add_event(
            SpanEvent(
                name="retrying",
                timestamp=1_700_000_000_000_000_000,
                attributes={"attempt": 2, "reason": "rate limited", "ok": False},
            )
        )
        span.add_event(SpanEvent("done"))

    events = only_span(last_trace(), "span").events
    assert [event.name for event in events] == ["retrying", "done"]
    assert events[0].timestamp == 1_700_000_000_000_000_000
    assert events[0].attributes == {"attempt": 2, "reason": "rate limited", "ok": False}
    assert isinstance(events[1].timestamp, int)
    assert events[1].timestamp > 0


# --- status and errors -------------------------------------------------------------------------


def test_set_status_error_marks_the_span_and_the_trace() -> None:
    """``span.set_status("ERROR")`` on the root gives an ERROR span and an ERROR trace state."""
    with mlflow.start_span(name="span") as span:
        span.set_status("ERROR")

    trace = last_trace()
    assert only_span(trace, "span").status.status_code == SpanStatusCode.ERROR
    assert trace.info.state == "ERROR"


def test_set_status_accepts_the_status_code_enum() -> None:
    """``set_status`` accepts a ``SpanStatusCode`` member as well as its string."""
    with mlflow.start_span(name="parent"), mlflow.start_span(name="child") as child:
        child.set_status(SpanStatusCode.ERROR)

    trace = last_trace()
    assert only_span(trace, "child").status.status_code == SpanStatusCode.ERROR
    assert only_span(trace, "parent").status.status_code == SpanStatusCode.OK
    assert trace.info.state == "OK"


def test_unset_status_becomes_ok_when_the_span_ends() -> None:
    """A span that ends without a status gets OK, and so does the trace."""
    with mlflow.start_span(name="span"):
        pass

    trace = last_trace()
    assert only_span(trace, "span").status.status_code == SpanStatusCode.OK
    assert trace.info.state == "OK"


class RetrievalError(Exception):
    """A failure raised by the traced code in the tests below."""


@mlflow.trace
def failing_step(query: str) -> str:
    raise RetrievalError(f"no results for {query}")


def test_decorator_exception_propagates_unchanged() -> None:
    """The exception raised in a traced function reaches the caller as the same object."""
    error = RetrievalError("the original")

    @mlflow.trace
    def fail() -> None:
        raise error

    with pytest.raises(RetrievalError) as raised:
        fail()

    assert raised.value is error


def test_decorator_exception_sets_error_status_with_description() -> None:
    """A traced function that raises gets status ERROR described as ``"Type: message"``."""
    with pytest.raises(RetrievalError):
        failing_step("cats")

    status = only_span(last_trace(), "failing_step").status
    assert status.status_code == SpanStatusCode.ERROR
    assert status.description == "RetrievalError: no results for cats"


def test_decorator_exception_adds_an_exception_event() -> None:
    """The raised exception is recorded as an ``exception`` event with message, type and stack."""
    with pytest.raises(RetrievalError):
        failing_step("cats")

    events = only_span(last_trace(), "failing_step").events
    assert [event.name for event in events] == ["exception"]
    attributes = events[0].attributes
    assert attributes["exception.message"] == "no results for cats"
    assert attributes["exception.type"] == "RetrievalError"
    stacktrace = attributes["exception.stacktrace"]
    assert isinstance(stacktrace, str)
    assert "RetrievalError: no results for cats" in stacktrace


def test_exception_event_stacktrace_is_the_stripped_traceback() -> None:
    """``exception.stacktrace`` is the formatted traceback with surrounding whitespace stripped."""
    with pytest.raises(RetrievalError):
        failing_step("cats")

    event = only_span(last_trace(), "failing_step").events[0]
    stacktrace = event.attributes["exception.stacktrace"]
    assert isinstance(stacktrace, str)
    assert stacktrace.startswith("Traceback (most recent call last):")
    assert stacktrace.endswith("RetrievalError: no results for cats")


def test_exception_without_message_is_described_by_type_and_colon() -> None:
    """An exception without a message is described as ``"Type: "`` (MLflow's f-string)."""

    @mlflow.trace
    def fail_silently() -> None:
        raise RuntimeError

    with pytest.raises(RuntimeError):
        fail_silently()

    span = only_span(last_trace(), "fail_silently")
    assert span.status.description == "RuntimeError: "
    assert span.events[0].attributes["exception.message"] == ""
    assert span.events[0].attributes["exception.type"] == "RuntimeError"


def test_record_exception_with_a_message_string() -> None:
    """``span.record_exception("...")`` records it as a plain ``Exception`` with that message."""
    with mlflow.start_span(name="span") as span:
        span.record_exception("quota exceeded")

    recorded = only_span(last_trace(), "span")
    assert recorded.status.status_code == SpanStatusCode.ERROR
    assert recorded.status.description == "Exception: quota exceeded"
    assert [event.name for event in recorded.events] == ["exception"]
    attributes = recorded.events[0].attributes
    assert attributes["exception.message"] == "quota exceeded"
    assert attributes["exception.type"] == "Exception"
    assert "exception.stacktrace" in attributes


def test_decorator_exception_sets_the_trace_state_to_error() -> None:
    """When the root span raises, the trace state is ERROR."""
    with pytest.raises(RetrievalError):
        failing_step("cats")

    assert last_trace().info.state == "ERROR"


def test_caught_child_exception_leaves_the_trace_ok() -> None:
    """A child that raises is ERROR, but the trace is OK when the root handles the exception."""
    with mlflow.start_span(name="root"), contextlib.suppress(RetrievalError):
        failing_step("dogs")

    trace = last_trace()
    assert only_span(trace, "failing_step").status.status_code == SpanStatusCode.ERROR
    assert only_span(trace, "root").status.status_code == SpanStatusCode.OK
    assert trace.info.state == "OK"


def test_start_span_exception_is_recorded_and_propagates() -> None:
    """An exception leaving a ``start_span`` block marks the span ERROR and is re-raised as is."""
    error = ValueError("bad input")

    with pytest.raises(ValueError) as raised, mlflow.start_span(name="block"):
        raise error

    assert raised.value is error
    span = only_span(last_trace(), "block")
    assert span.status.status_code == SpanStatusCode.ERROR
    assert span.status.description == "ValueError: bad input"
    assert [event.name for event in span.events] == ["exception"]
    assert span.events[0].attributes["exception.type"] == "ValueError"
    assert span.events[0].attributes["exception.message"] == "bad input"
    assert last_trace().info.state == "ERROR"


# --- retrievers --------------------------------------------------------------------------------


@mlflow.trace(span_type=SpanType.RETRIEVER)
def retrieve_documents(query: str) -> list[Document]:
    return [
        Document(
            page_content=f"MLflow is an open source platform ({query})",
            metadata={"doc_uri": "https://mlflow.org/docs", "score": 0.9},
            id="doc-1",
        ),
        Document(page_content="Tracing records spans", metadata={"doc_uri": "tracing.md"}),
    ]


def test_retriever_span_outputs_are_document_dicts() -> None:
    """A RETRIEVER span returning ``Document`` objects stores them as page_content/metadata/id."""
    retrieve_documents("what is mlflow")

    span = only_span(last_trace(), "retrieve_documents")
    assert span.span_type == SpanType.RETRIEVER
    assert span.inputs == {"query": "what is mlflow"}
    assert span.outputs == [
        {
            "page_content": "MLflow is an open source platform (what is mlflow)",
            "metadata": {"doc_uri": "https://mlflow.org/docs", "score": 0.9},
            "id": "doc-1",
        },
        {
            "page_content": "Tracing records spans",
            "metadata": {"doc_uri": "tracing.md"},
            "id": None,
        },
    ]


def test_document_to_dict() -> None:
    """``Document.to_dict`` gives the same three keys a RETRIEVER span stores."""
    document = Document(page_content="text", metadata={"source": "a"}, id="1")

    assert document.to_dict() == {"page_content": "text", "metadata": {"source": "a"}, "id": "1"}
    assert Document(page_content="text").to_dict() == {
        "page_content": "text",
        "metadata": {},
        "id": None,
    }


def test_retriever_outputs_set_from_start_span() -> None:
    """A ``start_span`` RETRIEVER block can set ``Document`` outputs explicitly."""
    with mlflow.start_span(name="vector_search", span_type=SpanType.RETRIEVER) as span:
        span.set_inputs({"query": "tracing"})
        span.set_outputs([Document(page_content="spans", metadata={"rank": 1}, id="d")])

    span_recorded = only_span(last_trace(), "vector_search")
    assert span_recorded.outputs == [{"page_content": "spans", "metadata": {"rank": 1}, "id": "d"}]


# --- generators --------------------------------------------------------------------------------


def aggregate_chunks(outputs: list[str]) -> str:
    return "".join(outputs)


@mlflow.trace(output_reducer=aggregate_chunks)
def stream_digits(n: int) -> Iterator[str]:
    for i in range(n):
        yield str(i)


def test_generator_yields_unchanged_items() -> None:
    """A traced generator yields exactly what the undecorated one yields."""
    assert list(stream_digits(3)) == ["0", "1", "2"]


def test_generator_output_reducer_sets_the_outputs() -> None:
    """With ``output_reducer="".join``, the span outputs are the joined chunks."""
    list(stream_digits(3))

    span = only_span(last_trace(), "stream_digits")
    assert span.inputs == {"n": 3}
    assert span.outputs == "012"


def test_generator_without_reducer_records_the_list_of_items() -> None:
    """Without a reducer, a generator span's outputs are the list of yielded items."""

    @mlflow.trace
    def numbers() -> Iterator[int]:
        yield 1
        yield 2

    assert list(numbers()) == [1, 2]
    assert only_span(last_trace(), "numbers").outputs == [1, 2]


def test_generator_records_one_chunk_event_per_item() -> None:
    """Each yielded item becomes an ``mlflow.chunk.item.{i}`` event holding its JSON."""
    list(stream_digits(2))

    events = only_span(last_trace(), "stream_digits").events
    assert [event.name for event in events] == ["mlflow.chunk.item.0", "mlflow.chunk.item.1"]
    assert [event.attributes["mlflow.chunk.value"] for event in events] == ['"0"', '"1"']


def test_output_reducer_on_a_plain_function_is_rejected() -> None:
    """``output_reducer`` only makes sense for generators; MLflow refuses it elsewhere."""

    def not_a_generator() -> str:
        return "x"

    with pytest.raises(Exception, match="output_reducer"):
        mlflow.trace(output_reducer=aggregate_chunks)(not_a_generator)


# --- async -------------------------------------------------------------------------------------


@mlflow.trace(span_type=SpanType.TOOL)
async def async_lookup(key: str) -> str:
    return key.upper()


@mlflow.trace(name="async_agent")
async def async_agent(keys: list[str]) -> list[str]:
    return [await async_lookup(key) for key in keys]


@pytest.mark.asyncio
async def test_async_function_records_inputs_and_awaited_outputs() -> None:
    """An ``async def`` traced function records the awaited result as its outputs."""
    assert await async_lookup("a") == "A"

    span = only_span(last_trace(), "async_lookup")
    assert span.span_type == SpanType.TOOL
    assert span.inputs == {"key": "a"}
    assert span.outputs == "A"


@pytest.mark.asyncio
async def test_async_functions_nest_across_await() -> None:
    """Awaited traced coroutines are children of the coroutine that awaits them."""
    assert await async_agent(["a", "b"]) == ["A", "B"]

    trace = last_trace()
    root = only_span(trace, "async_agent")
    lookups = trace.search_spans(name="async_lookup")
    assert root.outputs == ["A", "B"]
    assert [span.outputs for span in lookups] == ["A", "B"]
    assert {span.parent_id for span in lookups} == {root.span_id}


@pytest.mark.asyncio
async def test_async_generator_output_reducer() -> None:
    """An async generator's span is reduced with ``output_reducer`` once it is exhausted."""

    @mlflow.trace(output_reducer=aggregate_chunks)
    async def stream_words() -> AsyncIterator[str]:
        for word in ("a", "b", "c"):
            yield word

    assert [word async for word in stream_words()] == ["a", "b", "c"]
    assert only_span(last_trace(), "stream_words").outputs == "abc"


# --- threads -----------------------------------------------------------------------------------


@mlflow.trace
def worker(question: str) -> str:
    return f"answer to {question}"


@mlflow.trace
def main_with_context(questions: list[str]) -> list[str]:
    with ThreadPoolExecutor(max_workers=2) as executor:
        futures = [
            executor.submit(contextvars.copy_context().run, worker, question)
            for question in questions
        ]
        return sorted(future.result() for future in as_completed(futures))


@mlflow.trace
def main_without_context(questions: list[str]) -> list[str]:
    with ThreadPoolExecutor(max_workers=2) as executor:
        return list(executor.map(worker, questions))


def test_threads_with_copied_context_nest_under_the_caller() -> None:
    """Workers run with ``contextvars.copy_context().run`` add their spans to the caller's trace."""
    main_with_context(["q1", "q2", "q3"])

    trace = last_trace()
    root = only_span(trace, "main_with_context")
    workers = trace.search_spans(name="worker")
    assert len(workers) == 3
    assert {span.parent_id for span in workers} == {root.span_id}
    assert sorted(span.inputs["question"] for span in workers) == ["q1", "q2", "q3"]


def test_threads_without_copied_context_start_separate_traces() -> None:
    """Without copying the context, each worker call is the root of its own trace."""
    worker_trace_ids: list[str] = []

    @mlflow.trace
    def remember_trace(question: str) -> str:
        trace_id = mlflow.get_active_trace_id()
        assert trace_id is not None
        worker_trace_ids.append(trace_id)
        return question

    @mlflow.trace
    def main(questions: list[str]) -> list[str]:
        with ThreadPoolExecutor(max_workers=2) as executor:
            return list(executor.map(remember_trace, questions))

    main(["q1", "q2"])

    main_trace = last_trace()
    assert [span.name for span in main_trace.data.spans] == ["main"]
    assert len(set(worker_trace_ids)) == 2
    assert main_trace.info.trace_id not in worker_trace_ids
    for trace_id in worker_trace_ids:
        worker_trace = mlflow.get_trace(trace_id)
        assert worker_trace is not None
        assert [span.name for span in worker_trace.data.spans] == ["remember_trace"]
        assert worker_trace.data.spans[0].parent_id is None


def test_threads_without_copied_context_leave_the_caller_trace_alone() -> None:
    """The caller's trace holds only its own span when workers do not get its context."""
    assert main_without_context(["q1"]) == ["answer to q1"]

    assert [span.name for span in last_trace().data.spans] == ["main_without_context"]


# --- update_current_trace ----------------------------------------------------------------------


def test_update_current_trace_adds_tags() -> None:
    """``update_current_trace(tags=...)`` adds the tags to the active trace."""
    with mlflow.start_span(name="span"):
        mlflow.update_current_trace(tags={"fruit": "apple", "env": "test"})

    tags = last_trace().info.tags
    assert tags["fruit"] == "apple"
    assert tags["env"] == "test"


def test_update_current_trace_tags_set_later_overwrite_earlier_ones() -> None:
    """Calling ``update_current_trace`` again overwrites a tag and keeps the others."""

    @mlflow.trace
    def inner() -> None:
        mlflow.update_current_trace(tags={"stage": "inner"})

    with mlflow.start_span(name="outer"):
        mlflow.update_current_trace(tags={"stage": "outer", "keep": "me"})
        inner()

    tags = last_trace().info.tags
    assert tags["stage"] == "inner"
    assert tags["keep"] == "me"


def test_update_current_trace_adds_metadata() -> None:
    """``update_current_trace(metadata=...)`` adds entries to the trace metadata."""
    with mlflow.start_span(name="span"):
        mlflow.update_current_trace(metadata={"mlflow.trace.session": "s-1", "app": "demo"})

    metadata = last_trace().info.trace_metadata
    assert metadata["mlflow.trace.session"] == "s-1"
    assert metadata["app"] == "demo"


def test_update_current_trace_stores_non_string_values_as_strings() -> None:
    """Non-string tag and metadata values are stored as their ``str``."""
    with mlflow.start_span(name="span"):
        mlflow.update_current_trace(tags={"attempt": 2, "cached": True}, metadata={"score": 0.5})

    info = last_trace().info
    assert info.tags["attempt"] == "2"
    assert info.tags["cached"] == "True"
    assert info.trace_metadata["score"] == "0.5"


def test_update_current_trace_session_user_and_model_go_to_metadata() -> None:
    """``session_id``, ``user`` and ``model_id`` are stored under MLflow's metadata keys."""
    with mlflow.start_span(name="span"):
        mlflow.update_current_trace(session_id="session-1", user="ada", model_id="m-7")

    metadata = last_trace().info.trace_metadata
    assert metadata["mlflow.trace.session"] == "session-1"
    assert metadata["mlflow.trace.user"] == "ada"
    assert metadata["mlflow.modelId"] == "m-7"


def test_update_current_trace_state_overrides_the_root_status() -> None:
    """``update_current_trace(state="ERROR")`` marks the trace ERROR although its root is OK."""
    with mlflow.start_span(name="span"):
        mlflow.update_current_trace(state="ERROR")

    trace = last_trace()
    assert trace.info.state == "ERROR"
    assert only_span(trace, "span").status.status_code == SpanStatusCode.OK


def test_update_current_trace_sets_client_request_id() -> None:
    """``update_current_trace(client_request_id=...)`` is stored on the trace info."""
    with mlflow.start_span(name="span"):
        mlflow.update_current_trace(client_request_id="req-12345")

    assert last_trace().info.client_request_id == "req-12345"


def test_update_current_trace_request_preview_is_kept() -> None:
    """A request preview set by the user replaces the automatic one."""

    @mlflow.trace
    def answer(question: str) -> str:
        mlflow.update_current_trace(request_preview=f"Q: {question}")
        return "42"

    answer("what is the answer?")

    info = last_trace().info
    assert info.request_preview == "Q: what is the answer?"
    assert info.response_preview == '"42"'


def test_automatic_previews_are_the_root_inputs_and_outputs_json() -> None:
    """Without overrides, previews are the root span's inputs and outputs as JSON."""
    trace_test(4)

    info = last_trace().info
    assert info.request_preview == '{"x": 4}'
    assert info.response_preview == "4"


def test_update_current_trace_outside_a_span_does_not_raise() -> None:
    """Outside any span, ``update_current_trace`` only logs a warning."""
    mlflow.update_current_trace(tags={"ignored": "yes"})

    assert mlflow.get_current_active_span() is None


# --- retrieval ---------------------------------------------------------------------------------


def test_get_last_active_trace_id_is_the_trace_just_finished() -> None:
    """``get_last_active_trace_id`` returns the id of the trace whose root just ended."""
    with mlflow.start_span(name="first") as first:
        pass
    assert mlflow.get_last_active_trace_id() == first.trace_id

    with mlflow.start_span(name="second") as second:
        assert mlflow.get_last_active_trace_id() == first.trace_id

    assert mlflow.get_last_active_trace_id() == second.trace_id
    assert second.trace_id != first.trace_id


def test_get_last_active_trace_id_thread_local_ignores_other_threads() -> None:
    """With ``thread_local=True``, a trace finished in another thread is not this thread's last."""
    finished_in_thread: list[str] = []

    def run_in_thread() -> None:
        with mlflow.start_span(name="in_thread") as span:
            pass
        finished_in_thread.append(span.trace_id)

    with mlflow.start_span(name="in_main") as main_span:
        pass
    thread = threading.Thread(target=run_in_thread)
    thread.start()
    thread.join()

    assert mlflow.get_last_active_trace_id() == finished_in_thread[0]
    assert mlflow.get_last_active_trace_id(thread_local=True) == main_span.trace_id


def test_get_trace_returns_info_and_spans() -> None:
    """``get_trace`` returns the trace with its info and all its spans."""
    trace_test(4)

    trace_id = mlflow.get_last_active_trace_id()
    assert trace_id is not None
    trace = mlflow.get_trace(trace_id)
    assert trace is not None
    assert trace.info.trace_id == trace_id
    assert trace.info.request_id == trace_id
    assert len(trace.data.spans) == 3
    assert {span.trace_id for span in trace.data.spans} == {trace_id}


def test_trace_info_timing() -> None:
    """``request_time`` is the root start in ms and ``execution_duration`` its length in ms."""
    with mlflow.start_span(name="span") as span:
        pass

    info = last_trace().info
    recorded = only_span(last_trace(), "span")
    assert info.request_time == recorded.start_time_ns // 1_000_000
    assert info.execution_duration is not None
    assert info.execution_duration == (recorded.end_time_ns - recorded.start_time_ns) // 1_000_000
    assert span.end_time_ns is not None


def test_trace_tags_include_the_trace_name() -> None:
    """The trace is tagged ``mlflow.traceName`` with the root span's name."""
    trace_test(4)

    assert last_trace().info.tags["mlflow.traceName"] == "Trace Test"


def test_search_spans_by_exact_name() -> None:
    """``search_spans(name="...")`` matches the exact span name."""
    trace_test(4)

    spans = last_trace().search_spans(name="add_1")
    assert [span.name for span in spans] == ["add_1"]
    assert last_trace().search_spans(name="add") == []


def test_search_spans_by_regular_expression() -> None:
    """``search_spans(name=re.compile(...))`` matches names the pattern is found in."""
    trace_test(4)

    spans = last_trace().search_spans(name=re.compile(r"_1$"))
    assert sorted(span.name for span in spans) == ["add_1", "minus_1"]


def test_search_spans_by_span_type() -> None:
    """``search_spans(span_type=...)`` keeps the spans of that type."""
    with mlflow.start_span(name="chain", span_type=SpanType.CHAIN):
        retrieve_documents("q")
        with mlflow.start_span(name="llm", span_type=SpanType.LLM):
            pass

    trace = last_trace()
    assert [span.name for span in trace.search_spans(span_type=SpanType.RETRIEVER)] == [
        "retrieve_documents"
    ]
    assert [span.name for span in trace.search_spans(span_type=SpanType.LLM)] == ["llm"]
    assert trace.search_spans(span_type=SpanType.TOOL) == []


def test_search_spans_by_span_id() -> None:
    """``search_spans(span_id=...)`` finds the one span with that id."""
    with mlflow.start_span(name="outer"), mlflow.start_span(name="inner") as inner:
        pass

    found = last_trace().search_spans(span_id=inner.span_id)
    assert [span.name for span in found] == ["inner"]


# --- serialization -----------------------------------------------------------------------------


def test_to_dict_has_mlflows_shape() -> None:
    """``Trace.to_dict`` gives ``info`` plus ``data.spans`` with base64 ids and OTLP statuses."""
    trace_test(4)

    trace = last_trace()
    data = trace.to_dict()
    assert set(data) == {"info", "data"}
    assert data["info"]["trace_id"] == trace.info.trace_id
    assert data["info"]["state"] == "OK"
    spans = data["data"]["spans"]
    assert [span["name"] for span in spans] == ["Trace Test", "add_1", "minus_1"]
    root = spans[0]
    assert base64.b64decode(root["span_id"]).hex() == trace.data.spans[0].span_id
    assert base64.b64decode(root["trace_id"]).hex() == trace.info.trace_id.removeprefix("tr-")
    assert root["parent_span_id"] is None
    assert base64.b64decode(spans[1]["parent_span_id"]).hex() == trace.data.spans[0].span_id
    assert root["status"]["code"] == "STATUS_CODE_OK"
    assert json.loads(root["attributes"][SpanAttributeKey.INPUTS]) == {"x": 4}


def test_to_json_is_the_json_of_to_dict() -> None:
    """``Trace.to_json`` is ``to_dict`` serialized to JSON."""
    trace_test(4)

    trace = last_trace()
    assert json.loads(trace.to_json()) == trace.to_dict()
    assert json.loads(trace.to_json(pretty=True)) == trace.to_dict()


def test_from_json_round_trips_the_trace() -> None:
    """``Trace.from_json(trace.to_json())`` gives back an equal trace."""

    @mlflow.trace(span_type=SpanType.CHAIN)
    def pipeline() -> None:
        retrieve_documents("q")
        with mlflow.start_span(name="events") as span:
            span.add_event(SpanEvent("tick", attributes={"n": 1}))
        failing_step("q")

    with pytest.raises(RetrievalError):
        pipeline()

    trace = last_trace()
    restored = Trace.from_json(trace.to_json())

    assert restored.to_dict() == trace.to_dict()
    assert restored.info.trace_id == trace.info.trace_id
    assert restored.info.state == "ERROR"
    assert [(s.name, s.span_id, s.parent_id) for s in restored.data.spans] == [
        (s.name, s.span_id, s.parent_id) for s in trace.data.spans
    ]
    restored_failing = only_span(restored, "failing_step")
    assert restored_failing.status.status_code == SpanStatusCode.ERROR
    assert restored_failing.events[0].attributes["exception.type"] == "RetrievalError"
    assert only_span(restored, "retrieve_documents").outputs[0]["id"] == "doc-1"
    assert only_span(restored, "events").events[0].attributes == {"n": 1}


def test_from_dict_round_trips_the_trace() -> None:
    """``Trace.from_dict(trace.to_dict())`` keeps the spans' inputs, outputs and types."""
    trace_test(4)

    trace = last_trace()
    restored = Trace.from_dict(trace.to_dict())

    assert restored.to_dict() == trace.to_dict()
    assert only_span(restored, "add_1").inputs == {"x": 4}
    assert only_span(restored, "add_1").outputs == 5
    assert only_span(restored, "add_1").span_type == "func"


# --- constants ---------------------------------------------------------------------------------


def test_span_type_constants_are_mlflows_strings() -> None:
    """``SpanType`` holds MLflow's span type strings as plain class attributes."""
    expected = [
        "LLM",
        "CHAIN",
        "AGENT",
        "TOOL",
        "CHAT_MODEL",
        "RETRIEVER",
        "PARSER",
        "EMBEDDING",
        "RERANKER",
        "MEMORY",
        "UNKNOWN",
        "WORKFLOW",
        "TASK",
        "GUARDRAIL",
        "EVALUATOR",
    ]
    for value in expected:
        assert getattr(SpanType, value) == value


def test_span_attribute_keys_are_mlflows_strings() -> None:
    """``SpanAttributeKey`` constants are MLflow's exact attribute names."""
    assert SpanAttributeKey.INPUTS == "mlflow.spanInputs"
    assert SpanAttributeKey.OUTPUTS == "mlflow.spanOutputs"
    assert SpanAttributeKey.SPAN_TYPE == "mlflow.spanType"
    assert SpanAttributeKey.FUNCTION_NAME == "mlflow.spanFunctionName"
    assert SpanAttributeKey.CHAT_USAGE == "mlflow.chat.tokenUsage"


def test_custom_span_type_string_is_kept() -> None:
    """Any string works as a span type, as the docs' ``span_type="func"`` shows."""
    with mlflow.start_span(name="span", span_type="MY_TYPE"):
        pass

    assert only_span(last_trace(), "span").span_type == "MY_TYPE"


# --- token usage -------------------------------------------------------------------------------


@mlflow.trace(span_type=SpanType.LLM)
def call_llm(prompt: str, input_tokens: int, output_tokens: int) -> str:
    span = mlflow.get_current_active_span()
    assert span is not None
    span.set_attribute(
        SpanAttributeKey.CHAT_USAGE,
        {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        },
    )
    return f"reply to {prompt}"


def test_chat_usage_attribute_is_stored_on_the_span() -> None:
    """``set_attribute(SpanAttributeKey.CHAT_USAGE, {...})`` is readable back from the span."""
    call_llm("hi", 10, 5)

    span = only_span(last_trace(), "call_llm")
    assert span.get_attribute(SpanAttributeKey.CHAT_USAGE) == {
        "input_tokens": 10,
        "output_tokens": 5,
        "total_tokens": 15,
    }


def test_token_usage_of_one_llm_span() -> None:
    """A trace with one LLM span reports that span's usage as ``trace.info.token_usage``."""
    call_llm("hi", 10, 5)

    assert last_trace().info.token_usage == {
        "input_tokens": 10,
        "output_tokens": 5,
        "total_tokens": 15,
    }


def test_token_usage_sums_sibling_llm_spans() -> None:
    """Usage of several LLM calls in one trace is summed."""
    with mlflow.start_span(name="agent", span_type=SpanType.AGENT):
        call_llm("a", 10, 5)
        call_llm("b", 3, 2)

    assert last_trace().info.token_usage == {
        "input_tokens": 13,
        "output_tokens": 7,
        "total_tokens": 20,
    }


def test_token_usage_counts_nested_usage_once() -> None:
    """A span whose ancestor already carries usage is not counted again (no double counting)."""
    with mlflow.start_span(name="framework_llm", span_type=SpanType.CHAT_MODEL) as outer:
        outer.set_attribute(
            SpanAttributeKey.CHAT_USAGE,
            {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
        )
        call_llm("hi", 10, 5)

    assert last_trace().info.token_usage == {
        "input_tokens": 10,
        "output_tokens": 5,
        "total_tokens": 15,
    }


def test_token_usage_is_none_without_usage() -> None:
    """A trace without any usage attribute has ``token_usage`` None."""
    trace_test(4)

    assert last_trace().info.token_usage is None
