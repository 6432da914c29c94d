"""Stage 1: cloth segmentation into 4 classes.

Classes (the convention of levindabhi/cloth-segmentation, MIT): 0 background, 1 upper body,
2 lower body, 3 full body. :class:`ClothSegmenter` builds the network described by a registry
entry of :mod:`fsutils.weights` — the kit's default ``ccp_deeplab`` (DeepLabV3-MobileNetV2
fine-tuned on Clothing Co-Parsing), its earlier ``ccp_u2netp`` (U2NETP) or the official
``cloth_segm`` (U2NET) — loads it once, and predicts at the photo's own size:

* preprocessing as the original inference (``infer.py`` there): the photo resized to a square
  ``input_size × input_size`` (each model states its own in the registry: 481 for
  ``ccp_deeplab``, 160 for ``ccp_u2netp``, 768 for ``cloth_segm``), ``ToTensor``,
  ``(x − 0.5) / 0.5``; ``ccp_deeplab`` also averages the prediction of the photo and of its
  mirror image (``flip``);
* the first (fused) output, softmax over the 4 classes, **resized bilinearly to the photo**, then
  argmax. (The original argmaxes at 768 px and resizes the label image with a bicubic filter,
  which can invent a class between two others along an edge; resizing the probabilities cannot.)

Helpers work on any uint8 label map: :func:`masks`, :func:`combine_masks` (classes by index or
name), :func:`colorize` and :func:`overlay` with the official colours (red upper body, green
lower body, yellow full body).
"""
from __future__ import annotations

from fsutils.garments import CLASS_NAMES, class_index

from .labels import GARMENT_CLASSES, PALETTE, clean_labels, colorize, combine_masks, masks, overlay
from .model import CLOTH_WEIGHTS, DEFAULT_CLOTH_WEIGHTS, ClothSegmenter

__all__ = ["ClothSegmenter", "CLASS_NAMES", "GARMENT_CLASSES", "PALETTE", "DEFAULT_CLOTH_WEIGHTS",
           "CLOTH_WEIGHTS", "class_index", "masks", "combine_masks", "colorize", "overlay",
           "clean_labels"]
