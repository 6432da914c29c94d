"""The course tells the truth: clean text, one source for every quoted figure and default, exercises
with collapsed solutions, and the fixes they rely on (training summary, panel sizes and captions).

The browser rendering of every markdown cell (MathJax errors) is in tests/test_notebook_render.py.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from fsutils import course

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "notebooks" / "src").glob("[0-9][0-9]_*.py"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
README = ROOT / "README.md"
RESULTS = ROOT / "docs" / "results.md"
# Control characters: what "\v", "\t", "\f", "\b" in a non-raw Python string make of LaTeX.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
SOLUTION = re.compile(r'^#\s*@title Solution (\d)\b.*display-mode:\s*"form"')


def names(paths):
    return [p.name for p in paths]


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def text(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def flat(s: str) -> str:
    """Markdown without emphasis, whitespace collapsed (for prose that wraps lines)."""
    return " ".join(s.replace("**", "").split())


# ----------------------------------------------------------------------------- clean text


def test_the_course_is_there():
    assert len(SOURCES) == len(NOTEBOOKS) == 9


@pytest.mark.parametrize("path", SOURCES + [README, RESULTS],
                         ids=names(SOURCES + [README, RESULTS]))
def test_text_sources_hold_no_control_characters(path):
    found = [(n, repr(m.group())) for n, line in enumerate(path.read_text(encoding="utf-8")
                                                             .splitlines(), 1)
             for m in CONTROL.finditer(line)]
    assert not found, f"{path.name}: control characters (line, char): {found[:10]} — a LaTeX " \
                      "backslash read as an escape sequence?"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=names(NOTEBOOKS))
def test_notebook_cells_hold_no_control_characters(path):
    # the .ipynb is JSON: "\u000b" on disk is a vertical tab in the cell, so look at the cells
    found = [(i, repr(m.group())) for i, c in enumerate(cells(path)) for m in CONTROL.finditer(
        text(c).replace("\n", ""))]
    assert not found, f"{path.name}: control characters (cell, char): {found[:10]}"


def test_the_control_character_check_catches_a_lost_backslash():
    assert CONTROL.search("$\vec s = P(\text{painting})$")        # what the broken source held
    assert not CONTROL.search(r"$\vec s = P(\text{painting})$")


# ------------------------------------------------------------------ one place for each figure


def test_the_documents_hold_the_measured_tables():
    """README's results paragraph and every table of docs/results.md are fsutils.course's text
    (``python tools/notebooks.py build`` writes them; ``check`` compares)."""
    readme, results = README.read_text(encoding="utf-8"), RESULTS.read_text(encoding="utf-8")
    assert "\n".join(course.headline()) in readme, "README's results differ from measured.toml; " \
        "run: python tools/notebooks.py build"
    for name, make in course.GENERATED.items():
        if make is not course.headline:
            assert "\n".join(make()) in results, f"docs/results.md's {name} differs from " \
                "fsutils/assets/measured.toml; run: python tools/notebooks.py build"


def test_the_headline_quotes_the_default_models_test_row():
    d = course.defaults()
    (test,) = course.segmentation_rows(d["cloth segmentation"], "test")
    text = "\n".join(course.headline())
    assert f"**{test['mean_iou_garments']:.3f}**" in text and d["cloth segmentation"] in text
    assert f"{course.figures()['ccp_splits']['test']} test photos" in text
    assert f"**{course.blend_scores()[d['blend mode']]['edge_contrast']:.3f}**" in text


def test_results_prose_quotes_the_measured_splits():
    results = flat(RESULTS.read_text(encoding="utf-8"))
    splits = course.figures()["ccp_splits"]
    assert (f"{splits['train']} training, {splits['val']} validation and {splits['test']} test "
            "photos") in results


def test_the_build_tool_writes_the_measured_tables_between_their_markers():
    from tools import notebooks as tool

    stale = "intro\n<!-- fsutils.course.blend_table -->\n| old |\n<!-- end fsutils.course.blend_table -->\n"
    assert tool.generated(stale) == ("intro\n<!-- fsutils.course.blend_table -->\n"
                                     + "\n".join(course.blend_table())
                                     + "\n<!-- end fsutils.course.blend_table -->\n")
    with pytest.raises(SystemExit, match="no such generated text"):
        tool.generated("<!-- fsutils.course.nothing -->\n<!-- end fsutils.course.nothing -->")


def test_no_notebook_types_a_measured_figure():
    """A figure of measured.toml is read (fsutils.course) or computed in a notebook, never typed."""
    def numbers(value):
        if isinstance(value, float):
            yield f"{value:.3f}"
        elif isinstance(value, dict):
            for v in value.values():
                yield from numbers(v)
        elif isinstance(value, list):
            for v in value:
                yield from numbers(v)

    measured = set(numbers(course.figures()))
    assert {"0.710", "0.562", "0.549"} <= measured
    typed = {p.name: sorted(n for n in measured if n in p.read_text(encoding="utf-8"))
             for p in SOURCES}
    assert not any(typed.values()), f"measured figures typed into notebooks: {typed}"


def test_the_measured_scores_match_the_kit():
    from fsutils.blend import MODES

    assert list(course.blend_scores()) == list(MODES)
    assert {r["model"].split(",")[0] for r in course.segmentation_rows()} <= {"ccp_deeplab",
                                                                              "ccp_u2netp"}
    best = max(course.blend_scores().items(), key=lambda kv: kv[1]["edge_contrast"])[0]
    assert best == course.defaults()["blend mode"], "README's results say the default has the " \
                                                    "best edge contrast"


def test_defaults_are_the_ones_the_kit_uses():
    import inspect

    from fsutils.pipeline import Pipeline
    from fsutils.segment import ClothSegmenter
    from fsutils.style.methods import METHODS

    d = course.defaults()
    assert inspect.signature(ClothSegmenter).parameters["weights"].default == d["cloth segmentation"]
    assert next(iter(METHODS)) == d["style method"]
    assert inspect.signature(Pipeline.run).parameters["method"].default == d["style method"]


@pytest.mark.parametrize("path", SOURCES, ids=names(SOURCES))
def test_every_notebook_prints_the_defaults(path):
    assert 'print("the kit\'s defaults:", course.defaults())' in path.read_text(encoding="utf-8")


def test_notebook_01_segments_with_the_default_model():
    src = (ROOT / "notebooks" / "src" / "01_cloth_segmentation.py").read_text(encoding="utf-8")
    assert "ClothSegmenter()" in src and "ccp_u2netp" not in src
    assert course.defaults()["cloth segmentation"] in src


# ------------------------------------------------------------------------------ exercises


@pytest.mark.parametrize("path", NOTEBOOKS, ids=names(NOTEBOOKS))
def test_each_notebook_ends_with_exercises_and_collapsed_solutions(path):
    nb = cells(path)
    start = max(i for i, c in enumerate(nb) if c["cell_type"] == "markdown"
                and text(c).startswith("## Exercises"))
    assert not any(text(c).startswith("## ") for c in nb[start + 1:]
                   if c["cell_type"] == "markdown"), "the exercises must come last"
    solutions = [c for c in nb[start:] if c["cell_type"] == "code"]
    assert 2 <= len(solutions) <= 3, f"{len(solutions)} solutions"
    for k, cell in enumerate(solutions, 1):
        assert SOLUTION.match(text(cell)) and SOLUTION.match(text(cell)).group(1) == str(k)
        assert cell["metadata"].get("jupyter", {}).get("source_hidden") is True, \
            f"solution {k} is not collapsed in JupyterLab"
        before = nb[nb.index(cell) - 1]
        assert before["cell_type"] == "markdown" and f"**{k}.**" in text(before), \
            f"solution {k} does not follow its exercise"
    # nothing else is collapsed
    others = [i for i, c in enumerate(nb) if c["metadata"].get("jupyter") and c not in solutions]
    assert not others


# Pipeline methods that tell the panels to redraw (a new photo, a new stylised image).
REDRAWING = {"set_image", "stylize", "run"}


def changes_earlier_state(code: str) -> list[str]:
    """What a cell does to objects that earlier cells made and show: an attribute or item set on
    them, or a pipeline call that makes the panels on that pipeline redraw."""
    import ast

    tree = ast.parse("\n".join(ln for ln in code.splitlines()
                               if not ln.lstrip().startswith(("!", "%"))))
    own = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}

    def base(node):
        """The earlier name that ``node`` reaches through attributes and items (None through a
        call: a call's result is a new object)."""
        while isinstance(node, ast.Attribute | ast.Subscript):
            node = node.value
        return node.id if isinstance(node, ast.Name) else None

    def earlier(node) -> bool:
        return base(node) is not None and base(node) not in own

    found = []
    for n in ast.walk(tree):
        targets = n.targets if isinstance(n, ast.Assign) else \
            [n.target] if isinstance(n, ast.AugAssign | ast.AnnAssign) else []
        found += [ast.unparse(t) for t in targets
                  if isinstance(t, ast.Attribute | ast.Subscript) and earlier(t)]
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) \
                and n.func.attr in REDRAWING and earlier(n.func):
            found.append(ast.unparse(n))
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=names(NOTEBOOKS))
def test_solutions_leave_what_earlier_cells_show_as_it_was(path):
    """A solution runs after the notebook's panels: it may read them and the pipeline, and make
    its own, but setting an earlier panel's ticks or restyling the shared pipeline would change
    what the cells above show (and what their prose describes)."""
    bad = {SOLUTION.match(text(c)).group(1): changes_earlier_state(text(c))
           for c in cells(path) if c["cell_type"] == "code" and SOLUTION.match(text(c))}
    assert not any(bad.values()), f"{path.name}: solutions change earlier state: {bad}"


def test_the_solution_check_sees_a_changed_panel_and_a_restyled_pipeline():
    assert changes_earlier_state('panel.garments = ["shoe", "bag"]\npanel') == ["panel.garments"]
    assert changes_earlier_state('pipe.stylize("fast", "mosaic")') == ['pipe.stylize('
                                                                      "'fast', 'mosaic')"]
    assert changes_earlier_state('p = Pipeline().set_image(photo)\np.stylize("fast", "mosaic")\n'
                                 'own = widgets.InstancePanel(pipe)\nown.garments = ["bag"]') == []


def test_the_build_tool_collapses_only_form_cells():
    from tools import notebooks as tool

    assert tool.collapsed('# @title Solution 1 { display-mode: "form" }\nx = 1')
    assert not tool.collapsed("# @title Solution 1\nx = 1")           # a visible Colab form
    assert not tool.collapsed('x = 1\n# @title Solution 1 { display-mode: "form" }')


# ------------------------------------------------------------------ training demo summary


def _tiny_ccp(tmp_path, n=12):
    from tests.ccp_fixture import person_groundtruth, write_ccp

    items = {f"{i:04d}": person_groundtruth(48, 32, "shirt" if i % 2 else "dress",
                                            "pants" if i % 2 else None) for i in range(1, n + 1)}
    return write_ccp(tmp_path / "ccp", items), sorted(items)


@pytest.mark.slow
def test_a_run_stopped_on_an_epochs_last_step_counts_it_and_its_bar_ends_full(tmp_path, capsys):
    import torch

    from fsutils.data import split_ids
    from fsutils.models import U2NETP
    from fsutils.training import fit
    from fsutils.training.cloth import ClothConfig, ClothTask

    root, ids = _tiny_ccp(tmp_path)
    init = tmp_path / "u2netp.pth"
    torch.manual_seed(0)
    torch.save(U2NETP(3, 1).state_dict(), init)
    steps = -(-len(split_ids(ids)[0]) // 2)
    summary = fit(ClothTask(ClothConfig(
        ccp_root=str(root), out=str(tmp_path / "run"), arch="u2netp", init=str(init), size=32,
        epochs=1, batch_size=2, device="cpu", max_steps=steps, checkpoint_every=100)))
    assert summary["steps"] == steps
    bar = capsys.readouterr().err
    assert f"{steps}/{steps}" in bar and f"{steps - 1}/{steps} [" not in bar.split("\r")[-1]


def test_a_frozen_backbone_gets_no_gradient_and_no_optimiser_slot():
    from fsutils.models.cloth import ARCHS
    from fsutils.training.cloth import ClothConfig, param_groups

    arch = ARCHS["deeplab"]
    model = arch.build(0.0)
    cfg = ClothConfig(ccp_root=".", arch="deeplab", backbone_lr_factor=0.0)
    groups = param_groups(model, arch, cfg)
    trained = {id(p) for g in groups for p in g["params"]}
    backbone = [p for n, p in model.named_parameters() if n.startswith(arch.backbone_prefix)]
    assert backbone and not any(p.requires_grad or id(p) in trained for p in backbone)
    assert len(trained) == sum(1 for n, _ in model.named_parameters()
                               if not n.startswith(arch.backbone_prefix))


def test_the_demo_preset_fine_tunes_the_deeplab_head_in_full_epochs():
    from fsutils.training.cloth import ClothConfig

    demo = ClothConfig.preset("demo", ".")
    tiny = ClothConfig.preset("tiny", ".")
    assert demo.arch == "deeplab" and demo.backbone_lr_factor == 0 and demo.max_steps is None
    assert demo.max_train_images % demo.batch_size == 0 and demo.epochs > 1   # a curve
    assert tiny.max_steps is None and tiny.max_train_images < demo.max_train_images


# --------------------------------------------------------------------------------- panels


@pytest.fixture
def pipe():
    pytest.importorskip("ipywidgets")
    from PIL import Image

    from fsutils.pipeline import Pipeline
    from tests.test_widgets import NAMES, Styler, fake_saliency, fake_segment

    styler = Styler()
    p = Pipeline(fake_segment, fake_saliency, stylers={m: styler for m in
                                                       ("fast", "gatys", "adain", "magenta")},
                 class_names=NAMES, photo_size=640)
    p.set_image(Image.fromarray(np.random.default_rng(0).integers(0, 256, (400, 600, 3),
                                                                  dtype=np.uint8)))
    return p


def test_the_style_panel_opens_each_method_at_the_tables_size(pipe, monkeypatch):
    monkeypatch.setenv("FSUTILS_TINY", "0")
    from fsutils import env, widgets
    from fsutils.style.magenta import DEFAULT_SIZE
    from fsutils.style.methods import METHODS

    panel = widgets.StylePanel(pipe)
    assert panel.method.value == "magenta"
    assert panel.size.value == METHODS["magenta"].default_size(600) == DEFAULT_SIZE == 384
    assert panel.spec()["style_size"] == 384
    panel.method.value = "fast"
    assert panel.size.value == 600
    panel.method.value = "gatys"
    assert panel.size.value == env.default_style_size()
    fixed = widgets.StylePanel(pipe, style_size=256)                   # a size given stays
    fixed.method.value = "fast"
    assert fixed.size.value == 256


def _caption_row(panel):
    caption = panel.captions.value
    widths = [float(x) for x in re.findall(r";width:([\d.]+)%", caption)]
    margins = [float(x) for x in re.findall(r"margin-left:([\d.]+)%", caption)]
    return caption, widths, margins


def test_the_blend_panel_captions_are_page_text_above_their_tiles(pipe):
    from fsutils import widgets
    from fsutils.widgets.drawing import DISPLAY_HEIGHT

    panel = widgets.BlendPanel(pipe, mode="feathered", box=64)
    caption, widths, margins = _caption_row(panel)
    for words in ("hard paste: seam", "saliency (eq. 2): seam", "feathered: seam", "weight W"):
        assert words in caption
    assert panel.captions.layout.display != "none" and panel.captions in panel.view.children
    assert panel.last_image.height == DISPLAY_HEIGHT               # no text drawn into it
    assert panel.view.layout.max_width == f"{panel.last_image.width}px"
    assert len(widths) == len(margins) == 5 and margins[0] == 0
    assert abs(sum(widths) + sum(margins) - 100) < 0.01             # the tiles fill the picture
    # the first tile is the photo: its caption spans the photo's width in the picture
    frame_w = round(600 * DISPLAY_HEIGHT / 400)
    assert abs(widths[0] - 100 * frame_w / panel.last_image.width) < 0.5
    panel.garments.boxes[1].value = panel.garments.boxes[2].value = False
    panel.garments.boxes[3].value = False                          # no garment: no picture
    assert panel.captions.layout.display == "none"


def test_the_style_panel_captions_are_page_text(pipe):
    from fsutils import widgets

    panel = widgets.StylePanel(pipe, method="fast")
    panel.run()
    caption, widths, margins = _caption_row(panel)
    assert "photo" in caption and "stylised (latest run)" in caption
    assert abs(sum(widths) + sum(margins) - 100) < 0.01


def test_sample_photo_is_at_the_working_size_and_names_the_other_samples(capsys):
    from fsutils import io as fio

    full = fio.load_image(fio.sample_path("ccp_0006"))
    photo = course.sample_photo("ccp_0006", 200)
    assert max(photo.size) == 200 and photo.mode == "RGB"
    assert abs(photo.width / photo.height - full.width / full.height) < 0.01
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"photo: {photo.size} — other samples: ") and "ccp_0500" in line
    assert course.sample_photo("ccp_0006", 10_000).size == full.size  # never enlarged


def test_the_chosen_reading_size_quotes_the_default_models_validation_figure():
    """The reading-size table's bold figure (the chosen size, averaged with the mirror image) is
    the default model as shipped, so it is its validation row of the segmentation table: one
    figure, one source."""
    default = course.defaults()["cloth segmentation"]
    shipped = course.segmentation_rows(default, "val")[0]["mean_iou_garments"]
    row = next(ln for ln in course.training_table() if ln.startswith("| averaged with its mirror"))
    assert re.findall(r"\*\*([\d.]+)\*\*", row) == [f"{shipped:.3f}"]
    sizes = course.figures()["shipped_training"]["input_size"]
    assert sizes["chosen"] not in sizes["mirrored_sizes"], "measured.toml repeats the figure"
