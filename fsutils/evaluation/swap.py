"""Measuring garment swaps on CCP photos whose garments are annotated.

- ``alpha_iou``: IoU of ``α > 0.5`` with the true garment (CAGAN's implicit segmentation),
  pooled over all pixels of all photos;
- ``outside_l1``: mean ``|x_i^j − x_i|`` (0..1) outside the true garment — what the swap
  changes where it should not;
- **known-answer swaps**: the person's own garment is recoloured inside its true mask
  (:func:`recolour`: hue turned, colourless garments given colour, brightness changed), which
  makes both the new article ``y_j`` (the recoloured garment's flat-lay) and the correct answer,
  so ``known_l1`` (mean ``|swap − answer|`` inside the true garment) is measured against doing
  nothing (``known_l1_nothing``) and two baselines that use the kit's cloth segmenter's
  upper-body mask: ``known_l1_colour`` (Lab mean/std colour transfer of ``y_j`` into the mask,
  :func:`colour_transfer`) and ``known_l1_pattern`` ("pattern try-on": ``y_j`` as the painting
  for Magenta inside the mask, :func:`pattern_tryon`).

L1 figures are means over photos of per-photo means. Besides, **cross swaps** put each photo's
annotated garment on another person of the split and measure spill, colour moved, coverage and
sharpness on the full photos (:mod:`.cross_swap`).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from fsutils import data as ccp

from ..swap.garment import GARMENT_MARGIN
from ..swap.data import (MIN_GARMENT_FRACTION, SIZE, UPPER, crop, from_tensor, garment_mask,
                   jitter_article, person_example, to_tensor)
from .cross_swap import CrossScores, cross_fields, cross_pairs, cross_table
from .overlap import iou_from_counts, overlap_counts

__all__ = ["outside_l1", "masked_l1", "recolour", "colour_transfer", "pattern_tryon",
           "KnownAnswer", "known_answer", "known_answer_cases", "Scores", "METHODS",
           "score_generator", "evaluate_swap", "swap_table", "last_line"]

#: Rows of the table, in order: CAGAN, doing nothing, and the two baselines.
METHODS = ("cagan", "nothing", "colour", "pattern")


def _check(*arrays: np.ndarray) -> None:
    shapes = {a.shape[:2] for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"images and masks differ in size: {sorted(shapes)}")


def masked_l1(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """Mean ``|a − b|`` over the channels of the pixels in ``mask`` (images float 0..1);
    NaN for an empty mask."""
    _check(a, b, mask)
    m = np.asarray(mask, bool)
    if not m.any():
        return float("nan")
    return float(np.abs(np.asarray(a, np.float64) - b)[m].mean())


def outside_l1(swap: np.ndarray, person: np.ndarray, mask: np.ndarray) -> float:
    """Mean ``|swap − person|`` (0..1) outside the garment ``mask``."""
    return masked_l1(swap, person, ~np.asarray(mask, bool))


def recolour(photo: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``photo`` (uint8 H×W×3) with the pixels in ``mask`` recoloured: hue turned by 60–300°,
    saturation raised to at least 0.4–0.8 (so black, white and grey garments change too) and
    brightness scaled by 0.7–1.3; shading and texture stay. The known answer of a swap."""
    _check(photo, mask)
    hsv = cv2.cvtColor(photo.astype(np.float32) / 255, cv2.COLOR_RGB2HSV)  # H 0..360, S, V 0..1
    h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    turn, s_min, gain = rng.uniform(60, 300), rng.uniform(0.4, 0.8), rng.uniform(0.7, 1.3)
    new = np.stack([(h + turn) % 360, np.maximum(s, s_min), np.clip(v * gain, 0, 1)], -1)
    rgb = cv2.cvtColor(new.astype(np.float32), cv2.COLOR_HSV2RGB)
    out = photo.copy()
    m = np.asarray(mask, bool)
    out[m] = np.clip(np.rint(rgb[m] * 255), 0, 255).astype(np.uint8)
    return out


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb, np.float32), cv2.COLOR_RGB2Lab)


def colour_transfer(person: np.ndarray, mask: np.ndarray, article: np.ndarray,
                    article_mask: np.ndarray) -> np.ndarray:
    """The colour baseline: inside ``mask``, the person's Lab channels moved to the mean and
    standard deviation of the article's garment pixels (Reinhard et al. 2001). Images float
    0..1; returns float 0..1, unchanged outside ``mask``."""
    _check(person, mask)
    _check(article, article_mask)
    m, am = np.asarray(mask, bool), np.asarray(article_mask, bool)
    out = np.array(person, np.float32)
    if not m.any() or not am.any():
        return out
    src, ref = _lab(person)[m], _lab(article)[am]
    moved = (src - src.mean(0)) / (src.std(0) + 1e-6) * ref.std(0) + ref.mean(0)
    lab = _lab(person)
    lab[m] = moved
    rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    out[m] = np.clip(rgb[m], 0, 1)
    return out


def pattern_tryon(person: np.ndarray, mask: np.ndarray, article: np.ndarray,
                  size: int = 256, device: Any = None,
                  article_mask: np.ndarray | None = None) -> np.ndarray:
    """The pattern try-on baseline: ``article`` as the painting for the kit's Magenta style
    transfer (instance statistics inside ``mask``), pasted inside ``mask``. Images float 0..1
    at the same size; ``size`` is Magenta's working size (longer side). With ``article_mask``
    the painting is the article's box only (less of the white around a flat-lay)."""
    from fsutils import io as fio
    from fsutils.style import magenta_transfer

    _check(person, mask)
    m = np.asarray(mask, bool)
    out = np.array(person, np.float32)
    if not m.any():
        return out
    if article_mask is not None and np.any(article_mask):
        ys, xs = np.nonzero(article_mask)
        article = article[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    styled = magenta_transfer(fio.to_pil(person), fio.to_pil(article), mask=m, size=size,
                              device=device)
    styled = fio.to_float(styled.resize((person.shape[1], person.shape[0])))
    out[m] = styled[m]
    return out


@dataclass
class KnownAnswer:
    """One known-answer swap at crop size: the person ``x_i`` and true garment ``mask``, the
    jittered articles ``y_i`` and ``y_j`` (the recoloured garment) with ``y_j_mask``, the
    correct ``answer`` (uint8 images), the crop ``matrix``, and the photo ``id``."""

    id: str
    x_i: np.ndarray
    mask: np.ndarray
    y_i: np.ndarray
    y_j: np.ndarray
    y_j_mask: np.ndarray
    answer: np.ndarray
    matrix: np.ndarray


def known_answer(photo: np.ndarray, mask: np.ndarray, rng: np.random.Generator,
                 size: tuple[int, int] = SIZE, image_id: str = "") -> KnownAnswer:
    """A known-answer case from a photo (uint8 H×W×3) and its true garment (bool H×W)."""
    ex = person_example(photo, mask, size)
    ans = person_example(recolour(photo, mask, rng), mask, size)
    y_i, _ = jitter_article(ex.article, ex.article_mask, rng)
    y_j, y_j_mask = jitter_article(ans.article, ans.article_mask, rng)
    return KnownAnswer(image_id, ex.person, ex.mask, y_i, y_j, y_j_mask, ans.person, ex.matrix)


def _seed(image_id: str) -> int:
    return zlib.crc32(image_id.encode())


def known_answer_cases(root: str | Path, ids: list[str], size: tuple[int, int] = SIZE,
                       garments: tuple[int, ...] = (UPPER,), progress: bool = False
                       ) -> list[tuple[KnownAnswer, np.ndarray]]:
    """``(case, photo)`` for each CCP photo of ``ids`` with a large enough garment; each case's
    recolouring and jitter depend only on its photo id."""
    from tqdm.auto import tqdm

    lookup = ccp.label_lookup(ccp.read_label_names(root))
    cases = []
    for i in tqdm(ids, desc="known-answer swaps", disable=not progress):
        mask = garment_mask(ccp.load_labels(root, i, lookup), garments)
        if mask.mean() < MIN_GARMENT_FRACTION:
            continue
        photo = np.asarray(ccp.load_photo(root, i))
        cases.append((known_answer(photo, mask, np.random.default_rng(_seed(i)), size, i), photo))
    return cases


@dataclass
class Scores:
    """Running totals per method: pooled mask IoU counts, per-photo outside and known L1."""

    inter: dict[str, int] = field(default_factory=dict)
    union: dict[str, int] = field(default_factory=dict)
    outside: dict[str, list[float]] = field(default_factory=dict)
    known: dict[str, list[float]] = field(default_factory=dict)

    def add(self, method: str, case: KnownAnswer, result: np.ndarray,
            changed: np.ndarray | None) -> None:
        """Score one method's ``result`` (float 0..1) on ``case``; ``changed`` is the mask the
        method claims (α > 0.5, or the segmenter's), ``None`` for doing nothing."""
        x_i, answer = case.x_i.astype(np.float32) / 255, case.answer.astype(np.float32) / 255
        if changed is not None:
            i, u = overlap_counts(changed, case.mask)
            self.inter[method] = self.inter.get(method, 0) + i
            self.union[method] = self.union.get(method, 0) + u
        self.outside.setdefault(method, []).append(outside_l1(result, x_i, case.mask))
        self.known.setdefault(method, []).append(masked_l1(result, answer, case.mask))

    def summary(self) -> dict[str, dict[str, float]]:
        """``{method: {"mask_iou", "outside_l1", "known_l1"}}`` (NaN where not measured)."""
        out = {}
        for m in self.known:
            out[m] = {"mask_iou": iou_from_counts(self.inter.get(m, 0), self.union.get(m, 0)),
                      "outside_l1": float(np.nanmean(self.outside[m])),
                      "known_l1": float(np.nanmean(self.known[m]))}
        return out


@torch.no_grad()
def _generate(G: torch.nn.Module, cases: list[KnownAnswer], batch_size: int = 16
              ) -> list[tuple[np.ndarray, np.ndarray]]:
    dev = next(G.parameters()).device
    out = []
    for s in range(0, len(cases), batch_size):
        chunk = cases[s:s + batch_size]
        x_i, y_i, y_j = (torch.stack([to_tensor(getattr(c, n)) for c in chunk]).to(dev)
                         for n in ("x_i", "y_i", "y_j"))
        o = G(x_i, y_i, y_j)
        out += [(from_tensor(o.x_ij[k]), o.alpha[k, 0].float().cpu().numpy()) for k in range(len(chunk))]
    return out


def score_generator(G: torch.nn.Module, cases: list[KnownAnswer], scores: Scores | None = None) -> Scores:
    """Add the generator's swaps of ``cases`` (and doing nothing) to ``scores``."""
    scores = scores or Scores()
    was_training = G.training
    G.eval()
    for case, (swap, alpha) in zip(cases, _generate(G, cases)):
        scores.add("cagan", case, swap, alpha > 0.5)
        scores.add("nothing", case, case.x_i.astype(np.float32) / 255, None)
    G.train(was_training)
    return scores


def evaluate_swap(ccp_root: str | Path, weights: Any = None, split: str = "test", *,
                  max_images: int | None = None, segmenter: Any = None, pattern: bool = True,
                  size: tuple[int, int] = SIZE, device: Any = None, progress: bool = True,
                  skipped: list[tuple[Path, str]] | None = None, cross: bool = True,
                  detector: Any = None, garment_margin: float | None = GARMENT_MARGIN) -> dict:
    """Score the generator ``weights`` (see :func:`fsutils.swap.garment.load_generator`) and the
    baselines on the CCP photos of ``split``; returns ``{"split", "images", "scores"}``.
    ``segmenter`` (anything with ``predict(photo) → labels``, or a cloth model's name; default
    the kit's cloth segmenter) gives the baselines' garment mask; ``size`` is the crop (height,
    width) the generator was trained at. With ``cross`` the generator also swaps the garments
    between the photos (:mod:`.cross_swap`; returned as ``"cross"``, its summary, and
    ``"cross_rows"``): each person's garment is found as :func:`fsutils.swap.garment.swap_garment`
    finds it, from the segmenter's labels, else ``detector`` (default: the kit's garment
    detector, loaded only when needed), and α is limited by ``garment_margin`` (see
    :func:`fsutils.swap.garment.alpha_limit`; ``None``: the generator's α as it is). The
    known-answer figures score the generator's own α at crop size.

    Each photo is scored once; a photo that cannot be scored (see
    :func:`fsutils.evaluation.photos.usable_ids`) raises, or with a ``skipped`` list is appended
    to it and left out. Photos without a large enough upper-body garment raise
    :class:`~fsutils.evaluation.photos.NothingToScore` before any model loads."""
    from tqdm.auto import tqdm

    from ..swap.garment import load_generator
    from .photos import NothingToScore, select_ids, usable_ids

    ids = usable_ids(ccp_root, select_ids(ccp_root, split, max_images), skipped)
    cases = known_answer_cases(ccp_root, ids, size, progress=progress)
    if not cases:
        raise NothingToScore(
            f"none of the {len(ids)} photo(s) has an annotated upper-body garment covering at "
            f"least {MIN_GARMENT_FRACTION:.0%} of the photo, so there is no swap to score; choose "
            "photos with one (another --split or folder)")
    G = load_generator(weights, device)
    if segmenter is None or isinstance(segmenter, str):
        from fsutils.segment import DEFAULT_CLOTH_WEIGHTS, ClothSegmenter

        segmenter = ClothSegmenter(segmenter or DEFAULT_CLOTH_WEIGHTS, device=device)
    scores = score_generator(G, [c for c, _ in cases])
    predicted: dict[str, np.ndarray] = {}
    for case, photo in tqdm(cases, desc="baselines", disable=not progress):
        labels = predicted[case.id] = np.asarray(segmenter.predict(photo))
        pred = crop(garment_mask(labels, (UPPER,)).astype(np.float32), case.matrix,
                    case.x_i.shape[:2]) > 0.5
        x_i, y_j = case.x_i.astype(np.float32) / 255, case.y_j.astype(np.float32) / 255
        scores.add("colour", case, colour_transfer(x_i, pred, y_j, case.y_j_mask), pred)
        if pattern:
            scores.add("pattern", case, pattern_tryon(x_i, pred, y_j, device=device,
                                                      article_mask=case.y_j_mask), pred)
    out = {"split": split, "images": len(cases), "scores": scores.summary()}
    if cross:
        photos = {c.id: photo for c, photo in cases}
        found = _cross(ccp_root, G, photos, predicted, detector, size, device, progress,
                       garment_margin)
        out.update(cross=found.summary(), cross_rows=found.rows, cross_refused=found.refused)
    return out


class _Detector:
    """The kit's garment detector, loaded on its first photo."""

    def __init__(self, device: Any):
        self.device, self.model = device, None

    def predict(self, photo: Any) -> Any:
        from fsutils import stages

        self.model = self.model or stages.default_instances(device=self.device)
        return self.model.predict(photo)


def _cross(root: str | Path, G: torch.nn.Module, photos: dict[str, np.ndarray],
           labels: dict[str, np.ndarray], detector: Any, size: tuple[int, int], device: Any,
           progress: bool, garment_margin: float | None = GARMENT_MARGIN) -> CrossScores:
    """The cross swaps between ``photos`` (uint8, by id), each person's garment found from the
    segmenter's ``labels`` or ``detector``."""
    from tqdm.auto import tqdm

    from fsutils import io as fio

    from ..swap.garment import swap_parts

    lookup = ccp.label_lookup(ccp.read_label_names(root))
    detector = detector or _Detector(device)

    def load(i: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        labels = ccp.load_labels(root, i, lookup)  # a coat is full body to CCP: no spill there
        return fio.to_float(photos[i]), garment_mask(labels, (UPPER,)), garment_mask(labels, (1, 3))

    def swap(i: str, photo: np.ndarray, article: np.ndarray, article_mask: np.ndarray) -> np.ndarray:
        return swap_parts(photo, article, weights=G, article_mask=article_mask,
                          segmenter=lambda _: labels[i], detector=detector, size=size,
                          device=device, garment_margin=garment_margin)["result"]

    pairs = cross_pairs(list(photos))
    return CrossScores().run(tqdm(pairs, desc="cross swaps", disable=not progress), load, swap)


_TITLES = {"cagan": "CAGAN", "colour": "colour transfer (Lab mean/std)",
           "pattern": "pattern try-on (Magenta)", "nothing": "nothing (the photo)"}


def swap_table(scores: dict[str, dict[str, float]]) -> list[str]:
    """Markdown table: one row per method (mask IoU: α > 0.5 for CAGAN, the cloth segmenter's
    for the baselines)."""
    lines = ["| method | garment IoU | outside_l1 | known_l1 |", "|---|---|---|---|"]
    for m in METHODS:
        if m in scores:
            s = scores[m]
            iou = "–" if np.isnan(s["mask_iou"]) else f"{s['mask_iou']:.3f}"
            lines.append(f"| {_TITLES[m]} | {iou} | {s['outside_l1']:.4f} | {s['known_l1']:.4f} |")
    return lines


def last_line(scores: dict[str, dict[str, float]], cross: dict[str, float] | None = None) -> str:
    """``alpha_iou=<f> outside_l1=<f> known_l1=<f> known_l1_nothing=<f> known_l1_colour=<f>``,
    then with the cross swaps' summary ``spill_p90=<f> colour_moved_median=<f>
    coverage_median=<f>``."""
    c = scores["cagan"]
    line = (f"alpha_iou={c['mask_iou']:.4f} outside_l1={c['outside_l1']:.4f} "
            f"known_l1={c['known_l1']:.4f} known_l1_nothing={scores['nothing']['known_l1']:.4f} "
            f"known_l1_colour={scores['colour']['known_l1']:.4f}")
    return line if cross is None else f"{line} {cross_fields(cross)}"


def add_parser(sub: Any) -> None:
    """The ``swap`` subcommand of ``python -m fsutils.evaluate``."""
    from fsutils.args import DEVICE_HELP, device, multiple_of, number, whole
    from fsutils.segment import DEFAULT_CLOTH_WEIGHTS

    from ..swap.garment import DEFAULT_SWAP_WEIGHTS

    p = sub.add_parser("swap", help="garment swap (CAGAN) against the colour and pattern try-on "
                                    "baselines on known-answer swaps, and cross swaps between "
                                    "the photos")
    p.add_argument("--ccp-root", required=True, type=Path,
                   help="folder with photos/, annotations/, label_list.mat")
    p.add_argument("--split", choices=("test", "val", "train", "all"), default="test",
                   help="which photos: the kit's test split (default; choose settings on val)")
    p.add_argument("--weights", default=None,
                   help=f"the generator: registry name (default: {DEFAULT_SWAP_WEIGHTS}) or a file "
                        "from `python -m fsutils.train swap` (last.pt, best.pt or an export)")
    p.add_argument("--segment-weights", default=DEFAULT_CLOTH_WEIGHTS,
                   help="cloth model giving the baselines' garment mask")
    p.add_argument("--max-images", type=whole(1), default=None,
                   help="evaluate only the first N photos (N ≥ 1)")
    p.add_argument("--height", type=multiple_of(16, 16), default=SIZE[0],
                   help="crop height the generator was trained at (a multiple of 16)")
    p.add_argument("--width", type=multiple_of(16, 16), default=SIZE[1],
                   help="crop width the generator was trained at (a multiple of 16)")
    p.add_argument("--garment-margin", type=number(low=0), default=GARMENT_MARGIN,
                   help="cross swaps: α is kept on the person's garment grown by this fraction "
                        f"of its size (default {GARMENT_MARGIN})")
    p.add_argument("--no-garment-limit", action="store_true",
                   help="cross swaps: leave the generator's α as it is (no limit)")
    p.add_argument("--no-pattern", action="store_true", help="skip the pattern try-on baseline")
    p.add_argument("--device", type=device, default=None, help=DEVICE_HELP)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(task_parser=p)


def main(args: Any) -> int:
    """Run ``python -m fsutils.evaluate swap`` on arguments already checked (the CCP folder, the
    split, the numbers); the table, then the figures' line last."""
    import contextlib
    import sys

    try:
        from ..swap.garment import load_generator

        load_generator(args.weights, "cpu")  # a missing generator is refused before any work
    except (ValueError, FileNotFoundError, ccp.CCPError) as e:
        raise SystemExit(f"error: {e}") from None
    from .photos import report_no_score, report_skipped

    skipped: list[tuple[Path, str]] = []
    try:
        with contextlib.redirect_stdout(sys.stderr):  # stdout: the table only
            r = evaluate_swap(args.ccp_root, args.weights, args.split, max_images=args.max_images,
                              segmenter=args.segment_weights,
                              pattern=not args.no_pattern, size=(args.height, args.width),
                              device=args.device, progress=not args.no_progress, skipped=skipped,
                              garment_margin=None if args.no_garment_limit else args.garment_margin)
    except ccp.CCPError as e:
        return report_no_score(e, skipped)
    print(f"split={r['split']} images={r['images']}")
    print("\n".join(swap_table(r["scores"])))
    print()
    print("\n".join(cross_table(r["cross"])))
    for person, article, why in r["cross_refused"]:
        print(f"refused: {person} wearing {article}'s garment: {why}")
    print(last_line(r["scores"], r["cross"]))
    return report_skipped(skipped, r["images"])

