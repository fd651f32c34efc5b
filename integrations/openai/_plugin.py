"""tracewire's OpenAI plugin: the module its entry point names, loaded like any third party's.

It is kept apart from :mod:`tracewire.openai` because the hook marker imports pluggy, which
``tracewire.openai.autolog()`` has no use for (a few milliseconds of its budget).
"""

from __future__ import annotations

from tracewire.hookspecs import hookimpl
from tracewire.openai._integration import INTEGRATION

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from tracewire.integration import Integration


@hookimpl
def tracewire_register_integrations(register: Callable[[Integration], None]) -> None:
    """Register the OpenAI integration."""
    register(INTEGRATION)
