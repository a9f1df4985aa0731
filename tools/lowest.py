"""Are a chapter's lower bounds the versions its lowest-versions session installed?

The ``chapter-NN-lowest`` sessions install each requirement of a chapter at the
lowest version its range allows. When a lower bound cannot be installed (that
release is broken, or another requirement needs more), the resolver quietly takes
a later one, and the range promises a version nobody tested. This names them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version


def requirements(pyproject: Path) -> list[Requirement]:
    """Every requirement of the project, its optional groups included."""
    project = tomllib.loads(pyproject.read_text("utf-8"))["project"]
    lines = list(project.get("dependencies", []))
    for group in project.get("optional-dependencies", {}).values():
        lines += group
    return [Requirement(line) for line in lines]


def lower_bound(requirement: Requirement) -> Version | None:
    bounds = [Version(s.version) for s in requirement.specifier if s.operator in (">=", "==", "~=")]
    return max(bounds, default=None)


def installed_versions(pyproject: Path, installed: dict[str, str]) -> str:
    """'Flask 3.1.0, Werkzeug 3.1.0, ...': the project's requirements as installed."""
    have = _by_name(installed)
    names = dict.fromkeys(r.name for r in requirements(pyproject))
    return ", ".join(f"{name} {have.get(canonicalize_name(name), '(missing)')}" for name in names)


def untested_bounds(pyproject: Path, installed: dict[str, str]) -> list[str]:
    """One line per requirement whose lowest allowed version is not the one installed.

    ``installed`` maps names to versions, as ``uv pip list --format json`` gives them.
    """
    have = _by_name(installed)
    problems = []
    for requirement in requirements(pyproject):
        low = lower_bound(requirement)
        got = have.get(canonicalize_name(requirement.name))
        if low is None:
            problems.append(f"{requirement}: no lower bound to test")
        elif got is None:
            problems.append(f"{requirement}: not installed")
        elif got != low:
            problems.append(
                f"{requirement}: the lowest version that installs is {got}, not {low}: "
                f"raise the bound to >={got}"
            )
    return sorted(set(problems))


def _by_name(installed: dict[str, str]) -> dict[str, Version]:
    return {canonicalize_name(name): Version(version) for name, version in installed.items()}
