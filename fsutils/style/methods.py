"""The style methods as records in one table, each with its parameter class and one signature.

``METHODS[name].run(content, style, params, *, size, mask, callback, progress) -> PIL image``
for every method; :func:`stylize` is that call by name. The command line, the style panel and
:class:`fsutils.pipeline.Pipeline` read only the records, so a new method is one
:func:`register_method` call with its function and its parameter class.

``style`` is a painting (PIL image, array, file path or the name of a bundled sample painting)
for every method but ``fast``, whose style is a pretrained model's name (``"candy"`` …); Magenta
also takes a style vector.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from fsutils import io as fio

from .fast import FAST_STYLES
from .params import AdainParams, FastParams, GatysParams, MagentaParams, StyleParams

__all__ = ["Method", "METHODS", "DEFAULT_METHOD", "register_method", "get_method", "stylize",
           "load_style"]


def load_style(style: Any) -> Image.Image:
    """A painting given as a PIL image, an array, a file path, or the name of a bundled sample."""
    if isinstance(style, (str, Path)):
        p = Path(style)
        if p.is_file():
            return fio.load_image(p)
        samples = {Path(s).stem.lower(): s for s in fio.sample_styles()}
        key = str(style).strip().lower()
        if key in samples:
            return fio.load_image(samples[key])
        raise FileNotFoundError(f"style {style!r} is neither an image file nor a bundled sample "
                                f"painting ({', '.join(sorted(samples))})")
    return fio.to_rgb(style)


def _magenta(content, style, params: MagentaParams, **kw: Any) -> Image.Image:
    from .magenta import magenta_transfer

    if not (isinstance(style, np.ndarray) and style.ndim == 1):  # else a style vector
        style = load_style(style)
    return magenta_transfer(content, style, params, **kw)


def _fast(content, style, params: FastParams, **kw: Any) -> Image.Image:
    from .fast import fast_stylize

    return fast_stylize(content, style, params, **kw)


def _adain(content, style, params: AdainParams, **kw: Any) -> Image.Image:
    from .adain import adain_transfer

    return adain_transfer(content, load_style(style), params, **kw)


def _gatys(content, style, params: GatysParams, **kw: Any) -> Image.Image:
    from .gatys import gatys_transfer

    return gatys_transfer(content, load_style(style), params, **kw)


def _magenta_weights(style: Any) -> tuple[str, ...]:
    from .magenta import DEFAULT_TRANSFER, PREDICT_WEIGHTS, TRANSFER_WEIGHTS

    return PREDICT_WEIGHTS, TRANSFER_WEIGHTS[DEFAULT_TRANSFER]


def _fast_weights(style: Any) -> tuple[str, ...]:
    from .fast import registry_name

    return (registry_name(style),) if isinstance(style, str) else ()


def _adain_weights(style: Any) -> tuple[str, ...]:
    from .adain import ADAIN_WEIGHTS

    return ADAIN_WEIGHTS


def _gatys_weights(style: Any) -> tuple[str, ...]:
    from fsutils.models.vgg import VGG19_WEIGHTS

    return (VGG19_WEIGHTS,)


def _photo_size(long_side: int, device: Any = None) -> int:
    return long_side


def _magenta_size(long_side: int, device: Any = None) -> int:
    from .magenta import DEFAULT_SIZE

    return min(DEFAULT_SIZE, long_side)


def _optimisation_size(long_side: int, device: Any = None) -> int:
    from fsutils.env import default_style_size

    return int(default_style_size(device))


@dataclass(frozen=True)
class Method:
    """One style method: its name, a label for menus, its parameter class, whether its style is
    a painting (else a model name), its default style, and how large it works by default,
    ``default_size(long_side, device)`` for the photo's longer side and the device it runs on
    (None: the best available): the one-pass methods work at the photo's size; Magenta at most at
    its networks' 384 px, so brush strokes keep their scale; Gatys at the device's optimisation
    size, :func:`fsutils.env.default_style_size`. ``weights(style)`` gives the registry names
    of the checkpoints the method needs for that style (:func:`fsutils.weights.require`) and
    refuses a style the method does not have.

    The style panel shows a control for each field of ``params`` it knows (``style_strength``,
    Gatys' weights, ``steps``, ``optimizer``); the command line builds ``params`` from the options
    named like its fields."""

    name: str
    label: str
    params: type
    run: Callable[..., Image.Image]
    painting: bool
    default_style: str
    weights: Callable[[Any], tuple[str, ...]]
    default_size: Callable[[int, Any], int] = _photo_size
    #: whether it takes about a second (a panel may run it unasked; Gatys' optimisation does not)
    quick: bool = True
    #: whether it can compute its style for the chosen garments only (``mask``)
    masked: bool = True
    #: a model method's style names (its pretrained models); empty for a painting method
    styles: tuple[str, ...] = ()
    #: one phrase for the command line's help
    help: str = ""
    #: what else to do when its weights cannot be had (the command line's message)
    weights_help: str = ""

    def make_params(self, params: StyleParams | None = None, **changes: Any) -> StyleParams:
        """The method's parameter object: ``params`` (default: its defaults) with ``changes``
        applied, checked (a wrong class or an unknown name is refused before any work)."""
        p = (params if params is not None else self.params()).replace(**changes)
        if not isinstance(p, self.params):
            raise TypeError(f"{self.name} takes {self.params.__name__}, got {type(p).__name__}")
        return p


#: Every style method by name (the first is the default), in the order menus show them.
METHODS: dict[str, Method] = {}


def register_method(method: Method) -> Method:
    """Add ``method`` to :data:`METHODS`: the command line, the style panel and the pipeline then
    offer it."""
    if not (isinstance(method.params, type) and hasattr(method.params, "replace")):
        raise TypeError(f"style method {method.name!r}: params must be a parameter class with "
                        "replace() (see fsutils.style.params)")
    try:
        inspect.signature(method.default_size).bind(512, None)
    except TypeError:
        raise TypeError(f"style method {method.name!r}: default_size must take (long_side, "
                        "device), e.g. lambda long_side, device=None: long_side") from None
    except ValueError:  # a builtin without a signature: trusted
        pass
    METHODS[method.name] = method
    return method


for _method in (
    Method("magenta", "Magenta (any painting)", MagentaParams, _magenta, True,
           "starry_night_vangogh", _magenta_weights, _magenta_size,
           help="any painting in one pass (Magenta's arbitrary stylisation, real time)",
           weights_help="Magenta's files ship with fsutils: reinstall it, or place the files "
                        "where the message above says."),
    Method("fast", "fast (pretrained)", FastParams, _fast, False, "candy", _fast_weights,
           masked=False, styles=FAST_STYLES, help="a pretrained network per painting"),
    Method("adain", "AdaIN (any painting)", AdainParams, _adain, True, "starry_night_vangogh",
           _adain_weights, help="any painting in one pass, softer",
           weights_help="AdaIN needs its encoder and decoder weights; or use --method magenta "
                        "(its files ship with fsutils)."),
    Method("gatys", "Gatys (optimise)", GatysParams, _gatys, True, "starry_night_vangogh",
           _gatys_weights, _optimisation_size, quick=False,
           help="optimisation (slow on a CPU)",
           weights_help="Gatys needs the ImageNet VGG-19 weights; or use --method magenta or "
                        "--method fast (one pass, no VGG-19 needed)."),
):
    register_method(_method)
#: The method used when none is named.
DEFAULT_METHOD = "magenta"


def get_method(name: str) -> Method:
    """The table entry of a style method (an error naming the known ones otherwise)."""
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown style method {name!r}; choose from {', '.join(METHODS)}") from None


def stylize(method: str, content: Any, style: Any, params: StyleParams | None = None, *,
            size: int | None = None, mask: Any = None, callback: Callable | None = None,
            progress: bool = False, **changes: Any) -> Image.Image:
    """Stylise ``content`` with ``method`` from the table: ``params`` (the method's parameter
    object, default its defaults) with ``changes`` applied; ``size`` the working size (default
    the method's own, see :class:`Method`)."""
    m = get_method(method)
    p = m.make_params(params, **changes)
    photo = fio.to_rgb(content)
    size = int(size or m.default_size(max(photo.size)))
    return m.run(photo, style, p, size=size, mask=mask, callback=callback, progress=progress)
