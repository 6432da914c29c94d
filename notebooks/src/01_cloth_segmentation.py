# %% [markdown]
# # 1 · Cloth segmentation: which pixels are clothes?
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/fsutils-kit/fsutils/blob/main/notebooks/01_cloth_segmentation.ipynb)
#
# Part 1 of the **fsutils** course on *style transfer on clothing*. Before we can paint a
# jacket like Van Gogh, the computer has to know **where the jacket is**. In this notebook a
# neural network labels every pixel of a photo as *background*, *upper-body*, *lower-body* or
# *full-body* clothing, and you explore the result interactively.
#
# The whole course: **1 segmentation** → 2 saliency → 3 style transfer → 4 saliency blending
# → 5 the full pipeline; then 6 training the segmentation model yourself, 7 baselines and
# scores, 8 garment instances and 9 garment swap.

# %% [markdown]
# ## The idea
#
# Segmentation is classification **per pixel**. The network (DeepLabV3-MobileNetV2: a small
# MobileNetV2 encoder whose last blocks use dilated convolutions, so they see the whole body,
# beside a branch that averages the whole image; see the model section below) outputs, for every
# pixel $(i, j)$, one score $z_{ij}^{k}$ per class $k \in \{0,1,2,3\}$.
# A softmax turns the scores into probabilities, and the label is the most probable class:
#
# $$p_{ij}(k) = \frac{e^{z_{ij}^{k}}}{\sum_{c=0}^{3} e^{z_{ij}^{c}}}, \qquad
#   \ell_{ij} = \arg\max_k \; p_{ij}(k).$$
#
# | label | class | colour below |
# |---|---|---|
# | 0 | background (also skin, hair, shoes, bags) | none |
# | 1 | upper body (shirt, jacket, sweater …) | red |
# | 2 | lower body (trousers, skirt, shorts …) | green |
# | 3 | full body (dress, coat, jumpsuit …) | yellow |
#
# Input: the photo resized to a square of $S\times S$ pixels and normalised as
# $x' = (x - \mu)/\sigma$, exactly as during the model's training. $S$, $\mu$, $\sigma$ and the
# resampling filter belong to the model: its entry in the weights registry declares them, and the
# model cell below prints them. The default model also reads the **mirror image** of the photo and
# averages the two probability maps (mirrored back): a garment's mirror image is the same garment.
# The probabilities are then resized back to the photo, so the labels have the photo's own size.
# A **mask** for a set of garments $K$ is then simply $B_{ij} = [\ell_{ij} \in K]$.

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
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
from fsutils import course, viz, weights, widgets
from fsutils.pipeline import Pipeline

# the photo at the working size (longest side 512 px on a CPU, 1024 on a GPU); try another
photo = course.sample_photo(PHOTO := "ccp_0006")

# %% [markdown]
# ## The model and its weights
#
# The kit's default cloth model is **`ccp_deeplab`**, the one the command line and every later
# notebook use: DeepLabV3 with a MobileNetV2 backbone (Chen et al. 2017; Sandler et al. 2018),
# trained by TensorFlow on COCO and PASCAL VOC to find *people*, then fine-tuned by the kit on the
# Clothing Co-Parsing photos to tell the garments apart — notebook 6 runs that training. It ships
# inside the package, so it needs no download. The original project's model **`cloth_segm`** (a
# U-2-Net, 176 MB, Google Drive) is supported too — set `USE_OFFICIAL = True` on a machine with
# internet to compare. All weights go through `fsutils.weights`, which checks sizes and hashes,
# and explains what to do when a download fails.

# %%
from fsutils.segment import ClothSegmenter, CLASS_NAMES

print("the kit's defaults:", course.defaults())
USE_OFFICIAL = False     # True: the official 176 MB cloth_segm (needs internet)
if USE_OFFICIAL:
    segmenter = ClothSegmenter("cloth_segm")
else:
    segmenter = ClothSegmenter()         # the kit's default model
entry = weights.get(segmenter.name)
S = segmenter.input_size
print(f"{entry.size / 1e6:.1f} MB; " if entry.size else "", end="")
print(f"input: the photo resized to {S}×{S} px "
      f"({segmenter.resample}), x' = (x − {segmenter.mean}) / {segmenter.std}; "
      f"mirror image averaged in: {segmenter.flip}")

# %% [markdown]
# ## Step by step
#
# **1. Probabilities.** `predict_proba` returns the four probability maps $p(k)$ at the
# photo's size. Bright = likely.

# %%
proba = segmenter.predict_proba(photo)           # float32, 4 × H × W, sums to 1 per pixel
print(proba.shape, proba.dtype, "sum over classes ≈", float(proba.sum(0).mean()))
display(viz.panels([photo] + list(proba), ["photo"] + [f"p({n})" for n in CLASS_NAMES]))

# %% [markdown]
# **2. Labels.** The arg-max over the classes gives one label per pixel; colours make it
# readable. How much of the photo is each garment?

# %%
from fsutils import segment
labels = segmenter.predict(photo)                 # uint8, H × W, values 0..3
for k, name in enumerate(CLASS_NAMES):
    print(f"{k} {name:<12} {100 * np.mean(labels == k):5.1f} % of the pixels")
display(viz.panels([photo, segment.colorize(labels), segment.overlay(photo, labels)], ["photo", "labels", "overlay"]))

# %% [markdown]
# **3. Masks.** A boolean mask per class, and the union of the garments we want to restyle —
# this is what the later stages use.

# %%
masks = segment.masks(labels)                     # {class name: bool H × W}
upper_and_lower = segment.combine_masks(labels, ["upper body", "lower body"])
display(viz.panels([masks["upper body"], masks["lower body"], masks["full body"], upper_and_lower],
                   ["upper body", "lower body", "full body", "upper + lower"]))

# %% [markdown]
# ## Explore it yourself
#
# Pick a photo (or upload your own), change the overlay opacity, and tick the garments to
# include in the mask. The panel uses the kit's cached pipeline: the segmentation runs once
# per photo, everything else is instant.

# %%
pipe = Pipeline(segment=segmenter, photo_size=env.default_work_size())
pipe.set_image(photo, name=PHOTO)      # the panels open on this photo; pick another one
picker = widgets.PhotoPicker(pipe)
picker

# %%
widgets.SegmentationExplorer(pipe)

# %% [markdown]
# ## What to try next
#
# - Upload a photo of yourself or a product shot. Where does the model hesitate? Look at
#   `predict_proba`: pixels with no class above 0.5 are the uncertain ones.
# - With internet, set `USE_OFFICIAL = True` and compare the official 176 MB model with the
#   kit's own on the same photos.
# - Notebook **6** shows how `ccp_deeplab` was trained — train it longer or bigger.
# - Continue with **notebook 2**: which parts of the photo catch the eye (saliency)?

# %% [markdown]
# ## Exercises
#
# Check your understanding; each solution is folded away in the cell under its exercise (click it
# to open it, or just run it).
#
# **1.** The softmax turns scores into probabilities. Add the same number (say 5) to all four
# scores $z_{ij}^{k}$ of a pixel: do its probabilities change? Does its label? Check it on random
# scores with numpy.

# %%
# @title Solution 1 { display-mode: "form" }
z = np.random.default_rng(0).normal(size=(4, 3, 3))          # 4 class scores for 3×3 pixels
softmax = lambda s: np.exp(s) / np.exp(s).sum(axis=0)
print("same probabilities:", np.allclose(softmax(z), softmax(z + 5)),
      "— same labels:", (softmax(z).argmax(0) == (z + 5).argmax(0)).all())
# exp(z + 5) = e^5 · exp(z): the factor cancels in the fraction. Only differences between scores
# matter, and the arg-max of the probabilities is the arg-max of the scores.

# %% [markdown]
# **2.** Which pixels is the model unsure about? Show the pixels where no class reaches a
# probability of 0.5, and say where they lie.

# %%
# @title Solution 2 { display-mode: "form" }
unsure = proba.max(axis=0) < 0.5
print(f"{100 * unsure.mean():.1f} % of the pixels have no class above 0.5")
display(viz.panels([photo, unsure], ["photo", "no class above 0.5"]))
# They lie on the garments' edges and where two garments meet (a top over a skirt: upper body,
# or a dress?): the class is in doubt, not the person.

# %% [markdown]
# **3.** The default model averages the photo's probabilities with those of its mirror image.
# Segment the photo without that (`ClothSegmenter(flip=False)`): how many pixels change label?

# %%
# @title Solution 3 { display-mode: "form" }
single = ClothSegmenter(flip=False, verbose=False).predict(photo)
changed = single != labels
print(f"{100 * changed.mean():.2f} % of the pixels change label without the mirror image")
display(viz.panels([segment.colorize(single), segment.colorize(labels), changed],
                   ["one view", "photo + mirror image", "changed pixels"]))
# Few, and almost all on edges: averaging two views smooths the decisions the model is unsure of.
