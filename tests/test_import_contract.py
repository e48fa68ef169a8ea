"""The import contract: no import cycles among the project's modules, and the layers hold.

Read from the source with `ast` (nothing is imported, so it is fast and starts no Rasa): every
``import x`` and ``from x import y`` of the project's own packages, at module level or inside a
function, a method or an ``if TYPE_CHECKING:`` block, and every ``importlib.import_module("x")``
with a literal name. A lazy import is still an import: moving one into a function hides a cycle
from Python's start-up order, not from the design.

How an import becomes arrows between modules:

* ``import a.b.c`` — to ``a.b.c`` (or the longest part of it that is a project module);
* ``from a.b import c`` — to ``a.b`` *and* to ``a.b.c`` if that is a module: ``a.b``'s
  ``__init__`` runs first and may be where ``c`` comes from. So a module inside a package names
  its siblings in full (``from xiaoan.runtime.metrics import ...``, ``import xiaoan.runtime.metrics
  as metrics``), never through the package (``from xiaoan.runtime import metrics``): the package's
  ``__init__`` is the top of its package and may import its own modules (``xiaoan.runtime.install``);
* relative imports are resolved against the importing module's package.

The layers (docs/architecture.md, "Layers"): `xiaoan` is the shared ground and imports none of the
processes' packages above it; the action server (`actions`), the Rasa server's channels
(`channels`) and the staff console (`console`) do not import one another, except the console's
use of the staff notices' words (`channels.staff_notices`). The tools (`ops`, `scripts`, `bench`,
`web`) may import anything.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("actions", "channels", "console", "xiaoan", "ops", "scripts", "bench", "web")

# (importer prefix, imported prefix): arrows that break the layers. A prefix matches a module and
# everything inside it ("xiaoan" matches "xiaoan.runtime.health").
FORBIDDEN: Tuple[Tuple[str, str], ...] = (
    *(("xiaoan", above) for above in ("actions", "channels", "console", "ops", "scripts", "bench", "web")),
    ("console", "actions"),
    ("channels", "actions"),
    ("channels", "console"),
    ("actions", "channels"),
    ("actions", "console"),
)
ALLOWED: Tuple[Tuple[str, str], ...] = ()  # exceptions to FORBIDDEN, each with its reason (none today)

def project_modules(root: Path = ROOT) -> Dict[str, Path]:
    """Dotted name -> file, for every .py of the project's packages (a package's __init__ is the package)."""
    found: Dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root)
            if any(part.startswith(".") or part in ("node_modules", "__pycache__") for part in rel.parts):
                continue
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imported_names(tree: ast.AST, name: str, is_package: bool) -> Iterator[str]:
    """Every dotted name `tree` imports, wherever the import statement is."""
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                base = ".".join([*parts, base] if base else parts)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"):
            yield node.args[0].value


def import_graph(root: Path = ROOT) -> Dict[str, Set[str]]:
    """Module -> the project modules it imports."""
    modules = project_modules(root)
    graph: Dict[str, Set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets: Set[str] = set()
        for dotted in _imported_names(tree, name, path.name == "__init__.py"):
            while dotted and dotted not in modules:  # `from a.b import function` is an arrow to a.b
                dotted = dotted.rpartition(".")[0]
            if dotted and dotted != name:
                targets.add(dotted)
        graph[name] = targets
    return graph


def cycles(graph: Dict[str, Set[str]]) -> List[Set[str]]:
    """The knots: strongly connected components of more than one module (Tarjan's algorithm)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    components: List[Set[str]] = []

    def visit(start: str) -> None:  # iterative: no recursion limit to meet
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def describe(graph: Dict[str, Set[str]], component: Set[str]) -> str:
    """One cycle through the knot, and every module in it when there are more."""
    cycle = " -> ".join(_one_cycle(graph, component))
    return cycle if len(component) <= 2 else f"{cycle}  (the knot: {', '.join(sorted(component))})"


def _one_cycle(graph: Dict[str, Set[str]], component: Set[str]) -> List[str]:
    """A shortest path from the knot's first module back to itself."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph.get(node, ())):
                if child == start:
                    return paths[node] + [start]
                if child in component and child not in paths:
                    paths[child] = paths[node] + [child]
                    following.append(child)
        frontier = following
    return sorted(component)  # not reached: a component of more than one module has a cycle


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def layer_breaks(graph: Dict[str, Set[str]]) -> List[str]:
    return sorted(
        f"{importer} -> {imported}"
        for importer, targets in graph.items() for imported in targets
        for low, high in FORBIDDEN
        if _within(importer, low) and _within(imported, high)
        and not any(_within(importer, a) and _within(imported, b) for a, b in ALLOWED)
    )


# ------------------------------------------------------------------ the contract

def test_no_import_cycles_among_the_projects_modules():
    graph = import_graph()
    found = [describe(graph, knot) for knot in cycles(graph)]
    assert not found, "import cycles (lazy imports count too):\n" + "\n".join(found)


def test_the_layers_hold():
    broken = layer_breaks(import_graph())
    assert not broken, ("imports across the layers (docs/architecture.md, Layers):\n" + "\n".join(broken))


# ------------------------------------------------------------------ the checker itself

def _graph_of(tmp_path: Path, files: Dict[str, str]) -> Dict[str, Set[str]]:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return import_graph(tmp_path)


def test_the_checker_sees_lazy_relative_and_package_imports(tmp_path):
    graph = _graph_of(tmp_path, {
        "xiaoan/__init__.py": "",
        "xiaoan/a.py": "def f():\n    from xiaoan.b import g\n",
        "xiaoan/b.py": "from . import c\n",
        "xiaoan/c.py": "import importlib\nimportlib.import_module('xiaoan.a')\n",
        "xiaoan/p/__init__.py": "def install():\n    from xiaoan.p import m\n",
        "xiaoan/p/m.py": "from xiaoan.p import n\n",
        "xiaoan/p/n.py": "",
        "console/__init__.py": "",
        "console/s.py": "def read():\n    from actions.store import find\n",
        "actions/__init__.py": "",
        "actions/store.py": "from xiaoan.c import *\n",
    })
    assert graph["xiaoan.b"] == {"xiaoan", "xiaoan.c"}
    found = {frozenset(c) for c in cycles(graph)}
    assert frozenset({"xiaoan.a", "xiaoan.b", "xiaoan.c"}) in found
    assert frozenset({"xiaoan.p", "xiaoan.p.m"}) in found  # the __init__ and a module reaching back up
    assert layer_breaks(graph) == ["console.s -> actions.store"]
    knot = next(k for k in cycles(graph) if "xiaoan.a" in k)
    assert describe(graph, knot).startswith("xiaoan.a -> xiaoan.b -> xiaoan.c -> xiaoan.a")
