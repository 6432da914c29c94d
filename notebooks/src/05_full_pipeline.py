# %% [markdown]
# # 5 · The full pipeline: from a photo to styled clothes
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/fsutils-kit/fsutils/blob/main/notebooks/05_full_pipeline.ipynb)
#
# Part 5 of the **fsutils** course. Everything together: choose a photo, choose the garments,
# choose a style (any method), blend it by saliency, inspect the boundary, and **save the
# results**. The same pipeline runs from the command line: `python -m fsutils photo.jpg`.

# %% [markdown]
# ## The pipeline in one formula
#
# $$\text{photo } C \;\xrightarrow{\text{segment}}\; B = [\ell \in K] \;\xrightarrow{\text{saliency}}\; M
#   \;\xrightarrow{\text{style}}\; S \;\xrightarrow{\text{blend}}\;
#   C_{final} = C + B\,M\,(S - C).$$
#
# `fsutils.pipeline.Pipeline` runs the four stages and **caches each one**, keyed by the photo
# and by that stage's own parameters: change the blend strength and only the blend is
# recomputed; change the garments and only the mask and the blend; change the painting and
# only the style and the blend. This is what makes the sliders instant.

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
from fsutils.blend import BlendParams
from fsutils.pipeline import Pipeline
from fsutils.style import GatysParams, MagentaParams

# the photo at the working size (longest side 512 px on a CPU, 1024 on a GPU); try another
photo = course.sample_photo(PHOTO := "ccp_0006")

# %% [markdown]
# ## Step by step with `Pipeline`

# %%
print("the kit's defaults:", course.defaults())
pipe = Pipeline(photo_size=env.default_work_size()).set_image(photo, name=PHOTO)
labels = pipe.labels()                                   # stage 1
saliency = pipe.saliency()                               # stage 2
stylized = pipe.stylize("magenta", "starry_night_vangogh")   # stage 3 (the default method)
garments = ["upper body"]
result = pipe.result("saliency", garments=garments)     # stage 4
print("stages computed so far:", dict(pipe.computed))
display(viz.panels([photo, result.mask, saliency, stylized, result.output], ["photo", "garments", "saliency", "stylised", "result"]))

# %% [markdown]
# Now change only the blend strength, then the garments — and count what was recomputed:

# %%
before = dict(pipe.computed)
pipe.result(BlendParams("saliency", strength=0.5), garments=garments)
pipe.result(BlendParams("saliency", strength=0.5), garments=["upper body", "lower body"])
print({k: pipe.computed[k] - before.get(k, 0) for k in pipe.computed})

# %% [markdown]
# ## Any method
#
# `method="magenta"` (the default) takes any painting in one pass (`MagentaParams(style_strength=)`
# mixes the photo's own style with the painting's), `"fast"` uses a pretrained model per painting,
# `"adain"` needs the AdaIN weights, `"gatys"` optimises (slow on a CPU: keep `style_size` small).
# Here Magenta at style strength 0.5 on the lower body, then Gatys on the upper body only, with
# the style loss restricted to the garment:

# %%
with env.needs_weights("Magenta at half strength", instead="The rest of the notebook carries on."):
    half = pipe.run(method="magenta", style="great_wave_hokusai",
                    params=MagentaParams(style_strength=0.5), garments=["lower body"])
    display(viz.panels([half.stylized, half.output], ["Magenta, style strength 0.5", "saliency blend"]))

# %%
with env.needs_weights("Gatys", instead="The rest of the notebook uses Magenta."):
    gatys = pipe.run(method="gatys", style="starry_night_vangogh", garments=["upper body"],
                     masked_style=True, params=GatysParams(steps=env.default_gatys_steps()),
                     style_size=env.default_style_size())
    display(viz.panels([gatys.stylized, gatys.output], ["Gatys, style loss on the garment", "saliency blend"]))

# %% [markdown]
# ## The boundary comparison

# %%
from fsutils import viz
viz.comparison_figure(result.content, result.stylized, result.hard, result.output,
                      result.mask, saliency=result.saliency)

# %% [markdown]
# ## Everything interactive
#
# Photo → garments → saliency → style (press Run) → blend, then **Save results**.

# %%
panel = widgets.PipelinePanel(pipe)
panel

# %% [markdown]
# ## Save the results
#
# `save_result` writes the result, the hard paste, the full stylised image, the label map,
# the masks, the saliency map and the comparison figure (the same files as
# `python -m fsutils`).

# %%
import os
from fsutils.results import save_result
out_dir = os.environ.get("FSUTILS_OUTPUT_DIR", "outputs")
files = save_result(pipe.result("saliency", garments=garments), out_dir,
                    pipe.image_name)      # the photo the pipeline (and the panel) is on
print("\n".join(str(f) for f in files))
if "google.colab" in sys.modules:           # download them from Colab as one zip
    import shutil
    from google.colab import files as colab_files
    colab_files.download(shutil.make_archive("fsutils_results", "zip", out_dir))

# %% [markdown]
# ## Restyle a whole folder
#
# For a data set, the command line restyles a folder and keeps a manifest in the output folder
# (`manifest.jsonl`): one line per photo with its input's hash, the settings, the files written
# with their hashes and any error. Run the same command again and it skips what is done. Here two
# bundled photos, twice:

# %%
import json
import subprocess
from fsutils import io
batch_out = os.path.join(out_dir, "batch")
command = [sys.executable, "-m", "fsutils", *[str(p) for p in io.sample_photos()[:2]],
           "--out", batch_out, "--photo-size", "128" if TINY else "384", "--save", "stylized",
           "--quiet"]
for run in ("first run", "second run"):
    done = subprocess.run(command, capture_output=True, text=True)
    print(f"{run}: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
# the manifest read back as a table (pandas.read_json(path, lines=True) gives a DataFrame)
with open(os.path.join(batch_out, "manifest.jsonl")) as f:
    rows = [json.loads(line) for line in f]
print(f"{'name':<10} {'input sha256':<14} {'method':<8} {'files':>5} {'seconds':>8}  error")
for r in rows:
    print(f"{r['name']:<10} {str(r['input_sha256'])[:12]:<14} {r['settings']['method']:<8} "
          f"{len(r['files']):>5} {r['seconds']:>8.2f}  {r['error'] or ''}")

# %% [markdown]
# On a Ray cluster (`pip install "fsutils[ray]"`) the same command with `--engine ray` runs the
# same work on a pool of workers, each with the models loaded once, and writes the same files and
# manifest: `python -m fsutils /shared/photos --out /shared/restyled --engine ray --address auto
# --workers 8 --gpus-per-worker 1`. A worker whose process dies is restarted by Ray and its
# photos done again, so nothing is lost or recorded twice.

# %% [markdown]
# ## What to try next
#
# - Run the command line on a folder of your photos:
#   `python -m fsutils my_photos/ --style the_scream_munch --garments upper --out results/`
#   (Magenta by default; `--style` also takes your own painting's file).
# - Give the upper and lower body different paintings (notebook 3, several styles at once),
#   then blend with `pipe.blend(..., stylized=...)`.
# - Train a better cloth model (notebook 6) and use it with `Pipeline(segment=...)`.

# %% [markdown]
# ## Exercises
#
# Each solution is folded away in the cell under its exercise (click it to open it, or run it).
#
# **1.** Check the formula at the top with your own numpy: from `result`'s photo, mask, saliency
# and stylised image, compute $C + B\,\min(1, s\,M)\,(S - C)$ (strength $s$ = 1) and compare it
# with `result.output`, the pipeline's saliency blend.

# %%
# @title Solution 1 { display-mode: "form" }
C, B, M, S = result.content, result.mask, result.saliency, result.stylized
mine = C + (B * np.clip(result.params.strength * M, 0, 1))[..., None] * (S - C)
print("strength", result.params.strength, "— largest difference:", float(np.abs(mine - result.output).max()))

# %% [markdown]
# **2.** Predict which stages run again when you change **only the painting** (here: the fast
# *mosaic* model) and blend again. Then count them with `pipe.computed`.

# %%
# @title Solution 2 { display-mode: "form" }
# A pipeline of its own, so the panel above keeps its picture.
again = Pipeline(photo_size=pipe.photo_size).set_image(photo, name=PHOTO)
again.stylize("magenta", "starry_night_vangogh")
again.result("saliency", garments=garments)
before = dict(again.computed)
again.stylize("fast", "mosaic")
again.result("saliency", garments=garments)
print({k: again.computed[k] - before.get(k, 0) for k in again.computed})
# Only the style and the blend: the labels, the masks and the saliency map belong to the photo,
# not to the painting, so they come from the cache.
