"""The shipped generator's training stages, drawn once by the release tool
(``python tools/ship_swap.py --stages``) into ``fsutils/assets/swap_stages.png`` and shown by the
course (:func:`fsutils.swap.viz.show_stages`)."""
from __future__ import annotations

from pathlib import Path

from PIL import Image

__all__ = ["STAGES_FILE", "STAGE_EXAMPLES", "read_stages"]

#: The training-stages picture the course shows.
STAGES_FILE = Path(__file__).resolve().parent.parent / "assets" / "swap_stages.png"
#: (person, article) pairs of bundled samples drawn at each training stage.
STAGE_EXAMPLES = (("ccp_0001", "top of ccp_0500"), ("ccp_0006", "top of ccp_0750"),
                  ("ccp_0500", "mondrian top"), ("ccp_0750", "top of ccp_0001"))


def read_stages(path: str | Path = STAGES_FILE) -> tuple[Image.Image, list[str], list[tuple[str, str]]]:
    """The training-stages picture, its stage labels and its (person, article) examples."""
    img = Image.open(path)
    img.load()
    stages = img.text.get("fsutils-stages", "").splitlines()
    examples = [tuple(line.split("|", 1)) for line in img.text.get("fsutils-examples", "").splitlines()]
    return img.convert("RGB"), stages, examples
