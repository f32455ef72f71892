"""Which modules of a package a Python source imports, directly or through other modules.

The walk reads sources and never runs them. It parses a file with :mod:`ast`, collects every
``import`` and ``from ... import`` statement wherever it stands (module level, inside functions,
classes, ``if`` or ``try`` blocks), keeps those naming the package, and walks each module found in
turn. ``from pkg.a import b`` counts ``pkg/a/b.py`` when ``b`` is a submodule, and relative imports
are resolved against the importing module's package. Importing ``pkg.a.b`` runs
``pkg/a/__init__.py`` first, so the parent packages' ``__init__`` files are dependencies (and are
walked) too, except the root package's own ``__init__.py``: it imports only what every module
needs, and walking it would make every source depend on the whole package. Modules imported by
name at run time (``importlib.import_module``) are not seen.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path


def imported_modules(source: Path, package_dir: Path) -> list[Path]:
    """The files of the package at ``package_dir`` that ``source`` imports, transitively, sorted.

    ``source`` may lie outside the package (a chapter) or inside it (then it is not listed itself
    unless something it imports imports it back).
    """
    package_dir = package_dir.resolve()
    found: set[Path] = set()
    pending = [source.resolve()]
    while pending:
        path = pending.pop()
        for module in _imported_names(path, _package_of(path, package_dir)):
            for name in _with_parents(module, package_dir.name):
                file = _module_file(name, package_dir)
                if file is not None and file not in found:
                    found.add(file)
                    pending.append(file)
    return sorted(found)


def _module_file(name: str, package_dir: Path) -> Path | None:
    """The file of module ``name`` (dotted, starting with the package's name) in ``package_dir``.

    A package's file is its ``__init__.py``; ``None`` when ``name`` is no module there (an
    attribute, or a namespace package, which has no file to run).
    """
    base = package_dir.joinpath(*name.split(".")[1:])
    for candidate in (base / "__init__.py", base.with_name(base.name + ".py")):
        if candidate.is_file():
            return candidate
    return None


def _package_of(path: Path, package_dir: Path) -> str | None:
    """Dotted name of the package holding ``path`` (what ``from . import`` means there), or ``None``
    for a file outside the package."""
    if not path.is_relative_to(package_dir):
        return None
    parts = (package_dir.name, *path.relative_to(package_dir).parts)
    return ".".join(parts[:-1])


def _imported_names(path: Path, package: str | None) -> Iterator[str]:
    """Every dotted name ``path`` imports, and ``base.name`` for each ``from base import name``.

    A file that does not parse yields nothing: executing it will report the error.
    """
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError:
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            if base is None:
                continue
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names if alias.name != "*")


def _absolute(node: ast.ImportFrom, package: str | None) -> str | None:
    """The absolute module name of a ``from`` import; ``None`` for a relative import that cannot
    be resolved (outside the package, or above its root)."""
    if node.level == 0:
        return node.module
    if package is None:
        return None
    parts = package.split(".")
    if node.level > len(parts):
        return None
    base = parts[: len(parts) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _with_parents(name: str, root: str) -> Iterator[str]:
    """``root.a``, ``root.a.b``, ... ``name``: what importing ``name`` runs, the root left out.

    Nothing for a module outside the package ``root``.
    """
    parts = name.split(".")
    if parts[0] != root:
        return
    yield from (".".join(parts[:end]) for end in range(2, len(parts) + 1))
