"""The main job: ``python -m fsutils`` — style the clothes in a photo (or a folder of photos).

Runs the whole pipeline (cloth segmentation → saliency → style transfer → blend into the garments,
``--mode``, see ``fsutils.blend``) and writes, per photo, into the output folder:

    <name>_stylized.png      the result: the style inside the chosen garments, blended by --mode
    <name>_hard_paste.png    the pre-saliency baseline (stylised pixels pasted inside the mask)
    <name>_style_full.png    the whole photo stylised (before blending)
    <name>_labels.png        the garment label map in colour (red upper, green lower, yellow full)
    <name>_mask.png          the chosen garments; <name>_mask_<class>.png for every class
    <name>_saliency.png      the saliency map
    <name>_comparison.png    photo | stylised | hard paste | the blend, with a boundary close-up

Examples::

    python -m fsutils                                   # a bundled sample photo, Magenta, Starry Night
    python -m fsutils photo.jpg --style the_scream_munch --style-strength 0.6 --garments upper
    python -m fsutils photo.jpg --method fast --style mosaic
    python -m fsutils photos/ --method adain --style my_painting.jpg --out results/
    python -m fsutils photo.jpg --method gatys --style my_painting.jpg --steps 200

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

import argparse
import contextlib
import errno
import sys
import tempfile
import time
from pathlib import Path
from typing import NoReturn

__all__ = ["main", "build_parser"]

#: Upper bounds of the working sizes (longest side, px): an 8192-px side already holds the
#: largest photo fsutils.io reads by default (64 megapixels).
MAX_SIDE = 8192
#: The shortest side a photo may have at its working size: Magenta needs 16 px and the fast
#: models' reflection padding needs more than 4; a photo narrower than this at the working size
#: (a 10-px icon, a 4000×1 strip) holds no garment the models could find, so it is refused in one
#: line rather than padded into a result that would be mostly padding.
MIN_SIDE = 16
#: Exit status after Ctrl-C (128 + SIGINT, as shells report it).
INTERRUPTED = 130
_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line (``python -m fsutils: error: …``, exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: …)`` only where there is a value to show (not None, not an off flag)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def _number(kind: type, *, low: float, low_ok: bool = True, high: float | None = None):
    """An argparse type: a ``kind`` number ≥ ``low`` (> ``low`` unless ``low_ok``) and ≤ ``high``."""
    bound = (f"≥ {low:g}" if low_ok else f"> {low:g}") + ("" if high is None else f" and ≤ {high:g}")
    word = "a whole number" if kind is int else "a number"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {word}") from None
        if value != value or (value < low if low_ok else value <= low) or \
                (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{text} is out of range: give {word} {bound}")
        return value

    parse.__name__ = "whole number" if kind is int else "number"
    return parse


_SIDE = _number(int, low=MIN_SIDE, high=MAX_SIDE)


def _device(text: str) -> str:
    """An argparse type: a device this machine has (``fsutils.env.check_device``)."""
    from fsutils import env

    try:
        return env.check_device(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e).rstrip(".")) from None


def _garments(text: str) -> tuple[int, ...]:
    """An argparse type: comma-separated garment classes (names or 1-3) as label indices."""
    from fsutils.garments import resolve_garments
    from fsutils.segment import CLASS_NAMES

    garments = ", ".join(f"{n.split()[0]} ({i})" for i, n in enumerate(CLASS_NAMES) if i)
    parts = [c.strip() for c in text.split(",") if c.strip()]
    try:
        classes = resolve_garments(parts or None)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} names no garment class; choose from "
                                         f"{garments}") from None
    if 0 in classes:
        raise argparse.ArgumentTypeError(f"the background (0) is not a garment; choose from "
                                         f"{garments}")
    return classes


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


def build_parser() -> argparse.ArgumentParser:
    """The command line's options, one ``add_argument`` each (long by nature: a declaration per
    option, grouped as ``--help`` shows them); defaults come from the parameter objects."""
    from fsutils.blend import BLEND_MODES, DEFAULT_MODE, BlendParams
    from fsutils.blend.modes import BLEND_LIMITS as LIM
    from fsutils.saliency import SALIENCY_WEIGHTS
    from fsutils.style import DEFAULT_METHOD
    from fsutils.style import METHODS as TABLE
    from fsutils.style.params import (MAX_LOSS_WEIGHT, MAX_STEPS, OPTIMIZERS, AdainParams,
                                      GatysParams, MagentaParams)

    p = _Parser(
        prog="python -m fsutils",
        description="Style the clothes in photos: cloth segmentation → saliency → style transfer "
                    "→ saliency-guided blend. Writes the result, the masks, the saliency map and "
                    "a comparison figure per photo.",
        epilog="Garment classes: upper (body), lower (body), full (body). Fast models: candy, "
               "mosaic, rain_princess, udnie, pointilism. Bundled paintings: see "
               "--list-samples; magenta, adain and gatys also take any image file.",
        formatter_class=_HelpFormatter)
    p.add_argument("photos", nargs="*", type=Path,
                   help="photos and/or folders of photos (default: a bundled sample photo)")
    p.add_argument("-s", "--style", default=None,
                   help="magenta/adain/gatys: a painting file or a bundled painting's name (default "
                        f"{TABLE[DEFAULT_METHOD].default_style}); fast: a model name (default "
                        f"{TABLE['fast'].default_style})")
    p.add_argument("-m", "--method", choices=tuple(TABLE), default=DEFAULT_METHOD,
                   help="magenta = any painting in one pass (Magenta's arbitrary stylisation, "
                        "real time); fast = a pretrained network per painting; adain = any "
                        "painting in one pass, softer; gatys = optimisation (slow on a CPU)")
    p.add_argument("-g", "--garments", type=_garments, default="upper,lower,full",
                   help="comma-separated garment classes to restyle: upper, lower, full (or their "
                        "indices 1-3)")
    d = BlendParams()
    b = p.add_argument_group("blending")
    b.add_argument("--mode", "--blend", dest="mode", choices=tuple(BLEND_MODES),
                   default=DEFAULT_MODE, metavar="MODE",
                   help="how the style goes into the garments: "
                        + "; ".join(f"{n} = {m.title}" for n, m in BLEND_MODES.items()))
    b.add_argument("--strength", type=_number(float, low=0, high=LIM["strength"][1]),
                   default=d.strength, help="saliency strength ≥ 0 (the …saliency modes)")
    b.add_argument("--width", type=_number(float, low=0, high=LIM["width"][1]), default=d.width,
                   help="feather width in px ≥ 0 (feathered)")
    b.add_argument("--radius", type=_number(int, low=1, high=LIM["radius"][1]), default=d.radius,
                   help="guided-filter window radius in px (the guided modes)")
    b.add_argument("--eps", type=_number(float, low=0, low_ok=False, high=LIM["eps"][1]),
                   default=d.eps,
                   help="guided-filter regularisation > 0; larger = smoother mask (the guided modes)")
    p.add_argument("-o", "--out", type=Path, default=Path("outputs"), help="output folder")
    p.add_argument("--max-size", type=_SIDE, default=None,
                   help="longest side the photo is worked on (default: 512 on a CPU, 1024 on a GPU)")
    p.add_argument("--size", type=_SIDE, default=None,
                   help="style working size, longest side (default: 384 for magenta, the photo's "
                        "working size for fast/adain, 256 on a CPU / 512 on a GPU for gatys)")
    mg, gp, ap = MagentaParams(), GatysParams(), AdainParams()
    m = p.add_argument_group("Magenta")
    m.add_argument("--style-strength", type=_number(float, low=0, high=1),
                   default=mg.style_strength,
                   help="0..1: from the photo's own style (0) to the painting's (1)")
    g = p.add_argument_group("Gatys")
    g.add_argument("--steps", type=_number(int, low=1, high=MAX_STEPS), default=gp.steps,
                   help="optimisation steps (default 100 CPU / 300 GPU)")
    for field, text in (("content_weight", "content weight α"), ("style_weight", "style weight β"),
                        ("tv_weight", "total-variation weight")):
        g.add_argument("--" + field.replace("_", "-"),
                       type=_number(float, low=0, high=MAX_LOSS_WEIGHT),
                       default=getattr(gp, field), help=text)
    g.add_argument("--optimizer", choices=OPTIMIZERS, default=gp.optimizer,
                   help="lbfgs (the original method's choice: few steps) or adam (cheaper steps, "
                        "more of them)")
    g.add_argument("--masked-style", action="store_true",
                   help="style computed for the chosen garments only: the Gatys style loss, and "
                        "the feature statistics of magenta and adain, over those garments")
    a = p.add_argument_group("AdaIN")
    a.add_argument("--alpha", type=_number(float, low=0, high=1), default=ap.alpha,
                   help="AdaIN style amount 0..1")
    w = p.add_argument_group("weights")
    w.add_argument("--segment-weights", type=_segment_weights, default=None,
                   help="cloth model: the bundled ccp_deeplab (default, no download), the bundled "
                        "ccp_u2netp (the kit's earlier model), cloth_segm "
                        "(the official model, a 176 MB download) or the path of your own "
                        "checkpoint (python -m fsutils.train --export)")
    w.add_argument("--saliency-weights", choices=SALIENCY_WEIGHTS, default=SALIENCY_WEIGHTS[0],
                   help="u2netp (ships with the kit) or u2net (a 176 MB download)")
    p.add_argument("--save", type=_save_kinds, default="all",
                   help="what to write: all, or a comma-separated subset of stylized, hard_paste, "
                        "style_full, labels, mask, saliency, comparison")
    p.add_argument("--device", type=_device, default=None,
                   help="cpu, cuda, cuda:N or mps (default: best available)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.add_argument("--list-samples", action="store_true",
                   help="list the bundled photos and paintings and exit")
    return p


def _scan(folder: Path) -> tuple[list[Path], list[str]]:
    """The images in ``folder`` (by name ending, see ``fsutils.io.IMAGE_SUFFIXES``; sub-folders
    are not searched), sorted, and what was skipped: one phrase per reason, naming the entries."""
    from fsutils import io as fio

    found: list[Path] = []
    skipped: dict[str, list[str]] = {}
    for q in sorted(folder.iterdir()):
        if q.name.startswith("."):
            why = "hidden"
        elif q.is_dir():
            why = "sub-folder(s), not searched (name them to include them)"
        elif q.suffix.lower() in fio.IMAGE_SUFFIXES:
            found.append(q)
            continue
        else:
            why = f"file(s) not named as images ({' '.join(sorted(fio.IMAGE_SUFFIXES))})"
        skipped.setdefault(why, []).append(q.name + ("/" if q.is_dir() else ""))
    return found, [f"{len(names)} {why}: " + ", ".join(names[:8])
                   + (f" and {len(names) - 8} more" if len(names) > 8 else "")
                   for why, names in skipped.items()]


def _collect(paths: list[Path], parser: argparse.ArgumentParser) -> list[Path]:
    """The photos to process: files, the images in folders (what a folder scan skips is listed
    on stderr, one line per folder) and bundled samples by name; a usage error for anything
    else."""
    from fsutils import io as fio

    if not paths:
        return [fio.sample_photos()[0]]
    photos: list[Path] = []
    for p in paths:
        if p.is_dir():
            found, skipped = _scan(p)
            if not found:
                parser.error(f"the folder {p} holds no images "
                             f"({' '.join(sorted(fio.IMAGE_SUFFIXES))})"
                             + (f"; it has {'; '.join(skipped)}" if skipped else ""))
            if skipped:
                print(f"note: {p}: skipped {'; '.join(skipped)}", file=sys.stderr)
            photos += found
        elif p.is_file():
            photos.append(p)
        else:
            try:  # a bundled sample by name, e.g. ccp_0006
                photos.append(fio.sample_path(str(p)))
            except FileNotFoundError:
                parser.error(f"{p} is neither a file, a folder nor a bundled sample "
                             "(see --list-samples)")
    return photos


def _writable(out: Path, parser: argparse.ArgumentParser) -> None:
    """Create ``--out`` if missing and prove it writable with a temporary file, before any model
    loads; a usage error (exit 2) when it is a file or cannot be written."""
    if out.exists() and not out.is_dir():
        parser.error(f"--out {out} is a file; give a folder (it is created if missing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as e:
        where = Path(e.filename) if e.filename else out  # the probe's own name would confuse
        parser.error(f"--out {out} cannot be written ({e.strerror or e}"
                     f"{'' if out in (where, where.parent) else f': {where}'}); "
                     "choose a folder you can write to")


def _style_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict:
    """The method, its style and its parameter object (``Pipeline.run`` arguments), checked."""
    from fsutils import env
    from fsutils.style import AdainParams, FastParams, GatysParams, MagentaParams, get_method

    method = get_method(args.method)
    style = args.style or method.default_style
    if not method.painting:
        from fsutils.style import FAST_STYLES
        from fsutils.style.fast import registry_name

        try:
            registry_name(style)
        except ValueError:
            parser.error(f"--style: {style!r} is not a fast-style model ({', '.join(FAST_STYLES)})"
                         "; for a painting use --method magenta, adain or gatys")
    else:
        from fsutils.style import load_style
        try:
            load_style(style)
        except (FileNotFoundError, ValueError) as e:
            parser.error(f"--style: {e}")
    params = {
        "magenta": lambda: MagentaParams(style_strength=args.style_strength),
        "fast": FastParams,
        "adain": lambda: AdainParams(alpha=args.alpha),
        "gatys": lambda: GatysParams(steps=args.steps or env.default_gatys_steps(),
                                     content_weight=args.content_weight,
                                     style_weight=args.style_weight, tv_weight=args.tv_weight,
                                     optimizer=args.optimizer),
    }[method.name]()
    return {"method": method.name, "style": style, "params": params}


#: What a style method can do without its missing weights.
_INSTEAD = {
    "gatys": " Gatys needs the ImageNet VGG-19 weights; or use --method magenta or --method fast "
             "(one pass, no VGG-19 needed).",
    "adain": " AdaIN needs its encoder and decoder weights; or use --method magenta (its files "
             "ship with fsutils).",
}


def _weights_help(method: str, err: Exception) -> str:
    """The message of checkpoints that could not be obtained or loaded, headed by the part of
    the run they belong to (the error's ``weights_name``): the cloth model, the saliency model,
    or the style method; for a run's missing files (:class:`MissingWeightsError`), the list and
    what to do."""
    from fsutils.saliency import SALIENCY_WEIGHTS
    from fsutils.segment import CLOTH_WEIGHTS
    from fsutils.weights import MissingWeightsError

    first = str(err).strip()
    name = getattr(err, "weights_name", None)
    if isinstance(err, MissingWeightsError):
        own = set(err.names) - set(CLOTH_WEIGHTS) - set(SALIENCY_WEIGHTS)
        return (f"error: {first}\n\nWhat to do: run once with internet access (each file is "
                f"downloaded, checked and cached), or save each file as shown above."
                + (_INSTEAD.get(method, "") if own else ""))
    if name in SALIENCY_WEIGHTS:
        return (f"error: the saliency model {name} could not be loaded:\n{first}\n\nWhat to do: "
                "follow the instructions above, or leave out --saliency-weights to use the u2netp "
                "file that ships with fsutils.")
    if name in CLOTH_WEIGHTS:
        return (f"error: the cloth-segmentation model {name} could not be loaded:\n{first}\n\n"
                "What to do: follow the instructions above, or leave out --segment-weights to use "
                "the bundled ccp_deeplab model.")
    if method == "magenta":
        return (f"error: Magenta's TensorFlow Lite networks could not be loaded:\n{first}\n\n"
                "What to do: they ship with fsutils, so reinstall it, or place the files where "
                "the message above says.")
    return (f"error: the weights of --method {method} could not be loaded:\n{first}\n\nWhat to "
            f"do: follow the instructions above.{_INSTEAD.get(method, '')}")


def _needed_weights(args: argparse.Namespace, style: dict) -> list[str]:
    """The registry checkpoints the chosen options load: the cloth model (unless a file of one's
    own), the saliency model, and the style method's for its style (:class:`Method`'s
    ``weights``)."""
    from fsutils.segment import DEFAULT_CLOTH_WEIGHTS
    from fsutils.style import get_method
    from fsutils.weights import REGISTRY

    cloth = args.segment_weights or DEFAULT_CLOTH_WEIGHTS
    method = get_method(style["method"]).weights(style["style"])
    return ([cloth] if cloth in REGISTRY else []) + [args.saliency_weights, *method]


def _check_settings(parser: argparse.ArgumentParser) -> None:
    """The environment's numeric settings, before anything reads them (exit 2, one line)."""
    from fsutils import io as fio
    from fsutils.env import SettingError
    from fsutils.weights import download_settings

    try:
        fio.max_pixels_setting()
        download_settings()
    except SettingError as e:
        parser.exit(2, f"{parser.prog}: error: {e}\n")


def _require_weights(args: argparse.Namespace, style: dict) -> None:
    """Every checkpoint of the run fetched before any model loads, or one message listing each
    missing file, where to get it and where to put it (exit 1)."""
    from fsutils import weights

    try:
        with contextlib.redirect_stdout(sys.stderr):
            weights.require(_needed_weights(args, style), progress=not args.quiet)
    except weights.WeightsError as e:
        raise SystemExit(_weights_help(style["method"], e)) from None


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


def _coverage_warning(path: Path, res, names: tuple[str, ...]) -> str | None:
    """A warning when the chosen garments cover nothing, naming what the photo holds instead."""
    if res.mask.any():
        return None
    import numpy as np

    found = [(names[i], float(np.mean(res.labels == i))) for i in range(1, len(names))]
    found = [(n, share) for n, share in found if share > 0]
    chosen = ", ".join(names[c] for c in res.garments)
    instead = (", ".join(f"{n} {100 * share:.1f}%" for n, share in found) if found
               else "no garment at all")
    hint = (f"; try --garments {','.join(n.split()[0] for n, _ in found)}" if found else "")
    return (f"warning: {path.name}: the chosen garments ({chosen}) cover 0% of the photo, so its "
            f"result is the unchanged photo; found {instead}{hint}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from fsutils import env
    from fsutils import io as fio

    if args.list_samples:
        print("photos:   " + ", ".join(p.stem for p in fio.sample_photos()))
        print("paintings: " + ", ".join(p.stem for p in fio.sample_styles()))
        return 0
    if args.device:
        import os
        os.environ["FSUTILS_DEVICE"] = args.device
    _check_settings(parser)
    photos = _collect(args.photos, parser)
    style = _style_args(args, parser)
    _writable(args.out, parser)
    _require_weights(args, style)
    from fsutils.blend import BlendParams

    args.blend = BlendParams(args.mode, strength=args.strength, width=args.width,
                             radius=args.radius, eps=args.eps)

    from fsutils.pipeline import Pipeline
    from fsutils.weights import WeightsError

    dev = env.device()
    max_size = args.max_size or env.default_work_size(dev)
    from fsutils.style import get_method

    size = args.size or get_method(style["method"]).default_size(max_size)
    pipe = Pipeline(photo_size=max_size, style_size=args.size, segment_weights=args.segment_weights,
                    saliency_weights=args.saliency_weights)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            names = pipe.class_names  # loads the cloth model, which says which one it is
    except WeightsError as e:
        raise SystemExit(f"error: the cloth-segmentation model could not be obtained:\n{e}\n\n"
                         "What to do: leave out --segment-weights to use the bundled ccp_deeplab "
                         "model, or follow the instructions above.") from None
    print(f"fsutils: {len(photos)} photo(s) → {args.out}/ | method {style['method']} "
          f"({style['style'] if isinstance(style['style'], str) else 'painting'}), garments "
          f"{', '.join(names[c] for c in args.garments)}, "
          f"blend {args.blend.title}, device {dev}, work size {max_size}px, style size {size}px",
          file=sys.stderr)
    t0 = time.perf_counter()
    written, failed, stopped = _run_batch(pipe, photos, args, style, names)
    if stopped:
        print(stopped[1], file=sys.stderr)
    print(f"{'stopped after' if stopped else 'done in'} {time.perf_counter() - t0:.1f}s: "
          f"{_files(len(written))} in {args.out}/", file=sys.stderr)
    if failed:
        print(f"error: {len(failed)} of {len(photos)} photo(s) failed:", file=sys.stderr)
        for path, why in failed:
            print(f"  {path}: {why}", file=sys.stderr)
    return stopped[0] if stopped else 1 if failed else 0


def _why(err: Exception) -> str:
    """One line saying why a photo failed: the kit's own messages as they are, a file-system
    error as its reason and file, anything else with its type."""
    from fsutils import io as fio

    if isinstance(err, (fio.ImageLoadError, _PhotoRefused)):
        text = str(err)
    elif isinstance(err, OSError) and err.strerror:
        text = f"{err.strerror}" + (f": {err.filename}" if err.filename else "")
    else:
        text = f"{type(err).__name__}: {err}"
    return text.strip().splitlines()[0] if text.strip() else type(err).__name__


class _PhotoRefused(ValueError):
    """A photo the models cannot work on (see :data:`MIN_SIDE`)."""


def _check_size(given: tuple[int, int], working: tuple[int, int], max_size: int) -> None:
    """Refuse a photo whose shorter side is under :data:`MIN_SIDE` px at its working size."""
    if min(working) >= MIN_SIDE:
        return
    if min(given) < MIN_SIDE:
        raise _PhotoRefused(f"the photo is only {given[0]}×{given[1]} px; the models need at "
                            f"least {MIN_SIDE} px on each side: use a larger photo")
    raise _PhotoRefused(f"the photo ({given[0]}×{given[1]} px) is too narrow: at the working size "
                        f"(longest side {max_size} px) it is {working[0]}×{working[1]} px and the "
                        f"models need at least {MIN_SIDE} px on each side: crop it to a less "
                        "extreme shape or raise --max-size")


def _run_batch(pipe, photos: list[Path], args: argparse.Namespace, style: dict,
               names: tuple[str, ...]
               ) -> tuple[list[Path], list[tuple[Path, str]], tuple[int, str] | None]:
    """Every photo in turn: the files written (each listed on stdout as soon as it is in place),
    the photos that failed with one line each, and, when the batch stopped early (Ctrl-C, a full
    disk), its exit status and the line that says why (else None). A photo that fails for any other reason is reported and the batch goes on.
    Per-photo lines go through ``tqdm.write`` so they never run into the progress bar, and the
    bar is drawn only on a terminal (tqdm's ``disable=None``)."""
    from tqdm.auto import tqdm

    from fsutils import io as fio
    from fsutils.results import save_result
    from fsutils.weights import WeightsError

    written: list[Path] = []
    failed: list[tuple[Path, str]] = []

    def saved(path: Path) -> None:
        written.append(path)
        print(path, flush=True)

    bar = tqdm(photos, desc="photos", unit="photo", file=sys.stderr,
               disable=True if args.quiet or len(photos) < 2 else None)
    done = 0
    try:
        for path in bar:
            bar.set_postfix_str(path.name)
            before = len(written)
            try:
                given = fio.load_image(path)
                pipe.set_image(given, name=path.stem)
                _check_size(given.size, pipe.photo.size, pipe.photo_size)
                # stdout lists only the written files; what the models say goes to stderr
                with contextlib.redirect_stdout(sys.stderr):
                    res = pipe.run(blend=args.blend, garments=args.garments,
                                   masked_style=args.masked_style,
                                   progress=not args.quiet, **style)
                save_result(res, args.out, path.stem, kinds=args.save, on_saved=saved)
            except WeightsError as e:
                raise SystemExit(_weights_help(style["method"], e)) from None
            except Exception as e:  # noqa: BLE001 — one photo's failure must not end the batch
                if isinstance(e, OSError) and e.errno in _DISK_FULL:
                    bar.close()
                    return written, failed, (1, (
                        f"error: the disk is full ({_why(e)}): stopped at {path.name} with "
                        f"{done} of {len(photos)} photo(s) done; earlier results are intact. Free "
                        "some space or choose another --out, then run again"))
                failed.append((path, _why(e)))
                tqdm.write(f"error: {path}: {_why(e)}", file=sys.stderr)
                done += 1
                continue
            done += 1
            warning = _coverage_warning(path, res, names)
            if warning:
                tqdm.write(warning, file=sys.stderr)
            tqdm.write(f"{path.name}: garments cover {100 * res.mask.mean():.1f}% of the photo; "
                       f"wrote {_files(len(written) - before)}", file=sys.stderr)
    except KeyboardInterrupt:
        bar.close()
        return written, failed, (INTERRUPTED, (
            f"interrupted (Ctrl-C): stopped with {done} of {len(photos)} photo(s) done; every "
            "file listed is complete, none is half-written"))
    return written, failed, None


def _entry() -> int:
    """``python -m fsutils``: :func:`main`, with Ctrl-C before the batch (e.g. while the models
    load) as one line and exit status 130 (Ctrl-C during the batch is handled there)."""
    try:
        return main()
    except KeyboardInterrupt:
        print("interrupted (Ctrl-C): stopped before any photo was written", file=sys.stderr)
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(_entry())
