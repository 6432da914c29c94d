# %% [markdown]
# # 4 · Saliency blending: style where it matters
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/fsutils-kit/fsutils/blob/main/notebooks/04_saliency_blending.ipynb)
#
# Part 4 of the **fsutils** course. We have a stylised photo (notebook 3), the garment mask
# (notebook 1) and the saliency map (notebook 2). Now we put the style **into the clothes
# only**: first with the project's saliency blend, then with blend weights that follow the
# garment's real edge — and we **measure** where the style lands against a hand-made annotation.

# %% [markdown]
# ## The idea
#
# Let $C$ be the photo, $S$ the stylised image, $B \in \{0,1\}$ the garment mask, $P \in [0,1]$ the
# segmenter's probability that a pixel belongs to the chosen garments (before the arg-max that
# makes $B$), and $M \in [0,1]$ the saliency map (all $H \times W$, images in $[0,1]$). Every blend
# is a weight map $W$:
# $$C_{final} = W \odot S + (1 - W) \odot C .$$
#
# | mode | weight $W$ |
# |---|---|
# | `hard` (the baseline) | $B$: the style stops abruptly at the predicted edge |
# | `saliency` — the blending rule of the original saliency-guided method for style transfer on clothing, which this course follows (its **equation 2**) | $\min(1, s\,M)\,B$ — inside the garment each pixel takes as much style as it is salient ($s$ = strength) |
# | `feathered` | $G_\sigma * B$, the mask blurred by a Gaussian |
# | `soft` | $P$: the segmenter's own uncertainty at the edge |
# | `soft_saliency` | $P \cdot \min(1, s\,M)$ |
# | `guided` | $R$: $P$ refined by a **guided filter** with the photo as guide |
# | `guided_saliency` | $R \cdot \min(1, s\,M)$ — equation 2 with the refined mask |
# | `poisson` | none: **Poisson blending** keeps the gradients of $S$ and solves for colours that meet $C$ at the edge |
#
# **The guided filter** (He, Sun & Tang 2010) fits, in every $(2r+1)^2$ window $\omega_k$ of the
# photo, the mask as a linear function of the colour, $q = a_k^\top C + b_k$, by ridge
# regression: $a_k = (\Sigma_k + \varepsilon U)^{-1}\operatorname{cov}_k(C, P)$,
# $b_k = \bar P_k - a_k^\top \bar C_k$; the output averages the fits that cover a pixel. Where the
# photo is flat ($\Sigma_k \ll \varepsilon$) it is a blur of $P$; where the photo has an edge the
# output has its edge *there*. A steep ramp around 0.5, $R = \operatorname{clip}(4(q - 0.5) + 0.5)$,
# keeps that edge sharp.
#
# **Poisson blending** (Pérez et al. 2003) finds $f$ inside $B$ with
# $\min_f \iint |\nabla f - \nabla S|^2$ and $f = C$ on the boundary: no step at the seam, but the
# style's colours drift towards the photo's.

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
from IPython.display import Markdown, display
from fsutils import blend, io as fio, viz, widgets
from fsutils.evaluation import placement
from fsutils.pipeline import Pipeline
from fsutils.segment import GARMENT_CLASSES

WORK = env.default_work_size()    # longest side we work on: 512 on a CPU, 1024 on a GPU
PHOTO = "ccp_0500"
photo = fio.load_image(fio.sample_path(PHOTO))
photo.thumbnail((WORK, WORK))
print("photo:", photo.size, "— other samples:", ", ".join(p.stem for p in fio.sample_photos()))

# %% [markdown]
# ## Prepare the ingredients
#
# The cached pipeline computes segmentation (with its probabilities), saliency and the stylised
# image once (here the fast **candy** model); every blend afterwards takes milliseconds.

# %%
from fsutils import course
print("the kit's defaults:", course.defaults())
pipe = Pipeline(photo_size=WORK)
res = pipe.run(photo, method="fast", style="candy", garments=["upper body", "lower body", "full body"])
C, S, B, M = res.content, res.stylized, res.mask, res.saliency
P = pipe.probability()
display(viz.panels([C, S, B, P, M], ["photo C", "stylised S", "garments B", "probability P",
                                     "saliency M"]))

# %% [markdown]
# ## Why equation 2 alone changes little here
#
# U2NETP finds the **whole person** salient: inside the garments $M$ is close to 1, so
# $M\,B \approx B$ and the saliency blend is almost the hard paste. It differs only where $M$
# drops — mostly where the person's outline meets the background — and not where a garment
# meets skin, where the mask's mistakes are.

# %%
hard = pipe.blend("hard")
eq2 = pipe.blend("saliency")
print(f"mean saliency inside the garments: {M[B].mean():.2f}")
print(f"garment pixels where equation 2 differs from the hard paste by > 10/255: "
      f"{100 * (np.abs(eq2 - hard).max(axis=-1)[B] > 10 / 255).mean():.1f} %")

# %% [markdown]
# ## Every mode: its weight, its result
#
# The weight maps $W$ first (white = all the style, black = the photo); Poisson blending has
# none, so its panel shows how far its result is from the photo instead.

# %%
modes = blend.BLEND_MODES                     # every mode's record: name, title, weight function …
results = {m: pipe.blend(m) for m in modes}
weights = [pipe.weight(m) if modes[m].weight else np.abs(results[m] - C).sum(-1) for m in modes]
display(viz.panels(weights, [modes[m].title for m in modes], cols=4))
display(viz.panels(list(results.values()), [modes[m].title for m in modes], cols=4))

# %% [markdown]
# ## Where does the style land? Measured against the annotation
#
# This photo comes from the Clothing Co-Parsing dataset, whose annotation (bundled with the kit)
# says which pixels really are garments $G$. For each result we read back the share of the
# style $w$ every pixel received (the projection of $C_{final} - C$ on $S - C$, where $S$ and $C$
# differ) and measure
#
# - **coverage** $= \sum_G w / |G|$ — how much of the true garments got the style (↑);
# - **leakage** $= \sum_{\neg G} w / \sum w$ — the share of the style that fell on skin, hair,
#   background, shoes … (↓);
# - **edge contrast** — in a band of 8 px on each side of the **true** garment boundary, the mean
#   $w$ on the garment side minus that on the other side (↑): 1 when the style stops exactly at
#   the real edge, 0 for *no style at all* as well as for *style everywhere*.
#
# The cell prints which split of the dataset this photo is in: a photo the cloth model was trained
# on gets a better mask than a new photo. The end of this notebook has the same table over the
# validation photos, which the model never saw.

# %%
from fsutils import data
print(f"{PHOTO} is CCP photo {PHOTO[4:]}, in the {data.split_of(PHOTO[4:])} split")
gt = placement.sample_groundtruth(PHOTO, size=photo.size)
truth = np.isin(gt, GARMENT_CLASSES)
scores = placement.photo_placement(C, S, results, truth)
display(Markdown("\n".join(placement.placement_table(scores))))

# %% [markdown]
# ## A closer look where the modes differ most
#
# The box is placed automatically: on the edge where a true garment meets skin, where the
# results of the modes differ the most. The dashed line is the **true** garment boundary; each
# crop is titled with the photo's coverage / leakage / edge contrast and the crop's seam score.

# %%
edge = placement.garment_skin_edge(gt)
box = viz.difference_box(list(results.values()), edge, size=max(16, min(B.shape) // 5))
notes = {}
for m, p in scores.items():
    s = p.scores()
    seam = blend.seam_score(np.ascontiguousarray(viz.crop(results[m], box)),
                            np.ascontiguousarray(viz.crop(B, box)))
    notes[modes[m].title] = (f"cov {s['coverage']:.2f} leak {s['leakage']:.2f}\n"
                                   f"edge {s['edge_contrast']:.2f} seam {seam:.3f}")
viz.modes_closeup({modes[m].title: img for m, img in results.items()}, box, overview=C,
                  truth=truth, notes=notes)

# %% [markdown]
# ## What the seam score measures — and what it does not
#
# `blend.seam_score(image, B)` is the mean colour change **across the predicted edge** $B$, over
# the pixels within 3 px of it: how visible a seam is (lower = smoother). It does **not** know
# where the garment really is, and it does not care whether there is any style: the photo itself
# has the lowest seam score of all. Sweep the saliency strength: the seam score falls all the way
# to the photo's own value at strength 0 — *no style* — while the edge contrast, measured at the
# true edge, falls to 0.

# %%
strengths = [0, 0.25, 0.5, 1, 2, 4]
sweep = {s: pipe.blend("saliency", strength=s) for s in strengths}
seams = [blend.seam_score(img, B) for img in sweep.values()]
contrast = [p.edge_contrast for p in placement.photo_placement(C, S, sweep, truth).values()]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3))
ax1.plot(strengths, seams, "o-", label="saliency blend")
ax1.axhline(blend.seam_score(C, B), color="grey", ls=":", label="the photo (no style)")
ax1.set_xlabel("saliency strength"); ax1.set_ylabel("seam score (↓ smoother)"); ax1.legend()
ax2.plot(strengths, contrast, "o-", color="tab:green")
ax2.set_xlabel("saliency strength"); ax2.set_ylabel("edge contrast (↑ style at the true edge)")
plt.tight_layout(); plt.show()

# %% [markdown]
# So use the seam score to compare **how smooth** two results look at the same place, and the
# placement numbers to compare **where the style went**.

# %% [markdown]
# ## Over many photos
#
# One photo is an anecdote. The same measures over the validation photos of Clothing Co-Parsing,
# which the cloth model never saw (`python -m fsutils.evaluate blend --ccp-root DIR --split val`,
# with the default cloth model and saliency, the candy style, 512 px) were measured once and are
# kept with the kit (`fsutils/assets/measured.toml`, the source of the blending table in
# docs/results.md as well):

# %%
measured = course.blend_scores()
setup = course.figures()["blend"]
print(f"{course.split_name(setup['split'])} photos, cloth model "
      f"{setup['cloth_model']}, saliency {setup['saliency']}")
display(Markdown("\n".join(course.blend_table())))
best = max(measured, key=lambda m: measured[m]["edge_contrast"])
default = course.defaults()["blend mode"]
print(f"best edge contrast: {best}; the kit's default blend mode: {default}")

# %% [markdown]
# Equation 2 with the guided-filter mask keeps equation 2's low leakage and puts the style's edge
# on the garment's real edge: it is the kit's default mode, `guided_saliency`. Poisson blending
# makes no seam, but its colours drift back to the photo's: it carries the least style.

# %% [markdown]
# ## Your turn: the blend panel
#
# Switch the mode, drag the sliders (only those the mode reads are active: saliency
# **strength**, **feather width**, guided-filter **radius** and **ε**), and move the **zoom
# box** along the garment's edge: the close-ups show the same crop of the hard paste, the
# saliency blend and your mode with their seam scores, and your mode's weight. Only the blend is
# recomputed, so it is instant.

# %%
widgets.BlendPanel(pipe, style={"method": "fast", "style": "candy"})

# %% [markdown]
# ## What to try next
#
# - Try another photo (`PHOTO = "ccp_0001"`, …): where does the guided filter move the edge the
#   wrong way? (Hint: a garment and the skin next to it with the same colour.)
# - Make $\varepsilon$ large (0.1) in the panel: the guided filter becomes a plain blur of $P$.
# - Find a place on the boundary where the saliency blend is *worse* than the hard paste.
#   Why? (Hint: low saliency inside the garment.)
# - Continue with **notebook 5**: the whole pipeline, any method, and saving the results.

# %% [markdown]
# ## Exercises
#
# Each solution is folded away in the cell under its exercise (click it to open it, or run it).
#
# **1.** Which pixels does equation 2 leave unchanged? Find them with the formula
# $C_{final} = \min(1, s\,M)\,B \odot S + (1 - \min(1, s\,M)\,B) \odot C$, then check on the
# picture: where is the saliency blend equal to the photo? (In the blend panel: set the strength
# slider to 0.)

# %%
# @title Solution 1 { display-mode: "form" }
unchanged = np.abs(eq2 - C).max(axis=-1) < 1 / 255
print(f"outside the garments: {100 * unchanged[~B].mean():.1f} % of the pixels unchanged; "
      f"inside: {100 * unchanged[B].mean():.1f} %")
print("with strength 0 the whole photo is unchanged:", np.allclose(pipe.blend("saliency", strength=0), C, atol=1 / 255))
display(viz.panels([B, M, unchanged], ["garments B", "saliency M", "unchanged pixels"]))
# W = 0 where B = 0 (outside the garments) or M = 0 (no saliency), and everywhere when s = 0.

# %% [markdown]
# **2.** The *feathered* blend blurs the mask. Why does its edge contrast fall as the blur grows?
# Measure it for feather widths 0, 4 and 16 px.

# %%
# @title Solution 2 { display-mode: "form" }
widths = [0, 4, 16]
feathered = {w: pipe.blend("feathered", width=w) for w in widths}
for w, p in zip(widths, placement.photo_placement(C, S, feathered, truth).values()):
    print(f"width {w:>2} px: edge contrast {p.edge_contrast:.2f}, leakage {p.leakage:.3f}")
# The blur moves style from inside the garment to outside it, on both sides of the true edge: the
# share inside the band falls and the share outside rises, so their difference falls.

# %% [markdown]
# **3.** The seam score of the photo itself is the lowest of all. Construct an "image" with a
# seam score of exactly 0 — and say why it is a useless result.

# %%
# @title Solution 3 { display-mode: "form" }
flat = np.full_like(C, 0.5)                          # one grey everywhere
print("seam score of a flat grey image:", blend.seam_score(flat, B))
# Nothing changes across the edge because nothing changes anywhere: no photo, no style. The seam
# score only says how smooth the result is at the predicted edge, never whether it is right.
