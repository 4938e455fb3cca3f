"""The import graph: no cycles between placer's modules (function-level
imports included), every import points down the layers, and `import placer`
stays light."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import networkx as nx
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

# The layers, lowest first. A module may import its own layer or lower ones.
LAYERS = [
    ("placer.errors", "placer.compile_cache", "placer.config", "placer.netlist",
     "placer.checkpoint", "placer.run_log", "placer.cost.terms"),
    ("placer.cost", "placer.gridding", "placer.legality", "placer.synth",
     "placer.cluster"),
    ("placer.env", "placer.stdcell"),
    ("placer.search",),
    ("placer.models",),
    ("placer.reward_model",),
    ("placer.rl",),
    ("placer.quant",),
    ("placer.placers",),
    ("placer.api", "placer.viz", "placer.bench", "placer.cli", "placer"),
]


def modules() -> dict[str, pathlib.Path]:
    out = {}
    for p in (ROOT / "placer").rglob("*.py"):
        parts = list(p.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def import_graph() -> nx.DiGraph:
    """module -> the placer modules it imports anywhere in its body."""
    mods = modules()

    def resolve(name: str) -> str:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name

    g = nx.DiGraph()
    for m, p in mods.items():
        g.add_node(m)
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and \
                    node.module and node.module.split(".")[0] == "placer":
                # the named modules, and the package itself (its __init__ runs)
                targets = [resolve(f"{node.module}.{a.name}") for a in node.names]
                targets.append(resolve(node.module))
            elif isinstance(node, ast.Import):
                targets = [resolve(a.name) for a in node.names
                           if a.name.split(".")[0] == "placer"]
            for t in targets:
                if t and t != m:
                    g.add_edge(m, t)
    return g


def layer_of(module: str) -> int:
    best, rank = "", None
    for i, layer in enumerate(LAYERS):
        for prefix in layer:
            if (module == prefix or module.startswith(prefix + ".")) and \
                    len(prefix) > len(best):
                best, rank = prefix, i
    assert rank is not None, f"{module} is in no layer; add it to LAYERS"
    return rank


def test_graph_sees_function_level_imports():
    # the checker itself: an import inside a function body counts
    g = import_graph()
    assert g.has_edge("placer.cli", "placer.api")     # imported inside place()


def test_no_import_cycles():
    cycles = list(nx.simple_cycles(import_graph()))
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_imports_point_down():
    g = import_graph()
    up = [f"{a} (layer {layer_of(a)}) imports {b} (layer {layer_of(b)})"
          for a, b in g.edges if layer_of(b) > layer_of(a)]
    assert up == [], "\n".join(up)


@pytest.mark.parametrize("heavy", ["optax", "orbax", "flax", "hydra", "matplotlib"])
def test_import_placer_is_light(heavy):
    """`import placer` loads the RL stack only when it is used."""
    code = (f"import sys, placer; assert not any(m == {heavy!r} or "
            f"m.startswith({heavy!r} + '.') for m in sys.modules), {heavy!r}")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
