"""Imports flow one way: a module never imports a module of a later stage."""

import ast
from pathlib import Path

ORDER = ["errors", "escaping", "words", "dates", "urls", "yamlmarks", "model", "wikilinks", "fields", "load",
         "validate", "link", "deps", "jsontext", "structured", "charts", "markdown", "pages", "search", "exports", "feeds", "outputs", "incremental", "render", "prepare", "write", "check",
         "project", "cache", "walk", "pipeline", "preview", "scaffold", "serve", "cli"]
PACKAGE = Path(__file__).resolve().parent.parent / "dossier"


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:  # from . import a, b
                found.update(alias.name for alias in node.names)
    return found


def test_every_module_is_in_the_order():
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert modules <= set(ORDER), modules - set(ORDER)


def test_imports_only_flow_to_earlier_stages():
    for path in PACKAGE.glob("*.py"):
        if path.stem == "__init__":
            continue
        position = ORDER.index(path.stem)
        for name in imported_modules(path):
            assert ORDER.index(name) < position, f"{path.stem} imports later stage {name}"
