"""The main job: ``python -m fsutils`` — style the clothes in a photo (or a folder of photos).

Runs the whole pipeline (cloth segmentation → saliency → style transfer → saliency-guided blend)
and writes, per photo, into the output folder:

    <name>_stylized.png      the result: the style inside the chosen garments, blended by saliency
    <name>_hard_paste.png    the pre-saliency baseline (stylised pixels pasted inside the mask)
    <name>_style_full.png    the whole photo stylised (before blending)
    <name>_labels.png        the garment label map in colour (red upper, green lower, yellow full)
    <name>_mask.png          the chosen garments; <name>_mask_<class>.png for every class
    <name>_saliency.png      the saliency map
    <name>_comparison.png    photo | stylised | hard paste | saliency blend, with a boundary close-up

Examples::

    python -m fsutils                                   # a bundled sample photo, fast "candy" style
    python -m fsutils photo.jpg --style mosaic --garments upper
    python -m fsutils photos/ --method adain --style starry_night_vangogh --out results/
    python -m fsutils photo.jpg --method gatys --style my_painting.jpg --steps 200

Weights come through ``fsutils.weights`` (cache ``weights/``, or ``$FSUTILS_WEIGHTS_MIRROR``): the
cloth model ships with the kit, ``u2netp`` and the fast models download on first use; Gatys needs
the ImageNet VGG-19 and AdaIN its two files.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

__all__ = ["main", "build_parser"]

_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
_DEFAULT_PAINTING = "starry_night_vangogh"


def build_parser() -> argparse.ArgumentParser:
    from fsutils.pipeline import METHODS, MODES

    p = argparse.ArgumentParser(
        prog="python -m fsutils",
        description="Style the clothes in photos: cloth segmentation → saliency → style transfer "
                    "→ saliency-guided blend. Writes the result, the masks, the saliency map and "
                    "a comparison figure per photo.",
        epilog="Garment classes: upper (body), lower (body), full (body). Fast models: candy, "
               "mosaic, rain_princess, udnie, pointilism. Bundled paintings: see "
               "--list-samples.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("photos", nargs="*", type=Path,
                   help="photos and/or folders of photos (default: a bundled sample photo)")
    p.add_argument("-s", "--style", default=None,
                   help="fast: a model name (default candy); adain/gatys: a painting file or a "
                        f"bundled painting's name (default {_DEFAULT_PAINTING})")
    p.add_argument("-m", "--method", choices=METHODS, default="fast",
                   help="fast = pretrained feed-forward model (real time, works offline with the "
                        "mirror); adain = any painting in one pass; gatys = optimisation (best, slow "
                        "on a CPU)")
    p.add_argument("-g", "--garments", default="upper,lower,full",
                   help="comma-separated garment classes to restyle (names or indices 1-3)")
    p.add_argument("--mode", choices=MODES, default="saliency",
                   help="how the style goes into the garment: hard paste, saliency blend "
                        "(C = M·S + (1−M)·C), or feathered mask")
    p.add_argument("--strength", type=float, default=1.0, help="saliency strength (saliency mode)")
    p.add_argument("--width", type=float, default=8.0, help="feather width in px (feathered mode)")
    p.add_argument("-o", "--out", type=Path, default=Path("outputs"), help="output folder")
    p.add_argument("--max-size", type=int, default=None,
                   help="longest side the photo is worked on (default: 512 on a CPU, 1024 on a GPU)")
    p.add_argument("--size", type=int, default=None,
                   help="style working size, longest side (default: the photo's working size for "
                        "fast/adain, 256 on a CPU / 512 on a GPU for gatys)")
    g = p.add_argument_group("Gatys")
    g.add_argument("--steps", type=int, default=None, help="optimisation steps (default 100 CPU / "
                                                            "300 GPU)")
    g.add_argument("--content-weight", type=float, default=1.0, help="α")
    g.add_argument("--style-weight", type=float, default=1e6, help="β")
    g.add_argument("--tv-weight", type=float, default=0.0, help="total-variation weight")
    g.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs")
    g.add_argument("--masked-style", action="store_true",
                   help="compute the style loss only over the chosen garments")
    a = p.add_argument_group("AdaIN")
    a.add_argument("--alpha", type=float, default=1.0, help="AdaIN style amount 0..1")
    w = p.add_argument_group("weights")
    w.add_argument("--segment-weights", default=None,
                   help="cloth model: the bundled ccp_u2netp (default, no download), cloth_segm "
                        "(the official model, a 176 MB download) or the path of your own "
                        "checkpoint (python -m fsutils.train --export)")
    w.add_argument("--saliency-weights", default="u2netp", help="u2netp or u2net")
    p.add_argument("--save", default="all",
                   help="what to write: all, or a comma-separated subset of stylized, hard_paste, "
                        "style_full, labels, mask, saliency, comparison")
    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.add_argument("--list-samples", action="store_true",
                   help="list the bundled photos and paintings and exit")
    return p


def _collect(paths: list[Path]) -> list[Path]:
    from fsutils import io as fio

    if not paths:
        return [fio.sample_photos()[0]]
    photos: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.suffix.lower() in _IMAGE_SUFFIXES)
            if not found:
                raise SystemExit(f"error: the folder {p} holds no images "
                                 f"({', '.join(sorted(_IMAGE_SUFFIXES))})")
            photos += found
        elif p.is_file():
            photos.append(p)
        else:
            try:  # a bundled sample by name, e.g. ccp_0006
                photos.append(fio.sample_path(str(p)))
            except FileNotFoundError:
                raise SystemExit(f"error: {p} is neither a file, a folder nor a bundled sample "
                                 "(see --list-samples)") from None
    return photos


def _style_args(args: argparse.Namespace) -> dict:
    from fsutils import env

    if args.method == "fast":
        from fsutils.style import FAST_STYLES
        from fsutils.style.fast import registry_name

        style = args.style or "candy"
        try:
            registry_name(style)
        except ValueError:
            raise SystemExit(f"error: {style!r} is not a fast-style model ({', '.join(FAST_STYLES)})"
                             "; for a painting use --method adain or --method gatys") from None
        return {"method": "fast", "style": style}
    style = args.style or _DEFAULT_PAINTING
    from fsutils.pipeline import load_style
    try:
        load_style(style)
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f"error: {e}") from None
    if args.method == "adain":
        return {"method": "adain", "style": style, "alpha": args.alpha}
    return {"method": "gatys", "style": style, "steps": args.steps or env.default_gatys_steps(),
            "content_weight": args.content_weight, "style_weight": args.style_weight,
            "tv_weight": args.tv_weight, "optimizer": args.optimizer}


def _weights_help(method: str, err: Exception) -> str:
    first = str(err).strip()
    if method == "gatys":
        return (f"error: Gatys style transfer needs the ImageNet VGG-19 weights, which could not be "
                f"obtained:\n{first}\n\nWhat to do: run once with internet access (the file is "
                "downloaded and cached), or place the file where the message above says, or use "
                "--method fast (pretrained models that also work offline through the mirror).")
    if method == "adain":
        return (f"error: AdaIN needs its encoder and decoder weights, which could not be obtained:"
                f"\n{first}\n\nWhat to do: run once with internet access, or place the files where "
                "the message above says, or use --method fast.")
    return f"error: a checkpoint could not be obtained:\n{first}"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from fsutils import env
    from fsutils import io as fio

    if args.list_samples:
        print("photos:   " + ", ".join(p.stem for p in fio.sample_photos()))
        print("paintings: " + ", ".join(p.stem for p in fio.sample_styles()))
        return 0
    if args.device:
        import os
        os.environ["FSUTILS_DEVICE"] = args.device
    wanted = {s.strip() for s in args.save.split(",") if s.strip()}

    from tqdm.auto import tqdm

    from fsutils.pipeline import Pipeline, resolve_classes, save_result, SAVE_KINDS
    from fsutils.weights import WeightsError

    if wanted != {"all"} and wanted - set(SAVE_KINDS):
        raise SystemExit(f"error: --save takes all or {', '.join(SAVE_KINDS)}; got "
                         f"{', '.join(sorted(wanted - set(SAVE_KINDS)))}")
    try:
        classes = resolve_classes([c for c in args.garments.split(",") if c.strip()] or None)
    except ValueError as e:
        raise SystemExit(f"error: --garments: {e}") from None
    if 0 in classes:
        raise SystemExit("error: --garments: 0 is the background, not a garment")
    photos = _collect(args.photos)
    style = _style_args(args)
    dev = env.device()
    max_size = args.max_size or env.default_work_size(dev)
    size = args.size or (env.default_style_size(dev) if style["method"] == "gatys" else max_size)
    pipe = Pipeline(max_size=max_size, style_size=args.size, segment_weights=args.segment_weights,
                    saliency_weights=args.saliency_weights)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            names = pipe.class_names  # loads the cloth model, which says which one it is
    except WeightsError as e:
        raise SystemExit(f"error: the cloth-segmentation model could not be obtained:\n{e}\n\n"
                         "What to do: leave out --segment-weights to use the bundled ccp_u2netp "
                         "model, or follow the instructions above.") from None
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"fsutils: {len(photos)} photo(s) → {args.out}/ | method {style['method']} "
          f"({style['style'] if isinstance(style['style'], str) else 'painting'}), garments "
          f"{', '.join(names[c] for c in classes)}, "
          f"mode {args.mode}, device {dev}, work size {max_size}px, style size {size}px",
          file=sys.stderr)
    written: list[Path] = []
    t0 = time.perf_counter()
    bar = tqdm(photos, desc="photos", unit="photo", disable=args.quiet or len(photos) < 2)
    for path in bar:
        bar.set_postfix_str(path.name)
        try:
            pipe.set_image(fio.load_image(path))
            # stdout lists only the written files; what the models say goes to stderr
            with contextlib.redirect_stdout(sys.stderr):
                res = pipe.run(mode=args.mode, classes=classes, strength=args.strength,
                               width=args.width, masked_style=args.masked_style,
                               progress=not args.quiet, **style)
        except WeightsError as e:
            raise SystemExit(_weights_help(style["method"], e)) from None
        except fio.ImageLoadError as e:
            raise SystemExit(f"error: {path}: {e}") from None
        files = save_result(res, args.out, path.stem,
                            kinds=None if wanted == {"all"} else sorted(wanted))
        written += files
        print(f"{path.name}: garments cover {100 * res.mask.mean():.1f}% of the photo; wrote "
              f"{len(files)} files", file=sys.stderr)
    print(f"done in {time.perf_counter() - t0:.1f}s: {len(written)} files in {args.out}/",
          file=sys.stderr)
    for f in written:
        print(f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
