"""Garment instances: "the coat", "the shoes", not just "upper body".

    from fsutils.instances import InstanceSegmenter
    found = InstanceSegmenter().predict(photo)      # [Instance(cls="outer", score=0.97, box, mask) …]
    coat = found.union("outer")                      # H×W bool

Seven classes (:data:`fsutils.data.INSTANCE_CLASSES`): top, outer, dress, pants, skirt, shoe, bag,
found by a Mask R-CNN on the kit's MobileNetV2 (:mod:`fsutils.models.maskrcnn`) trained on the
garment instances of Clothing Co-Parsing (:func:`fsutils.data.derive_instances`).
"""
from __future__ import annotations

from .segmenter import (DEFAULT_INSTANCE_WEIGHTS, MASK_THRESHOLD, Instance, Instances,
                        InstanceSegmenter, to_instances)

__all__ = ["Instance", "Instances", "InstanceSegmenter", "DEFAULT_INSTANCE_WEIGHTS",
           "MASK_THRESHOLD", "to_instances"]
