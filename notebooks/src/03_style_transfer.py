# %% [markdown]
# # 3 · Neural style transfer: four ways to paint a photo
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/fsutils-kit/fsutils/blob/main/notebooks/03_style_transfer.ipynb)
#
# Part 3 of the **fsutils** course. We repaint the photo in the style of a painting, with the
# four methods of the kit: **Gatys** (optimise the image itself; any painting, best quality,
# slow), **fast** feed-forward networks (one network per painting, real time), **AdaIN**
# (any painting in one pass) and **Magenta** (any painting in one pass, with a style you can
# mix — the kit's default).

# %% [markdown]
# ## The idea (Gatys, Ecker & Bethge 2016)
#
# A network trained to recognise objects (VGG-19) describes an image by its **feature maps**
# $F^l$ at layer $l$: $N_l$ channels of size $M_l = h_l \times w_l$, reshaped to an
# $N_l \times M_l$ matrix.
#
# - **Content** = *where* the features are. Content loss on layer `conv4_2`, between the
#   generated image's features $F$ and the photo's $P$:
#   $$\mathcal{L}_{content} = \frac{1}{N_l M_l}\sum_{i,k}\left(F^l_{ik} - P^l_{ik}\right)^2.$$
# - **Style** = *which features occur together*, regardless of where: the **Gram matrix**
#   $$G^l_{ij} = \frac{1}{a\,b\,c\,d}\sum_k F^l_{ik} F^l_{jk}$$
#   (the correlation of channels $i$ and $j$; $a\,b\,c\,d$ = batch × channels × height ×
#   width). Style loss over `conv1_1 … conv5_1`, against the painting's Gram matrices $A^l$:
#   $$\mathcal{L}_{style} = \sum_{l} \frac{1}{N_l^2}\sum_{i,j}\left(G^l_{ij} - A^l_{ij}\right)^2.$$
# - **Smoothness**: total variation
#   $\mathcal{L}_{TV} = \operatorname{mean}(x_{i+1,j} - x_{i,j})^2 + \operatorname{mean}(x_{i,j+1} - x_{i,j})^2$.
#
# We start from the photo and change its **pixels** (not the network!) to minimise
# $$\mathcal{L} = \alpha\,\mathcal{L}_{content} + \beta\,\mathcal{L}_{style} + \gamma\,\mathcal{L}_{TV}$$
# with L-BFGS or Adam. The ratio $\beta/\alpha$ decides how much painting versus photo.
#
# **Fast** (Johnson et al. 2016): a network is trained once to minimise that loss for *one*
# painting; then stylising is one forward pass. **AdaIN** (Huang & Belongie 2017): re-colour
# the photo's features with the painting's per-channel statistics,
# $$\mathrm{AdaIN}(x, y) = \sigma(y)\,\frac{x - \mu(x)}{\sigma(x)} + \mu(y),$$
# and decode them back to an image; the style strength $\alpha$ (`style_strength`) mixes $\alpha\,\mathrm{AdaIN}(x,y) + (1-\alpha)\,x$.

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
from fsutils import course, io as fio, viz, weights, widgets
from fsutils.pipeline import Pipeline

# the photo at the working size (longest side 512 px on a CPU, 1024 on a GPU); try another
photo = course.sample_photo(PHOTO := "ccp_0006")

# %%
import torch
from fsutils.style import gatys_transfer, fast_stylize, adain_transfer, gram_matrix

SIZE = env.default_style_size()      # 256 on a CPU, 512 on a GPU (64 in test mode)
STEPS = env.default_gatys_steps()    # 100 on a CPU, 300 on a GPU (3 in test mode)
painting = fio.load_image(fio.sample_path("starry_night_vangogh"))
print("the kit's defaults:", course.defaults())
pipe = Pipeline(photo_size=env.default_work_size())      # the cached pipeline: garment masks and the panel
pipe.set_image(photo, name=PHOTO)
display(viz.panels([photo, painting], ["photo (content)", "painting (style)"]))

# %% [markdown]
# ## A Gram matrix by hand
#
# Two channels on a 2×2 image. Channel 0 and channel 1 are "on" at the same places, so their
# correlation $G_{01}$ is large; the Gram matrix has forgotten *where*.

# %%
F = torch.tensor([[[[1., 0.], [0., 1.]],       # channel 0
                   [[2., 0.], [0., 2.]]]])     # channel 1: same places, twice as strong
a, b, c, d = F.shape
by_hand = F.reshape(b, c * d) @ F.reshape(b, c * d).T / (a * b * c * d)
print("Gram matrix:\n", gram_matrix(F))
assert torch.allclose(gram_matrix(F), by_hand)
shifted = torch.roll(F, shifts=1, dims=3)       # move every feature one pixel right
print("same Gram matrix after moving the features:", torch.allclose(gram_matrix(shifted), by_hand))

# %% [markdown]
# ## The VGG-19 features
#
# Gatys needs the ImageNet VGG-19 weights (548 MB, downloaded once through
# `fsutils.weights` with a progress bar and a hash check). Where they cannot be obtained
# (no internet), each Gatys cell says so in one line and the notebook carries on: the fast
# and AdaIN sections below do not need them. The network is loaded once and kept for the
# cells after it.

# %% [markdown]
# ## Watch the optimisation
#
# A callback receives the image every few steps: we keep the snapshots and the losses.

# %%
LATER = "The fast and AdaIN sections below work without it."
snapshots = []
def keep(step, image, losses):
    snapshots.append((step, image, losses))

with env.needs_weights("the Gatys optimisation", instead=LATER):
    result = gatys_transfer(photo, painting, steps=STEPS, size=SIZE,
                            content_weight=1, style_weight=1e6, callback=keep,
                            callback_every=max(1, STEPS // 4), seed=0,
                            progress=True)
    fig, axes = plt.subplots(1, len(snapshots) + 1, figsize=(3 * (len(snapshots) + 1), 4))
    for ax, (step, image, losses) in zip(axes, snapshots):
        ax.imshow(image); ax.set_title(f"step {step}\nloss {losses['total']:.3g}"); ax.axis("off")
    axes[-1].plot([s for s, _, _ in snapshots], [l["style"] for _, _, l in snapshots], "o-",
                  label="style"); axes[-1].plot([s for s, _, _ in snapshots],
                  [l["content"] for _, _, l in snapshots], "o-", label="content")
    axes[-1].set_yscale("log"); axes[-1].legend(); axes[-1].set_xlabel("step")
    plt.tight_layout(); plt.show()

# %% [markdown]
# ## Style only the clothes
#
# With a garment **mask**, the style loss only looks at the garment: Gram matrices are
# computed from the features inside the mask (weighted by the mask shrunk to each layer and
# normalised by its area). And each garment can get **its own painting** in one optimisation.

# %%
upper, lower = pipe.mask("upper body"), pipe.mask(["lower body", "full body"])
wave = fio.load_image(fio.sample_path("great_wave_hokusai"))
with env.needs_weights("Gatys with a painting per garment", instead=LATER):
    two_styles = gatys_transfer(photo, {"upper": (upper, painting), "lower": (lower, wave)},
                                steps=STEPS, size=SIZE, seed=0)
    display(viz.panels([upper | lower, two_styles], ["garments", "upper: Van Gogh, lower: Hokusai"]))

# %% [markdown]
# ## Fast, pretrained networks
#
# One forward pass per image. The kit knows five pretrained pytorch/examples models.

# %%
fast = {name: fast_stylize(photo, name, size=SIZE) for name in ["candy", "mosaic", "rain_princess", "udnie"]}
display(viz.panels(list(fast.values()), list(fast)))

# %% [markdown]
# ## AdaIN: any painting, one pass
#
# Needs the public AdaIN encoder and decoder (`adain/vgg_normalised`, `adain/decoder`),
# fetched through `fsutils.weights`.

# %%
with env.needs_weights("AdaIN", instead="The fast models above work without it."):
    adain = [adain_transfer(photo, painting, style_strength=a, size=SIZE) for a in (0.3, 0.6, 1.0)]
    display(viz.panels(adain, ["α = 0.3", "α = 0.6", "α = 1.0"]))

# %% [markdown]
# ## Magenta: two networks and a style vector (Ghiasi et al. 2017)
#
# Magenta's *arbitrary image stylisation* learns what AdaIN computes by hand. Two networks,
# trained together on tens of thousands of paintings:
#
# 1. the **style-prediction network** $P$ (a MobileNetV2) reads the painting at 256×256 and
#    summarises its style in **100 numbers**, the style vector $\vec s = P(\text{painting})$;
# 2. the **style-transfer network** $T$ (convolutions, five residual blocks, upsampling)
#    renders the photo. After each convolution comes a *conditional instance normalisation*,
#    per channel:
#    $$y = \gamma(\vec s)\,\frac{x - \mu(x)}{\sigma(x)} + \beta(\vec s),$$
#    where $\gamma$ and $\beta$ are **linear functions of the style vector**: the painting sets
#    the scale and shift of every feature channel (AdaIN copies the painting's $\sigma$ and
#    $\mu$ instead).
#
# A style is a point in a 100-dimensional space, so styles can be **mixed**. The photo has a
# style vector of its own, $\vec s_{photo} = P(\text{photo})$; a style strength $t$ (`style_strength`) between 0 and 1
# uses
# $$\vec s = (1 - t)\,\vec s_{photo} + t\,\vec s_{painting}:$$
# at 0 the network redraws the photo in its own style, at 1 in the painting's.
#
# The kit runs Magenta's published TensorFlow Lite networks as PyTorch modules (the weights
# are read from the original files, and the results match TensorFlow Lite's own interpreter).
# They come through `fsutils.weights` like every other model (the cell below prints their size).

# %%
from fsutils.style import magenta_transfer, style_vector
from fsutils.style.magenta import DEFAULT_SIZE, PREDICT_WEIGHTS, TRANSFER_WEIGHTS

MSIZE = SIZE if TINY else DEFAULT_SIZE   # 384 px: the size Magenta's networks were published at
print(f"Magenta's two networks: {sum(weights.get(n).size for n in (PREDICT_WEIGHTS, TRANSFER_WEIGHTS['f16'])) / 1e6:.1f} MB; "
      f"photos at {MSIZE} px (longer side)")
with env.needs_weights("Magenta", instead="The fast models above work without it."):
    s_painting, s_photo = style_vector(painting), style_vector(photo)
    fig, ax = plt.subplots(figsize=(10, 2.5))
    ax.plot(s_painting, ".-", label="The Starry Night"); ax.plot(s_photo, ".-", label="the photo")
    ax.set_xlabel("style vector entry"); ax.legend(); ax.set_title("two style vectors (100 numbers each)")
    plt.show()

# %% [markdown]
# ### Mixing the photo's style with the painting's
#
# The same photo at style strengths 0 … 1 (`style_strength=`, one pass each):

# %%
with env.needs_weights("Magenta", instead="The fast models above work without it."):
    strengths = [0.0, 0.25, 0.5, 0.75, 1.0]
    mixed = [magenta_transfer(photo, s_painting, style_strength=t, size=MSIZE) for t in strengths]
    display(viz.panels(mixed, [f"style strength {t}" for t in strengths]))
    scream = fio.load_image(fio.sample_path("the_scream_munch"))
    others = [magenta_transfer(photo, p, size=MSIZE) for p in (wave, scream)]
    display(viz.panels(others, ["Hokusai", "Munch"]))
    # every method can keep the photo's colours and take only the painting's texture
    kept = magenta_transfer(photo, scream, preserve_color=True, size=MSIZE)
    display(viz.panels([others[1], kept], ["Munch", "Munch, the photo's colours kept"]))

# %% [markdown]
# ## Your turn: the style panel
#
# Choose the method and its knobs and press **Run**: Magenta's **style strength** (try 0.3
# and 1.0), or Gatys's content weight α, style weight β, TV weight, steps, size and optimizer
# (a live preview while it optimises), or the AdaIN α. Any painting: click one or upload your
# own. On a CPU keep Gatys at 256 px or below.

# %%
widgets.StylePanel(pipe)

# %% [markdown]
# ## What to try next
#
# - Raise β/α by factors of 10: when does the photo disappear?
# - `init="noise"` instead of starting from the photo; `optimizer="adam"` instead of L-BFGS.
# - `preserve_color=True` (every method; the style panel's "keep the photo's colours") keeps the
#   photo's colours, Gatys' `preserve="shading"` its folds and shadows.
# - Your own painting: the style panel has an upload button.
# - Mix two paintings: `magenta_transfer(photo, 0.5 * style_vector(a) + 0.5 * style_vector(b))`.
# - Continue with **notebook 4**: putting the style back into the clothes, smoothly.

# %% [markdown]
# ## Exercises
#
# Each solution is folded away in the cell under its exercise (click it to open it, or run it).
#
# **1.** Replace the Gram matrix by a *mean-only* statistic: the mean of each channel,
# $\mu_i = \frac{1}{M}\sum_k F_{ik}$. Find two feature maps with the same channel means but
# different Gram matrices. What does the mean forget that the Gram matrix keeps?

# %%
# @title Solution 1 { display-mode: "form" }
together = torch.tensor([[[[1., 0.], [0., 1.]], [[1., 0.], [0., 1.]]]])   # both channels on together
apart = torch.tensor([[[[1., 0.], [0., 1.]], [[0., 1.], [1., 0.]]]])      # never at the same place
print("channel means:", together.mean(dim=(2, 3)).tolist(), apart.mean(dim=(2, 3)).tolist())
print("Gram matrices:\n", gram_matrix(together), "\n", gram_matrix(apart))
# The means are equal; the Gram matrices differ off the diagonal. The mean only says how much of
# each feature there is, the Gram matrix also which features occur *together*: the texture.

# %% [markdown]
# **2.** At style strength 0, Magenta uses the photo's own style vector. Is the result then the
# photo itself? Measure the mean difference between the photo and the strength-0 result.

# %%
# @title Solution 2 { display-mode: "form" }
with env.needs_weights("Magenta", instead="This exercise needs Magenta's networks."):
    zero = magenta_transfer(photo, painting, style_strength=0.0, size=MSIZE)
    same_size = np.asarray(photo.resize(zero.size), dtype=np.float32) / 255
    print(f"mean |photo − result| at strength 0: {np.abs(np.asarray(zero) / 255 - same_size).mean():.3f} (0..1)")
    display(viz.panels([photo, zero], ["photo", "strength 0"]))
# Not 0: the network always *redraws* the picture (in the photo's own style); it does not copy it.

# %% [markdown]
# **3.** Is stylising with the mixed vector $(1-t)\,\vec s_{photo} + t\,\vec s_{painting}$ the same as
# mixing the two stylised pictures pixel by pixel? Compare at $t = 0.5$.

# %%
# @title Solution 3 { display-mode: "form" }
with env.needs_weights("Magenta", instead="This exercise needs Magenta's networks."):
    t, v_photo, v_painting = 0.5, style_vector(photo), style_vector(painting)
    mixed_style = np.asarray(magenta_transfer(photo, (1 - t) * v_photo + t * v_painting, size=MSIZE)) / 255
    ends = [np.asarray(magenta_transfer(photo, v, size=MSIZE)) / 255 for v in (v_photo, v_painting)]
    mixed_pixels = (1 - t) * ends[0] + t * ends[1]
    print(f"mean difference: {np.abs(mixed_style - mixed_pixels).mean():.3f} (0..1)")
    display(viz.panels([mixed_style, mixed_pixels], ["mixed style vectors", "mixed pictures"]))
# Different: the network is not linear in its style vector. Mixing vectors makes one new style
# (new strokes and colours); mixing pictures lays one rendering over the other.
