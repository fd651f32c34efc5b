"""Requirement strings such as ``"openai>=1.40,<4"``: parsed and checked without ``packaging`` when simple.

Importing ``packaging.requirements`` costs 40-50 ms (it compiles large regular expressions), which
would be most of an ``autolog()`` call. Integrations declare plain ranges over plain release
numbers, which a few string operations decide exactly as PEP 440 does; anything else (extras,
markers, ``~=``, wildcards, pre-releases, local versions, epochs) goes to ``packaging``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

_OPERATORS = (">=", "<=", "==", "!=", "<", ">")  # two-character operators first
_NAME_END = frozenset("<>=!~[;( ")
_COMPARE: dict[str, Callable[[int], bool]] = {
    ">=": lambda order: order >= 0,
    "<=": lambda order: order <= 0,
    "==": lambda order: order == 0,
    "!=": lambda order: order != 0,
    "<": lambda order: order < 0,
    ">": lambda order: order > 0,
}


def _release(text: str) -> tuple[int, ...] | None:
    """``"1.40.2"`` as ``(1, 40, 2)``; ``None`` for anything but dot-separated digits."""
    parts = text.strip().split(".")
    if not all(part.isdigit() and part.isascii() for part in parts):
        return None
    return tuple(int(part) for part in parts)


def _order(left: tuple[int, ...], right: tuple[int, ...]) -> int:
    width = max(len(left), len(right))
    padded_left = left + (0,) * (width - len(left))
    padded_right = right + (0,) * (width - len(right))
    return (padded_left > padded_right) - (padded_left < padded_right)


def parse_simple(requirement: str) -> tuple[str, list[tuple[str, tuple[int, ...]]]] | None:
    """Split ``"name>=1.2,<3"`` into its name and clauses, or return ``None`` if it is not that simple.

    Args:
        requirement: A requirement string.

    Returns:
        ``(name, [(operator, release), ...])``, or ``None`` when only ``packaging`` can read it.
    """
    text = requirement.strip()
    end = next((i for i, char in enumerate(text) if char in _NAME_END), len(text))
    name, rest = text[:end], text[end:].strip()
    if not name or not all(char.isalnum() or char in "-_." for char in name):
        return None
    clauses: list[tuple[str, tuple[int, ...]]] = []
    if not rest:
        return name, clauses
    for clause in rest.split(","):
        clause = clause.strip()  # noqa: PLW2901 - the same clause, trimmed
        operator = next((op for op in _OPERATORS if clause.startswith(op)), None)
        if operator is None or clause.startswith(("===", "~=")):
            return None
        release = _release(clause[len(operator) :])
        if release is None:
            return None
        clauses.append((operator, release))
    return name, clauses


def requirement_name(requirement: str) -> str:
    """Return the distribution name a requirement string names.

    Raises:
        ValueError: If the string is not a valid requirement (``packaging``'s message).
    """
    simple = parse_simple(requirement)
    if simple is not None:
        return simple[0]
    from packaging.requirements import InvalidRequirement, Requirement  # noqa: PLC0415

    try:
        return Requirement(requirement).name
    except InvalidRequirement as error:
        raise ValueError(str(error)) from None


def is_satisfied(requirement: str, installed: str) -> bool:
    """Return whether the installed version ``installed`` satisfies ``requirement``'s range.

    Pre-releases count as satisfying a range they fall in, as they do for an already installed
    package.
    """
    simple = parse_simple(requirement)
    release = _release(installed)
    if simple is not None and release is not None:
        return all(_COMPARE[operator](_order(release, bound)) for operator, bound in simple[1])
    from packaging.requirements import Requirement  # noqa: PLC0415

    return Requirement(requirement).specifier.contains(installed, prereleases=True)
