#!/usr/bin/env python3
"""Check cog_core's import graph: no cycle, and no import running up a floor.

Every import of a cog_core module counts, at module level or inside a function, so an import
cannot hide in a function to dodge a cycle. A module's floor is its folder (top-level modules
sit on the ground floor); a module may import from its own floor or any below it. Exit status 1,
with each offending import named, when the house breaks the rule; `--graph` prints the floors.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "cog_core"
ROOT = Path(__file__).resolve().parent.parent / "src" / "cog_core" / PACKAGE

# Lowest first. The paper's parts (vision .. data) form one storey, ordered where one of them
# uses another: the simulator runs a scripted grasp at reset, the converter reads bags.
FLOORS = ("", "robot", "vision", "scripted", "sim", "bag", "data", "stations", "rl", "experiments", "cli")


def module_name(path: Path, root: Path) -> str:
    """Dotted module name of a file under `root` (a package's __init__ is the package)."""
    parts = [PACKAGE, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def floor_of(module: str, root: Path) -> str:
    """The floor of a cog_core module: its first sub-package, or "" for top-level modules
    (`python -m cog_core` is the CLI's)."""
    if module == f"{PACKAGE}.__main__":
        return "cli"
    parts = module.split(".")
    if len(parts) > 1 and (root / parts[1]).is_dir():
        return parts[1]
    return ""


def imports_of(path: Path, modules: set[str], root: Path) -> Iterator[tuple[int, str]]:
    """(line, imported cog_core module) for every import statement in `path`, anywhere in it."""
    this = module_name(path, root)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import mod` imports the module pkg.mod; `from mod import name` imports mod
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        found = set()
        for target in targets:
            while target and target not in modules:  # `import a.b.c` of a name inside a module
                target = target.rpartition(".")[0]
            if target and target.split(".")[0] == PACKAGE and target != this:
                found.add(target)
        for target in sorted(found):
            yield node.lineno, target


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main(argv: list[str] | None = None) -> int:
    """Print what breaks the rule (exit 1) or a one-line summary (exit 0)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", action="store_true", help="also print every module by floor with what it imports")
    parser.add_argument("--root", type=Path, default=ROOT, help="the cog_core package folder to check (default: this checkout's)")
    args = parser.parse_args(argv)
    return check(args.root.resolve(), show_graph=args.graph)


def check(root: Path, show_graph: bool = False) -> int:
    """Check the package folder `root`; print the problems (1) or a summary (0)."""
    files = sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)
    modules = {module_name(p, root) for p in files}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    problems = []
    for path in files:
        this = module_name(path, root)
        for line, target in imports_of(path, modules, root):
            graph[this].add(target)
            mine, theirs = floor_of(this, root), floor_of(target, root)
            if mine not in FLOORS or theirs not in FLOORS:
                problems.append(f"{path.relative_to(root.parent)}:{line}: {this} -> {target}: "
                                f"floor {mine or theirs!r} is not in FLOORS (scripts/check_imports.py); place it")
            elif FLOORS.index(theirs) > FLOORS.index(mine):
                problems.append(f"{path.relative_to(root.parent)}:{line}: {this} imports {target}, "
                                f"a floor up ({mine or 'ground'} < {theirs}); move the shared code down")
    for cycle in find_cycles(graph):
        problems.append("import cycle: " + " -> ".join(cycle) + "; break it by moving the shared code down a module")
    if show_graph:
        for floor in FLOORS:
            print(f"[{floor or 'ground'}]")
            for m in sorted(m for m in modules if floor_of(m, root) == floor):
                print(f"  {m}: {', '.join(sorted(graph[m])) or '-'}")
    for p in problems:
        print(p, file=sys.stderr)
    edges = sum(len(v) for v in graph.values())
    if problems:
        print(f"check_imports: {len(problems)} problem(s) in {len(modules)} modules", file=sys.stderr)
        return 1
    print(f"check_imports: {len(modules)} modules on {len(FLOORS)} floors, {edges} imports, no cycle, none upward")
    return 0


if __name__ == "__main__":
    sys.exit(main())
