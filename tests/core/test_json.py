"""JSON encoding of recorded values: MLflow's rules, and never a crash."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pydantic
import pytest

import tracewire
from tracewire._json import dumps, loads, model_json, snapshot, thaw
from tracewire.entities import Document


class _Model(pydantic.BaseModel):
    name: str
    tags: list[str]


@dataclasses.dataclass
class _Point:
    x: int
    y: int


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no str")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": [1, 2.5, None, True]}, {"a": [1, 2.5, None, True]}),
        ("héllo", "héllo"),
        (_Model(name="n", tags=["t"]), {"name": "n", "tags": ["t"]}),
        (_Point(1, 2), {"x": 1, "y": 2}),
        (
            Document("text", {"source": "s"}, "d1"),
            {"page_content": "text", "metadata": {"source": "s"}, "id": "d1"},
        ),
        ({1, 2}, [1, 2]),
        ((1, "a"), [1, "a"]),
        (b"bytes", "bytes"),
        (datetime.date(2026, 1, 2), "2026-01-02"),
        ({1: "int key"}, {"1": "int key"}),
    ],
)
def test_values_encode_like_mlflow(value: Any, expected: Any) -> None:
    """Common Python values encode to the JSON MLflow would write."""
    assert loads(dumps(value)) == expected


def test_non_ascii_text_is_kept_readable() -> None:
    """Non-ASCII text is written as is, not as escapes."""
    assert dumps("日本") == '"日本"'


def test_circular_values_fall_back_to_repr() -> None:
    """A self-referencing value encodes as its repr instead of failing."""
    loop: list[Any] = []
    loop.append(loop)
    assert loads(dumps(loop)) == "[[...]]"


def test_unprintable_objects_fall_back_to_object_repr() -> None:
    """An object whose ``__str__`` raises still encodes."""
    assert "_Unprintable object" in loads(dumps(_Unprintable()))


def test_snapshot_keeps_scalars_and_encodes_containers() -> None:
    """Scalars are kept as is; containers are frozen so later mutation cannot leak in."""
    big = "x" * 100_000
    assert snapshot(big) is big
    flat = {"a": 1}
    frozen_flat = snapshot(flat)
    flat["a"] = 2
    assert thaw(frozen_flat) == {"a": 1}
    nested = {"a": [1]}
    frozen_nested = snapshot(nested)
    nested["a"].append(2)
    assert thaw(frozen_nested) == {"a": [1]}


def test_snapshot_copies_a_chat_request_instead_of_encoding_it() -> None:
    messages = [{"role": "user", "content": "hi"}]
    request = {"model": "m", "messages": messages, "stop": ("a", "b")}

    frozen = snapshot(request)
    messages.append({"role": "assistant", "content": "hello"})
    messages[0]["content"] = "edited"

    assert not isinstance(frozen, str)  # a copy: encoding waits for the export thread
    assert frozen == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "stop": ["a", "b"],
    }


def test_snapshot_copies_content_blocks_with_cache_control() -> None:
    """A request with content blocks nested six levels deep is copied, not encoded."""
    block = {"type": "text", "text": "long system prompt", "cache_control": {"type": "ephemeral"}}
    request = {"system": [block], "messages": [{"role": "user", "content": [dict(block)]}]}

    frozen = snapshot(request)
    block["cache_control"]["type"] = "edited"
    request["messages"][0]["content"][0]["text"] = "edited"

    assert not isinstance(frozen, str)
    assert frozen["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert frozen["messages"][0]["content"][0]["text"] == "long system prompt"


def test_snapshot_encodes_values_nested_deeper_than_any_request() -> None:
    deep: dict[str, object] = {"leaf": "hi"}
    for _ in range(20):
        deep = {"child": deep}

    frozen = snapshot(deep)

    assert isinstance(frozen, str)
    assert loads(frozen) == deep


def test_snapshot_encodes_large_nested_containers() -> None:
    many = {"messages": [{"role": "user", "content": str(n)} for n in range(50)]}

    frozen = snapshot(many)
    many["messages"][0]["content"] = "edited"

    assert isinstance(frozen, str)
    assert thaw(frozen)["messages"][0]["content"] == "0"


def test_snapshot_copies_a_bound_argument_dict_in_place() -> None:
    """An owned dict keeps its identity; only its nested containers are copied."""
    messages = [{"role": "user", "content": "hi"}]
    bound = {"messages": messages, "n": 1}

    frozen = snapshot(bound, owned=True)
    messages[0]["content"] = "edited"

    assert frozen is bound
    assert frozen["messages"] == [{"role": "user", "content": "hi"}]


def test_loads_returns_non_json_text_unchanged() -> None:
    """Text that is not JSON decodes to itself rather than raising."""
    assert loads("not json") == "not json"


class Reply(pydantic.BaseModel):
    text: str
    score: float | None = None


def test_model_json_encodes_only_the_fields_that_were_set() -> None:
    encoded = model_json(Reply(text="hi"))

    assert encoded == '{"text":"hi"}'
    assert snapshot(encoded) is encoded  # already a snapshot: not encoded twice


def test_model_json_records_the_model_as_it_was_when_encoded() -> None:
    reply = Reply(text="hi")
    encoded = model_json(reply)
    reply.text = "edited"

    assert thaw(encoded) == {"text": "hi"}


def test_model_json_falls_back_to_generic_encoding_for_other_objects() -> None:
    assert thaw(model_json({"a": [1, 2]})) == {"a": [1, 2]}


def test_model_json_outputs_reach_the_exported_span(last_trace: Any) -> None:
    with tracewire.start_span("s") as span:
        span.set_outputs(model_json(Reply(text="hi", score=0.5)))

    assert last_trace().data.spans[0].outputs == {"text": "hi", "score": 0.5}
