"""The package's imports point one way (docs/method.md, "Where things live").

Reads every import of every module of ``noisyskl`` (inside functions too)
from the source, and checks that there is no cycle and that no module
imports one of a layer above its own.
"""

import ast
from pathlib import Path

import noisyskl

PACKAGE = Path(noisyskl.__file__).parent

#: The layers, top first, as docs/method.md draws them (a module may import
#: its own layer's modules, without a cycle, and any layer below).
LAYERS = [
    {"__main__", "_cli", "_demo", "__init__"},
    {"_classifier"},
    {"_second_round"},
    {"_refit"},
    {"_net"},
    {"_predict", "_results", "plotting"},
    {"_annotator_reports"},
    {"_validation", "_data", "_datasets", "_review"},
    {"_state", "_loss", "_density", "_distributed", "_seeding", "_modules", "noise"},
    {"_annotators", "_labels", "_fit_input", "_report", "_review_page"},
    {"_functional", "functional"},
    {"_votes", "_flags", "_semi", "_once", "_signals", "_split", "_averaging"},
]


def imports_of(path):
    """The ``noisyskl`` modules ``path`` imports (relative or absolute), anywhere in it."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:  # from . import x
                found.update(alias.name for alias in node.names)
            elif node.level == 0 and (node.module or "").startswith("noisyskl."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names
                         if a.name.startswith("noisyskl."))
    return found


def graph(package=PACKAGE):
    """Module -> the package's modules it imports (top-level ``.py`` files)."""
    modules = {p.stem: p for p in package.glob("*.py")}
    return {name: imports_of(path) & set(modules) - {name} for name, path in modules.items()}


def upwards(edges, layers):
    """The imports of a module from a layer above its own."""
    layer = {name: i for i, names in enumerate(layers) for name in names}
    return sorted((a, b) for a, targets in edges.items() for b in targets
                  if layer[b] < layer[a])


def a_cycle(edges):
    """One import cycle as a list of modules, or None."""
    state = {}

    def visit(name, trail):
        if state.get(name) == "done":
            return None
        if state.get(name) == "open":
            return [*trail[trail.index(name):], name]
        state[name] = "open"
        for target in sorted(edges[name]):
            found = visit(target, [*trail, name])
            if found:
                return found
        state[name] = "done"
        return None

    for name in sorted(edges):
        found = visit(name, [])
        if found:
            return found
    return None


def test_every_module_has_a_layer():
    placed = set().union(*LAYERS)
    assert set(graph()) <= placed, set(graph()) - placed


def test_no_import_cycle_and_no_import_upwards():
    edges = graph()
    assert a_cycle(edges) is None, " -> ".join(a_cycle(edges))
    assert upwards(edges, LAYERS) == []


def test_the_checks_find_a_cycle_and_an_upward_import(tmp_path):
    # (they can fail: two modules that import each other, one inside a function)
    (tmp_path / "_low.py").write_text("def f():\n    from ._high import g\n")
    (tmp_path / "_high.py").write_text("from noisyskl._low import f\n")
    edges = graph(tmp_path)
    assert edges == {"_low": {"_high"}, "_high": {"_low"}}
    assert a_cycle(edges) in (["_high", "_low", "_high"], ["_low", "_high", "_low"])
    assert upwards(edges, [{"_high"}, {"_low"}]) == [("_low", "_high")]
