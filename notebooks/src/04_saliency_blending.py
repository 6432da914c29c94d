# %% [markdown]
# # 4 · Saliency blending: style where it matters
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/fsutils-kit/fsutils/blob/main/notebooks/04_saliency_blending.ipynb)
#
# Part 4 of the **fsutils** course. We have a stylised photo (notebook 3), the garment mask
# (notebook 1) and the saliency map (notebook 2). Now we put the style **into the clothes
# only** — and compare a hard cut with a saliency-guided blend, up close at the boundary.

# %% [markdown]
# ## The idea
#
# Let $C$ be the photo, $S$ the stylised image, $B \in \{0,1\}$ the garment mask and
# $M \in [0,1]$ the saliency map (all $H \times W$, images in $[0,1]$).
#
# - **Hard paste** (the baseline): $C_{hard} = B\,S + (1 - B)\,C$. The style stops abruptly
#   at the garment's edge — a visible seam.
# - **Saliency blend** — the blending rule of the original saliency-guided method for style
#   transfer on clothing, which this course follows: inside the garment, each pixel takes as
#   much style as it is salient,
#   $$C_{final} = M \odot S + (1 - M) \odot C \quad\text{inside } B,\qquad C \text{ outside},$$
#   i.e. $C_{final} = C + B\,M\,(S - C)$. A **strength** $s$ scales the map:
#   $M = \min(1,\; s \cdot \text{saliency})$.
# - **Feathered** mask: blur the mask with a Gaussian of width $\sigma$,
#   $\tilde B = G_\sigma * B$, then $C_{feather} = \tilde B\,S + (1 - \tilde B)\,C$.
#
# The **seam score** measures how visible the boundary is: the mean colour change *across*
# the garment edge, over the pixels within a few pixels of it (lower = smoother).

# %%
# Setup. On Colab: install the kit. Colab already has torch, torchvision, numpy and friends,
# so the kit goes in with --no-deps and Colab's own (GPU-enabled) torch is never reinstalled.
import sys
if "google.colab" in sys.modules:
    # !pip install -q --no-deps "git+https://github.com/fsutils-kit/fsutils"
    # !pip install -q "gdown>=6"
    from google.colab import output
    output.enable_custom_widget_manager()

import fsutils
from fsutils import env
env.report()               # torch version, device, and what to do on Colab without a GPU
TINY = env.tiny_mode()     # FSUTILS_TINY=1 (automatic test runs): tiny images, few steps

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
from fsutils import io as fio, viz, weights, widgets
from fsutils.pipeline import Pipeline

WORK = env.default_work_size()    # longest side we work on: 512 on a CPU, 1024 on a GPU
PHOTO = "ccp_0006"
photo = fio.load_image(fio.sample_path(PHOTO))
photo.thumbnail((WORK, WORK))
print("photo:", photo.size, "— other samples:", ", ".join(p.stem for p in fio.sample_photos()))

# %% [markdown]
# ## Prepare the ingredients
#
# The cached pipeline computes segmentation, saliency and the stylised image once (here the
# fast **candy** model); every blend afterwards takes milliseconds.

# %%
from fsutils import blend, viz
pipe = Pipeline(max_size=WORK)
res = pipe.run(photo, method="fast", style="candy", classes=["upper body", "lower body", "full body"])
C, S, B, M = res.content, res.stylized, res.mask, res.saliency
display(viz.panels([C, S, B, M], ["photo C", "stylised S", "garments B", "saliency M"]))

# %% [markdown]
# ## Three blends, and their seams
#
# The formulas above, computed by `fsutils.blend`:

# %%
hard = blend.hard_paste(C, S, B)
soft = blend.saliency_blend(C, S, M, B)
feathered = blend.feathered_blend(C, S, B, width=8)
assert np.allclose(soft, C + (B * M)[..., None] * (S - C), atol=1e-5)   # equation 2
for name, img in [("hard paste", hard), ("saliency blend", soft), ("feathered", feathered)]:
    print(f"{name:<15} seam score {blend.seam_score(img, B):.4f}")
display(viz.panels([hard, soft, feathered], ["hard paste", "saliency blend", "feathered (σ = 8 px)"]))

# %% [markdown]
# ## A closer look at the boundary
#
# The same crop on the garment's edge, hard paste next to saliency blend.

# %%
box = viz.boundary_box(B, size=max(32, min(B.shape) // 4))   # a square on the garment edge
print("zoom box (x0, y0, x1, y1):", tuple(box))
viz.boundary_closeup(hard, soft, box, mask=B)

# %% [markdown]
# ## How strong should the saliency be?
#
# Strength 0 gives back the photo, large strengths approach the hard paste inside the
# salient region. The seam score as a function of the strength:

# %%
strengths = [0, 0.25, 0.5, 1, 2, 4]
scores = [blend.seam_score(pipe.blend("saliency", strength=s), B) for s in strengths]
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(strengths, scores, "o-", label="saliency blend")
ax.axhline(blend.seam_score(hard, B), color="tab:red", ls="--", label="hard paste")
ax.set_xlabel("saliency strength"); ax.set_ylabel("seam score"); ax.legend()
plt.tight_layout(); plt.show()

# %% [markdown]
# ## Your turn: the blend panel
#
# Switch the mode, drag the **strength** and **feather width** sliders, and move the **zoom
# box** along the garment's edge: the close-ups show the same crop of the hard paste and the
# saliency blend with their seam scores. Only the blend is recomputed, so it is instant.

# %%
widgets.BlendPanel(pipe, style={"method": "fast", "style": "candy"})

# %% [markdown]
# ## What to try next
#
# - Find a place on the boundary where the saliency blend is *worse* than the hard paste.
#   Why? (Hint: low saliency inside the garment.)
# - Combine both ideas: a saliency blend with a feathered mask (`blend.saliency_blend` accepts
#   a float mask such as `blend.feather_mask(B, 4)`).
# - Continue with **notebook 5**: the whole pipeline, any method, and saving the results.
