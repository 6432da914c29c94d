"""Stage 4: put the stylised garment back into the photo.

Every mode composites the stylised image ``S`` over the photo ``C`` inside the chosen garments
(float32 H×W×3 images in 0..1; convert with :func:`fsutils.io.to_float`). Choose one by name with
:class:`BlendParams` and :func:`compose`, or call its function:

Each mode is a weight ``W`` in ``C_final = W·S + (1−W)·C`` (``B`` the garment mask, ``P`` the
segmenter's probability of the chosen garments, ``M`` the saliency map):

- ``hard`` — ``W = B``, the baseline (:func:`hard_paste`);
- ``saliency`` — ``W = clip(strength·M)·B``, equation 2 of the report (:func:`saliency_blend`);
- ``feathered`` — ``B`` blurred by a Gaussian of ``width`` px (:func:`feathered_blend`);
- ``soft`` — ``W = P`` (:func:`garment_probability`, :func:`soft_mask`);
- ``soft_saliency`` — ``W = P·clip(strength·M)`` (:func:`soft_mask`);
- ``guided`` — ``W = R``, ``P`` refined by a guided filter with the photo as guide, so its edge
  follows the photo's (:func:`guided_filter`, :func:`refine_mask`);
- ``guided_saliency`` — ``W = R·clip(strength·M)``: equation 2 with the refined mask;
- ``poisson`` — no weight: ``cv2.seamlessClone`` keeps the style's gradients and solves for
  colours that meet the photo at the mask's edge (:func:`poisson_blend`).

:func:`seam_score` measures how visible the predicted garment boundary is in a result (lower =
smoother). It says nothing about *where* the style landed — a photo without any style has the
lowest seam score of all; ``python -m fsutils.evaluate blend`` measures placement against
ground truth.

Everything is vectorised numpy and OpenCV; a 1024×1024 blend takes a few milliseconds
(``python benchmarks/blend_benchmark.py``).
"""
from __future__ import annotations

from .compose import feather_mask, feathered_blend, hard_paste, saliency_blend, weighted_blend
from .masks import garment_probability, guided_filter, refine_mask, soft_mask
from .modes import (BLEND_MODES, DEFAULT_MODE, MODE_TITLES, MODES, BlendMode, BlendParams,
                    blend_mode, blend_parameters, blend_weight, compose, finish_weight,
                    register_mode, weight_base)
from .poisson import poisson_blend
from .seam import boundary_band, seam_score

__all__ = ["BlendMode", "BLEND_MODES", "register_mode", "blend_mode", "MODES", "MODE_TITLES",
           "DEFAULT_MODE", "BlendParams", "blend_parameters", "blend_weight", "compose",
           "weight_base", "finish_weight",
           "weighted_blend", "hard_paste", "saliency_blend", "feathered_blend", "feather_mask",
           "garment_probability", "soft_mask", "guided_filter", "refine_mask", "poisson_blend",
           "boundary_band", "seam_score"]
