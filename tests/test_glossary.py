"""docs/glossary.md is checked against the code, so the one name per idea it promises holds:
every command-line flag it names is an option of that command, every API name is a parameter or
field of the objects it names, and its one call convention is the style functions' signature.
The panel labels are checked in tests/test_widgets.py (they need a pipeline)."""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

GLOSSARY = Path(__file__).resolve().parents[1] / "docs" / "glossary.md"
COLUMNS = ("idea", "api", "cli", "panel", "notebook")
#: where a name the glossary writes without its module is looked up, in this order
NAMESPACES = ("fsutils.pipeline", "fsutils.style", "fsutils.blend", "fsutils.segment",
              "fsutils.saliency", "fsutils.garments", "fsutils.swap", "fsutils.swap.data",
              "fsutils.training.swap", "fsutils.viz")


def glossary_rows() -> list[dict[str, str]]:
    """The glossary table's rows, each a dict of :data:`COLUMNS` to the cell's text."""
    lines = [line for line in GLOSSARY.read_text(encoding="utf-8").splitlines()
             if line.startswith("| ") and not line.startswith("| idea")]
    rows = [dict(zip(COLUMNS, (c.strip() for c in line.strip().strip("|").split(" | "))))
            for line in lines]
    assert rows and all(len(r) == len(COLUMNS) for r in rows), "the glossary table lost a column"
    return rows


def panel_labels() -> list[str]:
    """Every quoted panel label of the glossary ("style strength", "guided ε" …)."""
    return [label for row in glossary_rows() for label in re.findall(r'"([^"]+)"', row["panel"])]


def test_the_glossary_table_is_read():
    rows = glossary_rows()
    assert len(rows) >= 15
    assert "style_strength" in " ".join(r["api"] for r in rows)
    assert "style strength" in panel_labels()


def _flags(cell: str) -> list[str]:
    return re.findall(r"`(-{1,2}[a-z][\w-]*)", cell)


def _options(parser) -> set[str]:
    return {s for action in parser._actions for s in action.option_strings}


def test_every_command_line_flag_in_the_glossary_is_an_option():
    from fsutils.cli.options import build_parser
    from fsutils.training.cli import build_parser as train_parser

    main = _options(build_parser())
    swap = _options(train_parser()._subparsers._group_actions[0].choices["swap"])
    named = []
    for row in glossary_rows():
        cell = row["cli"]
        kit, _, training = cell.partition("the swap's training:")
        for flag in _flags(kit):
            named.append(flag)
            assert flag in main, f"glossary row {row['idea'][:40]!r}: python -m fsutils has no {flag}"
        for flag in _flags(training):
            named.append(flag)
            assert flag in swap, f"the swap's training has no {flag}"
    assert {"--garments", "--style-strength", "--alpha", "--classes"} <= set(named)


def _resolve(path: str, base: object | None) -> object:
    """``fsutils.a.b`` or ``module.attr`` (under fsutils), a bare ``Name.attr`` from
    :data:`NAMESPACES`, or ``.attr`` of ``base`` (the class named before it in the same list)."""
    if path.startswith("."):
        assert base is not None, f"{path} follows no class"
        return getattr(base, path[1:])
    head = path.split(".")[0]
    for module in (m for m in NAMESPACES if hasattr(importlib.import_module(m), head)):
        try:  # the first namespace where the whole path resolves (fsutils.swap has a viz too)
            return pkgutil.resolve_name(f"{module}:{path}")
        except AttributeError:
            continue
    return pkgutil.resolve_name(path if head == "fsutils" else f"fsutils.{path}")  # segment.overlay


def _takes(obj: object, name: str) -> bool:
    if dataclasses.is_dataclass(obj):
        return name in {f.name for f in dataclasses.fields(obj)}
    return name in inspect.signature(obj).parameters


#: `name=` or `name` (one or more, comma-separated, each maybe with a remark in brackets)
#: followed by the objects that take it in brackets: `strength` (`BlendParams.strength`)
_CLAIM = re.compile(r"((?:`\w+(?:=[^`]*)?`(?: \([^()`]*\))?, )*`\w+(?:=[^`]*)?`) \(([^()]*)\)")


def api_claims() -> list[tuple[str, str, str]]:
    """(name, object, the glossary's text) for every "`name` (`object`, …)" of the API column."""
    claims = []
    for row in glossary_rows():
        for m in _CLAIM.finditer(row["api"]):
            names = re.findall(r"`(\w+)(?:=[^`]*)?`", m.group(1))
            owners = re.findall(r"`([\w.]+)`", m.group(2))
            claims += [(n, o, m.group(0)) for n in names for o in owners]
    return claims


def test_every_api_name_in_the_glossary_is_taken_by_the_objects_it_names():
    claims = api_claims()
    base = None
    for name, owner, text in claims:
        obj = _resolve(owner, base)
        parent = _resolve(owner.rsplit(".", 1)[0], base) if "." in owner.lstrip(".") else None
        base = next((c for c in (obj, parent) if inspect.isclass(c)), base)   # `.result` after it
        if owner.endswith("." + name):                                  # BlendParams.strength
            continue
        assert _takes(obj, name), f"glossary: {text!r}, but {owner} takes no {name!r}"
    checked = {(n, o) for n, o, _ in claims}
    assert {("garments", ".stylize"), ("style_strength", "AdainParams"),
            ("tv_weight", "GatysParams"), ("opacity", "segment.overlay"),
            ("input_size", "SaliencyModel"), ("opacity", "widgets.InstancePanel")} <= checked


def test_every_notebook_symbol_in_the_glossary_is_used_in_the_notebooks():
    code = "\n".join(line for p in (GLOSSARY.parents[1] / "notebooks" / "src").glob("*.py")
                     for line in p.read_text(encoding="utf-8").splitlines()
                     if not line.lstrip().startswith("#"))                 # code, not prose
    symbols = [re.match(r"\w+", s).group(0)
               for row in glossary_rows() for s in re.findall(r"`([^`]+)`", row["notebook"])]
    assert len(symbols) >= 15
    unused = [s for s in symbols if not re.search(rf"\b{s}\b", code)]
    assert not unused, f"docs/glossary.md names notebook symbols no notebook uses: {unused}"


def test_a_wrong_name_in_the_glossary_would_be_found():
    from fsutils.style import GatysParams

    assert not _takes(GatysParams, "tv_weights")
    assert not _takes(_resolve("Pipeline.run", None), "mask_classes")
    with pytest.raises(AttributeError):
        _resolve(".no_such_stage", _resolve("Pipeline", None))


def test_the_glossary_call_convention_is_every_style_function_signature():
    from fsutils.style import adain_transfer, fast_stylize, gatys_transfer, magenta_transfer

    text = GLOSSARY.read_text(encoding="utf-8")
    code = re.search(r"```python\n(fn\(.*?\))\s*\n\s*-> ", text, re.S).group(1)
    written = inspect.signature(eval(f"lambda {code[3:-1]}: None"))     # noqa: S307 (the doc's)
    for fn in (fast_stylize, magenta_transfer, adain_transfer, gatys_transfer):
        real = inspect.signature(fn).parameters
        for name, p in written.parameters.items():
            assert name in real, f"{fn.__name__} has no {name}"
            assert real[name].kind == p.kind, f"{fn.__name__}: {name} is {real[name].kind}"
            if p.default is not inspect.Parameter.empty:
                assert real[name].default == p.default, f"{fn.__name__}: {name}={real[name].default}"
        positional = [n for n, p in real.items() if p.kind is p.POSITIONAL_OR_KEYWORD]
        assert positional == ["content", "style", "params"], fn.__name__
