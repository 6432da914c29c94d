"""fsutils.pipeline: what each parameter change recomputes, and that the results are the formulas.

The stages are injected as small deterministic functions, so these tests need no weights and run
in well under a second; the real models are exercised by the notebooks and the CLI tests.
"""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fsutils.io import to_uint8
from fsutils.blend import BlendParams
from fsutils.garments import resolve_garments
from fsutils.pipeline import Pipeline
from fsutils.views import BlendViews

H, W = 48, 64


def make_photo(seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (H, W, 3), dtype=np.uint8))


def fake_segment(photo: Image.Image) -> np.ndarray:
    """Top rows upper body (1), bottom rows lower body (2), a right strip full body (3)."""
    w, h = photo.size
    lab = np.zeros((h, w), np.uint8)
    lab[: h // 2, 8:] = 1
    lab[h // 2:, 8:] = 2
    lab[:, w - 8:] = 3
    return lab


def fake_saliency(photo: Image.Image) -> np.ndarray:
    w, h = photo.size
    return np.tile(np.linspace(0, 1, w, dtype=np.float32), (h, 1))


class Recorder:
    """A styler that inverts the photo (times `gain`) and records what it was given."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, content, style, *, mask=None, callback=None, progress=False, **params):
        self.calls.append({"size": content.size, "style": style, "mask": mask,
                           "params": params, "callback": callback})
        if callback is not None:
            callback(0, content, {"total": 1.0})
        arr = 255 - np.asarray(content)
        return Image.fromarray(arr)


@pytest.fixture
def pipe():
    rec = Recorder()
    p = Pipeline(fake_segment, fake_saliency, stylers={"fake": rec}, style_size=W,
                 class_names=("background", "upper body", "lower body", "full body"))
    p.recorder = rec
    p.set_image(make_photo())
    return p


def run(p: Pipeline, *, mode="saliency", strength=1.0, width=4.0, **kw):
    args = dict(method="fake", style="x", garments=(1,),
                blend=BlendParams(mode, strength=strength, width=width))
    args.update(kw)
    return p.run(**args)


def test_first_run_computes_every_stage_once(pipe):
    run(pipe)
    assert pipe.computed == {"segment": 1, "saliency": 1, "style": 1, "mask": 1, "blend": 2}


def test_blend_parameter_change_recomputes_only_the_blend(pipe):
    run(pipe)
    before = dict(pipe.computed)
    r = run(pipe, strength=0.5)
    diff = {k: pipe.computed[k] - before.get(k, 0) for k in pipe.computed}
    assert diff == {"segment": 0, "saliency": 0, "style": 0, "mask": 0, "blend": 1}
    assert len(pipe.recorder.calls) == 1
    # going back to a value seen before is a cache hit
    run(pipe, strength=1.0)
    assert pipe.computed["blend"] == before["blend"] + 1
    assert r.mode == "saliency"


def test_mode_switch_and_unused_parameters(pipe):
    run(pipe, mode="hard")
    n = pipe.computed["blend"]
    run(pipe, mode="hard", strength=0.3, width=9.0)   # not used by a hard paste: cache hit
    assert pipe.computed["blend"] == n
    run(pipe, mode="feathered", width=2.0)
    run(pipe, mode="feathered", width=2.0, strength=0.1)
    assert pipe.computed["blend"] == n + 1
    assert pipe.computed["style"] == 1 and pipe.computed["segment"] == 1


def test_garment_change_recomputes_mask_and_blend_only(pipe):
    run(pipe)
    before = dict(pipe.computed)
    run(pipe, garments=("upper body", "lower"))
    diff = {k: pipe.computed[k] - before.get(k, 0) for k in pipe.computed}
    assert diff == {"segment": 0, "saliency": 0, "style": 0, "mask": 1, "blend": 2}


def test_style_change_recomputes_style_and_blend_only(pipe):
    run(pipe)
    before = dict(pipe.computed)
    run(pipe, style="y")
    run(pipe, style="y", params={"gain": 2})          # a style parameter is part of the style key
    diff = {k: pipe.computed[k] - before.get(k, 0) for k in pipe.computed}
    assert diff == {"segment": 0, "saliency": 0, "style": 2, "mask": 0, "blend": 4}
    assert [c["style"] for c in pipe.recorder.calls] == ["x", "y", "y"]
    assert pipe.recorder.calls[-1]["params"] == {"gain": 2}


def test_callback_and_progress_are_not_part_of_the_key(pipe):
    seen = []
    run(pipe)
    run(pipe, callback=lambda *a: seen.append(a), progress=True)
    assert pipe.computed["style"] == 1 and seen == []


def test_same_pixels_again_is_a_cache_hit_new_photo_recomputes(pipe):
    run(pipe)
    pipe.set_image(make_photo().copy())            # another object, same pixels
    run(pipe)
    assert pipe.computed["segment"] == 1 and pipe.computed["style"] == 1
    pipe.set_image(make_photo(seed=1))
    run(pipe)
    assert pipe.computed == {"segment": 2, "saliency": 2, "style": 2, "mask": 2, "blend": 4}


def test_results_follow_the_formulas(pipe):
    r = run(pipe, garments=(1, 3), strength=0.7)
    c = np.asarray(make_photo(), np.float32) / 255
    s = 1 - c
    lab = fake_segment(make_photo())
    mask = np.isin(lab, (1, 3))
    sal = fake_saliency(make_photo())
    assert np.array_equal(r.mask, mask) and np.array_equal(r.labels, lab)
    np.testing.assert_allclose(r.stylized, s, atol=1e-6)
    m = np.clip(0.7 * sal, 0, 1) * mask
    np.testing.assert_allclose(r.output, m[..., None] * s + (1 - m[..., None]) * c, atol=1e-5)
    np.testing.assert_array_equal(r.output[~mask], c[~mask])        # photo untouched outside
    np.testing.assert_allclose(r.hard, np.where(mask[..., None], s, c), atol=1e-6)
    assert r.image().size == (W, H) and r.image("mask").mode == "L"
    assert r.garments == (1, 3) and r.method == "fake"


def test_feathered_differs_from_hard_only_near_the_edge(pipe):
    hard = run(pipe, mode="hard").output
    soft = run(pipe, mode="feathered", width=2.0).output
    diff = np.abs(hard - soft).max(axis=2) > 1e-4
    assert diff.any()
    mask = pipe.mask(1)
    ys, xs = np.nonzero(diff)
    # every changed pixel is within ~4σ of a mask boundary: check against a distance transform
    import cv2
    inside = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    outside = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3)
    assert np.maximum(inside, outside)[ys, xs].max() <= 4 * 2.0 + 1


def test_style_runs_at_its_working_size_and_comes_back_at_photo_size(pipe):
    r = run(pipe, style_size=32)
    assert pipe.recorder.calls[-1]["size"] == (32, 24)
    assert r.stylized.shape == (H, W, 3) and r.stylized.dtype == np.float32
    run(pipe, style_size=16)
    assert pipe.recorder.calls[-1]["size"] == (16, 12)
    assert pipe.computed["style"] == 2


def test_masked_style_passes_the_garment_mask_at_working_size(pipe):
    run(pipe, garments=(1,), masked_style=True, style_size=32)
    m = pipe.recorder.calls[-1]["mask"]
    assert m.shape == (24, 32) and 0 <= m.min() and m.max() <= 1
    assert m[2, 20] > 0.9 and m[20, 20] < 0.1       # upper half is garment 1
    run(pipe, garments=(2,), masked_style=True, style_size=32)   # the mask is part of the style key
    assert pipe.computed["style"] == 2
    run(pipe, garments=(2,), style_size=32)                       # unmasked is yet another result
    assert pipe.computed["style"] == 3 and pipe.recorder.calls[-1]["mask"] is None


def test_lru_keeps_only_cache_size_results():
    p = Pipeline(fake_segment, fake_saliency, stylers={"fake": Recorder()}, cache_size=2,
                 class_names=("background", "upper body", "lower body", "full body"))
    p.set_image(make_photo())
    for s in (0.1, 0.2, 0.3):
        p.run(method="fake", style="x", blend=BlendParams(strength=s))
    n = p.computed["blend"]
    p.run(method="fake", style="x", blend=BlendParams(strength=0.3))    # most recent: kept
    assert p.computed["blend"] == n
    p.run(method="fake", style="x", blend=BlendParams(strength=0.1))    # evicted: recomputed
    assert p.computed["blend"] == n + 1


def test_photo_size_shrinks_the_photo():
    p = Pipeline(fake_segment, fake_saliency, stylers={"fake": Recorder()}, photo_size=32,
                 class_names=("background", "upper body", "lower body", "full body"))
    p.set_image(make_photo())
    assert p.content.shape == (24, 32, 3) and p.content.dtype == np.float32
    assert p.run(method="fake", style="x").output.shape == (24, 32, 3)


def test_results_are_read_only(pipe):
    r = run(pipe)
    with pytest.raises(ValueError):
        r.output[0, 0, 0] = 0
    with pytest.raises(ValueError):
        r.mask[0, 0] = True


def test_clear_errors():
    p = Pipeline(fake_segment, fake_saliency, stylers={"fake": Recorder()},
                 class_names=("background", "upper body", "lower body", "full body"))
    with pytest.raises(RuntimeError, match="set_image"):
        p.labels()
    p.set_image(make_photo())
    with pytest.raises(RuntimeError, match="stylize"):
        p.blend()
    with pytest.raises(ValueError, match="unknown style method 'nope'"):
        p.stylize("nope", "x")
    p.stylize("fake", "x", style_size=16)
    with pytest.raises(ValueError, match="unknown blend mode"):
        p.blend("glue")
    bad = Pipeline(lambda photo: np.zeros((3, 3), np.uint8), fake_saliency,
                   class_names=("background", "upper body", "lower body", "full body"))
    bad.set_image(make_photo())
    with pytest.raises(ValueError, match="photo's size"):
        bad.labels()


def test_resolve_garments():
    assert resolve_garments(None) == (1, 2, 3)
    assert resolve_garments("upper body") == (1,)
    assert resolve_garments(["full-body", "lower", 1, "upper_body"]) == (1, 2, 3)
    assert resolve_garments(["2"]) == (2,)
    with pytest.raises(ValueError, match="unknown garment class 'hat'"):
        resolve_garments(["hat"])
    with pytest.raises(ValueError, match="out of range"):
        resolve_garments([7])
    with pytest.raises(TypeError):
        resolve_garments([1.5])
    assert resolve_garments(["Shoes"], ("background", "shoes", "hat")) == (1,)   # a model's own names


def test_resolve_garments_knows_the_instance_classes_and_refuses_a_mix():
    from fsutils.garments import is_instance_choice

    assert resolve_garments(["shoe", "Outer"]) == ("outer", "shoe")    # the classes' own order
    assert resolve_garments("bag") == ("bag",)
    assert is_instance_choice(("outer",)) and not is_instance_choice((1, 3))
    both = r"semantic classes upper, lower, full \(or 1-3\) or instance classes top, outer, dress"
    with pytest.raises(ValueError, match="mix two vocabularies.*" + both):
        resolve_garments(["outer", "upper"])
    with pytest.raises(ValueError, match="mix two vocabularies"):
        resolve_garments(["shoe", 2])
    with pytest.raises(ValueError, match="unknown garment class 'coat'.*instance classes top, outer"):
        resolve_garments(["coat"])


def fake_instances(photo):
    """A coat over the top-left block, one shoe in the bottom-right corner, at the photo's size."""
    from fsutils.instances import Instance, Instances

    w, h = photo.size
    coat, shoe = np.zeros((h, w), bool), np.zeros((h, w), bool)
    coat[: h // 2, : w // 2] = True
    shoe[h - 6:, w - 10:] = True
    return Instances([Instance("outer", 0.9, (0, 0, w // 2, h // 2), coat),
                      Instance("shoe", 0.8, (w - 10, h - 6, w, h), shoe)])


def test_instance_garments_blend_into_the_union_of_their_instances():
    p = Pipeline(fake_segment, fake_saliency, stylers={"fake": Recorder()}, style_size=W,
                 instances=fake_instances)
    p.set_image(make_photo())
    res = run(p, mode="hard", garments=["shoe", "outer"])
    union = p.instances().union(["outer", "shoe"])
    assert res.garments == ("outer", "shoe") and (res.mask == union).all()
    assert np.allclose(res.output[union], res.stylized[union])
    assert np.allclose(res.output[~union], res.content[~union])
    before = dict(p.computed)
    coat = run(p, mode="hard", garments="outer")                # other items: mask and blend only
    assert (coat.mask == p.instances().union("outer")).all() and not coat.mask[-1, -1]
    assert p.computed["instances"] == before["instances"] == 1
    # no new style; no new mask either: the first result's per-class masks hold the coat's
    assert p.computed["style"] == before["style"] and p.computed["mask"] == before["mask"]
    assert list(res.garment_masks) == ["outer", "shoe"]
    assert (res.garment_masks["shoe"] == p.instances().union("shoe")).all()
    assert (p.probability("outer") == coat.mask).all()          # instances: a 0/1 probability
    soft = run(p, mode="guided_saliency", garments="outer")     # the soft modes work on them too
    w = p.weight("guided_saliency", garments="outer")[..., None]
    assert w.max() > 0.4 and np.allclose(soft.output, w * soft.stylized + (1 - w) * soft.content,
                                         atol=1e-5)
    semantic = run(p, mode="hard", garments="upper")            # the other vocabulary still works
    assert (semantic.mask == (p.labels() == 1)).all()


def test_a_detector_must_return_masks_at_the_photos_size():
    def wrong(photo):
        return fake_instances(photo.resize((8, 8)))

    p = Pipeline(fake_segment, fake_saliency, stylers={"fake": Recorder()}, instances=wrong)
    p.set_image(make_photo())
    with pytest.raises(ValueError, match="masks at the photo's size"):
        p.mask("outer")


def test_to_uint8_rounds_and_clips():
    a = np.array([[[-0.1, 0.0, 0.5], [1.0, 1.2, 0.999]]], np.float32)
    assert to_uint8(a).tolist() == [[[0, 0, 128], [255, 255, 255]]]


def test_listeners_hear_a_new_photo_and_a_new_style(pipe):
    events = []
    pipe.on_change(events.append)
    run(pipe)
    run(pipe, strength=0.2)
    run(pipe, style="y")
    run(pipe, style="y", mode="hard")
    pipe.set_image(make_photo())
    pipe.set_image(make_photo(seed=1))
    assert events == ["style", "style", "image"]
    pipe.on_change(events.append, remove=True)
    pipe.set_image(make_photo())
    assert events == ["style", "style", "image"]


def test_gatys_without_vgg_weights_raises_even_in_test_mode(monkeypatch, isolated_weights):
    """No stand-in network in the product: without the VGG-19 weights the Gatys stage raises the
    weights error that says what to do (notebooks catch it with env.needs_weights)."""
    from fsutils import weights
    monkeypatch.setenv("FSUTILS_OFFLINE", "1")
    monkeypatch.setenv("FSUTILS_TINY", "1")
    p = Pipeline(fake_segment, fake_saliency,
                 class_names=("background", "upper body", "lower body", "full body"))
    p.set_image(make_photo())
    with pytest.raises(weights.WeightsError, match="vgg19"):
        p.stylize("gatys", "starry_night_vangogh", steps=1, style_size=16)


def test_default_style_size_depends_on_the_method(monkeypatch):
    monkeypatch.setenv("FSUTILS_TINY", "1")            # env.default_style_size() == 64
    rec = Recorder()
    p = Pipeline(fake_segment, fake_saliency, stylers={"fast": rec, "gatys": rec},
                 class_names=("background", "upper body", "lower body", "full body"))
    p.set_image(make_photo().resize((256, 192)))
    p.stylize("fast", "x")                              # one pass: at the photo's working size
    assert rec.calls[-1]["size"] == (256, 192)
    p.stylize("gatys", "x")                             # optimisation: the CPU-sized default
    assert rec.calls[-1]["size"] == (64, 48)


class ProbaSegmenter:
    """A segmenter with ``predict_proba``: garment probability falling from 0.9 to 0.1 across
    columns 20–40; ``predict`` must not be called (one pass gives labels and probabilities)."""

    CLASS_NAMES = ("background", "upper body", "lower body", "full body")

    def __init__(self) -> None:
        self.passes = 0

    def predict(self, photo):  # pragma: no cover - must not run
        raise AssertionError("labels_from_proba gives the labels of the same pass")

    def labels_from_proba(self, proba):
        return proba.argmax(axis=0).astype(np.uint8)

    def predict_proba(self, photo):
        self.passes += 1
        w, h = photo.size
        garment = np.clip(np.interp(np.arange(w), [20, 40], [0.9, 0.1]), 0, 1).astype(np.float32)
        proba = np.zeros((4, h, w), np.float32)
        proba[1] = np.tile(garment, (h, 1))
        proba[0] = 1 - proba[1]
        return proba


def test_soft_modes_use_the_segmenters_probabilities_from_one_pass():
    seg = ProbaSegmenter()
    p = Pipeline(seg, fake_saliency, stylers={"fake": Recorder()}, style_size=W)
    p.set_image(make_photo())
    p.stylize("fake", "x")
    prob = p.probability(["upper body"])
    assert prob.dtype == np.float32 and prob.shape == (H, W)
    np.testing.assert_allclose(prob[0, [0, 20, 30, 40, 63]], [0.9, 0.9, 0.5, 0.1, 0.1], atol=1e-6)
    # The labels are the arg-max of the same probabilities.
    np.testing.assert_array_equal(p.labels(), (prob > 0.5).astype(np.uint8))
    C, S = p.content, p.stylized
    soft = p.blend("soft", garments=["upper body"])
    np.testing.assert_allclose(soft, C + prob[..., None] * (S - C), atol=1e-6)
    both = p.blend("soft_saliency", garments=["upper body"], strength=2.0)
    expect_w = prob * np.clip(2 * fake_saliency(p.photo), 0, 1)
    np.testing.assert_allclose(p.weight("soft_saliency", garments=["upper body"], strength=2.0),
                               expect_w, atol=1e-6)
    np.testing.assert_allclose(both, C + expect_w[..., None] * (S - C), atol=1e-6)
    guided = p.weight("guided", garments=["upper body"], radius=3)
    assert guided.shape == (H, W) and 0 <= guided.min() and guided.max() <= 1
    assert p.weight("poisson") is None
    p.blend("poisson", garments=["upper body"])
    assert seg.passes == 1
    # Parameters a mode does not read do not recompute it.
    before = p.computed["blend"]
    p.blend("soft", garments=["upper body"], strength=0.3, radius=5)
    assert p.computed["blend"] == before
    res = p.result("guided", garments=["upper body"])
    assert res.mode == "guided" and res.params.radius == 8


def test_a_label_only_segmenter_gives_0_1_probabilities(pipe):
    pipe.stylize("fake", "x")
    np.testing.assert_array_equal(pipe.probability((1, 2)), pipe.mask((1, 2)).astype(np.float32))
    np.testing.assert_allclose(pipe.blend("soft", garments=(1, 2)), pipe.blend("hard", garments=(1, 2)),
                               atol=1e-6)


def test_blend_view_is_the_blend_cropped_and_resized_without_a_full_blend():
    import cv2

    from fsutils.blend import MODES

    p = Pipeline(ProbaSegmenter(), fake_saliency, stylers={"fake": Recorder()}, style_size=W)
    p.set_image(make_photo())
    p.stylize("fake", "x")
    views = BlendViews(p)
    box = (10, 5, 42, 37)
    for mode in MODES:
        full = p.blend(mode, garments=(1,), strength=1.7, width=3.0, radius=3)
        view = views.blend(mode, garments=(1,), box=box, strength=1.7, width=3.0, radius=3)
        np.testing.assert_allclose(view, full[5:37, 10:42], atol=1e-6, err_msg=mode)
        small = views.blend(mode, garments=(1,), size=(32, 24), strength=1.7, width=3.0, radius=3)
        expect = cv2.resize(np.ascontiguousarray(full), (32, 24), interpolation=cv2.INTER_AREA)
        assert small.shape == (24, 32, 3)
        assert np.abs(small - expect).max() < 0.35 and np.abs(small - expect).mean() < 0.02, mode
        w = views.weight(mode, garments=(1,), box=box, strength=1.7, width=3.0, radius=3)
        if mode == "poisson":
            assert w is None
        else:
            np.testing.assert_allclose(w, p.weight(mode, garments=(1,), strength=1.7, width=3.0,
                                                   radius=3)[5:37, 10:42], atol=1e-6)
    # a new saliency strength blends only the pixels shown: no full-size blend or weight
    before = dict(p.computed)
    for strength in (0.2, 0.4, 0.6):
        views.blend("guided_saliency", garments=(1,), box=box, strength=strength, radius=3)
        views.blend("saliency", garments=(1,), size=(32, 24), strength=strength)
    assert p.computed["blend"] == before["blend"] and p.computed["weight"] == before["weight"]
    with pytest.raises(ValueError, match="not inside"):
        views.blend("hard", garments=(1,), box=(0, 0, W + 1, H))
    with pytest.raises(ValueError, match="at least 1"):
        views.blend("hard", garments=(1,), size=(0, 5))


def test_a_small_working_size_segments_a_larger_copy_of_the_photo():
    from fsutils.pipeline import SEGMENT_MIN_SIZE

    seen = []

    def segment(photo):  # upper half upper body, lower half lower body, a right quarter full body
        seen.append(photo.size)
        w, h = photo.size
        lab = np.ones((h, w), np.uint8)
        lab[h // 2:] = 2
        lab[:, 3 * w // 4:] = 3
        return lab

    big = make_photo().resize((4 * W * 4, 4 * H * 4), Image.Resampling.NEAREST)   # 1024×768
    p = Pipeline(segment, fake_saliency, stylers={"fake": Recorder()}, photo_size=W)
    p.set_image(big)
    lab = p.labels()
    assert p.content.shape[:2] == (H, W) and lab.shape == (H, W)
    assert seen == [(SEGMENT_MIN_SIZE, SEGMENT_MIN_SIZE * 3 // 4)]   # not the 64-px working photo
    # the same layout as segmenting at the working size, up to the resampled edges
    assert (lab == segment(p.photo)).mean() > 0.95
    # a photo given at the working size (or a large working size) is segmented as it is
    seen.clear()
    p.set_image(make_photo(1))
    p.labels()
    assert seen == [(W, H)]


@pytest.mark.slow   # the real bundled cloth models, one pass per option at 256 px: ~20-40 s
def test_labels_are_the_segmenters_own_predict_for_every_option():
    """``pipe.labels()`` is what the segmenter's ``predict`` gives, whatever its options: the
    labels are never re-derived from the probabilities behind its back (``clean=True`` held)."""
    from fsutils import io as fio
    from fsutils.segment import ClothSegmenter

    photo = fio.load_image(fio.sample_path("ccp_0001"))
    photo.thumbnail((128, 128))
    options = [{}, {"clean": True}, {"flip": False}, {"resample": "lanczos"},
               {"mean": 0.5, "std": 0.25}, {"weights": "ccp_u2netp"}]
    seen = {}
    for kw in options:
        seg = ClothSegmenter(device="cpu", verbose=False, **{"input_size": 256, **kw})
        pipe = Pipeline(seg, fake_saliency)
        pipe.set_image(photo)
        expect = seg.predict(photo)
        np.testing.assert_array_equal(pipe.labels(), expect, err_msg=str(kw))
        seen[str(kw)] = expect
    # the photo has specks that clean_labels removes, so the clean option was really in play
    assert (seen["{'clean': True}"] != seen["{}"]).any()


def test_a_segmenter_can_bring_its_own_garments():
    """Another garment source plugs in through the segmenter the pipeline holds: its
    ``resolve_garments`` turns ``garments=`` into the mask stage's key, its ``garment_mask``
    makes the mask; the blend reads that mask like any other."""

    class Shoes:
        def predict(self, photo):
            return fake_segment(photo)

        def resolve_garments(self, garments):   # also given its own keys again
            if garments not in ("shoe", ("shoe",), None):
                raise ValueError(f"unknown garment {garments!r}")
            return ("shoe",)

        def garment_mask(self, photo, key):
            m = np.zeros((photo.height, photo.width), bool)
            m[-10:, :20] = True
            return m

    p = Pipeline(Shoes(), fake_saliency, stylers={"fake": Recorder()}, style_size=W)
    p.set_image(make_photo())
    p.stylize("fake", "x")
    mask = p.mask("shoe")
    assert mask.sum() == 10 * 20 and mask[-1, 0] and not mask[0, 0]
    out = p.blend("hard", garments="shoe")
    np.testing.assert_allclose(out[mask], p.stylized[mask])
    np.testing.assert_allclose(out[~mask], p.content[~mask])
    with pytest.raises(ValueError, match="unknown garment"):
        p.mask("hat")
