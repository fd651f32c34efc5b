"""tracewire's Anthropic plugin: the module its entry point names, loaded like any third party's.

It is kept apart from :mod:`tracewire.anthropic` because the hook marker imports pluggy, which
``tracewire.anthropic.autolog()`` has no use for.
"""

from __future__ import annotations

from tracewire.anthropic._integration import INTEGRATION
from tracewire.hookspecs import hookimpl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from tracewire.integration import Integration


@hookimpl
def tracewire_register_integrations(register: Callable[[Integration], None]) -> None:
    """Register the Anthropic integration."""
    register(INTEGRATION)
