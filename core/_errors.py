"""Internal-error policy: our bugs are logged, never raised into the host program.

Under ``TRACEWIRE_STRICT=1`` (set by the test suite) they are raised instead, so a bug fails a test
rather than hiding in a log line.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from typing import Literal


def log() -> logging.Logger:
    """Return tracewire's logger; ``logging`` is imported on first use, keeping imports light."""
    import logging  # noqa: PLC0415 - deferred: logging costs ~12 ms of import time

    return logging.getLogger("tracewire")


_reported: set[str] = set()


def strict_mode() -> bool:
    """Return whether internal errors should propagate (``TRACEWIRE_STRICT=1``)."""
    return os.environ.get("TRACEWIRE_STRICT", "").strip().lower() in {"1", "true", "yes"}


def report_internal_error(where: str) -> None:
    """Log the exception being handled as a tracewire bug, or re-raise it in strict mode.

    Must be called from inside an ``except`` block. Each ``where`` is logged with its traceback once
    per process, later occurrences at debug level, so a hot-path bug cannot flood the user's logs.

    Args:
        where: A short description of what tracewire was doing, used as the log message.

    Raises:
        Exception: The exception being handled, when strict mode is on.
    """
    if strict_mode():
        raise  # noqa: PLE0704 - called from inside an except block by contract
    log_internal_error(where, True)


def log_internal_error(where: str, exc_info: BaseException | Literal[True]) -> None:
    """Log an internal error: with its traceback the first time per ``where``, then at debug level.

    Args:
        where: A short description of what tracewire was doing, used as the log message.
        exc_info: The exception, or ``True`` for the one being handled.
    """
    if where in _reported:
        log().debug("tracewire internal error while %s", where, exc_info=exc_info)
        return
    _reported.add(where)
    log().warning(
        "tracewire internal error while %s; tracing continues, your program is unaffected",
        where,
        exc_info=exc_info,
    )


def warn_once(key: str, message: str, *args: object, exc_info: bool = False) -> None:
    """Log a warning the first time ``key`` is seen in this process.

    Args:
        key: Identity of the warning; repeats with the same key are logged at debug level.
        message: A ``logging``-style format string.
        *args: Arguments for ``message``.
        exc_info: Attach the traceback of the exception being handled.
    """
    if key in _reported:
        log().debug(message, *args, exc_info=exc_info)
        return
    _reported.add(key)
    log().warning(message, *args, exc_info=exc_info)
