"""Stage 2: salient-object maps with U-2-Net, exactly as the official inference makes them.

:class:`SaliencyModel` reproduces ``u2net_test.py`` of xuebinqin/U-2-Net (Apache-2.0) step by step:

1. ``RescaleT(320)``: ``skimage.transform.resize(image, (320, 320), mode='constant')`` — a
   Gaussian anti-aliasing blur (σ = (in/out − 1)/2 per downscaled axis, zero padding, truncated at
   4σ) followed by bilinear sampling at pixel centres with zeros outside the image. The kit does
   the same linear maps with two small matrices in torch (no scikit-image dependency; identical to
   scikit-image to 1e-14 in float64, ~1e-5 in float32).
2. ``ToTensorLab(flag=0)``: divide by the image maximum, then ImageNet mean/std per channel.
3. The fused output ``d0`` through a sigmoid (the kit's models return logits), min-max normalised.
4. ``save_output``: the map as an 8-bit image (``Image.fromarray(pred*255)``, truncating) resized
   back to the photo with PIL's bilinear filter.

Against the saliency maps the official code produced with u2netp, the maps differ by a
mean absolute error of about 0.002 (``tests/test_saliency.py``). Other resizers measured on those
11+1 images: PIL bilinear in, 0.0026; torch antialiased bilinear in, 0.0026; OpenCV INTER_AREA in,
0.0026; plain bilinear without anti-aliasing, 0.0044 (up to 0.020 on large photos).
"""
from __future__ import annotations

from fsutils.weights import IMAGENET_MEAN, IMAGENET_STD

from .model import SALIENCY_WEIGHTS, SaliencyModel
from .preprocess import INPUT_SIZE, preprocess, skimage_resize_matrix

__all__ = ["SaliencyModel", "SALIENCY_WEIGHTS", "IMAGENET_MEAN", "IMAGENET_STD",
           "skimage_resize_matrix", "preprocess", "INPUT_SIZE"]
