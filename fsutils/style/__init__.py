"""Stage 3: style transfer — four methods with one image-in, image-out interface.

- :func:`magenta_transfer` — Magenta's arbitrary stylisation (Ghiasi et al. 2017, the default):
  any painting in one pass; :func:`style_vector` gives a painting's 100-number style.
- :func:`gatys_transfer` — optimisation (Gatys et al. 2016): any painting, best quality, masked and
  per-garment styles, colour/shading preservation; seconds (GPU) to minutes (CPU).
- :func:`fast_stylize` — feed-forward (Johnson et al. 2016): one pretrained network per painting
  (candy, mosaic, rain_princess, udnie, pointilism); real time.
- :func:`adain_transfer` — AdaIN (Huang & Belongie 2017): any painting in one pass; real time,
  softer than Gatys.

The four sit in one table, :data:`METHODS` (:mod:`fsutils.style.methods`): each entry names its
parameter class (:class:`MagentaParams`, :class:`FastParams`, :class:`AdainParams`,
:class:`GatysParams` — the one place of every default) and runs with one signature;
:func:`stylize` calls a method by name.
"""
from .adain import adain_transfer, adaptive_instance_normalization, calc_mean_std
from .fast import FAST_STYLES, fast_stylize
from .gatys import CONTENT_LAYERS, STYLE_LAYERS, gatys_transfer
from .losses import content_loss, gram_matrix, style_loss, tv_loss
from .magenta import magenta_transfer, style_vector
from .methods import (DEFAULT_METHOD, METHODS, Method, get_method, load_style, register_method,
                      stylize)
from .params import AdainParams, FastParams, GatysParams, MagentaParams, StyleParams

__all__ = [
    "METHODS", "DEFAULT_METHOD", "Method", "register_method", "get_method", "stylize", "load_style",
    "MagentaParams", "FastParams", "AdainParams", "GatysParams", "StyleParams",
    "magenta_transfer", "style_vector", "gatys_transfer", "fast_stylize", "adain_transfer",
    "FAST_STYLES", "CONTENT_LAYERS", "STYLE_LAYERS",
    "gram_matrix", "content_loss", "style_loss", "tv_loss",
    "calc_mean_std", "adaptive_instance_normalization",
]
