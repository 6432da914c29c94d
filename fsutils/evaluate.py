"""Evaluation on any CCP-format folder: cloth segmentation, and where each blend puts the style.

    python -m fsutils.evaluate segmentation --ccp-root DIR --weights NAME [--split val]

prints per-class IoU for the garment classes (1–3), pixel accuracy, and as the last line
``mean_iou_garments=<float>`` (the mean IoU over classes 1–3). With ``--by-label`` it first prints,
for every CCP label (coat, blazer, skirt …), which kit class its pixels were predicted as: the
place to see which garments a model confuses.

    python -m fsutils.evaluate blend --ccp-root DIR [--split val] [--max-images N]

runs the kit's pipeline (default segmenter and saliency, fast "candy" style) and prints, for every
blend mode, a Markdown table row of coverage, leakage and edge contrast against the annotated
garments (see :mod:`fsutils.evaluation.placement`).

    python -m fsutils.evaluate cutout --ccp-root DIR [--split val] [--max-images N]

cuts the person out of each photo four ways (U2NETP saliency > 0.5; GrabCut from the saliency
map's box; GrabCut from the true person box grown by 5 %, what a careful user would draw; the cloth
model's garment classes) and prints a Markdown table of IoU against the annotated *person* (every
labelled pixel that is not "null") and *clothes* (classes 1–3), with the seconds per photo of each
method; the last line is ``iou_person_saliency=<float> iou_person_grabcut_box=<float>`` (see
:mod:`fsutils.evaluation.cutout`).

    python -m fsutils.evaluate instances --ccp-root DIR [--split val|test|all] [--weights NAME]

prints per-class segm and bbox AP50 of the garment instance detector, beside the default semantic
model's garment regions split into connected components (class-agnostic), and as the last line
``segm_ap50_garments=<f> segm_ap50=<f> bbox_ap50=<f>`` (see :mod:`fsutils.evaluation.instances`).

    python -m fsutils.evaluate choice --ccp-root DIR [--split val|test] [--weights NAME] [--source best]

prints, per garment a user can choose (the cloth model's upper, lower, full body; the detector's
seven instance classes), over the photos where it covers ≥ 3 % of the pixels, the share found
(IoU ≥ 0.5) and the share missed (IoU < 0.2), and the binary garment IoU per photo; the last line is
``found_rate_min=<f> missed_max=<f> binary_median=<f>`` (min / max over upper, lower and full body;
see :mod:`fsutils.evaluation.choice`); ``--source best`` finds each garment as the pipeline does,
through whichever model finds it (:mod:`fsutils.sources`).

    python -m fsutils.evaluate clicks --ccp-root DIR [--split val|test]

clicks once at the most interior point of each annotated garment instance (top, outer, dress,
pants, skirt) and prints, per class, the share of clicks whose chosen garment has IoU ≥ 0.5 and
≥ 0.75 with the annotated one and the median IoU; the last line is ``click_iou50=<f>
click_iou75=<f> click_iou_median=<f>`` (see :mod:`fsutils.evaluation.clicks`).

    python -m fsutils.evaluate tags --ccp-root DIR [--split val|test] [--source best]

on a folder of photos with image-level tags only (photos/, annotations/image-level/,
label_list.mat) prints per class the precision, recall and F1 of "the model shows this garment"
(≥ 2 % of the pixels for the cloth model, an item above the default score for the detector)
against the tags; the last line is ``semantic_f1_mean=<f> full_precision=<f> instance_f1_mean=<f>
dress_f1=<f> skirt_f1=<f>`` (see :mod:`fsutils.evaluation.presence`).

Faults: for every task, every argument is checked before any model loads — the options, the
environment's settings, the CCP folder (it must hold photos/, annotations/pixel-level/ — image-level/
for tags — and a readable label_list.mat), the split and the model names — and a bad one is refused
in one line with exit status 2. A photo whose file repeats an earlier one is scored once, with a
note on stderr. A photo that cannot be scored (its photo or its annotation cannot be read, they
differ in size, the annotation holds a label value that label_list.mat does not name, or the model
cannot take it) does not stop the run: it is left out, the others go on, the scores (whose first
line gives ``images=N``, the photos scored) are printed as usual, and the left-out files are listed
on stderr at the end, one line each, with exit status 1. When no photo at all can be scored, or the
photos hold nothing to score (no annotated garment; for swap, no upper-body garment), no score is
printed, one line says why (exit 1). A model that cannot be obtained stops the run with what to
do (exit 1); Ctrl-C stops it in one line (exit 130).
"""
from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from . import data
from .args import DEVICE_HELP, Parser, device, whole
from .segment import DEFAULT_CLOTH_WEIGHTS

__all__ = ["main"]


_MAX_IMAGES_HELP = "evaluate only the first N photos (N ≥ 1; default: all of the split)"
_CCP_ROOT_HELP = "folder with photos/, annotations/pixel-level/ and label_list.mat"
_EXIT_HELP = ("exit status: 0 every photo scored; 1 a photo could not be scored (left out, the "
              "others scored, the left-out files listed on stderr at the end), none could, or a "
              "model could not be obtained; 2 a bad argument, refused before any model loads")


def _parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m fsutils.evaluate", description=__doc__,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="task", required=True)
    s = sub.add_parser("segmentation", help="per-class IoU of a cloth segmenter on a CCP folder",
                       epilog=_EXIT_HELP)
    s.add_argument("--ccp-root", required=True, type=Path, help=_CCP_ROOT_HELP)
    s.add_argument("--weights", default=DEFAULT_CLOTH_WEIGHTS,
                   help=f"registry name of the cloth model (default: {DEFAULT_CLOTH_WEIGHTS}), or the path of a "
                        "checkpoint file, e.g. one written by `python -m fsutils.train cloth --export`")
    s.add_argument("--input-size", type=whole(1, 4096), default=None,
                   help="square input size of the network, 1–4096 px (default: the model's own)")
    s.add_argument("--split", choices=("all", *data.SPLITS), default="all",
                   help="which photos: all in the folder (default), or the kit's training, "
                        "validation or test split (test: never used to choose anything)")
    s.add_argument("--max-images", type=whole(1), default=None, help=_MAX_IMAGES_HELP)
    s.add_argument("--clean", action="store_true",
                   help="remove small garment specks and fill small holes (segment.clean_labels)")
    s.add_argument("--by-label", action="store_true",
                   help="also print, per CCP label, the share of its pixels predicted as each kit class")
    s.add_argument("--device", type=device, default=None, help=DEVICE_HELP)
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(task_parser=s)
    _blend_parser(sub)
    _cutout_parser(sub)
    from .evaluation import swap as swap_evaluate
    swap_evaluate.add_parser(sub)
    from .evaluation import instances
    instances.add_parser(sub)
    from .evaluation import choice, presence
    choice.add_parser(sub)
    presence.add_parser(sub)
    from .evaluation import clicks
    clicks.add_parser(sub)
    return p


def _cutout_parser(sub) -> None:
    from .evaluation.cutout import BOX_MARGIN, GRABCUT_ITERS

    c = sub.add_parser("cutout", help="IoU of GrabCut, saliency and cloth-model cut-outs against "
                                      "the annotated person and clothes", epilog=_EXIT_HELP)
    c.add_argument("--ccp-root", required=True, type=Path, help=_CCP_ROOT_HELP)
    c.add_argument("--split", choices=("val", "test", "train", "all"), default="val",
                   help="which photos: the kit's validation split (default), test, train, or all")
    c.add_argument("--max-images", type=whole(1), default=None, help=_MAX_IMAGES_HELP)
    c.add_argument("--iters", type=whole(1), default=GRABCUT_ITERS,
                   help=f"GrabCut iterations (default: {GRABCUT_ITERS})")
    c.add_argument("--device", type=device, default=None, help=DEVICE_HELP)
    c.add_argument("--no-progress", action="store_true")
    c.set_defaults(margin=BOX_MARGIN, task_parser=c)


def _blend_parser(sub) -> None:
    from .blend import MODES
    from .cli.options import add_blend_options

    b = sub.add_parser("blend", help="coverage / leakage / edge contrast of every blend mode "
                                     "against the annotated garments", epilog=_EXIT_HELP)
    b.add_argument("--ccp-root", required=True, type=Path, help=_CCP_ROOT_HELP)
    b.add_argument("--split", default="val",
                   help="which photos: the kit's validation split (default), train, test where the "
                        "kit defines one, or all")
    b.add_argument("--max-images", type=whole(1), default=None, help=_MAX_IMAGES_HELP)
    b.add_argument("--modes", default=",".join(MODES),
                   help=f"comma-separated blend modes (default: all: {', '.join(MODES)})")
    b.add_argument("--style", default="candy", help="fast-style model that makes the stylised image")
    b.add_argument("--photo-size", "--max-size", dest="photo_size", type=whole(16), default=512,
                   help="working size, longest side (px, ≥ 16; default: 512)")
    b.add_argument("--band", type=whole(1, 1024), default=8,
                   help="half-width in px of the band around the true garment boundary (edge "
                        "scores; 1–1024, default: 8)")
    b.add_argument("--segment-weights", default=None, help="cloth model (default: the kit's default)")
    add_blend_options(b.add_argument_group("blend parameters (the modes that read them)"))
    b.add_argument("--device", type=device, default=None, help=DEVICE_HELP)
    b.add_argument("--no-progress", action="store_true")
    b.set_defaults(task_parser=b)


def _check_cloth_weights(p: argparse.ArgumentParser, option: str, value: str) -> None:
    """Refuse (exit 2) a cloth model that is neither a cloth registry name nor a file."""
    from .segment import CLOTH_WEIGHTS
    from .weights import REGISTRY

    path = Path(value).expanduser()
    if value in CLOTH_WEIGHTS or path.is_file():
        return
    what = ("is not a cloth model" if value in REGISTRY else "is a folder" if path.is_dir()
            else "is neither a cloth model nor a checkpoint file")
    p.error(f"{option} {value!r} {what}; give one of {', '.join(CLOTH_WEIGHTS)}, or the path of a "
            "cloth checkpoint file (e.g. one written by `python -m fsutils.train cloth --export`)")


def _check_instance_weights(p: argparse.ArgumentParser, value: str) -> None:
    """Refuse (exit 2) a garment detector that is neither the detector's registry name nor a file."""
    from .instances.segmenter import DEFAULT_INSTANCE_WEIGHTS

    path = Path(value).expanduser()
    if value == DEFAULT_INSTANCE_WEIGHTS or path.is_file():
        return
    p.error(f"--instance-weights {value!r} is neither the garment detector "
            f"{DEFAULT_INSTANCE_WEIGHTS!r} nor a checkpoint file; give one of them (e.g. best.pt "
            "of `python -m fsutils.train instances`)")


def _blend_settings(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``args.modes`` (a list) and ``args.params`` (a BlendParams) from the blend options, and
    the fast style checked; a bad one exits 2."""
    from .blend import DEFAULT_MODE, BlendParams
    from .cli.options import blend_params
    from .style.fast import registry_name

    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not args.modes:
        p.error("--modes names no blend mode; give a comma-separated list, e.g. hard,saliency")
    try:
        registry_name(args.style)
        args.params = blend_params(args, DEFAULT_MODE)
        for m in args.modes:
            BlendParams(m)
    except ValueError as e:
        p.error(str(e))


def _check_arguments(args: argparse.Namespace) -> None:
    """Everything that can be checked before any model loads; a bad argument exits 2 in one line.
    The CCP folder must hold paired photos and annotations of the split and a readable label
    list; the device must exist here; the models must be known."""
    from .evaluation.photos import select_ids

    p = args.task_parser
    notes: list[str] = []
    try:
        if args.task == "tags":  # photos with image-level tags only
            from .tags import load_tagged

            load_tagged(args.ccp_root, args.split, args.max_images)
        else:
            select_ids(args.ccp_root, args.split, args.max_images, notes=notes)
        data.label_lookup(data.read_label_names(args.ccp_root))
    except (ValueError, data.CCPError) as e:
        p.error(f"--ccp-root: {e}" if isinstance(e, data.CCPError) else str(e))
    for line in notes:  # a photo that repeats another is scored once
        print(line, file=sys.stderr)
    if args.task in ("choice", "tags", "clicks"):
        _check_cloth_weights(p, "--weights", args.weights)
        _check_instance_weights(p, args.instance_weights)
    if args.task == "segmentation":
        _check_cloth_weights(p, "--weights", args.weights)
    elif args.task == "blend":
        if args.segment_weights is not None:
            _check_cloth_weights(p, "--segment-weights", args.segment_weights)
        _blend_settings(p, args)


def _check_settings(args: argparse.Namespace) -> None:
    """The environment's settings (:func:`fsutils.env.check_settings`), before any work: a bad
    one exits 2 in one line (``FSUTILS_DEVICE`` only when no ``--device`` was given)."""
    from .env import SettingError, check_settings

    try:
        check_settings(device_setting=args.device is None)
    except SettingError as e:
        args.task_parser.error(str(e))


def _run_segmentation(args: argparse.Namespace, skipped: list) -> tuple[int, list[str]]:
    from .evaluation.segmentation import by_label_lines, evaluate_segmentation

    r = evaluate_segmentation(args.ccp_root, args.weights, args.split, args.device,
                              not args.no_progress, args.max_images, args.input_size, args.clean,
                              skipped=skipped)
    lines = [f"weights={r['weights']} split={r['split']} images={r['images']}"]
    if args.by_label:
        lines += by_label_lines(r["by_label"])
    lines += [f"iou[{name}]={r['iou'][name]:.4f}" for name in ("upper body", "lower body", "full body")]
    return r["images"], lines + [f"pixel_accuracy={r['pixel_accuracy']:.4f}",
                                 f"mean_iou_garments={r['mean_iou_garments']:.4f}"]


def _run_cutout(args: argparse.Namespace, skipped: list) -> tuple[int, list[str]]:
    from .evaluation.cutout import cutout_table, evaluate_cutout

    r = evaluate_cutout(args.ccp_root, args.split, max_images=args.max_images, iters=args.iters,
                        margin=args.margin, device=args.device, progress=not args.no_progress,
                        skipped=skipped)
    head = (f"split={r['split']} images={r['images']} grabcut_iters={r['iters']} "
            f"box_margin={100 * r['margin']:g}%")
    last = (f"iou_person_saliency={r['iou']['saliency']['person']:.4f} "
            f"iou_person_grabcut_box={r['iou']['grabcut_box']['person']:.4f}")
    return r["images"], [head, *cutout_table(r), last]


def _run_blend(args: argparse.Namespace, skipped: list) -> tuple[int, list[str]]:
    from .evaluation.placement import evaluate_blend, placement_table

    r = evaluate_blend(args.ccp_root, args.split, modes=args.modes, params=args.params,
                       style=args.style, photo_size=args.photo_size, band=args.band,
                       segment_weights=args.segment_weights, max_images=args.max_images,
                       device=args.device, progress=not args.no_progress, skipped=skipped)
    head = (f"split={r['split']} images={r['images']} style=fast/{r['style']} "
            f"photo_size={r['photo_size']} band={r['band']}px")
    return r["images"], [head, *placement_table(r["placement"])]


def _report_skipped(skipped: list[tuple[Path, str]], scored: int) -> int:
    """List the photos left out on stderr (one line each); the exit status: 1 if any, else 0."""
    from .evaluation.photos import report_skipped

    return report_skipped(skipped, scored)


def _run_choice(args: argparse.Namespace, skipped: list) -> tuple[int, list[str]]:
    from .evaluation import choice

    return choice.main(args, skipped)


def _run_clicks(args: argparse.Namespace, skipped: list) -> tuple[int, list[str]]:
    from .evaluation import clicks

    return clicks.main(args, skipped)


def _run_tags(args: argparse.Namespace, skipped: list) -> tuple[int, list[str]]:
    from .evaluation import presence

    return presence.main(args, skipped)


_RUN = {"segmentation": _run_segmentation, "cutout": _run_cutout, "blend": _run_blend,
        "choice": _run_choice, "tags": _run_tags, "clicks": _run_clicks}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _check_settings(args)
    _check_arguments(args)
    from .evaluation.photos import report_no_score
    from .weights import WeightsError

    skipped: list[tuple[Path, str]] = []
    try:
        if args.task == "swap":  # their own output
            from .evaluation import swap as swap_evaluate
            return swap_evaluate.main(args)
        if args.task == "instances":
            from .evaluation.instances import main as main_instances
            return main_instances(args)
        with contextlib.redirect_stdout(sys.stderr):  # stdout: the scores only (models announce themselves)
            scored, lines = _RUN[args.task](args, skipped)
    except WeightsError as e:
        print(f"error: the model could not be loaded: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; no score was printed.", file=sys.stderr)
        return 130
    except data.CCPError as e:  # no score: no photo could be scored, or none holds a garment
        if args.task in ("swap", "instances"):
            raise
        return report_no_score(e, skipped)
    print("\n".join(lines))
    return _report_skipped(skipped, scored)


if __name__ == "__main__":
    sys.exit(main())
