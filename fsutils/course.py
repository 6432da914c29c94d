"""What the course notebooks and README quote, each from one place.

- :func:`defaults`: the kit's default models and modes, read from the modules that define them
  (every notebook prints them, so a notebook can never name another default than the kit uses).
- :func:`figures`: the measured figures (segmentation IoU, the shipped model's training record,
  the blend placement scores, the garment swap's scores), read from
  ``fsutils/assets/measured.toml``. README's tables are exactly :func:`segmentation_table`,
  :func:`blend_table` and :func:`swap_table` (a test checks it), and the notebooks display the
  same tables instead of copying numbers.
"""
from __future__ import annotations

import inspect
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["MEASURED_FILE", "defaults", "figures", "segmentation_rows", "segmentation_table",
           "blend_scores", "blend_table", "split_name", "swap_scores", "swap_table", "swap_verdict"]

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


def swap_scores() -> dict[str, dict[str, float]]:
    """The garment swap's measured scores per method (``cagan``, ``nothing``, ``colour``,
    ``pattern``): ``{method: {"mask_iou", "outside_l1", "known_l1"}}``."""
    s = figures()["swap"]
    return {m: dict(zip(s["columns"], values)) for m, values in s["methods"].items()}


def swap_table() -> list[str]:
    """Markdown lines of the garment-swap table (README's): the measured split and the shipped
    generator's training step above the rows of ``python -m fsutils.evaluate swap``."""
    from fsutils.swap.evaluate import swap_table as rows

    s = figures()["swap"]
    return [f"{split_name(s['split'])} photos, {s['images']} with an upper-body garment; the "
            f"shipped generator after {s['step']:,} training steps:", "", *rows(swap_scores())]


def swap_verdict() -> str:
    """One sentence: whether CAGAN's measured ``known_l1`` beats doing nothing and each baseline."""
    s = swap_scores()
    ours = s["cagan"]["known_l1"]
    words = {"nothing": "doing nothing", "colour": "colour transfer", "pattern": "pattern try-on"}
    parts = [f"{'beats' if ours < s[m]['known_l1'] else 'loses to'} {w} "
             f"({ours:.3f} against {s[m]['known_l1']:.3f})" for m, w in words.items() if m in s]
    return "On the known-answer swaps CAGAN " + ", ".join(parts) + "."
