"""README's claims checked against what they describe: which notebooks have which panel, which quick-start lines run offline and which download (and what), and why the
command line's output is smaller than the photo while the Python API's is not."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from fsutils import weights as W

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
NB_DIR = ROOT / "notebooks"


# ------------------------------------------------------------------ which notebooks have a panel
def notebook_rows() -> dict[str, str]:
    """README's notebook table: ``{notebook file: its 'panel' cell}``."""
    head = next(ln for ln in README.splitlines() if ln.startswith("| notebook |"))
    column = [c.strip() for c in head.strip("|").split("|")].index("panel")
    rows = {}
    for ln in README.splitlines():
        m = re.match(r"\| `(\d\d_\w+\.ipynb)` \|", ln)
        if m:
            rows[m.group(1)] = [c.strip() for c in ln.strip("|").split("|")][column]
    return rows


def panels_built(code: str) -> set[str]:
    """The panels of fsutils.widgets that ``code`` builds (pickers are not panels)."""
    import fsutils.widgets as widgets

    kinds = {n for n in widgets.__all__ if n.endswith(("Panel", "Explorer")) and n != "Panel"}
    return {n for n in kinds if re.search(rf"\b{n}\(", code)}


def notebook_code(name: str) -> str:
    cells = json.loads((NB_DIR / name).read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def test_the_intro_counts_the_notebooks_with_a_panel():
    rows = notebook_rows()
    assert sorted(rows) == sorted(p.name for p in NB_DIR.glob("[0-9][0-9]_*.ipynb"))
    intro = " ".join(README.split("| notebook |")[0].split("## Notebooks")[1].split())
    with_panel = [n for n, cell in rows.items() if cell != "none"]
    number = {7: "Seven", 8: "Eight", 9: "All nine"}.get(len(with_panel), str(len(with_panel)))
    assert f"{number} of them have an interactive panel" in intro
    without = sorted(n[:2] for n in rows if n not in with_panel)
    assert f"{' and '.join(without)} have none" in intro
    # and what every notebook ends with: tests/test_notebooks.py::test_notebook_structure
    assert "ends with ideas for what to try next and 2–3 exercises" in intro


@pytest.mark.parametrize("name", sorted(notebook_rows()))
def test_each_notebook_has_the_panel_the_table_names(name):
    cell, built = notebook_rows()[name], panels_built(notebook_code(name))
    if cell == "none":
        assert not built, f"{name} builds {sorted(built)}: name it in README's panel column"
    else:
        panel = re.fullmatch(r"`(\w+)`", cell)
        assert panel, f"{name}: write the panel as `ClassName` or none, not {cell!r}"
        assert panel.group(1) in built, f"{name} builds {sorted(built)}, not {panel.group(1)}"


def test_the_panel_check_tells_panels_from_pickers():
    assert panels_built(notebook_code("07_baselines_and_scores.ipynb")) == set()
    assert panels_built("panel = widgets.InstancePanel(pipe)\nwidgets.PhotoPicker(pipe)") == \
        {"InstancePanel"}


# ---------------------------------------------------------- which quick-start lines download
def quick_start() -> list[tuple[str, list[str]]]:
    """The quick start's commands under their comment headers: ``[(header, argv)]``."""
    block = README.split("## Quick start")[1].split("```bash")[1].split("```")[0]
    header, found = "", []
    for ln in block.strip().splitlines():
        if ln.startswith("#"):
            header = ln.lstrip("# ").strip()
        elif ln.startswith("python -m fsutils"):
            found.append((header, shlex.split(ln, comments=True)[3:]))
    return found


def needed(argv: list[str]) -> list[str]:
    """The registry checkpoints a command line run would load (its own rule)."""
    from fsutils.cli.main import _needed_weights
    from fsutils.cli.options import build_parser
    from fsutils.style import METHODS

    args = build_parser().parse_args(argv)
    style = args.style or METHODS[args.method].default_style
    return _needed_weights(args, {"method": args.method, "style": style})


def downloads(names: list[str]) -> list[str]:
    return [n for n in names if not any(isinstance(s, W.Bundled) for s in W.get(n).sources)]


def test_every_quick_start_line_says_whether_it_downloads():
    lines = quick_start()
    assert len(lines) >= 4 and {h.split(":")[0] for h, _ in lines} == {
        "offline", "downloads on first use"}
    for header, argv in lines:
        get = [] if "--help" in argv else downloads(needed(argv))   # --help loads nothing
        if header.startswith("offline"):
            assert not get, f"{argv} needs {get}, which are not inside the package"
        else:
            said = header.split(":", 1)[1].strip()
            assert said == ", ".join(f"{n} ({W.get(n).size_text})" for n in get), \
                f"{argv}: the README says {said!r}; it downloads {get}"
    assert "FSUTILS_WEIGHTS_MIRROR" in README.split("## Quick start")[1].split("```python")[0]


def test_the_download_check_sees_a_download():
    assert downloads(needed(["p.jpg", "--method", "fast", "--style", "mosaic"])) == \
        ["fast_style/mosaic"]
    assert downloads(needed(["p.jpg", "--saliency-weights", "u2net"])) == ["u2net"]
    assert downloads(needed(["p.jpg", "--garments", "outer,shoe"])) == []


# -------------------------------------------------------------------------- the output size
def test_the_output_size_claim_holds_and_help_explains_it(monkeypatch):
    from PIL import Image

    from fsutils import env, stages
    from fsutils.cli.options import MAX_SIDE, build_parser
    from fsutils.pipeline import Pipeline

    monkeypatch.delenv("FSUTILS_TINY", raising=False)
    photo = Image.new("RGB", (550, 832))
    cpu = env.default_work_size("cpu")
    assert stages.shrink(photo, cpu).size == (338, 512)               # the command line on a CPU
    assert "a 550×832 photo gives 338×512 files on a CPU" in README
    assert Pipeline().photo_size is None and stages.shrink(photo, None).size == (550, 832)
    assert stages.shrink(photo, MAX_SIDE).size == (550, 832)          # never enlarged
    text = " ".join(build_parser().format_help().split())
    assert f"default: {cpu} on a CPU" in text and f"{MAX_SIDE} keeps every photo's own size" in text
    assert "Pipeline does unless given photo_size=" in text
    assert f"`--photo-size {MAX_SIDE}` keeps every photo's own size" in README
