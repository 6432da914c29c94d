"""The package's shape: no import cycles among fsutils modules (the import graph read with the
standard library's ast), no module over 450 lines, a lean Pipeline, the garment vocabulary and the
settings readable without torch."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "fsutils"


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """Module → the fsutils modules it imports (anywhere in it, function bodies included)."""
    mods = modules()
    graph = {}
    for name, path in mods.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
                for a in node.names:
                    targets.add(f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base)
        graph[name] = {t for t in targets if t in mods and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    graph = import_graph()
    assert "fsutils.garments" in graph["fsutils.segment"]  # relative and absolute imports are read


def test_no_module_over_450_lines_and_a_lean_pipeline():
    long = {n: len(p.read_text(encoding="utf-8").splitlines()) for n, p in modules().items()}
    assert not {n: k for n, k in long.items() if k > 450}
    tree = ast.parse((PACKAGE / "pipeline.py").read_text(encoding="utf-8"))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Pipeline")
    assert cls.end_lineno - cls.lineno + 1 <= 250


@pytest.mark.parametrize("module", ["fsutils.garments", "fsutils.settings", "fsutils.controls"])
def test_leaf_modules_import_without_torch(module):
    code = f"import sys, {module}; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=PACKAGE.parent, timeout=60).returncode == 0


def test_the_stages_list_their_models_from_the_registry():
    from fsutils import garments, weights
    from fsutils.saliency import SALIENCY_WEIGHTS
    from fsutils.segment import CLOTH_WEIGHTS

    assert CLOTH_WEIGHTS == weights.names_for("cloth") and "ccp_deeplab" in CLOTH_WEIGHTS
    assert SALIENCY_WEIGHTS[0] == "u2netp" and set(SALIENCY_WEIGHTS) == {"u2netp", "u2net"}
    assert all(weights.get(n).classes == garments.CLASS_NAMES for n in CLOTH_WEIGHTS)
    assert all(weights.get(n).classes == garments.INSTANCE_CLASSES
               for n in weights.names_for("instances"))
    assert weights.names_for("no such task") == ()


def test_the_command_line_fetches_every_model_it_may_load_before_any_work():
    from fsutils.cli.main import _needed_weights
    from fsutils.cli.options import build_parser

    args = build_parser().parse_args(["p.jpg", "--garments", "upper"])
    needed = _needed_weights(args, {"method": "magenta", "style": "starry_night_vangogh"})
    assert {"ccp_deeplab", "u2netp", "ccp_maskrcnn"} <= set(needed)  # the detector too


def test_the_models_list_the_files_they_will_load_and_leave_out_the_given_ones():
    from fsutils.stages import Models

    assert Models().registry_names() == ["ccp_deeplab", "u2netp", "ccp_maskrcnn"]
    given = Models(saliency=lambda photo: photo, segment_weights="/my/cloth.pt")
    assert given.registry_names() == ["ccp_maskrcnn"]     # a file of one's own is not fetched
    given.use(instances=lambda photo: None)
    assert given.registry_names() == [] and given.hook("garment_mask") is None
    with pytest.raises(ValueError, match="no stage style"):
        given.use(style=None)
