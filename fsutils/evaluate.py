"""Evaluation on any CCP-format folder: cloth segmentation, and where each blend puts the style.

    python -m fsutils.evaluate segmentation --ccp-root DIR --weights NAME [--split val]

prints per-class IoU for the garment classes (1–3), pixel accuracy, and as the last line
``mean_iou_garments=<float>`` (the mean IoU over classes 1–3). With ``--by-label`` it first prints,
for every CCP label (coat, blazer, skirt …), which kit class its pixels were predicted as: the
place to see which garments a model confuses.

    python -m fsutils.evaluate blend --ccp-root DIR [--split val] [--max-images N]

runs the kit's pipeline (default segmenter and saliency, fast "candy" style) and prints, for every
blend mode, a Markdown table row of coverage, leakage and edge contrast against the annotated
garments (see :mod:`fsutils.placement`).

    python -m fsutils.evaluate cutout --ccp-root DIR [--split val] [--max-images N]

cuts the person out of each photo four ways (U2NETP saliency > 0.5; GrabCut from the saliency
map's box; GrabCut from the true person box grown by 5 %, what a careful user would draw; the cloth
model's garment classes) and prints a Markdown table of IoU against the annotated *person* (every
labelled pixel that is not "null") and *clothes* (classes 1–3), with the seconds per photo of each
method; the last line is ``iou_person_saliency=<float> iou_person_grabcut_box=<float>`` (see
:mod:`fsutils.baselines`).

    python -m fsutils.evaluate instances --ccp-root DIR [--split val|test|all] [--weights NAME]

prints per-class segm and bbox AP50 of the garment instance detector, beside the default semantic
model's garment regions split into connected components (class-agnostic), and as the last line
``segm_ap50_garments=<f> segm_ap50=<f> bbox_ap50=<f>`` (see :mod:`fsutils.instances.evaluation`).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from . import data
from .segment import DEFAULT_CLOTH_WEIGHTS

__all__ = ["confusion_matrix", "label_breakdown", "iou_per_class", "pixel_accuracy",
           "mean_iou_garments", "evaluate_segmentation", "by_label_lines", "main"]

GARMENT_CLASSES = (1, 2, 3)


def _cross_count(pred: np.ndarray, target: np.ndarray, num_target: int, num_pred: int) -> np.ndarray:
    """``n[t, p]``: how many pixels have ``target == t`` and ``pred == p``."""
    pred = np.asarray(pred)
    target = np.asarray(target)
    if pred.shape != target.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {target.shape} differ in shape; "
                         "resize the prediction to the photo's size first.")
    idx = target.astype(np.int64).ravel() * num_pred + pred.astype(np.int64).ravel()
    return np.bincount(idx, minlength=num_target * num_pred).reshape(num_target, num_pred)


def confusion_matrix(pred: np.ndarray, target: np.ndarray, num_classes: int = 4) -> np.ndarray:
    """``cm[t, p]`` = number of pixels of true class ``t`` predicted as ``p`` (int64)."""
    return _cross_count(pred, target, num_classes, num_classes)


def label_breakdown(pred: np.ndarray, groundtruth: np.ndarray, num_classes: int = 4) -> np.ndarray:
    """``b[l, p]`` = number of pixels of CCP label ``l`` (0–255, the raw annotation) predicted as
    kit class ``p`` (int64, 256 × ``num_classes``)."""
    return _cross_count(pred, groundtruth, 256, num_classes)


def iou_per_class(cm: np.ndarray) -> np.ndarray:
    """IoU of every class from a confusion matrix; NaN for a class absent from both."""
    tp = np.diag(cm).astype(np.float64)
    union = cm.sum(0) + cm.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / union, np.nan)


def pixel_accuracy(cm: np.ndarray) -> float:
    return float(np.trace(cm) / max(cm.sum(), 1))


def mean_iou_garments(cm: np.ndarray) -> float:
    """Mean IoU over the garment classes 1–3 (classes absent everywhere are skipped)."""
    return float(np.nanmean(iou_per_class(cm)[list(GARMENT_CLASSES)]))


def evaluate_segmentation(ccp_root: str | Path, weights: str, split: str = "all",
                          device: str | None = None, progress: bool = True,
                          max_images: int | None = None, input_size: int | None = None,
                          clean: bool = False) -> dict:
    """Run a :class:`fsutils.segment.ClothSegmenter` (a registry name or a checkpoint file) over a
    CCP folder at full resolution; ``input_size`` overrides the model's own.

    The result holds the 4×4 ``confusion``, per-class ``iou``, ``pixel_accuracy``,
    ``mean_iou_garments`` and ``by_label``: for every CCP label with pixels (largest first), its
    kit class and the pixel counts predicted as each kit class."""
    from tqdm.auto import tqdm

    from . import data
    from .segment import ClothSegmenter, clean_labels

    ids = data.list_ids(ccp_root)
    if split != "all":
        ids = data.ids_in_split(ids, split)
        if not ids:
            raise data.CCPError(f"no photo of the {split!r} split is in {ccp_root}; use --split all.")
    ids = ids[:max_images]
    names = data.read_label_names(ccp_root)
    lookup = data.label_lookup(names)
    seg = ClothSegmenter(weights=weights, device=device, input_size=input_size)
    counts = np.zeros((256, 4), dtype=np.int64)
    for i in tqdm(ids, desc=f"evaluating {weights}", disable=not progress):
        pred = seg.predict(data.load_photo(ccp_root, i))
        counts += label_breakdown(clean_labels(pred) if clean else pred, data.load_groundtruth(ccp_root, i))
    cm = np.zeros((4, 4), dtype=np.int64)
    np.add.at(cm, lookup, counts)  # each CCP label's row goes to its kit class
    by_label = {(names[l] if l < len(names) else f"#{l}"):
                {"class": data.CLASS_NAMES[lookup[l]], "predicted": counts[l]}
                for l in np.argsort(-counts.sum(1), kind="stable") if counts[l].sum()}
    iou = iou_per_class(cm)
    return {"weights": weights, "split": split, "images": len(ids), "confusion": cm,
            "iou": {data.CLASS_NAMES[c]: float(iou[c]) for c in range(4)},
            "pixel_accuracy": pixel_accuracy(cm), "mean_iou_garments": mean_iou_garments(cm),
            "by_label": by_label}


def by_label_lines(by_label: dict, top: int | None = None) -> list[str]:
    """One line per CCP label of :func:`evaluate_segmentation`'s ``by_label`` (largest first):
    ``label[coat] class='full body' pixels=… predicted: background=…% upper=…% lower=…% full=…%``."""
    from .segment import CLASS_NAMES

    short = [n.split()[0] for n in CLASS_NAMES]  # background, upper, lower, full
    lines = []
    for name, row in list(by_label.items())[:top]:
        share = row["predicted"] / row["predicted"].sum()
        lines.append(f"label[{name}] class={row['class']!r} pixels={row['predicted'].sum()} predicted: "
                     + " ".join(f"{c}={100 * x:.1f}%" for c, x in zip(short, share)))
    return lines


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m fsutils.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="task", required=True)
    s = sub.add_parser("segmentation", help="per-class IoU of a cloth segmenter on a CCP folder")
    s.add_argument("--ccp-root", required=True, type=Path, help="folder with photos/, annotations/, label_list.mat")
    s.add_argument("--weights", default=DEFAULT_CLOTH_WEIGHTS,
                   help=f"registry name of the cloth model (default: {DEFAULT_CLOTH_WEIGHTS}), or the path of a "
                        "checkpoint file, e.g. one written by `python -m fsutils.train --export`")
    s.add_argument("--input-size", type=int, default=None,
                   help="square input size of the network (default: the model's own)")
    s.add_argument("--split", choices=("all", *data.SPLITS), default="all",
                   help="which photos: all in the folder (default), or the kit's training, "
                        "validation or test split (test: never used to choose anything)")
    s.add_argument("--max-images", type=int, default=None, help="evaluate only the first N photos")
    s.add_argument("--clean", action="store_true",
                   help="remove small garment specks and fill small holes (segment.clean_labels)")
    s.add_argument("--by-label", action="store_true",
                   help="also print, per CCP label, the share of its pixels predicted as each kit class")
    s.add_argument("--device", default=None)
    s.add_argument("--no-progress", action="store_true")
    _blend_parser(sub)
    _cutout_parser(sub)
    from .instances import evaluation as instances
    instances.add_parser(sub)
    return p


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1, got {value}")
    return value


def _cutout_parser(sub) -> None:
    from .baselines import BOX_MARGIN, GRABCUT_ITERS

    c = sub.add_parser("cutout", help="IoU of GrabCut, saliency and cloth-model cut-outs against "
                                      "the annotated person and clothes")
    c.add_argument("--ccp-root", required=True, type=Path, help="folder with photos/, annotations/, label_list.mat")
    c.add_argument("--split", choices=("val", "test", "train", "all"), default="val",
                   help="which photos: the kit's validation split (default), test, train, or all")
    c.add_argument("--max-images", type=_positive_int, default=None, help="evaluate only the first N photos")
    c.add_argument("--iters", type=_positive_int, default=GRABCUT_ITERS,
                   help=f"GrabCut iterations (default: {GRABCUT_ITERS})")
    c.add_argument("--device", default=None)
    c.add_argument("--no-progress", action="store_true")
    c.set_defaults(margin=BOX_MARGIN)


def _main_cutout(args: argparse.Namespace) -> int:
    import contextlib

    from . import data
    from .baselines import cutout_table, evaluate_cutout
    from .placement import select_ids

    if not args.ccp_root.is_dir():
        raise SystemExit(f"error: --ccp-root {args.ccp_root} is not a folder; give the folder "
                         "that holds photos/, annotations/ and label_list.mat.")
    try:
        select_ids(args.ccp_root, args.split)
    except (ValueError, data.CCPError) as e:
        raise SystemExit(f"error: {e}") from None
    if args.device:
        import os
        os.environ["FSUTILS_DEVICE"] = args.device
    with contextlib.redirect_stdout(sys.stderr):  # stdout: the table only (models announce themselves)
        r = evaluate_cutout(args.ccp_root, args.split, max_images=args.max_images,
                            iters=args.iters, margin=args.margin, progress=not args.no_progress)
    print(f"split={r['split']} images={r['images']} grabcut_iters={r['iters']} "
          f"box_margin={100 * r['margin']:g}%")
    print("\n".join(cutout_table(r)))
    print(f"iou_person_saliency={r['iou']['saliency']['person']:.4f} "
          f"iou_person_grabcut_box={r['iou']['grabcut_box']['person']:.4f}")
    return 0


def _blend_parser(sub) -> None:
    from .blend import MODES, BlendParams

    d = BlendParams()
    b = sub.add_parser("blend", help="coverage / leakage / edge contrast of every blend mode "
                                     "against the annotated garments")
    b.add_argument("--ccp-root", required=True, type=Path, help="folder with photos/, annotations/, label_list.mat")
    b.add_argument("--split", default="val",
                   help="which photos: the kit's validation split (default), train, test where the "
                        "kit defines one, or all")
    b.add_argument("--max-images", type=int, default=None, help="evaluate only the first N photos")
    b.add_argument("--modes", default=",".join(MODES),
                   help=f"comma-separated blend modes (default: all: {', '.join(MODES)})")
    b.add_argument("--style", default="candy", help="fast-style model that makes the stylised image")
    b.add_argument("--max-size", type=int, default=512, help="working size, longest side (px)")
    b.add_argument("--band", type=int, default=8,
                   help="half-width in px of the band around the true garment boundary (edge scores)")
    b.add_argument("--segment-weights", default=None, help="cloth model (default: the kit's default)")
    b.add_argument("--strength", type=float, default=d.strength)
    b.add_argument("--width", type=float, default=d.width)
    b.add_argument("--radius", type=int, default=d.radius)
    b.add_argument("--eps", type=float, default=d.eps)
    b.add_argument("--device", default=None)
    b.add_argument("--no-progress", action="store_true")


def _main_blend(args: argparse.Namespace) -> int:
    from . import data
    from .blend import BlendParams
    from .placement import evaluate_blend, placement_table, select_ids

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    try:
        select_ids(args.ccp_root, args.split)
        params = BlendParams(strength=args.strength, width=args.width, radius=args.radius,
                             eps=args.eps)
        for m in modes:
            BlendParams(m)
        if args.band < 1 or args.max_size < 16 or (args.max_images is not None and args.max_images < 1):
            raise ValueError("--band must be ≥ 1, --max-size ≥ 16 and --max-images ≥ 1.")
    except (ValueError, data.CCPError) as e:
        raise SystemExit(f"error: {e}") from None
    if args.device:
        import os
        os.environ["FSUTILS_DEVICE"] = args.device
    import contextlib

    with contextlib.redirect_stdout(sys.stderr):  # stdout: the table only (models announce themselves)
        r = evaluate_blend(args.ccp_root, args.split, modes=modes, params=params, style=args.style,
                           max_size=args.max_size, band=args.band,
                           segment_weights=args.segment_weights, max_images=args.max_images,
                           progress=not args.no_progress)
    print(f"split={r['split']} images={r['images']} style=fast/{r['style']} "
          f"max_size={r['max_size']} band={r['band']}px")
    print("\n".join(placement_table(r["placement"])))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.task == "blend":
        return _main_blend(args)
    if args.task == "cutout":
        return _main_cutout(args)
    if args.task == "instances":
        from .instances.evaluation import main as main_instances
        return main_instances(args)
    r = evaluate_segmentation(args.ccp_root, args.weights, args.split, args.device,
                              not args.no_progress, args.max_images, args.input_size, args.clean)
    print(f"weights={r['weights']} split={r['split']} images={r['images']}")
    if args.by_label:
        print("\n".join(by_label_lines(r["by_label"])))
    for name in ("upper body", "lower body", "full body"):
        print(f"iou[{name}]={r['iou'][name]:.4f}")
    print(f"pixel_accuracy={r['pixel_accuracy']:.4f}")
    print(f"mean_iou_garments={r['mean_iou_garments']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
