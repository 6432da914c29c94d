# %% [markdown]
# # 2 · Saliency: what catches the eye?
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/fsutils-kit/fsutils/blob/main/notebooks/02_saliency.ipynb)
#
# Part 2 of the **fsutils** course. A *saliency map* says, for every pixel, how much it
# stands out — it will decide **how much style** each pixel of a garment receives, so the
# salient centre of a jacket gets the full painting while its edges fade into the photo.

# %% [markdown]
# ## The idea
#
# A salient-object-detection network (U²-Net, small version **U2NETP**, the kit's default) looks at the
# photo and predicts a map $S \in [0,1]^{H\times W}$. The pre-processing reproduces the
# original U-2-Net code exactly:
#
# 1. resize to $320\times320$ and divide by the image maximum: $\hat x = x / \max(x)$;
# 2. normalise each colour channel with the ImageNet statistics:
#    $x' = (\hat x - \mu_c)/\sigma_c$, $\mu = (0.485, 0.456, 0.406)$,
#    $\sigma = (0.229, 0.224, 0.225)$;
# 3. take the network's first (fused) output $d_1$ and stretch it to $[0,1]$:
#    $$S = \frac{d_1 - \min d_1}{\max d_1 - \min d_1};$$
# 4. resize $S$ back to the photo's size.
#
# Two knobs help to *use* the map later: a **threshold** $t$ turns it into a region
# $[S > t]$, and a **gamma** $S^\gamma$ reshapes it ($\gamma < 1$ spreads the saliency out,
# $\gamma > 1$ concentrates it on the most salient pixels).

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
# ## The weights
#
# `u2netp` is in the kit's weights registry: name, file, sources, size, licence and credit. It
# ships inside the package (in half precision), so `SaliencyModel("u2netp")` downloads nothing and
# works offline; a full-precision `u2netp.pth` in the cache or the weights mirror is used first.

# %%
print("the kit's defaults:", course.defaults())
w = weights.get(course.defaults()["saliency"])
print(f"{w.name}: {w.arch}\n  {w.notes} The full-precision download: {w.size_text}.\n"
      f"  licence {w.license}; credit: {w.credit}")
from fsutils.saliency import SaliencyModel
saliency_model = SaliencyModel(w.name)

# %% [markdown]
# ## Step by step
#
# **1. The map.** Bright pixels stand out. Note how the person, not the street, is salient.

# %%
S = saliency_model.predict(photo)           # float32 H × W in 0..1
print(S.shape, S.dtype, f"min {S.min():.2f} max {S.max():.2f} mean {S.mean():.2f}")
display(viz.panels([photo, S, np.asarray(photo) / 255 * S[..., None]], ["photo", "saliency S", "photo × S"]))

# %% [markdown]
# **2. Its distribution.** Most pixels are either clearly salient or clearly not — a
# threshold in between separates them.

# %%
fig, ax = plt.subplots(figsize=(6, 2.5))
ax.hist(S.ravel(), bins=50, color="tab:blue")
ax.set_xlabel("saliency"); ax.set_ylabel("pixels"); ax.set_yscale("log")
plt.tight_layout(); plt.show()

# %% [markdown]
# **3. Threshold and gamma.** The same map seen through different knobs.

# %%
display(viz.panels([S > 0.5, S ** 0.5, S ** 2], ["S > 0.5", "S ** 0.5 (spread)", "S ** 2 (focused)"]))

# %% [markdown]
# **4. Saliency inside the clothes.** Combined with the garment mask of notebook 1, the
# saliency says which *parts of the garment* are prominent.

# %%
pipe = Pipeline(saliency=saliency_model, photo_size=env.default_work_size())
pipe.set_image(photo, name=PHOTO)
garments = pipe.mask(["upper body", "lower body", "full body"])
inside = np.where(garments, pipe.saliency(), 0)
print(f"mean saliency inside the garments {pipe.saliency()[garments].mean():.2f}, "
      f"outside {pipe.saliency()[~garments].mean():.2f}")
display(viz.panels([garments, inside], ["garment mask", "saliency inside the garments"]))

# %% [markdown]
# ## Explore it yourself
#
# Choose a photo and move the threshold and gamma sliders.

# %%
picker = widgets.PhotoPicker(pipe)
picker

# %%
widgets.SaliencyExplorer(pipe)

# %% [markdown]
# ## What to try next
#
# - Which photos confuse the saliency model (busy backgrounds, several people)?
# - With internet, compare with the full-size model: `SaliencyModel("u2net")` (176 MB).
# - Continue with **notebook 3**: painting the photo with a style.

# %% [markdown]
# ## Exercises
#
# Each solution is folded away in the cell under its exercise (click it to open it, or run it).
#
# **1.** Step 3 stretches the network's output to $[0, 1]$. Suppose the network had answered
# $3 d_1 + 1$ instead of $d_1$: how would $S$ change? What does that tell you about a photo in which
# nothing stands out?

# %%
# @title Solution 1 { display-mode: "form" }
stretch = lambda d: (d - d.min()) / (d.max() - d.min())
print("same map:", np.allclose(stretch(3 * S + 1), stretch(S), atol=1e-6))
# The stretch forgets any scale and offset: S is *relative*. Even in a photo where nothing stands
# out, the least dull pixel gets 1 and the dullest 0.

# %% [markdown]
# **2.** Can a threshold on the saliency map replace the garment mask? For thresholds
# $t = 0.1 \dots 0.9$, compute the intersection over union of $[S > t]$ with the garment mask.

# %%
# @title Solution 2 { display-mode: "form" }
sal = pipe.saliency()
for t in np.linspace(0.1, 0.9, 5):
    region = sal > t
    print(f"t = {t:.1f}: IoU with the garments {(region & garments).sum() / (region | garments).sum():.2f}")
# No threshold gets close to 1: saliency finds the whole person (skin, hair, shoes too), not the
# clothes. That is why the kit needs both maps.

# %% [markdown]
# **3.** Which share of the pixels has $S^\gamma > 0.5$ for $\gamma = 0.5, 1, 2$? Predict the
# order first, using $S^\gamma > 0.5 \iff S > 0.5^{1/\gamma}$.

# %%
# @title Solution 3 { display-mode: "form" }
for g in (0.5, 1, 2):
    print(f"gamma {g}: {100 * (S ** g > 0.5).mean():.1f} % of the pixels "
          f"(the same as S > {0.5 ** (1 / g):.2f}: {100 * (S > 0.5 ** (1 / g)).mean():.1f} %)")
# A small gamma lowers the bar (0.25 for gamma 0.5), a large one raises it (0.71 for gamma 2).
