"""The layering DESIGN.md sets: an area imports only the areas to its left, `common` imports none, and `main`
and `admin` sit above them all. Read from the source, so that a new import that breaks it fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"

#: Lowest first: each area may import those before it.
LAYERS = ["common", "auth", "hubs", "donors", "contributions", "pipeline"]
ABOVE_ALL = ["main", "admin"]
AREAS = LAYERS + ABOVE_ALL


def allowed(area: str) -> set[str]:
    if area in ABOVE_ALL:
        return set(AREAS)
    return set(LAYERS[: LAYERS.index(area) + 1])


def imported_areas(path: Path) -> set[tuple[str, int]]:
    """(area, line) of every import of an app area in a module, absolute or relative, at any depth."""
    package = path.relative_to(APP.parent).with_suffix("").parts[:-1]  # ("app", "contributions", "services")
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                names = [".".join([*base, node.module] if node.module else base)]
                if not node.module:  # from .. import contributions
                    names = [".".join([*base, alias.name]) for alias in node.names]
            else:
                names = [node.module or ""]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if len(parts) >= 2 and parts[0] == "app" and parts[1] in AREAS:
                found.add((parts[1], node.lineno))
    return found


def modules_of(area: str) -> list[Path]:
    return sorted((APP / area).rglob("*.py"))


@pytest.mark.parametrize("area", AREAS)
def test_an_area_imports_only_the_areas_below_it(area):
    wrong = [
        f"{path.relative_to(APP.parent)}:{line} imports {imported}"
        for path in modules_of(area)
        for imported, line in sorted(imported_areas(path))
        if imported not in allowed(area)
    ]
    assert wrong == []


def test_the_check_reads_relative_imports_at_any_depth():
    assert "common" in {area for area, _line in imported_areas(APP / "hubs" / "services.py")}  # from ..common
    ageing = APP / "contributions" / "services" / "ageing.py"
    assert "hubs" in {area for area, _line in imported_areas(ageing)}  # from ...hubs.models
