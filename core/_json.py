"""JSON encoding of span values, following MLflow's rules, never failing on a value.

Values are snapshotted on the caller's thread only as far as correctness needs (mutable containers are
encoded right away so later mutation cannot rewrite history); immutable scalars, including large
strings, are kept as they are and encoded on the export thread.
"""

from __future__ import annotations

import math
from _thread import _local

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

# The C accelerator behind the json module, used directly: importing json itself pulls in `re`,
# which would add milliseconds to `import tracewire`.
try:
    import _json as _accelerator
except ImportError:  # pragma: no cover - CPython ships the accelerator
    _accelerator = None  # type: ignore[assignment]
_c_make_encoder: Any = getattr(_accelerator, "make_encoder", None)
_encode_str: Any = getattr(_accelerator, "encode_basestring", None)
if _encode_str is None:  # pragma: no cover - interpreters without the accelerator
    from json.encoder import py_encode_basestring as _encode_str


class EncodedJson(str):
    """A value already encoded to JSON text (a snapshot of a mutable object).

    Attributes:
        decoded: Set when the text was decoded where it was made (a body read on the export
            thread): the value, so that the export thread's previews need not decode it again.
            It is shared, so it is read, never changed.
    """

    __slots__ = ("decoded",)
    decoded: Any


def model_json(model: Any) -> EncodedJson:
    """Encode a pydantic v2 model as the JSON its API sent: the fields that were set, wire names.

    For SDK response objects. Encoding one now, on the caller's thread, costs a few microseconds
    but lets the response be freed as soon as the caller drops it. Keeping its object tree alive
    until the export thread runs would make the garbage collector run in the caller's thread far
    more often (an SDK call alone leaves no net allocations behind), which costs several times
    more: measured with openai, about 25 us per call against 7 us for encoding.

    Args:
        model: A pydantic v2 model instance (anything else is encoded the generic way).

    Returns:
        The JSON text, as an :class:`EncodedJson` snapshot.
    """
    try:
        text = model.model_dump_json(exclude_unset=True, by_alias=True, warnings=False)
    except Exception:  # noqa: BLE001 - pydantic v1 models, or a model pydantic cannot dump
        text = dumps(model)
    return EncodedJson(text)


def _default(o: Any) -> Any:
    """Encode the objects LLM code passes around, as MLflow's TraceJSONEncoder does and a bit more."""
    if not isinstance(o, type):
        model_dump = getattr(o, "model_dump", None)
        if callable(model_dump):
            try:
                return model_dump()
            except Exception:  # noqa: BLE001 - a half-built model falls back to str below
                return str(o)
        fields = getattr(o, "__dataclass_fields__", None)
        if isinstance(fields, dict):
            return {name: getattr(o, name, None) for name in fields}
        to_dict = getattr(o, "to_dict", None)
        if callable(to_dict):
            try:
                return to_dict()
            except Exception:  # noqa: BLE001 - fall back to str below
                return str(o)
        if isinstance(o, (set, frozenset, tuple)):
            return list(o)
        if isinstance(o, (bytes, bytearray)):
            return o.decode("utf-8", errors="replace")
        isoformat = getattr(o, "isoformat", None)
        if callable(isoformat):
            return isoformat()
    return str(o)


_per_thread = _local()  # threading.local itself; `threading` is not imported just for this


def _container_encoder() -> Callable[[Any, int], Any]:
    """The C encoder for containers, built once per thread (its circular-reference memo is not shared)."""
    try:
        return _per_thread.encoder  # type: ignore[no-any-return]
    except AttributeError:
        pass
    encoder: Callable[[Any, int], Any]
    if _c_make_encoder is not None:
        encoder = _c_make_encoder({}, _default, _encode_str, None, ": ", ", ", False, False, True)
    else:  # pragma: no cover - CPython always has the C accelerator
        import json  # noqa: PLC0415

        python_encoder = json.JSONEncoder(default=_default, ensure_ascii=False)

        def encoder(value: Any, _indent: int) -> Any:
            return python_encoder.iterencode(value)

    _per_thread.encoder = encoder
    return encoder


_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _float_text(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return _NON_FINITE[repr(value)]  # what json.dumps writes for them
    return float.__repr__(value)


def dumps(value: Any) -> str:
    """Encode ``value`` to JSON text; never raises.

    Args:
        value: Any Python value.

    Returns:
        JSON text. Values JSON cannot represent fall back to ``str``; circular ones to ``repr``.
    """
    kind = type(value)
    if kind is str:
        return _encode_str(value)  # type: ignore[no-any-return]
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    if kind is float:
        return _float_text(value)
    if kind is EncodedJson:
        return str.__str__(value)
    try:
        return "".join(_container_encoder()(value, 0))
    except (ValueError, RecursionError):
        _per_thread.__dict__.pop("encoder", None)  # its memo may hold stale entries now
        return dumps(repr(value))
    except Exception:  # noqa: BLE001 - a user object whose __str__ or model_dump raises
        _per_thread.__dict__.pop("encoder", None)
        return dumps(object.__repr__(value))


def loads(text: str) -> Any:
    """Decode JSON text produced by :func:`dumps` (or another MLflow-compatible writer).

    Args:
        text: JSON text.

    Returns:
        The decoded value, or ``text`` itself when it is not valid JSON.
    """
    import json  # noqa: PLC0415 - read path only; json pulls in `re`, keeping it out of import time

    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return text


SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})
# Nests of dicts and lists holding up to this many entries in all are copied. Copying is faster
# than encoding at every size measured (strings are kept, not copied, where the encoder spends
# about 9 ns a character), but copies are containers that live until the export thread encodes
# them, and many live containers make the garbage collector run in the caller's thread; one
# string does not.
_COPY_BUDGET = 128
# Nesting that deep is no LLM request (tools' JSON schemas reach about 7): encode it.
_COPY_DEPTH = 12
_NOT_COPIED = object()


def _copied(value: Any, left: list[int], depth: int) -> Any:
    """A JSON-normalized copy of a nest of dicts and lists of scalars, else ``_NOT_COPIED``.

    Args:
        value: A dict, list or tuple (scalars are handled by the caller, without a call).
        left: How many more entries may be copied (one shared counter for the whole nest);
            decremented here.
        depth: How many container levels may still be copied, this one included.
    """
    kind = type(value)
    if kind is dict:
        left[0] -= len(value)
        if left[0] < 0 or depth == 0:
            return _NOT_COPIED
        copy: Any = {}
        for key, item in value.items():
            if type(key) is not str:
                return _NOT_COPIED
            if type(item) not in SCALAR_TYPES:
                item = _copied(item, left, depth - 1)  # noqa: PLW2901 - the same item, frozen
                if item is _NOT_COPIED:
                    return _NOT_COPIED
            copy[key] = item
        return copy
    if kind is list or kind is tuple:
        left[0] -= len(value)
        if left[0] < 0 or depth == 0:
            return _NOT_COPIED
        copy = []
        for item in value:
            if type(item) not in SCALAR_TYPES:
                item = _copied(item, left, depth - 1)  # noqa: PLW2901 - the same item, frozen
                if item is _NOT_COPIED:
                    return _NOT_COPIED
            copy.append(item)
        return copy
    return _NOT_COPIED


def snapshot(value: Any, *, owned: bool = False) -> Any:
    """Freeze ``value`` so that later mutation by user code cannot change what was recorded.

    Immutable scalars are returned unchanged (a 100 KB prompt costs nothing here). Nests of dicts
    and lists of scalars up to a size (a chat request, tool schemas included) are copied, which
    is cheaper than encoding them; anything else is encoded to JSON now. Either way the result
    reads back as the JSON-normalized value.

    Args:
        value: The value passed to ``set_inputs``, ``set_outputs`` or ``set_attribute``.
        owned: ``value`` is a dict tracewire built itself (the bound arguments), so its top level
            needs no copy.

    Returns:
        The value, a copy, or an :class:`EncodedJson`.
    """
    kind = type(value)
    if kind in SCALAR_TYPES or kind is EncodedJson:
        return value
    left = [_COPY_BUDGET]
    if owned and kind is dict:
        left[0] -= len(value)
        if left[0] < 0:
            return EncodedJson(dumps(value))
        for key, item in value.items():
            if type(key) is not str:
                return EncodedJson(dumps(value))
            if type(item) not in SCALAR_TYPES:
                copied = _copied(item, left, _COPY_DEPTH - 1)
                if copied is _NOT_COPIED:
                    return EncodedJson(dumps(value))
                value[key] = copied
        return value
    copied = _copied(value, left, _COPY_DEPTH)
    return EncodedJson(dumps(value)) if copied is _NOT_COPIED else copied


def thaw(value: Any) -> Any:
    """Return the JSON-normalized Python value of a snapshot (what a reader of the trace sees).

    Args:
        value: A value produced by :func:`snapshot`.

    Returns:
        Decoded JSON for encoded snapshots; scalars and scalar dicts unchanged.
    """
    if isinstance(value, EncodedJson):
        return loads(value)
    return value
