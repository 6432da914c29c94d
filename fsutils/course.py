"""What the course notebooks, README and docs/results.md quote, each from one place.

- :func:`defaults`: the kit's default models and modes, read from the modules that define them
  (every notebook prints them, so a notebook can never name another default than the kit uses).
- :func:`sample_photo`: a bundled photo at the working size, as the notebooks open it.
- :func:`figures`: the measured figures (segmentation IoU, the shipped model's training record,
  the blend placement scores, the garment instances' AP50, the garment swap's scores), read from
  ``fsutils/assets/measured.toml``. The notebooks display them through the functions below
  instead of copying numbers.
- :data:`GENERATED`: the functions whose markdown ``python tools/notebooks.py build`` writes
  between markers into README.md (:func:`headline`) and docs/results.md (the tables), and whose
  text ``python tools/notebooks.py check`` (run by the tests) compares with what is there.
"""
from __future__ import annotations

import inspect
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["MEASURED_FILE", "GENERATED", "defaults", "sample_photo", "figures", "segmentation_rows",
           "segmentation_table", "blend_scores", "blend_table", "training_table", "headline",
           "split_name", "instance_table", "instance_training", "swap_scores", "swap_table",
           "swap_verdict", "swap_cross_rows", "swap_cross_table", "choice_rows", "choice_table",
           "tags_rows", "tags_table"]

MEASURED_FILE = Path(__file__).resolve().parent / "assets" / "measured.toml"
_SPLIT_NAMES = {"train": "training", "val": "validation", "test": "test"}
_BLEND_HEADERS = {"coverage": "coverage ↑", "leakage": "leakage ↓", "edge_in": "edge in ↑",
                  "edge_out": "edge out ↓", "edge_contrast": "edge contrast ↑"}


def defaults() -> dict[str, str]:
    """The default of each stage, as the kit uses it: cloth model, saliency model, style method
    and blend mode (each read from where it is defined, never copied)."""
    from fsutils.blend import DEFAULT_MODE
    from fsutils.saliency import SaliencyModel
    from fsutils.segment import DEFAULT_CLOTH_WEIGHTS
    from fsutils.style.methods import DEFAULT_METHOD

    saliency = inspect.signature(SaliencyModel).parameters["weights"].default
    return {"cloth segmentation": DEFAULT_CLOTH_WEIGHTS, "saliency": saliency,
            "style method": DEFAULT_METHOD, "blend mode": DEFAULT_MODE}


def sample_photo(name: str, size: int | None = None) -> Any:
    """The bundled photo ``name`` (e.g. ``"ccp_0006"``) as an RGB PIL image, its longest side at
    most ``size`` px (default :func:`fsutils.env.default_work_size`: 512 on a CPU, 1024 on a
    GPU); prints its size and the names of the other bundled photos."""
    from fsutils import env
    from fsutils import io as fio

    photo = fio.fit_long_side(fio.load_image(fio.sample_path(name)),
                              size or env.default_work_size(), enlarge=False)
    print("photo:", photo.size, "— other samples:",
          ", ".join(p.stem for p in fio.sample_photos()))
    return photo


@lru_cache(maxsize=1)
def figures() -> dict[str, Any]:
    """Every measured figure of ``measured.toml`` (see that file for how each was measured)."""
    with MEASURED_FILE.open("rb") as f:
        return tomllib.load(f)


def split_name(split: str) -> str:
    """``"val"`` → ``"validation (81)"``: a CCP split's name and its number of photos."""
    return f"{_SPLIT_NAMES[split]} ({figures()['ccp_splits'][split]})"


def segmentation_rows(model: str | None = None, split: str | None = None) -> list[dict[str, Any]]:
    """The measured segmentation rows, optionally only one model's or one split's."""
    return [r for r in figures()["segmentation"]
            if model in (None, r["model"]) and split in (None, r["split"])]


def segmentation_table(rows: list[dict[str, Any]] | None = None) -> list[str]:
    """Markdown lines of the segmentation IoU table (docs/results.md's, for ``rows=None``)."""
    lines = ["| model | split | upper body | lower body | full body | **mean (garments)** "
             "| pixel accuracy |", "|---|---|---|---|---|---|---|"]
    for r in segmentation_rows() if rows is None else rows:
        iou = " | ".join(f"{v:.3f}" for v in r["iou"])
        lines.append(f"| {r['label']} | {split_name(r['split'])} | {iou} "
                     f"| **{r['mean_iou_garments']:.3f}** | {r['pixel_accuracy']:.3f} |")
    return lines


def blend_scores() -> dict[str, dict[str, float]]:
    """The measured placement scores per blend mode: ``{mode: {"coverage": …, …}}``."""
    b = figures()["blend"]
    return {mode: dict(zip(b["columns"], values)) for mode, values in b["modes"].items()}


def blend_table() -> list[str]:
    """Markdown lines of the blend placement table (docs/results.md's): the default mode's name
    and the best edge contrast in bold."""
    from fsutils.blend import DEFAULT_MODE

    scores = blend_scores()
    columns = figures()["blend"]["columns"]
    best = max(s["edge_contrast"] for s in scores.values())
    lines = ["| mode | " + " | ".join(_BLEND_HEADERS[c] for c in columns) + " |",
             "|---|" + "---|" * len(columns)]
    for mode, s in scores.items():
        name = f"`{mode}`" + (" (eq. 2)" if mode == "saliency" else "")
        if mode == DEFAULT_MODE:
            name = f"**{name}**"
        cells = [f"**{s[c]:.3f}**" if c == "edge_contrast" and s[c] == best else f"{s[c]:.3f}"
                 for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def instance_table() -> list[str]:
    """Markdown lines of the garment instances' table (docs/results.md's): segm AP50 per class of
    ``ccp_maskrcnn`` on validation and test, the means, the mean bbox AP50, and the class-agnostic
    garments beside the semantic baseline (the cloth model's regions as connected pieces); test in
    bold."""
    inst = figures()["instances"]
    classes = inst["classes"]
    lines = ["| segm AP50 | " + " | ".join(classes) + " | garments | all 7 | bbox AP50 (all 7) "
             "| any garment: Mask R-CNN / semantic pieces |",
             "|---|" + "---|" * (len(classes) + 4)]
    for r in inst["rows"]:
        bold = (lambda v: f"**{v:.3f}**") if r["split"] == "test" else (lambda v: f"{v:.3f}")
        name = split_name(r["split"])
        lines.append(f"| {f'**{name}**' if r['split'] == 'test' else name} | "
                     + " | ".join(f"{v:.3f}" for v in r["segm"])
                     + f" | {bold(r['garments'])} | {bold(r['all'])} | {r['bbox']:.3f} "
                     + "| {:.3f} / {:.3f} |".format(*r["agnostic"]))
    return lines


def instance_training() -> dict[str, Any]:
    """The shipped garment detector's training record: ``steps``, mean training ``loss`` between
    scores, validation ``val_segm_ap50_garments`` and ``val_segm_ap50`` at each step,
    ``best_step`` (the shipped one) and ``val_photos`` (how many validation photos were scored)."""
    return dict(figures()["instances"]["training"])


def _series(values: list[float]) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


def training_table() -> list[str]:
    """Markdown lines of the shipped cloth model's training record (docs/results.md's): the
    validation mean IoU of the garments after each validated epoch of both stages, then how the
    reading size was chosen (plain and mirror-averaged), the shipped choice in bold: the default
    model as it reads photos, so its figure is that model's validation row of the segmentation
    table."""
    rec = figures()["shipped_training"]
    first, second, sizes = rec["first_stage"], rec["second_stage"], rec["input_size"]
    shipped = segmentation_rows(defaults()["cloth segmentation"], "val")[0]["mean_iou_garments"]
    lines = ["| stage | input | validated epochs | validation mean IoU (garments) | kept |",
             "|---|---|---|---|---|"]
    for name, stage in (("first", first), (f"second, from epoch {first['best_epoch']}", second)):
        lines.append(f"| {name} | {stage['size']} px | {', '.join(map(str, stage['epochs']))} "
                     f"| {_series(stage['val_mean_iou_garments'])} | epoch {stage['best_epoch']} |")
    mirrored = dict(zip(sizes["mirrored_sizes"], sizes["mirrored"])) | {sizes["chosen"]: shipped}
    lines += ["", "| reading size (validation) | " + " | ".join(f"{s} px" for s in sizes["sizes"])
              + " |", "|---|" + "---|" * len(sizes["sizes"]),
              "| photo only | " + " | ".join(f"{v:.3f}" for v in sizes["plain"]) + " |",
              "| averaged with its mirror image | " + " | ".join(
                  "–" if s not in mirrored else f"**{mirrored[s]:.3f}**" if s == sizes["chosen"]
                  else f"{mirrored[s]:.3f}" for s in sizes["sizes"]) + " |"]
    return lines


def headline() -> list[str]:
    """README's results in one paragraph: the default cloth model on the test split and the
    default blend mode's edge contrast on the validation split."""
    d = defaults()
    (test,) = segmentation_rows(d["cloth segmentation"], "test")
    blend = figures()["blend"]
    score = blend_scores()[d["blend mode"]]["edge_contrast"]
    n_val = figures()["ccp_splits"][blend["split"]]
    return [f"On the {figures()['ccp_splits']['test']} test photos of Clothing Co-Parsing (held "
            f"out: nothing was chosen on them) the default cloth model `{d['cloth segmentation']}` "
            f"reaches a mean IoU of **{test['mean_iou_garments']:.3f}** over the three garment "
            f"classes (pixel accuracy {test['pixel_accuracy']:.3f}). On the {n_val} "
            f"{_SPLIT_NAMES[blend['split']]} photos the default blend `{d['blend mode']}` stops "
            f"the style at the true garment edge more sharply than any other blend mode (edge "
            f"contrast **{score:.3f}**)."]


def swap_scores() -> dict[str, dict[str, float]]:
    """The garment swap's measured scores per method (``cagan``, ``nothing``, ``colour``,
    ``pattern``): ``{method: {"mask_iou", "outside_l1", "known_l1"}}``."""
    s = figures()["swap"]
    return {m: dict(zip(s["columns"], values)) for m, values in s["methods"].items()}


def swap_table() -> list[str]:
    """Markdown lines of the garment-swap table (docs/results.md's): the measured split and the
    shipped generator's training step above the rows of ``python -m fsutils.evaluate swap``."""
    from fsutils.evaluation.swap import swap_table as rows

    s = figures()["swap"]
    n = figures()["ccp_splits"][s["split"]]
    chosen = ""
    if "validation" in s:
        v = s["validation"]
        which = ("the running average of its weights" if v["weights"] == "ema"
                 else "its weights")
        chosen = (f" It was chosen on validation (the first {v['photos']} validation photos, "
                  f"{which}): known_l1 {v['known_l1']:.4f} against {v['known_l1_nothing']:.4f} "
                  f"for doing nothing, garment IoU {v['alpha_iou']:.3f}, outside_l1 "
                  f"{v['outside_l1']:.4f}.")
    return [f"{_SPLIT_NAMES[s['split']].capitalize()} split ({n} photos), the {s['images']} with an "
            f"upper-body garment; the shipped generator after {s['step']:,} training steps."
            + chosen, "", *rows(swap_scores())]


def swap_cross_rows() -> list[dict[str, Any]]:
    """The measured cross-swap rows (``[[swap_cross.rows]]`` of measured.toml): split, the α
    limit's ``garment_margin`` (``"none"``: the generator's own α) and the figures of
    :meth:`fsutils.evaluation.cross_swap.CrossScores.summary`."""
    return list(figures().get("swap_cross", {}).get("rows", []))


def swap_cross_table() -> list[str]:
    """Markdown lines of the cross-swap table (README's and docs/results.md's): per measured row
    the split, the α limit, the swaps scored and refused, spill (median, 90th percentile),
    colour moved, coverage and sharpness (medians); test in bold."""
    c = figures()["swap_cross"]
    lines = [f"Cross swaps: each person of the split wears another photo's annotated top (a fixed "
             f"pairing), the person's top found by the kit's models; spill counts changes beyond "
             f"{100 * c['spill_margin']:g} % of the garment's size from its annotation. The α limit's "
             f"margin was chosen on validation (the largest of "
             f"{', '.join(f'{m:g}' for m in c['choice']['margins'])} whose spill p90 stays ≤ 0.08: "
             f"{c['choice']['chosen']:g}).", "",
             "| generator | split | α limit | swaps (refused) | spill, median | spill, p90 "
             "| colour moved | coverage | sharpness |", "|---|---|---|---|---|---|---|---|---|"]
    for r in swap_cross_rows():
        bold = (lambda t: f"**{t}**") if r["split"] == "test" else (lambda t: t)
        limit = ("none" if r["garment_margin"] == "none"
                 else f"garment + {100 * float(r['garment_margin']):g} %")
        cells = [bold(f"{r[k]:.3f}") for k in ("spill_median", "spill_p90", "colour_moved_median",
                                               "coverage_median", "sharpness_median")]
        lines.append(f"| {r['weights']} | {bold(split_name(r['split']))} | {limit} | "
                     f"{r['swaps']} ({r['refused']}) | " + " | ".join(cells) + " |")
    return lines


def swap_verdict() -> str:
    """One sentence: whether CAGAN's measured ``known_l1`` beats doing nothing and each baseline."""
    s = swap_scores()
    ours = s["cagan"]["known_l1"]
    words = {"nothing": "doing nothing", "colour": "colour transfer", "pattern": "pattern try-on"}
    parts = [f"{'beats' if ours < s[m]['known_l1'] else 'loses to'} {w} "
             f"({ours:.3f} against {s[m]['known_l1']:.3f})" for m, w in words.items() if m in s]
    return "On the known-answer swaps CAGAN " + ", ".join(parts) + "."


_STAGES = {"before": "before"}
_SOURCES = {"each": "each garment through its own model", "best": "whichever model finds it"}
_CHOICE_CLASSES = ("upper", "lower", "full", "top", "outer", "dress", "pants", "skirt")


def choice_rows(split: str | None = None) -> list[dict[str, Any]]:
    """The measured rows of ``python -m fsutils.evaluate choice`` (optionally of one split), each
    with ``found``, ``missed`` and ``photos`` as ``{class: value}``."""
    c = figures()["choice"]
    return [{**r, **{k: dict(zip(c["classes"], r[k])) for k in ("found", "missed", "photos")}}
            for r in c["rows"] if split in (None, r["split"])]


def _models(r: dict[str, Any]) -> str:
    return (f"{_STAGES.get(r['stage'], r['stage'])}: {r['models']}, "
            f"{_SOURCES.get(r['source'], r['source'])}")


def _pct(v: float) -> str:
    return "–" if v != v else f"{100 * v:.0f} %"


def choice_table() -> list[str]:
    """Markdown lines of the choice table (docs/results.md's): per measured row, found / missed
    for each garment a user chooses (the semantic classes, then the detector's garment classes),
    the lowest found and highest missed share of the semantic classes and the median binary
    garment IoU; test in bold."""
    lines = ["| models | split | " + " | ".join(_CHOICE_CLASSES)
             + " | found, lowest (upper/lower/full) | missed, highest | binary IoU, median |",
             "|---|---|" + "---|" * (len(_CHOICE_CLASSES) + 3)]
    for r in choice_rows():
        bold = (lambda t: f"**{t}**") if r["split"] == "test" else (lambda t: t)
        cells = [f"{_pct(r['found'][c])} / {_pct(r['missed'][c])}" for c in _CHOICE_CLASSES]
        cells += [bold(f"{r[k]:.3f}") for k in ("found_rate_min", "missed_max", "binary_median")]
        lines.append(f"| {_models(r)} | {bold(split_name(r['split']))} | " + " | ".join(cells) + " |")
    return lines


def tags_rows(split: str | None = None) -> list[dict[str, Any]]:
    """The measured rows of ``python -m fsutils.evaluate tags`` (optionally of one split), each
    with ``precision``, ``recall`` and ``f1`` as ``{class: value}``."""
    t = figures()["tags"]
    return [{**r, **{k: dict(zip(t["classes"], r[k])) for k in ("precision", "recall", "f1")}}
            for r in t["rows"] if split in (None, r["split"])]


def tags_table() -> list[str]:
    """Markdown lines of the tagged-photo table (docs/results.md's): per measured row the F1 of
    every class, the full body's precision and the two means; test in bold."""
    classes = figures()["tags"]["classes"]
    lines = ["| models | tagged photos | F1: " + " | ".join(classes)
             + " | full-body prec. | mean F1 cloth model | mean F1 detector |",
             "|---|---|" + "---|" * (len(classes) + 3)]
    for r in tags_rows():
        bold = (lambda t: f"**{t}**") if r["split"] == "test" else (lambda t: t)
        name = f"{_SPLIT_NAMES[r['split']]} ({r['images']})"
        cells = ["–" if v != v else f"{v:.3f}" for v in r["f1"].values()]
        cells += [bold(f"{r[k]:.3f}") for k in ("full_precision", "semantic_f1_mean",
                                                  "instance_f1_mean")]
        lines.append(f"| {_models(r)} | {bold(name)} | " + " | ".join(cells) + " |")
    return lines


#: Markdown written from measured.toml into README.md and docs/results.md by
#: ``python tools/notebooks.py build`` (between ``<!-- fsutils.course.NAME -->`` and
#: ``<!-- end fsutils.course.NAME -->``); ``check`` fails when the text there differs.
GENERATED = {f.__name__: f for f in (headline, segmentation_table, training_table, blend_table,
                                      instance_table, swap_table, swap_cross_table,
                                      choice_table, tags_table)}
