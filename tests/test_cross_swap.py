"""Cross-swap figures on hand-made photos: spill, colour moved, coverage, sharpness, refusals."""
import re

import numpy as np
import pytest

from fsutils.evaluation import cross_swap as cs
from fsutils.evaluation import swap as sev

RED, BLUE, GREY = (0.8, 0.1, 0.1), (0.1, 0.2, 0.8), (0.5, 0.5, 0.5)


def _person(h=200, w=120, top=RED, rest=GREY):
    """A float photo with a 60×60 'top' at rows 60–120, columns 30–90, and its mask."""
    photo = np.empty((h, w, 3), np.float32)
    photo[:] = rest
    mask = np.zeros((h, w), bool)
    mask[60:120, 30:90] = True
    photo[mask] = top
    return photo, mask


def test_pairs_put_every_photo_once_on_someone_else():
    ids = [f"{i:04d}" for i in range(7)]
    pairs = cs.cross_pairs(ids)
    assert [p for p, _ in pairs] == ids and sorted(a for _, a in pairs) == ids
    assert all(p != a for p, a in pairs)
    assert cs.cross_pairs(ids[:1]) == []


def test_spill_is_the_share_of_changes_beyond_the_margin():
    photo, mask = _person()
    result = photo.copy()
    result[mask] = BLUE  # 3600 changed pixels on the garment
    assert cs.spill(result, photo, mask) == 0
    result[62:122, 30:90] = BLUE  # 2 rows below the hem: inside the 3-px margin (5 % of 60)
    assert cs.spill(result, photo, mask) == 0
    result[150:180, 30:90] = BLUE  # 1800 pixels on the background
    assert cs.spill(result, photo, mask) == pytest.approx(1800 / (3600 + 120 + 1800))
    result[0:10, 0:10] += 0.05  # too small a change to count
    assert cs.spill(result, photo, mask) == pytest.approx(1800 / (3600 + 120 + 1800))
    assert cs.spill(photo, photo, mask) == 0  # nothing changed: nothing spilled


def test_colour_moved_is_the_way_from_the_old_colour_to_the_article():
    photo, mask = _person()
    article, amask = _person(top=BLUE)
    assert cs.colour_moved(photo, photo, mask, article, amask) == pytest.approx(0, abs=1e-6)
    assert cs.colour_moved(article, photo, mask, article, amask) == pytest.approx(1, abs=1e-4)
    half = photo.copy()
    half[60:90, 30:90] = BLUE  # the upper half took the article's colour
    assert cs.colour_moved(half, photo, mask, article, amask) == pytest.approx(0.5, abs=1e-4)
    same, _ = _person(top=(0.8, 0.12, 0.1))  # no colour to move: not measured
    assert np.isnan(cs.colour_moved(photo, photo, mask, same, amask))


def test_coverage_counts_the_garment_that_took_the_article():
    photo, mask = _person()
    article, amask = _person(top=BLUE)
    assert cs.coverage(article, photo, mask, article, amask) == 1
    assert cs.coverage(photo, photo, mask, article, amask) == 0
    part = photo.copy()
    part[60:120, 30:45] = BLUE  # a jacket on one side only: a quarter of the top
    part[60:120, 45:60] = (0.75, 0.15, 0.2)  # a tinted old garment is still the old garment
    assert cs.coverage(part, photo, mask, article, amask) == pytest.approx(0.25)


def test_sharpness_compares_the_garment_texture_with_the_articles():
    photo, mask = _person()
    article, amask = _person()
    stripes = (np.arange(200)[:, None] // 2 % 2) * np.ones((1, 120))
    article[amask] = (0.2 + 0.6 * stripes[..., None] * np.ones(3))[amask]
    copied = photo.copy()
    copied[mask] = article[amask]
    assert cs.sharpness(copied, mask, article, amask) == pytest.approx(1, abs=1e-6)
    blurred = photo.copy()
    blurred[mask] = 0.5  # the stripes averaged away
    assert cs.sharpness(blurred, mask, article, amask) < 0.01


def test_scores_count_refusals_and_summarise():
    people = {i: (*_person(top=c), _person()[1]) for i, c in (("a", RED), ("b", BLUE),
                                                               ("c", (0.1, 0.7, 0.2)))}

    def swap(i, photo, article, article_mask):
        if i == "c":
            raise ValueError("no upper-body garment was found in the person photo\nmore")
        out = photo.copy()
        out[people[i][1]] = article[article_mask]  # a perfect swap of same-shaped garments
        return out

    s = cs.CrossScores().run(cs.cross_pairs(list(people)), lambda i: people[i], swap)
    assert s.refused == [("c", "a", "no upper-body garment was found in the person photo")]
    summary = s.summary()
    assert summary["swaps"] == 2 and summary["refused"] == 1
    assert summary["spill_p90"] == 0 and summary["colour_moved_median"] == pytest.approx(1, abs=1e-4)
    assert summary["coverage_median"] == 1
    scores = {"cagan": {"mask_iou": 0.5, "outside_l1": 0.01, "known_l1": 0.1},
              "nothing": {"known_l1": 0.3}, "colour": {"known_l1": 0.08}}
    line = sev.last_line(scores, summary)
    assert line.startswith(sev.last_line(scores) + " spill_p90=")  # today's fields first, unchanged
    assert re.fullmatch(r"alpha_iou=\S+ outside_l1=\S+ known_l1=\S+ known_l1_nothing=\S+ "
                        r"known_l1_colour=\S+ spill_p90=0\.0000 colour_moved_median=1\.0000 "
                        r"coverage_median=1\.0000", line)
    assert "| 0.000 | 0.000 | 1.000 | 1.000 |" in "\n".join(cs.cross_table(summary))


def test_changes_on_a_coat_the_annotation_calls_full_body_are_not_spill():
    photo, shirt = _person()
    coat = np.zeros_like(shirt)
    coat[55:160, 20:100] = True  # worn over the shirt
    article, amask = _person(top=BLUE)
    result = photo.copy()
    result[coat] = BLUE
    assert cs.cross_figures(result, photo, shirt, article, amask)["spill"] > 0.3
    assert cs.cross_figures(result, photo, shirt, article, amask, worn=coat)["spill"] == 0
