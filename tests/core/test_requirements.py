"""Requirement strings checked without ``packaging`` when simple, with it otherwise: same answers."""

from __future__ import annotations

import pytest
from packaging.requirements import Requirement

from tracewire._requirements import is_satisfied, parse_simple, requirement_name

CASES = [
    ("openai>=1.40,<4", "1.40.0"),
    ("openai>=1.40,<4", "1.39.9"),
    ("openai>=1.40,<4", "3.54.0"),
    ("openai>=1.40,<4", "4.0"),
    ("openai>=1.40,<4", "4.0.0rc1"),  # a pre-release: decided by packaging
    ("sdk==1.2", "1.2.0"),
    ("sdk!=2", "2.0.0"),
    ("sdk>1.0", "1.0"),
    ("sdk<=2.1", "2.1.0"),
    ("sdk", "0.0.1"),
    ("sdk~=1.4", "1.9"),  # compatible release: decided by packaging
    ("sdk[extra]>=1", "1.0"),  # extras: decided by packaging
    ("sdk>=1.0.post1", "1.0.post2"),  # post-release: decided by packaging
]


@pytest.mark.parametrize(("requirement", "installed"), CASES)
def test_answers_match_packaging(requirement: str, installed: str) -> None:
    expected = Requirement(requirement).specifier.contains(installed, prereleases=True)
    assert is_satisfied(requirement, installed) is expected


@pytest.mark.parametrize("requirement", [r for r, _ in CASES])
def test_names_match_packaging(requirement: str) -> None:
    assert requirement_name(requirement) == Requirement(requirement).name


@pytest.mark.parametrize("requirement", ["openai>=1.40,<4", "sdk", "my-sdk.x_y==2"])
def test_plain_ranges_need_no_packaging(requirement: str) -> None:
    assert parse_simple(requirement) is not None


@pytest.mark.parametrize("requirement", ["sdk~=1.4", "sdk[extra]>=1", "sdk>=1; python_version>'3'"])
def test_anything_else_goes_to_packaging(requirement: str) -> None:
    assert parse_simple(requirement) is None


def test_invalid_requirement_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="Expected"):
        requirement_name("sdk >= = 1")
