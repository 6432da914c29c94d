"""The command line's options: argparse types that check each value, and :func:`build_parser`.

The choices and defaults come from the records (style methods :data:`fsutils.style.METHODS`,
blend modes :data:`fsutils.blend.BLEND_MODES`) and the parameter objects, so a new method or mode
appears here without an edit. Old option names stay as aliases (``--max-size`` for
``--photo-size``, ``--size`` for ``--style-size``, ``--alpha`` for ``--style-strength``).
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from fsutils.args import Parser as _Parser
from fsutils.args import device as _device
from fsutils.args import number as _number
from fsutils.limits import MAX_SIDE, MIN_SIDE  # one place for the photo's sizes

__all__ = ["build_parser", "MAX_SIDE", "MIN_SIDE"]


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: …)`` only where there is a value to show (not None, not an off flag)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


_SIDE = _number(int, low=MIN_SIDE, high=MAX_SIDE)


def _garments(text: str) -> tuple[int, ...] | tuple[str, ...]:
    """An argparse type: comma-separated garment classes of one vocabulary — semantic classes
    (names or 1-3) as label indices, or instance classes (outer, shoe …) as their names."""
    from fsutils.garments import resolve_garments, vocabularies

    parts = [c.strip() for c in text.split(",") if c.strip()]
    try:
        classes = resolve_garments(parts or None)
    except ValueError as e:
        mixed = "mix two vocabularies" in str(e)
        raise argparse.ArgumentTypeError(str(e) if mixed else f"{text!r} names no garment class; "
                                         f"choose {vocabularies()}") from None
    if 0 in classes:
        raise argparse.ArgumentTypeError(f"the background (0) is not a garment; choose "
                                         f"{vocabularies()}")
    return classes


def _point(text: str):
    """An argparse type: ``X,Y``, a point in pixels of the photo as given (x to the right, y down
    from the top-left corner)."""
    from fsutils.garments import resolve_garments

    parts = text.replace(" ", "").split(",")
    try:
        if len(parts) != 2:
            raise ValueError(text)
        return resolve_garments([tuple(float(v) if "." in v else int(v) for v in parts)])[0]
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a point; give X,Y in pixels of the "
                                         "photo, e.g. 210,340") from None


def _segment_weights(text: str) -> str:
    """An argparse type: a cloth model's registry name or an existing checkpoint file."""
    from fsutils.segment import CLOTH_WEIGHTS

    if text in CLOTH_WEIGHTS or Path(text).expanduser().is_file():
        return text
    models = ", ".join(CLOTH_WEIGHTS)
    raise argparse.ArgumentTypeError(f"{text!r} is neither a cloth model ({models}) nor a "
                                     f"checkpoint file")


def _save_kinds(text: str) -> tuple[str, ...] | None:
    """An argparse type: ``all`` (None) or comma-separated result kinds."""
    from fsutils.results import SAVE_KINDS

    wanted = {s.strip() for s in text.split(",") if s.strip()}
    if wanted == {"all"}:
        return None
    unknown = wanted - set(SAVE_KINDS)
    if unknown or not wanted:
        raise argparse.ArgumentTypeError(f"takes all or some of {', '.join(SAVE_KINDS)}; got "
                                         f"{', '.join(sorted(unknown)) or 'nothing'}")
    return tuple(sorted(wanted))


def _or(names: list[str]) -> str:
    return ", ".join(names[:-1]) + (" or " if len(names) > 1 else "") + names[-1]


def build_parser() -> argparse.ArgumentParser:
    """The command line's options, one ``add_argument`` each (long by nature: a declaration per
    option, grouped as ``--help`` shows them); choices, help and defaults come from the style
    method and blend mode records and the parameter objects."""
    from fsutils.blend import BLEND_MODES, DEFAULT_MODE
    from fsutils.garments import vocabularies
    from fsutils.results import MASK_RULE
    from fsutils.saliency import SALIENCY_WEIGHTS
    from fsutils.style import DEFAULT_METHOD, METHODS
    from fsutils.weights import get as _weights

    paintings = [n for n, m in METHODS.items() if m.painting]
    models = {n: m for n, m in METHODS.items() if not m.painting}
    p = _Parser(
        prog="python -m fsutils",
        description="Style the clothes in photos: cloth segmentation → saliency → style transfer "
                    "→ saliency-guided blend. Writes the result, the masks, the saliency map and "
                    "a comparison figure per photo.",
        epilog=f"Garments: {vocabularies()}. "
               + "".join(f"{n.capitalize()} models: {', '.join(m.styles)}. "
                         for n, m in models.items())
               + f"Bundled paintings: see --list-samples; {_or(paintings)} also take any image "
                 "file.",
        formatter_class=_HelpFormatter)
    p.add_argument("photos", nargs="*", type=Path,
                   help="photos and/or folders of photos (default: a bundled sample photo). "
                        "Each photo's files are named after its stem (a.jpg → a_stylized.png …); "
                        "photos of one run whose stems are the same, case ignored, are named "
                        "after their file name (a.png_…, a.jpg_…) and, where that is shared "
                        "too, after as many of their folders as tell them apart (dir1_a.png_…, "
                        "dir2_a.png_…); a name over 200 bytes keeps its start and gets ~ and a hash; "
                        "a file given twice is done once")
    p.add_argument("-s", "--style", default=None,
                   help=f"{'/'.join(paintings)}: a painting file or a bundled painting's name "
                        f"(default {METHODS[DEFAULT_METHOD].default_style})"
                        + "".join(f"; {n}: a model name (default {m.default_style})"
                                  for n, m in models.items()))
    p.add_argument("-m", "--method", choices=tuple(METHODS), default=DEFAULT_METHOD,
                   help="; ".join(f"{n} = {m.help or m.label}" for n, m in METHODS.items()))
    p.add_argument("-g", "--garments", type=_garments, default="upper,lower,full",
                   help=f"comma-separated garments to restyle, from one vocabulary: "
                        f"{vocabularies()} (the garment detector's items: e.g. outer,shoe "
                        "restyles only the coat and the shoes)")
    p.add_argument("--at", action="append", type=_point, default=None, metavar="X,Y",
                   help="restyle the garment under this point of the photo (pixels of the photo "
                        "as given, x to the right and y down from the top-left corner) instead "
                        "of --garments; repeat for more garments (their union)")
    b = p.add_argument_group("blending")
    b.add_argument("--mode", "--blend", dest="mode", choices=tuple(BLEND_MODES),
                   default=DEFAULT_MODE, metavar="MODE",
                   help="how the style goes into the garments: "
                        + "; ".join(f"{n} = {m.title}" for n, m in BLEND_MODES.items()))
    add_blend_options(b)
    p.add_argument("-o", "--out", type=Path, default=Path("outputs"), help="output folder")
    p.add_argument("--photo-size", "--max-size", dest="photo_size", type=_SIDE, default=None,
                   help="longest side the photo is worked on and written at (default: 512 on "
                        "a CPU, 1024 on a GPU, so a folder of large photos stays quick; "
                        f"{MAX_SIDE} keeps every photo's own size, as the Python API's "
                        "Pipeline does unless given photo_size=; a photo is never enlarged)")
    p.add_argument("--style-size", "--size", dest="style_size", type=_SIDE, default=None,
                   help="longest side of the style stage (default: the method's own: 384 for "
                        "magenta, the photo size for fast/adain, 256 on a CPU / 512 on a GPU for "
                        "gatys)")
    s = p.add_argument_group("style")
    s.add_argument("--masked-style", action="store_true",
                   help="style computed for the chosen garments only: the Gatys style loss, and "
                        "the feature statistics of magenta and adain, over those garments")
    add_param_options(p, s)
    w = p.add_argument_group("weights")
    w.add_argument("--segment-weights", type=_segment_weights, default=None,
                   help="cloth model: the bundled ccp_deeplab (default, no download), the bundled "
                        "ccp_u2netp (a smaller U-2-Net), cloth_segm "
                        f"(the official model, a {_weights('cloth_segm').size_text} download) "
                        "or the path of your own checkpoint (python -m fsutils.train cloth --export)")
    w.add_argument("--saliency-weights", choices=SALIENCY_WEIGHTS, default=SALIENCY_WEIGHTS[0],
                   help=f"u2netp (ships with the kit) or u2net (a "
                        f"{_weights('u2net').size_text} download)")
    e = p.add_argument_group("engine")
    e.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local: one photo after another in this process; ray: the same work on "
                        "Ray Data, an actor pool of workers on this machine or a cluster (an "
                        'optional extra: pip install "fsutils[ray]"); the files and the manifest '
                        "are the same")
    e.add_argument("--address", default=None,
                   help="with --engine ray: the cluster to join (auto, or ray://HOST:PORT); "
                        "default: a local cluster on this machine")
    e.add_argument("--workers", type=_number(int, low=1, high=4096), default=None,
                   help="with --engine ray: workers, each with the models loaded once (default: "
                        "one per CPU of the cluster, at most one per photo)")
    e.add_argument("--gpus-per-worker", type=_number(float, low=0, high=64), default=None,
                   help="with --engine ray: GPUs per worker, e.g. 1, or 0.5 for two workers on "
                        "one GPU (default: 0, CPU workers)")
    p.add_argument("--overwrite", action="store_true",
                   help="redo every photo; without it a rerun skips the photos that the output "
                        "folder's manifest.jsonl records as done with the same settings, the "
                        "same input and their files intact")
    p.add_argument("--save", type=_save_kinds, default="all",
                   help="what to write: all, or a comma-separated subset of stylized, hard_paste, "
                        f"style_full, labels, mask, saliency, comparison. mask: {MASK_RULE}")
    p.add_argument("--device", type=_device, default=None,
                   help="cpu, cuda, cuda:N or mps (default: best available)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.add_argument("--list-samples", action="store_true",
                   help="list the bundled photos and paintings and exit")
    return p


def _option(control) -> dict:
    """argparse keywords of a parameter field's :class:`~fsutils.controls.Control`."""
    from fsutils.controls import bounds

    low, low_ok, top = bounds(control)
    if control.kind == "check":
        return {"action": "store_true"}
    if control.kind == "choice":
        return {"choices": control.choices}
    return {"type": _number(int if control.kind == "int" else float, low=low, low_ok=low_ok,
                            high=top)}


def add_blend_options(group: Any) -> None:
    """One ``--flag`` per blend parameter (:func:`fsutils.blend.modes.blend_parameters`: the
    fields of BlendParams and every registered mode's own), made from its Control."""
    from fsutils.blend.modes import blend_parameters

    for name, (default, control) in blend_parameters().items():
        group.add_argument("--" + name.replace("_", "-"), *control.aliases, dest=name,
                           default=default, help=control.help or control.label, **_option(control))


def blend_params(args: argparse.Namespace, mode: str | None = None):
    """The :class:`~fsutils.blend.BlendParams` of the blend options (``mode``, default
    ``args.mode``); raises ``ValueError`` for a bad combination."""
    from fsutils.blend import BlendParams
    from fsutils.blend.modes import blend_parameters

    return BlendParams.of(mode or getattr(args, "mode", None),
                          **{n: getattr(args, n, None) for n in blend_parameters()})


def add_param_options(p: argparse.ArgumentParser, shared: Any) -> None:
    """One ``--flag`` per described parameter field of every style method (:data:`METHODS`),
    made from its :class:`~fsutils.style.params.Control`: a field of several methods in the
    ``shared`` group, the others in a group named after their method."""
    from fsutils.style import METHODS
    from fsutils.style.params import controls

    owners: dict[str, list[str] | None] = {}
    for name, method in METHODS.items():
        for field in controls(method.params):
            owners.setdefault(field, []).append(method.label)
    groups: dict[str, Any] = {}
    for name, method in METHODS.items():
        for field, (default, control) in controls(method.params).items():
            if owners[field] is None:
                continue  # added with an earlier method
            group = shared if len(owners[field]) > 1 else groups.setdefault(
                method.label, p.add_argument_group(method.label))
            group.add_argument("--" + field.replace("_", "-"), *control.aliases, dest=field,
                               default=default,  # the parameter object's (--help shows it)
                               help=control.help or control.label, **_option(control))
            owners[field] = None


def style_params(method, args: argparse.Namespace):
    """The method's parameter object from the options named like its fields (the others keep
    the parameter class's defaults)."""
    names = {f.name for f in dataclasses.fields(method.params)}
    return method.params(**{n: getattr(args, n) for n in sorted(names)
                            if getattr(args, n, None) is not None})
