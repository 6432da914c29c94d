"""The mask files follow one rule for every ``--garments`` form: ``<name>_mask.png`` is the chosen
garments together, ``<name>_mask_<garment>.png`` each chosen garment alone, nothing for the
others — and ``--help`` says so."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fsutils.results import MASK_RULE, Result, save_result

H, W = 12, 10


def labels() -> np.ndarray:
    lab = np.zeros((H, W), np.uint8)
    lab[1:4], lab[4:8], lab[8:11] = 1, 2, 3          # upper, lower and full body all present
    return lab


def result(garments, items: dict[str, np.ndarray] | None = None) -> Result:
    lab = labels()
    mask = (np.logical_or.reduce(list(items.values())) if items
            else np.isin(lab, [g for g in garments]))
    img = np.zeros((H, W, 3), np.float32)
    return Result(content=img, labels=lab, saliency=np.zeros((H, W), np.float32), mask=mask,
                  stylized=img, output=img, hard=img, mode="hard", garments=tuple(garments),
                  method="fast", garment_masks=dict(items or {}))


def saved_masks(res: Result, folder) -> dict[str, np.ndarray]:
    save_result(res, folder, "photo", kinds=["mask"])
    return {p.name: np.asarray(Image.open(p)) > 127 for p in sorted(folder.glob("photo_mask*.png"))}


@pytest.mark.parametrize("garments, names", [
    ((1, 2, 3), ["upper_body", "lower_body", "full_body"]),       # the default
    ((1, 2), ["upper_body", "lower_body"]),                       # --garments upper,lower
    ((3,), ["full_body"]),                                        # --garments full
])
def test_semantic_choices_write_the_union_and_each_chosen_class(tmp_path, garments, names):
    files = saved_masks(result(garments), tmp_path)
    assert sorted(files) == sorted(["photo_mask.png"] + [f"photo_mask_{n}.png" for n in names])
    lab = labels()
    for g, n in zip(garments, names):
        assert (files[f"photo_mask_{n}.png"] == (lab == g)).all()
    assert (files["photo_mask.png"] == np.isin(lab, garments)).all()


@pytest.mark.parametrize("chosen", [("outer",), ("outer", "shoe")])
def test_instance_choices_write_the_union_and_each_chosen_item(tmp_path, chosen):
    items = {c: np.zeros((H, W), bool) for c in chosen}
    for k, c in enumerate(chosen):
        items[c][2 + 4 * k: 5 + 4 * k, 1:6] = True
    files = saved_masks(result(chosen, items), tmp_path)
    assert sorted(files) == sorted(["photo_mask.png"] + [f"photo_mask_{c}.png" for c in chosen])
    for c in chosen:
        assert (files[f"photo_mask_{c}.png"] == items[c]).all()
    assert (files["photo_mask.png"] == np.logical_or.reduce(list(items.values()))).all()


def test_help_states_the_rule():
    from fsutils.cli.options import build_parser

    text = " ".join(build_parser().format_help().split())
    assert " ".join(MASK_RULE.split()) in text
    assert "garments not chosen get no file" in MASK_RULE
