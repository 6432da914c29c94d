"""The style-method table: one parameter class per method (the one place of its defaults), one
signature, and bad settings refused before any work."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fsutils import style
from fsutils.__main__ import build_parser
from fsutils.pipeline import Pipeline
from fsutils.style import AdainParams, GatysParams, MagentaParams


def test_every_method_has_a_parameter_class_and_runs_with_one_signature():
    assert list(style.METHODS) == ["magenta", "fast", "adain", "gatys"]
    assert style.DEFAULT_METHOD in style.METHODS
    for name, m in style.METHODS.items():
        assert m.name == name and m.label
        assert isinstance(m.params(), m.params)            # defaults need no arguments
        assert m.default_size(100) >= 1


def test_parameter_objects_refuse_bad_values_and_unknown_names():
    assert GatysParams().style_weight == 1e6
    assert GatysParams(preserve="color").preserve == ("color",)
    with pytest.raises(ValueError, match="optimizer"):
        GatysParams(optimizer="sgd")
    with pytest.raises(ValueError, match="steps"):
        GatysParams(steps=0)
    with pytest.raises(ValueError, match="style_weight"):
        GatysParams(style_weight=-1)
    for bad in (dict(style_weight=float("inf")), dict(tv_weight=float("nan")),
                dict(content_weight=1e300), dict(steps=10**9)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            GatysParams(**bad)
    with pytest.raises(ValueError, match="style_strength"):
        AdainParams(style_strength=1.5)
    with pytest.raises(ValueError, match="style_strength"):
        MagentaParams(style_strength=2)
    with pytest.raises(TypeError, match="Gatys takes no parameter.*stepz.*steps"):
        GatysParams().replace(stepz=3)
    assert GatysParams().replace(steps=5, lr=None) == GatysParams(steps=5)


def test_the_command_line_takes_its_defaults_from_the_parameter_objects():
    args = build_parser().parse_args([])
    g = GatysParams()
    assert (args.content_weight, args.style_weight, args.tv_weight, args.optimizer, args.steps) == \
        (g.content_weight, g.style_weight, g.tv_weight, g.optimizer, g.steps)
    assert args.style_strength == AdainParams().style_strength and args.style_strength == MagentaParams().style_strength


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, content, style, *, mask=None, callback=None, progress=False, **fields):
        self.calls.append(fields)
        return Image.fromarray(255 - np.asarray(content))


def _pipe(rec):
    seg = lambda photo: np.ones((photo.size[1], photo.size[0]), np.uint8)  # noqa: E731
    sal = lambda photo: np.ones((photo.size[1], photo.size[0]), np.float32)  # noqa: E731
    p = Pipeline(seg, sal, stylers={"gatys": rec, "adain": rec},
                 class_names=("background", "upper body", "lower body", "full body"))
    p.set_image(Image.new("RGB", (24, 16), (200, 100, 50)))
    return p


def test_pipeline_takes_a_parameter_object_or_its_fields():
    rec = Recorder()
    p = _pipe(rec)
    p.stylize("gatys", "x", GatysParams(steps=3, style_weight=10.0), style_size=16)
    assert rec.calls[-1] == GatysParams(steps=3, style_weight=10.0).as_dict()
    p.stylize("gatys", "x", style_size=16, steps=3, style_weight=10.0)  # the same: cached
    assert len(rec.calls) == 1 and p.computed["style"] == 1
    p.stylize("adain", "x", style_size=16)                         # the defaults, once
    assert rec.calls[-1] == {"style_strength": AdainParams().style_strength}
    with pytest.raises(TypeError, match="AdaIN|Adain"):
        p.stylize("adain", "x", style_size=16, steps=3)             # not an AdaIN setting
    with pytest.raises(TypeError, match="AdainParams"):
        p.stylize("adain", "x", GatysParams(), style_size=16)
    with pytest.raises(TypeError, match="AdainParams"):
        p.run(method="adain", style="x", params=GatysParams())        # refused before any stage
    with pytest.raises(ValueError, match="unknown blend mode"):
        p.run(method="adain", style="x", blend="glue")
    assert p.computed["segment"] == 0
