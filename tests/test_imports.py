"""Imports point one way (the layer table of docs/architecture.md) and form no cycle; nothing outside the CLI
imports it. Checked by parsing every module of src/aekit and benchmarks/ with ``ast`` (no import side effects)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "aekit"

# lower layers never import higher ones; a module may import its own layer (no cycles, checked below).
# The first matching prefix wins (most specific first).
LAYERS: list[tuple[str, int]] = [
    ("aekit.cli", 8),
    ("aekit.__main__", 8),
    ("aekit.api", 7),
    ("aekit", 7),  # the package itself: aekit.train / aekit.recipes, loaded lazily
    ("aekit.recipes", 6),
    ("aekit.experiments", 5),
    ("aekit.inference", 5),  # evaluators use the experiments' PCA comparison
    ("aekit.report.explorer", 5),  # aekit explore is a flow (encodes, clusters): it sits with the experiments
    ("aekit.engine", 4),
    ("aekit.tiling", 4),
    ("aekit.exporters", 5),  # aekit.export(run): options checked as evaluate/predict do (aekit.inference)
    ("aekit.tasks", 3),
    ("aekit.report", 3),
    ("aekit.losses", 2),
    ("aekit.metrics", 2),
    ("aekit.io", 2),
    ("aekit.models", 2),
    ("aekit.data", 2),
    ("aekit.config", 1),
    ("aekit.nn", 0),
    ("aekit.registry", 0),
]


def layer(module: str) -> int:
    for prefix, n in LAYERS:
        if module == prefix or (prefix != "aekit" and module.startswith(prefix + ".")):
            return n
    if module.startswith("aekit."):
        raise AssertionError(f"{module} is in no layer: add it to LAYERS and docs/architecture.md")
    return LAYERS[[p for p, _ in LAYERS].index("aekit")][1]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, name: str) -> list[tuple[str, bool]]:
    """(imported aekit module, at module level?) for every import in ``path``, relative ones resolved."""
    tree = ast.parse(path.read_text())
    top = set(map(id, tree.body))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []

    def visit(node: ast.AST, module_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            level = module_level and id(child) in top or (module_level and isinstance(node, ast.If))
            if isinstance(child, ast.Import):
                out.extend((a.name, level) for a in child.names if a.name.split(".")[0] == "aekit")
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                if base.split(".")[0] == "aekit":
                    for a in child.names:  # "from aekit.x import y": y may be a module
                        out.append((f"{base}.{a.name}" if _is_module(f"{base}.{a.name}") else base, level))
            visit(child, level and isinstance(child, (ast.If, ast.Try)))

    visit(tree, True)
    return out


def _is_module(name: str) -> bool:
    rel = Path(*name.split(".")[1:])
    return (SRC / rel).with_suffix(".py").is_file() or (SRC / rel / "__init__.py").is_file()


MODULES = {module_name(p): p for p in sorted(SRC.rglob("*.py"))}
BENCHMARKS = sorted((ROOT / "benchmarks").rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    for name in MODULES:
        layer(name)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down_the_layers(name: str) -> None:
    mine = layer(name)
    for target, _ in imports(MODULES[name], name):
        if target == "aekit" and name != "aekit":
            continue  # "from aekit import ..." of a submodule is resolved above; the bare package is the facade
        if target.startswith("aekit.cli"):
            assert name.startswith("aekit.cli") or name == "aekit.__main__", f"{name} imports the CLI ({target})"
        assert layer(target) <= mine, f"{name} (layer {mine}) imports {target} (layer {layer(target)})"


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda p: p.name)
def test_benchmarks_import_the_library_not_the_cli(path: Path) -> None:
    for target, _ in imports(path, "benchmarks." + path.stem):
        assert not target.startswith("aekit.cli"), f"{path.name} imports {target}"


def test_no_import_cycle_among_module_level_imports() -> None:
    graph = {name: {t for t, top in imports(path, name) if top and t in MODULES and t != name}
             for name, path in MODULES.items()}  # fmt: skip
    # a package's __init__ importing its own submodules is how packages work, not a cycle
    graph = {n: {t for t in ts if not (n and t.startswith(n + "."))} for n, ts in graph.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for t in sorted(graph[n]):
            if state.get(t) == 1:
                cycle = stack[stack.index(t):] + [t]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if t not in state:
                dfs(t)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            dfs(n)


def test_the_checker_sees_function_level_imports(tmp_path: Path) -> None:
    """The direction rule counts imports inside functions too (they run, just later)."""
    path = tmp_path / "x.py"
    path.write_text("def f():\n    from aekit.cli.main import main\n    return main\n")
    assert imports(path, "aekit.x") == [("aekit.cli.main", False)]
