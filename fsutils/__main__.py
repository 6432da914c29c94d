"""The main job: ``python -m fsutils`` — style the clothes in a photo (or a folder of photos).

Runs the whole pipeline (cloth segmentation → saliency → style transfer → blend into the garments,
``--mode``, see ``fsutils.blend``) and writes, per photo, into the output folder:

    <name>_stylized.png      the result: the style inside the chosen garments, blended by --mode
    <name>_hard_paste.png    the pre-saliency baseline (stylised pixels pasted inside the mask)
    <name>_style_full.png    the whole photo stylised (before blending)
    <name>_labels.png        the garment label map in colour (red upper, green lower, yellow full)
    <name>_mask.png          the chosen garments; <name>_mask_<garment>.png each chosen one
    <name>_saliency.png      the saliency map
    <name>_comparison.png    photo | stylised | hard paste | the blend, with a boundary close-up

The name is the photo's stem; photos of one run whose stems are the same (case ignored: ``a.png``
and ``a.jpg``, ``dir1/a.png`` and ``dir2/a.png``) are named after their file name (``a.png_…``,
``a.jpg_…``) and, where that is shared too, after as many of their folders as tell them apart
(``dir1_a.png_…``, ``dir2_a.png_…``), so no photo's files overwrite another's; a name over 200
bytes keeps its start and ends with ``~`` and a hash of its path; a file given twice is done once. A line on stderr says so for each (see :mod:`fsutils.batch.names`).

Examples::

    python -m fsutils                                   # a bundled sample photo, Magenta, Starry Night
    python -m fsutils photo.jpg --style the_scream_munch --style-strength 0.6 --garments upper
    python -m fsutils photo.jpg --method fast --style mosaic
    python -m fsutils photo.jpg --garments outer        # only the coat (the garment detector)
    python -m fsutils photos/ --method adain --style my_painting.jpg --out results/
    python -m fsutils photo.jpg --method gatys --style my_painting.jpg --steps 200
    python -m fsutils photo.jpg --photo-size 1024 --style-size 512 --mode saliency --strength 0.8

Each file is written to a temporary file and renamed into place, so an interrupted run never
leaves a half-written result; stdout lists each file as it is written. A photo that fails (not an
image, too small, a write error) is reported in one line and the batch goes on; the failures are
listed at the end (exit status 1). Ctrl-C stops after the summary (exit status 130); a full disk
stops the batch with what to do. Usage errors (bad values, an --out folder that cannot be written)
are one line with exit status 2, before any model loads.

Weights come through ``fsutils.weights`` (cache ``weights/``, or ``$FSUTILS_WEIGHTS_MIRROR``): the
default run's files (the cloth model, ``u2netp``, Magenta's two TensorFlow Lite networks) ship
with the kit and work offline; the fast models, Gatys's ImageNet VGG-19 and AdaIN's two files
download on first use. Before any work starts, every file the chosen options need is checked, and
one message lists all that are missing, where to get each and where to put it.
"""
from __future__ import annotations

import sys

from fsutils.cli import build_parser, main
from fsutils.cli.main import _entry

__all__ = ["main", "build_parser"]

if __name__ == "__main__":
    sys.exit(_entry())
