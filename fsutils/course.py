"""What the course notebooks and README quote, each from one place.

- :func:`defaults`: the kit's default models and modes, read from the modules that define them
  (every notebook prints them, so a notebook can never name another default than the kit uses).
- :func:`figures`: the measured figures (segmentation IoU, the shipped model's training record,
  the blend placement scores, the garment instances' AP50), read from
  ``fsutils/assets/measured.toml``. README's tables are exactly :func:`segmentation_table`,
  :func:`blend_table` and :func:`instance_table` (a test checks it), and the notebooks display the
  same tables instead of copying numbers.
"""
from __future__ import annotations

import inspect
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["MEASURED_FILE", "defaults", "figures", "segmentation_rows", "segmentation_table",
           "blend_scores", "blend_table", "split_name", "instance_table", "instance_training"]

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

    saliency = inspect.signature(SaliencyModel).parameters["name"].default
    return {"cloth segmentation": DEFAULT_CLOTH_WEIGHTS, "saliency": saliency,
            "style method": DEFAULT_METHOD, "blend mode": DEFAULT_MODE}


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
    """Markdown lines of the segmentation IoU table (README's, for ``rows=None``)."""
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
    """Markdown lines of the blend placement table (README's): the default mode's name and the
    best edge contrast in bold."""
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
    """Markdown lines of the garment instances' table (README's): segm AP50 per class of
    ``ccp_maskrcnn`` on validation and test, the means and the mean bbox AP50; test in bold."""
    inst = figures()["instances"]
    classes = inst["classes"]
    lines = ["| segm AP50 | " + " | ".join(classes) + " | garments | all 7 | bbox AP50 (all 7) |",
             "|---|" + "---|" * (len(classes) + 3)]
    for r in inst["rows"]:
        bold = (lambda v: f"**{v:.3f}**") if r["split"] == "test" else (lambda v: f"{v:.3f}")
        name = split_name(r["split"])
        lines.append(f"| {f'**{name}**' if r['split'] == 'test' else name} | "
                     + " | ".join(f"{v:.3f}" for v in r["segm"])
                     + f" | {bold(r['garments'])} | {bold(r['all'])} | {r['bbox']:.3f} |")
    return lines


def instance_training() -> dict[str, Any]:
    """The shipped garment detector's training record: ``steps``, mean training ``loss`` between
    scores, validation ``val_segm_ap50_garments`` and ``val_segm_ap50`` at each step,
    ``best_step`` (the shipped one) and ``val_photos`` (how many validation photos were scored)."""
    return dict(figures()["instances"]["training"])
