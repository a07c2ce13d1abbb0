"""The library's layout keeps its promises: no import circle, lower layers never import higher
ones, one mechanism per idea.

Everything here reads source with ``ast``; nothing is imported or executed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "runbook_lib"
SECTIONS = (
    "root_usage",
    "admin_user",
    "access_key",
    "virtual_mfa",
    "password_policy",
    "unused_credentials",
)
#: package -> the runbook_lib packages it must never import
FORBIDDEN = {
    "core": ("widgets", "run", "org", "interfaces", "authoring", "testing", "manual", *SECTIONS),
    **{s: ("run", "org", "interfaces", "authoring", "testing") for s in SECTIONS},
    "widgets": ("run", "org", "interfaces", "authoring", "testing", "manual", *SECTIONS),
    "manual": ("run", "org", "interfaces", "authoring", "testing", *SECTIONS),
    "run": ("org", "interfaces", "authoring"),
    "org": ("interfaces", "authoring"),
    # one account's fix loop (audit -> runbooks -> audit): uses run/, never the fan-out
    "fix": ("org", "interfaces", "authoring"),
    # what maintainers run sits beside the front ends: it uses run/ and core/, never them
    "authoring": ("interfaces", "widgets", "testing", "manual", *SECTIONS),
}
#: the one module each idea lives in (botocore's errors, paginators, secret files)
ONLY_IN = {
    "botocore.exceptions": {"runbook_lib.core.aws", "runbook_lib.core.target"},
    "botocore.parsers": {"runbook_lib.core.aws"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


@dataclass(frozen=True)
class Import:
    """One import statement: what it names, where (line), and in which module."""

    module: str
    target: str
    line: int


def _resolve(importer: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    is_package = MODULES[importer].name == "__init__.py"
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(name: str) -> Iterator[Import]:
    """Every import in a module, function-level and TYPE_CHECKING ones included."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(name, node)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield Import(name, sub if sub in MODULES else base, node.lineno)


def internal_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name in MODULES:
        for imp in imports_of(name):
            if imp.target in MODULES and imp.target != name:
                graph[name].add(imp.target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle (as a path that ends where it starts), or ``[]``."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def layer(name: str) -> str:
    """The top-level part of ``runbook_lib`` a module belongs to (``core``, ``widgets``...)."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


# ---- (a) no import circle ----------------------------------------------------------------
def test_the_checker_finds_a_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_one_that_imports_it_back() -> None:
    cycle = find_cycle(internal_graph())
    assert not cycle, "import circle: " + " -> ".join(cycle)


# ---- (b) layering ------------------------------------------------------------------------
def layering_violations() -> list[str]:
    found = []
    for name in MODULES:
        banned = FORBIDDEN.get(layer(name), ())
        for imp in imports_of(name):
            if imp.target.startswith("runbook_lib.") and layer(imp.target) in banned:
                found.append(f"{name}:{imp.line} imports {imp.target}")
    return found


def test_lower_layers_never_import_higher_ones() -> None:
    """core ← sections ← run ← org ← interfaces and authoring; widgets and manual steps sit
    beside the sections."""
    assert layering_violations() == []


def test_only_widgets_import_ipywidgets() -> None:
    found = [
        f"{imp.module}:{imp.line}"
        for name in MODULES
        for imp in imports_of(name)
        if imp.target.split(".")[0] == "ipywidgets" and layer(name) != "widgets"
    ]
    assert found == []


def test_botocore_errors_are_translated_at_one_edge() -> None:
    """One AWS call wrapper (``core.aws``): nobody else catches botocore's errors."""
    found = [
        f"{imp.module}:{imp.line} imports {imp.target}"
        for name in MODULES
        for imp in imports_of(name)
        for banned, allowed in ONLY_IN.items()
        if imp.target.startswith(banned) and name not in allowed
    ]
    assert found == []


def test_paginators_are_used_through_the_wrapper() -> None:
    found = [
        f"{name}:{node.lineno}"
        for name, path in MODULES.items()
        if name != "runbook_lib.core.aws"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr == "get_paginator"
    ]
    assert found == []
