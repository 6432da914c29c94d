# %% [markdown]
# # 09 · Garment swap: put another garment on the person with a Conditional Analogy GAN
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/fsutils-kit/fsutils/blob/main/notebooks/09_garment_swap.ipynb)
#
# The course so far *painted* a style onto a garment and kept its shape. Here the garment itself
# changes: give the kit a person and a photo of another top, and it dresses the person in that top.
# The method is the **Conditional Analogy GAN** (CAGAN, Jetchev & Bergmann 2017, "The Conditional
# Analogy GAN: swapping fashion articles on people images").
#
# You will
#
# 0. see first what it does: one swap that works, then a gallery of swaps between people, failures
#    included, each with its figures;
# 1. see the **analogy** that CAGAN learns, and how the kit makes its training examples from
#    Clothing Co-Parsing, which has no product photos;
# 2. read its **losses** and train it for a few minutes, watching the loss curves;
# 3. look at the **shipped model** at several stages of its training, and at how it scores against
#    doing nothing and two simple baselines on swaps whose right answer is known;
# 4. try it in a **panel**: pick a person and an article (or upload one) and see the mask $\alpha$,
#    the painted image $\tilde{x}$ and the swap.

# %% [markdown]
# ## Setup
# On Colab this installs the kit (Colab's own torch stays as it is) and fetches the dataset by
# cloning [bearpaw/clothing-co-parsing](https://github.com/bearpaw/clothing-co-parsing). Training
# is much faster on a GPU: *Runtime → Change runtime type → GPU*.

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
import json
from pathlib import Path

from IPython.display import Markdown, display
from fsutils import course, data, training, weights
from fsutils.models.cagan import LossWeights
from fsutils.pipeline import Pipeline
from fsutils.swap import data as swap_data, samples, stages as swap_stages, viz as swap_viz
from fsutils.evaluation import swap as swap_eval
from fsutils.swap.garment import DEFAULT_SWAP_WEIGHTS, swap_parts
from fsutils.training.swap import SwapTask, SwapTrainConfig
from fsutils.widgets import SwapPanel

print("the kit's defaults:", course.defaults())
print("the shipped garment-swap generator:", DEFAULT_SWAP_WEIGHTS)

# %% [markdown]
# ## 0 · A first look: one swap that works, and where it fails
#
# Each row puts the top of one bundled photo on another person. The kit finds the person's top with
# its models (as `swap_garment` does), the generator paints the new garment on a 128×96 crop, and
# the swap is pasted back into the photo, kept on the person's garment and a margin around it. The
# last picture shows what changed: green on the garment, **red** where the change spilled beyond
# it. Under it, the swap's figures against the photos' annotations (the same as
# `python -m fsutils.evaluate swap` reports for its cross swaps):
#
# - **spill**: the share of the changed pixels beyond the garment (0 is best);
# - **colour**: how far the garment's mean colour moved toward the article's (1: all the way);
# - **coverage**: the share of the garment that now looks like the article rather than the old one;
# - **sharp**: the garment's fine detail against the article's in its own photo (1: as sharp).
#
# First a pairing the method does well: a single-coloured sweater on a person whose top and jacket
# the kit finds whole.

# %%
first_look = swap_viz.cross_swaps([("ccp_0006", "ccp_0750"), ("ccp_0750", "ccp_0001"),
                                   ("ccp_0500", "ccp_0001"), ("ccp_0006", "ccp_0001"),
                                   ("ccp_0001", "ccp_0500")])
swap_viz.show_cross_swaps(first_look[:1])

# %% [markdown]
# The colour moved almost all the way and the new top covers the old one, but the red sweater's
# fine knit is gone (sharpness well below 1: the generator paints at 128×96). Now harder pairings;
# read each row's figures before its pictures: a dark jacket with white sleeves takes the colour on
# the red sweater of the first row, but on the pink shirt it is painted on one side only (coverage about
# a half), over a light top under a brown jacket it barely moves the colour (colour near 0), and
# the pink shirt on the woman in a dark coat leaves the coat's sleeves as they were. The last row is
# the same swap as the one before it with the generator's own $\alpha$, not kept on the garment:
# the red pixels are its smear on the fence, the skin and the passer-by.

# %%
gallery = first_look[1:] + swap_viz.cross_swaps([("ccp_0001", "ccp_0500")], garment_margin=None)
swap_viz.show_cross_swaps(gallery)

# %%
ccp_root = data.clone_ccp() if env.is_colab() else data.locate_ccp()
train_ids = data.ids_in_split(data.list_ids(ccp_root), "train")   # validation and test: for choices and the report
print(f"Clothing Co-Parsing in {ccp_root}: {len(train_ids)} training photos")

# %% [markdown]
# ## 1 · The analogy
#
# CAGAN's generator $G$ gets three pictures: the person $x_i$, the article $y_i$ they wear, and a
# new article $y_j$. It completes an analogy — *$y_i$ is to $x_i$ as $y_j$ is to ?* — and answers
# with two things: a mask $\alpha \in [0, 1]^{H \times W}$ (where to change the photo) and an image
# $\tilde{x}$ (what to paint there). The swap is
#
# $$x_i^j = \alpha \odot \tilde{x} + (1 - \alpha) \odot x_i ,$$
#
# so wherever $\alpha = 0$ the photo keeps its own pixels: the face, the hair, the background. No
# one tells the generator where the garment is; $\alpha$ is an *implicit segmentation* that it has
# to discover, and the kit measures how well it does.
#
# ## 2 · Training examples without a try-on data set
#
# The source trained on pairs of a model photo and the product photo of the garment worn. No such
# data set can be obtained here, so the kit makes both halves from **Clothing Co-Parsing**: $x_i$
# is a 128×96 crop around the person's upper-body garment(s), and $y_i$ is that garment cut out
# with its annotation and centred on white — a *flat-lay stand-in* for a product photo — moved by
# its own small random rotation, scaling and shift, so the network cannot simply copy pixels from
# $y_i$ into $x_i$. $y_j$ is made the same way from another photo of the same split. The kit's
# photo split keeps training, validation (choices) and test (the final report) apart.

# %%
few = train_ids[: 6 if TINY else 24]
triplets = swap_data.SwapDataset(ccp_root, few, fixed=True, seed=0)
print(f"{len(triplets)} of {len(few)} training photos show an upper-body garment")
swap_viz.show_triplets(triplets, [0, 1, 2])

# %% [markdown]
# ## 3 · The losses
#
# A discriminator $D$ judges (person, article) pairs and outputs the probability that the person
# really wears the article. It learns from three kinds of pairs: the real $(x_i, y_i)$, the
# generated $(x_i^j, y_j)$, and the **mismatched** $(x_i, y_j)$ — a real photo with the wrong
# article, which teaches $D$ that looking real is not enough, the person must *wear* the article:
#
# $$\mathcal{L}_D = -\log D(x_i, y_i) - (1 - m)\log\bigl(1 - D(x_i^j, y_j)\bigr) - m \log\bigl(1 - D(x_i, y_j)\bigr).$$
#
# The generator wants $D$ to believe its swap, and two regularisers keep it honest:
#
# $$\mathcal{L}_G = -\log D(x_i^j, y_j) \;+\; \lambda_\text{id}\,\lVert \alpha \rVert_1 \;+\; \lambda_\text{cyc}\,\bigl\lVert x_i - G\bigl(x_i^j, y_j, y_i\bigr) \bigr\rVert_1 ,$$
#
# the first term of which says "change as little as possible", the second "swapping back must give
# the photo again" (a cycle). Both norms are means over the pixels. As in the source, the
# generator is an encoder–decoder (here a U-Net) with InstanceNorm and LeakyReLU / ReLU, the
# discriminator uses BatchNorm, and both learn with Adam at a learning rate of $2\cdot10^{-4}$.

# %%
w = LossWeights()
print(f"λ_id = {w.identity}, λ_cyc = {w.cycle}, mismatched-pair weight m = {w.mismatch}")

# %% [markdown]
# ## 4 · A short training run
#
# The cell trains a fresh CAGAN for a few dozen steps on a few dozen training photos (a few minutes
# on a CPU; automatic test runs use tiny crops and a handful of steps). That is far too short for
# good swaps — the point is to watch the losses move and $\alpha$ start to find the garment. Run
# the cell again and it **resumes** from its `last.pt`. The same from the command line:
# `python -m fsutils.train swap --ccp-root DIR --out runs/cagan`.
#
# Besides the generator it trains, the run keeps a **running average** of the generator's weights
# (each step moves the average 0.1 % of the way, `ema_decay=0.999`): a GAN's weights wobble from step to
# step as the two networks chase each other, and the average smooths that out. Every validation
# scores both, and `best.pt` keeps whichever swaps better on the validation photos.

# %%
if TINY:
    settings = dict(height=32, width=32, base_channels=8, disc_channels=8, batch_size=4, steps=4,
                    val_every=2, val_images=4, max_train_images=8, snapshots="")
else:
    settings = dict(batch_size=8, steps=60, val_every=20, val_images=16, max_train_images=64,
                    snapshots="1")
cfg = SwapTrainConfig(ccp_root=str(ccp_root), out="runs/notebook_cagan", **settings)
summary = training.fit(SwapTask(cfg))
summary

# %%
history = json.loads(Path(cfg.out, "history.json").read_text())
swap_viz.plot_losses(history, smooth=1 if TINY else 10)

# %% [markdown]
# ## 5 · The shipped model, stage by stage
#
# The kit ships a generator trained the same way for much longer on a 2-core CPU (its registry
# entry says how many steps). The source showed its results after 1, 4 000 and 9 000 iterations;
# the picture below shows the stages that were kept of the shipped run — the labels printed above
# it say which. Each row is a person and an article from the kit's bundled samples, then the swap
# and $\alpha$ at each stage.

# %%
print(weights.REGISTRY[DEFAULT_SWAP_WEIGHTS].notes)
_, stages, _ = swap_stages.read_stages()
print("stages shown:", ", ".join(stages))
swap_viz.show_stages()

# %% [markdown]
# ## 6 · How good is it? Swaps with a known answer
#
# To score a swap we need its right answer, and for a garment taken from another photo nobody has
# it. So the kit makes swaps whose answer it knows: it **recolours the person's own garment**
# inside its annotated mask (hue turned, colour given to grey garments, brightness changed —
# shading and texture stay). The recoloured photo is the answer, and the recoloured garment, cut
# out as a flat-lay, is the new article $y_j$. Then, on the test photos,
#
# - `alpha_iou`: IoU of $\alpha > 0.5$ with the annotated garment (the implicit segmentation);
# - `outside_l1`: mean $|x_i^j - x_i|$ outside the garment (0..1): what the swap changes where it
#   should not;
# - `known_l1`: mean $|x_i^j - \text{answer}|$ inside the garment, against **doing nothing** and two
#   baselines inside the cloth model's upper-body mask: **colour transfer** (the article's mean and
#   standard deviation in Lab colour, Reinhard et al. 2001) and **pattern try-on** (the article as
#   the *painting* for the kit's Magenta style transfer).
#
# Measured once on the whole test split (`python -m fsutils.evaluate swap --ccp-root DIR`; README
# shows the same table):

# %%
display(Markdown("\n".join(course.swap_table())))
print(course.swap_verdict())

# %% [markdown]
# Recolouring never changes the garment's shape. The real use — another person's garment — has no
# known answer, so the same command also swaps the garments *between* the split's photos (person
# $i$ wears photo $j$'s annotated top, a fixed pairing) and measures the figures of section 0
# against the annotations, with the generator's own $\alpha$ and with $\alpha$ kept on the garment
# (the margin was chosen on the validation photos):

# %%
display(Markdown("\n".join(course.swap_cross_table())))

# %% [markdown]
# Recolouring is exactly what colour transfer does, so on these swaps it is a strong opponent:
# read the table for where CAGAN wins and where it loses. Measure it yourself on a few test photos
# (a few seconds a photo on a CPU, most of it the baselines):

# %%
n_test = 2 if TINY else 8
mine = swap_eval.evaluate_swap(ccp_root, split="test", max_images=n_test, progress=False)
display(Markdown("\n".join([f"{mine['images']} test photos:", ""] + swap_eval.swap_table(mine["scores"]))))

# %% [markdown]
# One swap and the two baselines side by side, on a bundled photo and a patterned article: colour
# transfer can only move colours, pattern try-on paints the article's texture but keeps the
# garment's shape, and CAGAN may change the shape but paints at 128×96.

# %%
person, top = samples.sample_person("ccp_0006")
article = samples.sample_articles()["mondrian top"]
parts = swap_parts(person, article.image, garment_mask=top, article_mask=article.mask)
swap_viz.show_swap(parts)

# %%
swap_viz.show_methods(parts)

# %% [markdown]
# ## 7 · Try it: pick a person and an article
#
# The person's top is found by the kit's cloth model; the article is a bundled one — a sample
# photo's top cut out on white, or a painting cut to a top's shape — or your own upload (a single
# garment on a plain light background works best). The row shows the generator's inputs $x_i$ and
# $y_j$, its mask $\alpha$, its image $\tilde{x}$, the swap, and the whole photo with the swap
# pasted back (outside $\alpha$ the photo keeps its full resolution).

# %%
pipe = Pipeline(photo_size=env.default_work_size())
SwapPanel(pipe, article="top of ccp_0500")

# %% [markdown]
# ## Limitations
#
# - **The flat-lay stand-in.** The articles seen in training are garments cut out of people
#   photos: creased, partly hidden, in the shape of the body they were on. A real product photo
#   looks different, and a generator trained on stand-ins has never seen one.
# - **Pose and size.** The generator works on 128×96 crops around the top and has seen a few
#   hundred photos: the swapped garment is blurry (sharpness well below 1 in the gallery). It keeps the person's pose and cannot move arms or change a garment's length
#   convincingly; details smaller than a few pixels of the crop are lost (the paste-back keeps the
#   photo's resolution only outside $\alpha$).
# - **Upper-body garments only**, as trained (`--garments upper`); `--garments lower` trains the same model on
#   lower-body garments, with the same limits.
# - **No try-on data set** could be obtained here; the known-answer scores measure recolouring, not
#   the full swap of a garment for a different one. The cross swaps between people measure the real
#   use, but only against the annotations: spill, colour and coverage, not whether the result looks
#   right.
# - **The margin.** The swap is kept on the person's garment grown by a margin
#   (`garment_margin=` of `swap_garment`): a longer or wider article shows only that far, and the
#   skin right beside the garment may still change.

# %% [markdown]
# ## What to try next
# - Train longer on a GPU (`steps=`), and compare the loss curves and the stage pictures.
# - Change $\lambda_\text{id}$: with 0 the generator may repaint the whole crop; with a large value
#   $\alpha$ shrinks until nothing changes. Watch `outside_l1` and `alpha_iou` on validation.
# - Train on lower-body garments (`garments="lower"`) and swap trousers and skirts.
# - Upload a product photo of a top to the panel: how does the generator cope with an article
#   unlike its flat-lay stand-ins?

# %% [markdown]
# ## Exercises
#
# Each solution is folded away in the cell under its exercise (click it to open it, or run it).
#
# **1.** The swap is $\alpha \odot \tilde{x} + (1 - \alpha) \odot x_i$. Where $\alpha < 0.05$, how
# far can the swap be from the photo at most (pixel values in 0..1)? Check it on the swap above.

# %%
# @title Solution 1 { display-mode: "form" }
import numpy as np
x_i = parts["x_i"].astype(np.float32) / 255
low = parts["alpha"] < 0.05
print(f"largest change where α < 0.05: {np.abs(parts['swap'] - x_i)[low].max():.3f} (at most 0.05)")
# |x_ij − x_i| = α·|x̃ − x_i| ≤ α: the photo survives wherever the mask is small.

# %% [markdown]
# **2.** Why does the discriminator see the mismatched pair $(x_i, y_j)$? Think of a generator that
# returns the photo unchanged ($\alpha = 0$): which of its two losses stays low without the
# mismatched pair, and why does the pair change that?

# %%
# @title Solution 2 { display-mode: "form" }
print("With α = 0 the swap is the real photo x_i, so D(x_i^j, y_j) = D(x_i, y_j).")
print("Without the mismatched pair, D only learns that real photos are real: it accepts x_i with any")
print("article, and the lazy generator fools it while paying nothing for λ_id·|α|. Trained on (x_i, y_j)")
print("as fake, D rejects a person who does not wear the article, so the generator has to change the garment.")
