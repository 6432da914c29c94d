# %% [markdown]
# # 7 · Baselines and scores: is U-2-Net a better cut-out than GrabCut?
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/fsutils-kit/fsutils/blob/main/notebooks/07_baselines_and_scores.ipynb)
#
# Before a style is painted onto a person, the person (or their clothes) has to be cut out of the
# photo. The kit does it with networks: U-2-Net's saliency map and the cloth model. A classic
# alternative needs no training at all: **GrabCut**, from a rectangle drawn around the person.
# This notebook measures the three against hand-made annotations, then scores the stylised
# cut-outs with a *similarity* number — and looks at what such numbers can and cannot tell.

# %% [markdown]
# ## The idea
#
# **GrabCut** (Rother, Kolmogorov & Blake, 2004) labels each pixel $\alpha_i \in \{0, 1\}$
# (background, foreground). Everything outside the rectangle is background; inside, it fits two
# colour models (Gaussian mixtures $\theta$, one per side) and finds the labelling with the lowest
#
# $$E(\alpha) = \sum_i -\log p(z_i \mid \alpha_i, \theta) \;+\; \gamma \sum_{(i,j)\ \text{neighbours}} [\alpha_i \ne \alpha_j]\, e^{-\beta \lVert z_i - z_j \rVert^2},$$
#
# a colour term plus a price for cutting between similar neighbouring colours, minimised exactly
# by a graph cut. Refitting the colour models and cutting again, 5 times, is OpenCV's
# `cv2.grabCut`. Without a user, the kit draws the rectangle itself: the **bounding box of the
# saliency map above 0.5, grown by 5 %**.
#
# **Intersection over union** compares a cut-out $P$ with the annotated region $T$:
# $\mathrm{IoU} = |P \cap T| \,/\, |P \cup T|$ (1 = perfect, 0 = no overlap).
#
# **Similarity** of two images $a, b$: a network turns each into a vector $e$ (its pooled
# features) and the score is $100 \cdot \cos(e_a, e_b) = 100 \cdot \frac{e_a \cdot e_b}{\lVert e_a\rVert\,\lVert e_b\rVert}$:
# 100 for the same image, lower the more the network's description of the two differs.

# %%
# Setup. On Colab: install the kit, leaving Colab's own torch, numpy and widgets as they are.
import sys
if "google.colab" in sys.modules:
    # !pip install -q --no-deps "git+https://github.com/fsutils-kit/fsutils"
    pass
from fsutils import env
TINY = env.setup_notebook()  # prints the environment; TINY: tiny sizes in automatic test runs

# %%
# %matplotlib inline
import numpy as np
from IPython.display import Markdown, display
from fsutils import data, metrics, viz
from fsutils.evaluation import cutout as baselines
from fsutils.saliency import SaliencyModel
from fsutils.segment import ClothSegmenter

ccp_root = data.clone_ccp() if env.is_colab() else data.locate_ccp()
lookup = data.label_lookup(data.read_label_names(ccp_root))
from fsutils import course
print("the kit's defaults:", course.defaults())
saliency_model = SaliencyModel()                 # the defaults, as the command line uses them
segmenter = ClothSegmenter()
PHOTO = "0100"                          # the bundled sample ccp_0100 is CCP photo 0100
photo = np.asarray(data.load_photo(ccp_root, PHOTO))      # uint8 H × W × 3
groundtruth = data.load_groundtruth(ccp_root, PHOTO)
person = baselines.person_mask(groundtruth)                 # every labelled pixel but "null"
clothes = baselines.clothes_mask(groundtruth, lookup)       # the garment classes 1–3
print("photo", photo.shape, f"— person {person.mean():.0%} of the pixels, clothes {clothes.mean():.0%}")

# %% [markdown]
# ## 1 · GrabCut, step by step
#
# **The rectangle.** U-2-Net's saliency map says where the eye goes; its pixels above 0.5 give a
# box, grown by 5 % so that a faint hand or shoe is not cut off. Compare it with the box of the
# annotated person (also grown by 5 %): the rectangle a careful user would draw.

# %%
S = saliency_model.predict(photo)
auto_box = baselines.auto_rect(photo, S)
true_box = baselines.expand_box(baselines.mask_box(person), person.shape)
print("automatic rectangle (x0, y0, x1, y1):", auto_box, "  from the annotation:", true_box)
display(viz.panels([photo, S, person], ["photo + automatic box", "saliency S", "annotated person + its box"],
                   boxes=[auto_box, auto_box, true_box]))

# %% [markdown]
# **The cut.** One GrabCut iteration fits the colour models once; five refine them. Outside the
# rectangle nothing can be foreground, so a box that cuts off the feet loses them for good.

# %%
one = baselines.grabcut_mask(photo, auto_box, iters=1)
five = baselines.grabcut_mask(photo, auto_box, iters=5)
user = baselines.grabcut_mask(photo, true_box, iters=5)
display(viz.panels([one, five, user, baselines.cutout(photo, five)],
                   [f"1 iteration (IoU {baselines.iou(one, person):.2f})",
                    f"5 iterations (IoU {baselines.iou(five, person):.2f})",
                    f"user's box (IoU {baselines.iou(user, person):.2f})", "the cut-out"],
                   boxes=[auto_box, auto_box, true_box, None]))

# %% [markdown]
# ## 2 · Three cut-outs against the annotation
#
# U-2-Net above 0.5, GrabCut from the automatic box, and the union of the cloth model's garment
# classes. The cloth model is *meant* to leave out skin, hair and shoes: against the *person* it
# must lose, against the *clothes* it should win.

# %%
cuts = {"U-2-Net (S > 0.5)": baselines.saliency_cutout(photo, saliency_map=S),
        "GrabCut (auto box)": five,
        "cloth model": baselines.cloth_cutout(photo, segmenter)}
display(viz.panels(list(cuts.values()) + [person],
                   [f"{k}\nperson {baselines.iou(m, person):.2f} · clothes {baselines.iou(m, clothes):.2f}"
                    for k, m in cuts.items()] + ["annotation: person"]))

# %% [markdown]
# **On more photos.** `evaluate_cutout` does the same on photos of the validation split: the
# mean IoU per method and target, and the seconds per photo (GrabCut's automatic box includes
# the saliency map it needs). The command line does the same on the whole split:
# `python -m fsutils.evaluate cutout --ccp-root DIR --split val`.

# %%
result = baselines.evaluate_cutout(ccp_root, "val", max_images=2 if TINY else 10,
                                   saliency=saliency_model, segmenter=segmenter)
print(f"{result['images']} validation photos")
display(Markdown("\n".join(baselines.cutout_table(result))))

# %% [markdown]
# ## 3 · Similarity of the stylised cut-outs
#
# Each cut-out (on white) goes through the fast *candy* style model; so does the annotated
# person, the **truth cut**. Each stylised cut-out is then compared with the content photo, the
# style image and the stylised truth cut. The scores here use the offline backend, the ImageNet
# MobileNetV2's pooled features (`backend="clip"` uses CLIP when its weights can be downloaded).

# %%
size = 160 if TINY else 512
comparison = baselines.compare_cutouts(photo, person, "candy", saliency=saliency_model,
                                       segmenter=segmenter, max_size=size)
names = list(baselines.SIMILARITY_ROWS) + ["truth"]
display(viz.panels([comparison.stylised[k] for k in names],
                   [f"{k}\nto truth cut {comparison.scores[k]['truth cut']:.1f}" if k != "truth" else "truth cut"
                    for k in names]))

# %%
photo_ids = [PHOTO] if TINY else ["0001", "0006", "0100"]   # the bundled samples
comparisons = [comparison] if TINY else [
    baselines.compare_cutouts(data.load_photo(ccp_root, i), baselines.person_mask(data.load_groundtruth(ccp_root, i)),
                              "candy", saliency=saliency_model, segmenter=segmenter, max_size=size)
    for i in photo_ids]
print("mean over photos", ", ".join(photo_ids))
display(Markdown("\n".join(baselines.similarity_table(comparisons))))

# %% [markdown]
# ## What the numbers say, and what they do not
#
# - **IoU** answers a clear question — how much of the annotated person a cut-out covers,
#   and how much it adds — but only against *this* annotation: CCP's people are whole figures on
#   street backgrounds, and GrabCut's score depends on the rectangle it was given (compare the
#   automatic box with the user's box).
# - **Similarity** is a network's opinion. A stylised cut-out is far from the *content photo*
#   (the background is gone and the colours are the painting's), and only a little closer to the
#   *style image*; the column that separates the methods is the one against the *truth cut*. Scores
#   from different networks (MobileNetV2 here, CLIP in the original reports) are not comparable
#   with each other, and a few points on three photos is within the spread from photo to photo.
# - Both say nothing about what the final picture looks like inside the garment: for that, look
#   at the pictures, and at the placement scores of `python -m fsutils.evaluate blend`.

# %% [markdown]
# ## What to try next
#
# - Draw your own rectangle: `baselines.grabcut_mask(photo, (x0, y0, x1, y1))` (left, top, right,
#   bottom) around the person.
# - Change the threshold of the U-2-Net cut-out (`saliency_cutout(..., threshold=0.3)`).
# - Score with CLIP, `metrics.image_similarity(a, b, backend="clip")`, when you have internet,
#   and see whether the order of the rows changes.
# - Run the whole validation split from a terminal:
#   `python -m fsutils.evaluate cutout --ccp-root DIR --split val`.

# %% [markdown]
# ## Exercises
#
# Each solution is folded away in the cell under its exercise (click it to open it, or run it).
#
# **1.** Shrink the automatic rectangle by 20 px on every side (it is `(x0, y0, x1, y1)`) and
# run GrabCut again. How much IoU with the person is lost, and why can the extra iterations not
# win it back?

# %%
# @title Solution 1 { display-mode: "form" }
x0, y0, x1, y1 = auto_box
tight = (x0 + 20, y0 + 20, x1 - 20, y1 - 20)
tight_cut = baselines.grabcut_mask(photo, tight, iters=5)
print(f"IoU with the person: automatic box {baselines.iou(five, person):.3f}, "
      f"20 px tighter {baselines.iou(tight_cut, person):.3f}")
display(viz.panels([five, tight_cut], ["automatic box", "20 px tighter"], boxes=[auto_box, tight]))
# Everything outside the rectangle is background by definition: the head, feet or hands that the
# smaller box cuts off are lost for good, however often the colour models are refitted.

# %% [markdown]
# **2.** IoU punishes missing pixels *and* extra ones. Predict the IoU with the person of: the
# whole photo, an empty mask, and the person mask itself — then compute them.

# %%
# @title Solution 2 { display-mode: "form" }
for name, mask in {"whole photo": np.ones_like(person), "empty mask": np.zeros_like(person),
                   "the person itself": person}.items():
    print(f"{name}: IoU {baselines.iou(mask, person):.3f}")
# The whole photo scores the person's share of the pixels (|T| / |image|), the empty mask 0, the
# person 1: covering everything is not a good cut-out.

# %% [markdown]
# **3.** Similarity is a network's opinion. Score the photo against itself, against its mirror
# image and against the photo turned to grey. Which pairs are "similar" for the network, and
# which for the pixels?

# %%
# @title Solution 3 { display-mode: "form" }
mirror, grey = np.ascontiguousarray(photo[:, ::-1]), np.repeat(photo.mean(axis=-1, keepdims=True), 3, axis=-1).astype(np.uint8)
for name, other in {"itself": photo, "mirror image": mirror, "grey": grey}.items():
    print(f"{name}: similarity {metrics.image_similarity(photo, other):.1f}, "
          f"mean pixel difference {np.abs(photo.astype(float) - other).mean():.1f} / 255")
# The mirror image differs far more in its pixels than the grey photo, yet scores higher: the
# pooled features hardly care where things are, but they do care about colour. Similarity and
# pixel difference answer different questions.
