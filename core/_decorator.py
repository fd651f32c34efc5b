"""``@tracewire.trace``: one span per call of a sync, async, generator or async-generator function."""

from __future__ import annotations

import functools

from tracewire._config import SETTINGS
from tracewire._constants import (
    STREAM_CHUNK_EVENT_NAME_FORMAT,
    STREAM_CHUNK_EVENT_VALUE_KEY,
    SpanAttributeKey,
    SpanType,
)
from tracewire._context import ACTIVE_SPAN, begin_span
from tracewire._errors import report_internal_error, warn_once
from tracewire._json import SCALAR_TYPES, dumps, snapshot
from tracewire._span import NO_OP_SPAN, LiveSpan, NoOpSpan
from tracewire._span_event import SpanEvent

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Callable, Generator, Mapping
    from typing import Any, TypeVar, overload

    F = TypeVar("F", bound=Callable[..., Any])


# Looked up on every call; module constants spare two attribute lookups each time.
_INPUTS = SpanAttributeKey.INPUTS
_OUTPUTS = SpanAttributeKey.OUTPUTS


def _input_binder(fn: Callable[..., Any]) -> Callable[[tuple[Any, ...], dict[str, Any]], Any]:
    """Build the function that turns one call's arguments into the span inputs.

    Inputs are the bound arguments with ``self`` (and a ``cls`` that is a class) dropped. The common
    case, positional arguments matching a plain signature, is specialized here once per decorated
    function, because binding runs on every call.
    """
    import inspect  # noqa: PLC0415 - deferred: costs ~10 ms of import time

    try:
        signature: inspect.Signature | None = inspect.signature(fn)
    except (TypeError, ValueError):  # some builtins have no introspectable signature
        signature = None
    params = list(signature.parameters.values()) if signature is not None else []
    first = params[0].name if params else None
    drop_self, drop_cls = first == "self", first == "cls"
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = (
        tuple(p.name for p in params)
        if signature is not None and all(p.kind in positional for p in params)
        else None
    )
    arity = len(names) if names is not None else -1

    def bind_general(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        if signature is None:
            return {"args": list(args), **kwargs} if args else dict(kwargs)
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:  # the call itself will raise the user's TypeError
            return {"args": list(args), **kwargs}
        bound.apply_defaults()
        return dict(bound.arguments)

    def bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        inputs = (
            dict(zip(names, args))  # type: ignore[arg-type]  # noqa: B905 - lengths are equal
            if not kwargs and len(args) == arity
            else bind_general(args, kwargs)
        )
        if drop_self:
            inputs.pop("self", None)
        elif drop_cls and isinstance(inputs.get("cls"), type):
            del inputs["cls"]
        return inputs

    return bind


class _SpanRecipe:
    """What every call of one decorated function needs to start its span."""

    __slots__ = ("attributes", "bind", "name", "output_reducer")

    def __init__(
        self,
        fn: Callable[..., Any],
        name: str | None,
        span_type: str,
        attributes: Mapping[str, Any] | None,
        output_reducer: Callable[[list[Any]], Any] | None,
    ) -> None:
        function_name = getattr(fn, "__name__", type(fn).__name__)
        self.name = name or function_name
        self.attributes: dict[str, Any] = {
            SpanAttributeKey.SPAN_TYPE: str(span_type),
            SpanAttributeKey.FUNCTION_NAME: function_name,
        }
        for key, value in (attributes or {}).items():
            self.attributes[str(key)] = snapshot(value)
        self.bind = _input_binder(fn)
        self.output_reducer = output_reducer

    def start(
        self, parent: LiveSpan | NoOpSpan | None, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> LiveSpan | NoOpSpan:
        """Start the span for one call; never raises outside strict mode."""
        try:
            span = begin_span(self.name, parent, self.attributes.copy())
            if isinstance(span, LiveSpan):
                span._attributes[_INPUTS] = snapshot(self.bind(args, kwargs), owned=True)
            return span
        except Exception:  # noqa: BLE001 - reported by policy
            report_internal_error("starting a span")
            return NO_OP_SPAN


def _finish(span: LiveSpan | NoOpSpan, result: Any) -> None:
    if span is NO_OP_SPAN:
        return
    try:
        attributes = span._attributes  # type: ignore[union-attr]
        if _OUTPUTS not in attributes:
            attributes[_OUTPUTS] = result if type(result) in SCALAR_TYPES else snapshot(result)
        span.end()
    except Exception:  # noqa: BLE001 - reported by policy
        report_internal_error("ending a span")


def _fail(span: LiveSpan | NoOpSpan, error: BaseException) -> None:
    if span is NO_OP_SPAN:
        return
    try:
        span.record_exception(error)
        span.end()
    except Exception:  # noqa: BLE001 - reported by policy
        report_internal_error("ending a span")


class _GeneratorRecorder:
    """Collects what a traced generator yields and ends its span exactly once."""

    __slots__ = ("items", "recipe", "span")

    def __init__(self, span: LiveSpan | NoOpSpan, recipe: _SpanRecipe) -> None:
        self.span = span
        self.recipe = recipe
        self.items: list[Any] = []

    def record(self, item: Any) -> None:
        if self.span is NO_OP_SPAN:
            return
        try:
            index = len(self.items)
            self.items.append(item)
            self.span.add_event(
                SpanEvent(
                    STREAM_CHUNK_EVENT_NAME_FORMAT.format(index=index),
                    attributes={STREAM_CHUNK_EVENT_VALUE_KEY: dumps(item)},
                )
            )
        except Exception:  # noqa: BLE001 - reported by policy
            report_internal_error("recording a generator item")

    def outputs(self) -> Any:
        reducer = self.recipe.output_reducer
        if reducer is None:
            return self.items
        try:
            return reducer(self.items)
        except Exception:  # noqa: BLE001 - a user's reducer must not break their generator
            warn_once(
                f"reducer:{self.recipe.name}",
                "output_reducer of %r raised; the span records the list of yielded items instead",
                self.recipe.name,
            )
            return self.items

    def finish(self, *, closed_early: bool = False) -> None:
        if self.span is NO_OP_SPAN:
            return
        if closed_early:
            try:
                self.span.add_event(
                    SpanEvent("generator_closed", attributes={"items_yielded": len(self.items)})
                )
            except Exception:  # noqa: BLE001 - reported by policy
                report_internal_error("recording an early close")
        _finish(self.span, self.outputs())


def _wrap_sync(fn: Callable[..., Any], recipe: _SpanRecipe) -> Callable[..., Any]:
    # The most common wrapper, so recipe.start() and _finish() are inlined here and every name is
    # closure-bound: each saved call or lookup is paid on every traced call.
    settings, name, attributes, bind = SETTINGS, recipe.name, recipe.attributes, recipe.bind
    get_active, set_active, reset_active = ACTIVE_SPAN.get, ACTIVE_SPAN.set, ACTIVE_SPAN.reset

    def traced(*args: Any, **kwargs: Any) -> Any:
        if not settings.enabled:
            return fn(*args, **kwargs)
        try:
            span = begin_span(name, get_active(), attributes.copy())
            if span is not NO_OP_SPAN:
                span._attributes[_INPUTS] = snapshot(bind(args, kwargs), owned=True)  # type: ignore[union-attr]
        except Exception:  # noqa: BLE001 - reported by policy
            report_internal_error("starting a span")
            span = NO_OP_SPAN
        token = set_active(span)
        try:
            result = fn(*args, **kwargs)
        except BaseException as error:
            reset_active(token)
            _fail(span, error)
            raise
        reset_active(token)
        if span is not NO_OP_SPAN:
            try:
                recorded = span._attributes  # type: ignore[union-attr]
                if _OUTPUTS not in recorded:
                    recorded[_OUTPUTS] = (
                        result if type(result) in SCALAR_TYPES else snapshot(result)
                    )
                span.end()
            except Exception:  # noqa: BLE001 - reported by policy
                report_internal_error("ending a span")
        return result

    return traced


def _wrap_async(fn: Callable[..., Any], recipe: _SpanRecipe) -> Callable[..., Any]:
    settings, start = SETTINGS, recipe.start
    get_active, set_active, reset_active = ACTIVE_SPAN.get, ACTIVE_SPAN.set, ACTIVE_SPAN.reset

    async def traced(*args: Any, **kwargs: Any) -> Any:
        if not settings.enabled:
            return await fn(*args, **kwargs)
        span = start(get_active(), args, kwargs)
        token = set_active(span)
        try:
            result = await fn(*args, **kwargs)
        except BaseException as error:
            reset_active(token)
            _fail(span, error)
            raise
        reset_active(token)
        _finish(span, result)
        return result

    return traced


def _wrap_generator(fn: Callable[..., Any], recipe: _SpanRecipe) -> Callable[..., Any]:
    settings = SETTINGS

    def traced(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        if not settings.enabled:
            return (yield from fn(*args, **kwargs))
        # The span is active only while the generator body runs, so spans the consumer opens between
        # items are not parented under the generator.
        span = recipe.start(ACTIVE_SPAN.get(), args, kwargs)
        recorder = _GeneratorRecorder(span, recipe)
        generator = fn(*args, **kwargs)
        advance: Callable[[Any], Any] = generator.send
        argument: Any = None
        while True:
            token = ACTIVE_SPAN.set(span)
            try:
                item = advance(argument)
            except StopIteration as stop:
                ACTIVE_SPAN.reset(token)
                recorder.finish()
                return stop.value
            except BaseException as error:
                ACTIVE_SPAN.reset(token)
                _fail(span, error)
                raise
            ACTIVE_SPAN.reset(token)
            recorder.record(item)
            try:
                argument = yield item
                advance = generator.send
            except GeneratorExit:
                # break, close() or garbage collection: end the span with what was yielded so far.
                token = ACTIVE_SPAN.set(span)
                try:
                    generator.close()
                finally:
                    ACTIVE_SPAN.reset(token)
                    recorder.finish(closed_early=True)
                raise
            except BaseException as thrown:  # noqa: BLE001 - generator.throw(): forwarded to the user
                advance, argument = generator.throw, thrown

    return traced


def _wrap_async_generator(fn: Callable[..., Any], recipe: _SpanRecipe) -> Callable[..., Any]:
    settings = SETTINGS

    async def traced(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        if not settings.enabled:
            async for item in fn(*args, **kwargs):
                yield item
            return
        span = recipe.start(ACTIVE_SPAN.get(), args, kwargs)
        recorder = _GeneratorRecorder(span, recipe)
        generator = fn(*args, **kwargs)
        advance: Callable[[Any], Any] = generator.asend
        argument: Any = None
        while True:
            token = ACTIVE_SPAN.set(span)
            try:
                item = await advance(argument)
            except StopAsyncIteration:
                ACTIVE_SPAN.reset(token)
                recorder.finish()
                return
            except BaseException as error:
                ACTIVE_SPAN.reset(token)
                _fail(span, error)
                raise
            ACTIVE_SPAN.reset(token)
            recorder.record(item)
            try:
                argument = yield item
                advance = generator.asend
            except GeneratorExit:
                token = ACTIVE_SPAN.set(span)
                try:
                    await generator.aclose()
                finally:
                    ACTIVE_SPAN.reset(token)
                    recorder.finish(closed_early=True)
                raise
            except BaseException as thrown:  # noqa: BLE001 - athrow(): forwarded to the user
                advance, argument = generator.athrow, thrown

    return traced


def _wrap(
    fn: Any,
    name: str | None,
    span_type: str,
    attributes: Mapping[str, Any] | None,
    output_reducer: Callable[[list[Any]], Any] | None,
) -> Any:
    if isinstance(fn, (classmethod, staticmethod)):
        return type(fn)(_wrap(fn.__func__, name, span_type, attributes, output_reducer))
    if not callable(fn):
        raise TypeError(f"@trace needs a function or other callable, got {type(fn).__name__}")
    import inspect  # noqa: PLC0415 - deferred: costs ~10 ms of import time

    is_generator = inspect.isgeneratorfunction(fn)
    is_async_generator = inspect.isasyncgenfunction(fn)
    if output_reducer is not None and not (is_generator or is_async_generator):
        raise ValueError(
            f"output_reducer only applies to generator functions, and {fn!r} is not one"
        )
    recipe = _SpanRecipe(fn, name, span_type, attributes, output_reducer)
    if is_async_generator:
        traced = _wrap_async_generator(fn, recipe)
    elif is_generator:
        traced = _wrap_generator(fn, recipe)
    elif inspect.iscoroutinefunction(fn):
        traced = _wrap_async(fn, recipe)
    else:
        traced = _wrap_sync(fn, recipe)
    try:  # noqa: SIM105 - contextlib.suppress would import contextlib for this one line
        functools.update_wrapper(traced, fn)
    except (AttributeError, TypeError):  # callables without __name__ and the like
        pass
    traced.__tracewire_traced__ = True  # type: ignore[attr-defined]
    return traced


# The overloads give type checkers precise signatures without importing typing at run time.
if TYPE_CHECKING:

    @overload
    def trace(func: F) -> F: ...

    @overload
    def trace(
        func: None = None,
        name: str | None = None,
        span_type: str = SpanType.UNKNOWN,
        attributes: Mapping[str, Any] | None = None,
        output_reducer: Callable[[list[Any]], Any] | None = None,
    ) -> Callable[[F], F]: ...


def trace(  # the implementation of the overloads above
    func: Any = None,
    name: str | None = None,
    span_type: str = SpanType.UNKNOWN,
    attributes: Mapping[str, Any] | None = None,
    output_reducer: Callable[[list[Any]], Any] | None = None,
) -> Any:
    """Trace every call of a function as a span: ``@trace``, ``@trace(...)`` or ``trace(fn)``.

    Inputs are the call's bound arguments (``self`` and ``cls`` dropped); outputs are the return
    value, or for generators the list of yielded items (or ``output_reducer``'s result). An exception
    marks the span ERROR with an ``exception`` event and propagates unchanged. A generator stopped
    early (``break``, ``close()``, garbage collection) still ends its span, with what it yielded.

    Args:
        func: The function (when used as ``@trace`` or ``trace(fn)``).
        name: Span name; defaults to the function's ``__name__``.
        span_type: A :class:`~tracewire.entities.SpanType` constant or a custom string.
        attributes: Attributes set on every span of this function.
        output_reducer: For generator functions: turns the list of yielded items into the outputs.

    Returns:
        The traced function, or a decorator when ``func`` is not given.

    Raises:
        ValueError: If ``output_reducer`` is given for a non-generator function.
        TypeError: If ``func`` is not callable.
    """

    def decorator(fn: Any) -> Any:
        return _wrap(fn, name, span_type, attributes, output_reducer)

    if func is not None:
        return decorator(func)
    return decorator
