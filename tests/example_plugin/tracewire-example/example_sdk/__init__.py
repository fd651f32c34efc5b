"""A tiny, fake LLM SDK for the example plugin: pure Python, no network, made-up answers.

By default the "model" echoes the prompt, and refuses the prompt ``"fail"`` with
:class:`ExampleError`. Pass ``transport=`` to :class:`Client` to script other answers or failures.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import TracebackType


class ExampleError(Exception):
    """Raised when the model refuses a prompt."""


@dataclass(frozen=True)
class Usage:
    """Token counts of one answer."""

    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class Completion:
    """A whole answer."""

    text: str
    usage: Usage


@dataclass(frozen=True)
class Chunk:
    """One piece of a streamed answer; the last piece carries the usage."""

    text: str
    usage: Usage | None = None


def echo(prompt: str) -> str:
    """The default transport: answer with the prompt, or refuse ``"fail"``."""
    if prompt == "fail":
        raise ExampleError("the example model refuses to answer 'fail'")
    return f"you said: {prompt}"


class Stream:
    """A streamed answer: iterate it for :class:`Chunk` objects, or stop early with ``close()``.

    Also a context manager that closes it on exit.
    """

    def __init__(self, completion: Completion) -> None:
        self._chunks = _chunks(completion)
        self.closed = False

    def __iter__(self) -> Stream:
        return self

    def __next__(self) -> Chunk:
        if self.closed:
            raise StopIteration
        return next(self._chunks)

    def close(self) -> None:
        """Stop the stream; iterating it afterwards yields nothing."""
        self.closed = True

    def __enter__(self) -> Stream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _chunks(completion: Completion) -> Iterator[Chunk]:
    words = completion.text.split(" ")
    for index, word in enumerate(words):
        text = word if index == 0 else f" {word}"
        yield Chunk(text, completion.usage if index == len(words) - 1 else None)


class Client:
    """A client for the fake model.

    Args:
        model: The model name, recorded on spans.
        transport: ``transport(prompt) -> answer``; defaults to :func:`echo`.
    """

    def __init__(
        self, model: str = "example-1", transport: Callable[[str], str] | None = None
    ) -> None:
        self.model = model
        self._transport = transport or echo

    def complete(self, prompt: str, *, max_tokens: int = 64) -> Completion:
        """Answer ``prompt`` in at most ``max_tokens`` words.

        Raises:
            ExampleError: If the model refuses the prompt.
        """
        return self._answer(prompt, max_tokens)

    async def acomplete(self, prompt: str, *, max_tokens: int = 64) -> Completion:
        """Answer ``prompt`` asynchronously; see :meth:`complete`."""
        await asyncio.sleep(0)
        return self._answer(prompt, max_tokens)

    def stream(self, prompt: str, *, max_tokens: int = 64) -> Stream:
        """Answer ``prompt`` word by word; see :meth:`complete`."""
        return Stream(self._answer(prompt, max_tokens))

    def _answer(self, prompt: str, max_tokens: int) -> Completion:
        words = self._transport(prompt).split(" ")[:max_tokens]
        return Completion(" ".join(words), Usage(len(prompt.split()), len(words)))


__all__ = ["Chunk", "Client", "Completion", "ExampleError", "Stream", "Usage", "echo"]
