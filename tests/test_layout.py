"""The package layout of lib/advrobust/README.md: imports point down the layers, never up, and the
packages form no cycle (tests/test_layout.py)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[1] / "lib" / "advrobust"

# Bottom to top; a module may import its own layer or any lower one.
LAYERS = [
    {"errors"},
    {"runtime"},
    {"registry", "tables"},
    {"norms"},  # Chapter 6's norm layers, built by the models
    {"data", "models"},
    {"attacks"},
    {"blackbox"},
    {"text"},  # Chapter 3.1's attacks on sequence-to-sequence models
    {"dialogue"},  # Chapter 3.2's negotiation game, self-play and attacks on dialogue agents
    {"defenses"},
    {"training"},
    {"robustness"},
    {"toys"},
    {"plotting"},
    {"jobs"},  # units of work, plans and their executors (reproduction at scale)
    {"profiles"},
    {"experiments"},
    {"pipeline"},
    {"cli", "__init__"},
]
LAYER = {unit: depth for depth, units in enumerate(LAYERS) for unit in units}


def unit_of(module: str) -> str:
    """The top-level unit of ``advrobust.<unit>...``."""
    return module.split(".")[1] if "." in module else "__init__"


def imports(path: Path) -> set[str]:
    """Every ``advrobust`` module imported anywhere in ``path`` (absolute or relative)."""
    package = ["advrobust", *path.relative_to(LIB).with_suffix("").parts][:-1]  # the module's package
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            if module.startswith("advrobust"):
                found.add(module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("advrobust"))
    return found


# ``python -m`` entry points sit above everything (``pipeline/__main__.py`` runs ``advrobust.cli``).
MODULES = sorted(path for path in LIB.rglob("*.py") if path.name != "__main__.py")


def test_every_unit_has_a_layer() -> None:
    units = {path.relative_to(LIB).parts[0].removesuffix(".py") for path in MODULES}
    assert units <= set(LAYER), f"add {units - set(LAYER)} to LAYERS and to lib/advrobust/README.md"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(LIB)))
def test_imports_point_down(path: Path) -> None:
    own = path.relative_to(LIB).parts[0].removesuffix(".py")
    upward = [m for m in imports(path) if m != "advrobust" and LAYER[unit_of(m)] > LAYER[own]]
    assert not upward, f"{path.relative_to(LIB)} (layer {own}) imports from above: {upward}"


def test_packages_form_no_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for path in MODULES:
        own = path.relative_to(LIB).parts[0].removesuffix(".py")
        graph.setdefault(own, set()).update(unit_of(m) for m in imports(path) if m != "advrobust")
    for unit in graph:
        graph[unit].discard(unit)
    seen: set[str] = set()
    stack: list[str] = []

    def visit(unit: str) -> None:
        assert unit not in stack, f"import cycle: {' -> '.join(stack + [unit])}"
        if unit in seen:
            return
        stack.append(unit)
        for other in graph.get(unit, ()):
            visit(other)
        stack.pop()
        seen.add(unit)

    for unit in graph:
        visit(unit)


def test_chapter_packages_import_none_of_their_modules() -> None:
    for package in ("experiments", "plotting", "profiles", "toys"):
        found = imports(LIB / package / "__init__.py") - {f"advrobust.{package}.base"}
        assert not found, f"{package}/__init__.py imports {found}: a chapter would depend on all of them"
