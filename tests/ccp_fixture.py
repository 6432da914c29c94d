"""A tiny CCP-format folder written by the tests (photos, .mat annotations, label_list.mat)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image

# The real CCP label list (59 names, index 0 "null"), as in bearpaw/clothing-co-parsing.
CCP_LABELS = [
    "null", "accessories", "bag", "belt", "blazer", "blouse", "bodysuit", "boots", "bra", "bracelet",
    "cape", "cardigan", "clogs", "coat", "dress", "earrings", "flats", "glasses", "gloves", "hair",
    "hat", "heels", "hoodie", "intimate", "jacket", "jeans", "jumper", "leggings", "loafers",
    "necklace", "panties", "pants", "pumps", "purse", "ring", "romper", "sandals", "scarf", "shirt",
    "shoes", "shorts", "skin", "skirt", "sneakers", "socks", "stockings", "suit", "sunglasses",
    "sweater", "sweatshirt", "swimwear", "t-shirt", "tie", "tights", "top", "vest", "wallet", "watch",
    "wedges",
]


def ccp_index(name: str) -> int:
    return CCP_LABELS.index(name)


def person_groundtruth(h: int, w: int, top: str, bottom: str | None) -> np.ndarray:
    """A figure: hair, skin, a top (rows 30–60 %), a bottom (60–90 %) and shoes, on background."""
    gt = np.zeros((h, w), dtype=np.uint8)
    x0, x1 = w // 4, 3 * w // 4
    gt[: h // 10, x0:x1] = ccp_index("hair")
    gt[h // 10: 3 * h // 10, x0:x1] = ccp_index("skin")
    if bottom is None:  # a dress covers both
        gt[3 * h // 10: 9 * h // 10, x0:x1] = ccp_index(top)
    else:
        gt[3 * h // 10: 6 * h // 10, x0:x1] = ccp_index(top)
        gt[6 * h // 10: 9 * h // 10, x0:x1] = ccp_index(bottom)
    gt[9 * h // 10:, x0:x1] = ccp_index("shoes")
    return gt


def write_ccp(root: Path, items: dict[str, np.ndarray], extra_photos: tuple[str, ...] = ()) -> Path:
    """Write photos (coloured by label) and annotations for ``{id: groundtruth}`` under ``root``."""
    (root / "photos").mkdir(parents=True, exist_ok=True)
    (root / "annotations" / "pixel-level").mkdir(parents=True, exist_ok=True)
    labels = np.empty((1, len(CCP_LABELS)), dtype=object)
    labels[0, :] = CCP_LABELS
    scipy.io.savemat(str(root / "label_list.mat"), {"label_list": labels})
    rng = np.random.default_rng(0)
    palette = rng.integers(0, 256, size=(256, 3), dtype=np.uint8)
    for image_id, gt in items.items():
        scipy.io.savemat(str(root / "annotations" / "pixel-level" / f"{image_id}.mat"), {"groundtruth": gt})
        # the id in the JPEG comment: photos of equal annotations are distinct files, as in CCP
        Image.fromarray(palette[gt]).save(root / "photos" / f"{image_id}.jpg", quality=95,
                                          comment=image_id.encode())
    for image_id in extra_photos:  # a photo without annotation must be ignored
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / "photos" / f"{image_id}.jpg")
    return root
