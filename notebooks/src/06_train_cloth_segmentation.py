# %% [markdown]
# # 06 · Train your own cloth segmenter on Clothing Co-Parsing
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/fsutils-kit/fsutils/blob/main/notebooks/06_train_cloth_segmentation.ipynb)
#
# Notebook 01 segmented garments with a ready-made model. Here you build that model yourself: the
# kit's default cloth segmenter, `ccp_deeplab`, was trained with exactly the code this notebook calls.
#
# You will
#
# 1. look at the **Clothing Co-Parsing** (CCP) photos and how their 59 labels become our 4 classes,
#    and at the three splits (training, validation, test);
# 2. do **transfer learning from a person segmenter**: DeepLabV3-MobileNetV2, trained on COCO and
#    PASCAL VOC, already finds *people*; we give it a 4-class head built from its own *person* and
#    *background* outputs;
# 3. fine-tune its head for a few minutes (or run the full recipe), watch the loss, and compare its
#    masks before and after;
# 4. measure **IoU** on photos the network never saw, read how the shipped model learned, and
#    compare with `ccp_u2netp` — the kit's smaller model, which starts from a *saliency*
#    network.

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
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display
from fsutils import course, data, tags, training, viz, weights
from fsutils.evaluation import segmentation
from fsutils.models import cloth
from fsutils.segment import ClothSegmenter
from fsutils.training import pseudo
from fsutils.training.cloth import ClothConfig, ClothTask, load_run, validate

# %%
ccp_root = data.clone_ccp() if env.is_colab() else data.locate_ccp()
ids = data.list_ids(ccp_root)
train_ids, val_ids = data.split_ids(ids)
test_ids = data.ids_in_split(ids, "test")
print(f"{len(ids)} annotated photos in {ccp_root}: {len(train_ids)} for training, "
      f"{len(val_ids)} for validation, {len(test_ids)} for the test")
print("the kit's defaults:", course.defaults())

# %% [markdown]
# ## 1 · The data and the 4-class mapping
#
# Every CCP photo comes with a pixel-level annotation: each pixel holds one of 59 labels (*skin*,
# *hair*, *jeans*, *blazer* …). The cloth checkpoint we want to imitate knows only four classes, so
# we group the labels (everything not listed is background, 0):

# %%
for cls, names in data.GARMENT_GROUPS.items():
    print(f"{cls} {data.CLASS_NAMES[cls]:>10}: {', '.join(names)}")

# %% [markdown]
# The **splits** are decided per photo by a hash of its number, so they are the same on every
# machine and a photo never changes side. The *validation* photos choose things — which epoch to
# keep, which settings work. The *test* photos are used for nothing but the final report: a number
# measured on photos that helped choose the model flatters it.

# %%
viz.show_examples(ccp_root, val_ids[:3]);

# %% [markdown]
# ## 2 · Transfer learning: from *person* to garments
#
# DeepLabV3 with a MobileNetV2 backbone is a small network (2 million weights) that labels every
# pixel with one of PASCAL VOC's 21 classes, one of which is *person*. Its published weights come as
# a TensorFlow Lite file; `fsutils.tflite` reads it and `fsutils.models.mobilenet` rebuilds the
# network in PyTorch, layer by layer (MobileNetV2 blocks with ReLU6, TensorFlow's "SAME" padding,
# dilated convolutions in the last blocks, an image-pooling branch):
#
# $$\text{photo} \xrightarrow{\text{MobileNetV2}} f \xrightarrow{[\,\mathrm{pool}(f),\ \mathrm{conv}_{1\times1}(f)\,]}
# \text{256 channels} \xrightarrow{\mathrm{conv}_{1\times1}} \text{21 logits} \xrightarrow{\text{bilinear}} H\times W.$$
#
# Its last layer has one row of weights per class. For our 4 classes we keep everything and build
# the new last layer from the old one: *background* from VOC *background*, and each garment class
# from VOC *person* (with $\log 3$ taken off the bias, so the three garment classes together start
# exactly as likely as *person* was). Before any training, the model already says "garment"
# wherever it sees a person — fine-tuning only has to teach it *which* garment, and where skin is.

# %%
voc = cloth.deeplab_from_registry("tflite/deeplabv3_mnv2_pascal_quant")  # 2.2 MB TFLite file → PyTorch
model, fresh = cloth.deeplab_head_surgery(voc)
print(f"{len(model.state_dict())} tensors, all from the COCO/VOC model; logits: "
      f"{voc.num_classes} VOC classes -> {model.num_classes} cloth classes")

# %% [markdown]
# ## 3 · Fine-tuning
#
# The loss is the cross-entropy of the logits against the label map, garment pixels weighted twice,
#
# $$\mathcal{L}_\text{CE} = -\frac{1}{HW}\sum_{i} w_{y_i} \log p_{i,\,y_i},$$
#
# plus a soft **Dice** term that scores each garment's overlap as a whole (what IoU measures)
# instead of pixel by pixel,
# $\mathcal{L}_\text{Dice} = 1 - \frac{1}{3}\sum_{c=1}^{3} \frac{2\sum_i p_{i,c}\,[y_i=c]}{\sum_i p_{i,c} + \sum_i [y_i=c]}$.
#
# We optimise with AdamW — the pretrained backbone at a quarter of the head's learning rate, so
# fine-tuning adjusts rather than overwrites what it knows — with warm-up then a cosine schedule,
# and augment each photo with a horizontal flip, a crop that keeps most of the figure (whether a
# garment is a dress or a top is decided by the whole person) and colour jitter. A moving average
# of the weights (EMA) is validated beside them, and the better of the two is kept. The BatchNorm layers of the published
# network are folded into its convolutions; we keep them folded: batches of 8 photos on a CPU would
# give far noisier statistics than the COCO/VOC ones baked into the weights.
#
# `PRESET` chooses the settings. `"demo"` fine-tunes only the **head** — everything after the
# backbone: the pooling branch, the 1×1 convolutions and the new last layer — for 3 short epochs
# of 20 steps at 257 px. The backbone stays frozen (`backbone_lr_factor=0`: no gradient flows
# through it, so a step costs a fraction of a full one): a few minutes on a CPU, enough to watch
# the model learn which garment is which. `"deeplab"` is the first stage of the shipped model's
# recipe (385 px, batch 8, the whole network learning; hours on a CPU — section 4 shows how it
# went). The run writes checkpoints as it goes and **resumes** if you run the cell again. The same
# from the command line: `python -m fsutils.train cloth --ccp-root DIR --arch deeplab …`.

# %%
PRESET = "demo"          # "demo" | "deeplab"
if env.tiny_mode():
    PRESET = "tiny"       # headless test runs: a few seconds
cfg = ClothConfig.preset(PRESET, ccp_root, out=f"runs/notebook_{PRESET}", arch="deeplab")
print({k: getattr(cfg, k) for k in ("size", "epochs", "batch_size", "lr", "backbone_lr_factor",
                                     "max_train_images", "max_val_images")})
summary = training.fit(ClothTask(cfg))
summary

# %% [markdown]
# The training loss per step (it jumps from batch to batch; the smoothed line is the trend) and the
# validation IoU after each epoch, on the first validation photos:

# %%
my_model, history = load_run(cfg.out)
viz.plot_history(history);

# %% [markdown]
# **Before and after**, on the same validation photos. Before training, the three garment classes
# are copies of *person* with the same score, so the arg-max calls every person pixel by the first
# of them, *upper body*: lower and full body score 0. After a few minutes the head has learnt to
# split the figure: legs become lower body, dresses full body.

# %%
import torch
val_set = data.CCPDataset(ccp_root, val_ids[: cfg.max_val_images], cfg.size)   # the run's validation photos
for title, m in {"before training": model, "after training": my_model}.items():
    cm = validate(m, val_set, torch.device("cpu"))
    print(f"{title}: IoU {dict(zip(data.CLASS_NAMES[1:], segmentation.iou_per_class(cm)[1:].round(3).tolist()))}, "
          f"mean of the garments {segmentation.mean_iou_garments(cm):.3f}")
before = ClothSegmenter.from_model(model, input_size=cfg.size)    # head surgery, no training
mine = ClothSegmenter.from_model(my_model, input_size=cfg.size)
viz.show_examples(ccp_root, val_ids[:3], {"before training": before, "after training": mine});

# %% [markdown]
# ## 4 · How good is it? Intersection over union
#
# For each class $c$, with $P_c$ the pixels predicted as $c$ and $G_c$ the pixels labelled $c$,
#
# $$\mathrm{IoU}_c = \frac{|P_c \cap G_c|}{|P_c \cup G_c|},$$
#
# and the kit reports the mean over the three garment classes (`mean_iou_garments`). The evaluation
# runs at the photos' full resolution — the same as
# `python -m fsutils.evaluate segmentation --ccp-root DIR --split val`.
#
# ### How the shipped model learned
#
# The shipped `ccp_deeplab` was fine-tuned in two stages on a 2-core CPU: the `"deeplab"` preset at
# 385 px, then a few more epochs at 449 px from the first stage's best epoch. Each run printed its
# validation IoU after every validated epoch and kept it in its `history.json`; those figures are
# kept with the kit (`fsutils/assets/measured.toml`, the same file docs/results.md's tables come from). The
# per-step training losses of those runs were not kept with the shipped weights, so only the
# validation curve can be drawn here:

# %%
record = course.figures()["shipped_training"]
first, second = record["first_stage"], record["second_stage"]
fig, ax = plt.subplots(figsize=(7, 3))
ax.plot(first["epochs"], first["val_mean_iou_garments"], "o-",
        label=f"first stage, {first['size']} px (validated every 2 epochs)")
ax.plot([first["best_epoch"] + e for e in second["epochs"]], second["val_mean_iou_garments"], "o-",
        label=f"second stage, {second['size']} px, from epoch {first['best_epoch']}")
ax.set(xlabel="epoch", ylabel="validation IoU\n(mean of the garments)", title="ccp_deeplab's training")
ax.legend(); plt.tight_layout(); plt.show()
display(Markdown("\n".join(course.training_table())))   # the same record, and the reading sizes

# %% [markdown]
# Validation also chose how the model reads a photo: slightly larger than its training size, and
# averaged with its mirror image (the prediction of the mirrored photo, mirrored back: a garment's
# mirror image is the same garment). Its IoU on the validation photos, and — reported once, never
# used to choose anything — on the test photos, beside the kit's smaller `ccp_u2netp`, which starts
# from a saliency network (`python -m fsutils.evaluate segmentation`, measured once;
# docs/results.md shows the same table):

# %%
display(Markdown("\n".join(course.segmentation_table())))

# %% [markdown]
# Starting from a person segmenter helps most where the figure matters (upper and full body). The
# masks find the garments, but a whole garment still often gets the wrong class (a top or a dress?
# a jacket or a coat?), and the validation curve flattens after a few epochs: a few hundred
# training photos are few. Measure the shipped model yourself on the validation photos:

# %%
n_eval = 4 if env.tiny_mode() else None        # None = all validation photos (about a minute on a CPU)
default = course.defaults()["cloth segmentation"]
shipped = segmentation.evaluate_segmentation(ccp_root, default, split="val", max_images=n_eval)
print(f"{default} on {shipped['images']} validation photos:",
      {k: round(v, 3) for k, v in shipped["iou"].items()}, "mean_iou_garments =", round(shipped["mean_iou_garments"], 3))
print("measured once on the whole split:", course.segmentation_rows(default, "val")[0]["mean_iou_garments"])

# %% [markdown]
# ### Which garments get the wrong class?
#
# The 4×4 confusion matrix hides *which* garments are confused. `by_label` keeps the finer CCP
# labels: for every label, the share of its pixels that the model called background, upper, lower
# or full body (`--by-label` on the command line prints the same). Look for garments that sit
# between two classes: a *blazer* is upper body but looks like the jacket of a *suit* (full body); a
# *coat* (full body) and a *jacket* (upper body) differ mostly in length.

# %%
print("\n".join(segmentation.by_label_lines(shipped["by_label"], top=15)))

# %% [markdown]
# Now the masks: ground truth, the model you just trained, the shipped `ccp_deeplab` and the smaller
# `ccp_u2netp`. After a demo run yours will be rougher — a few minutes of the head against hours of
# the whole network.

# %%
viz.show_examples(ccp_root, val_ids[:3], {"your model": mine, "ccp_deeplab": ClothSegmenter(default),
                                          "ccp_u2netp": ClothSegmenter("ccp_u2netp")});

# %% [markdown]
# ## 5 · Photos with tags only: weak labels
#
# Annotating every pixel is slow, so most of Clothing Co-Parsing's photos (1005 onwards) carry only
# **image-level tags**: the labels that appear somewhere in the photo — *blouse*, *skirt*, *heels* —
# not where. Tags cannot draw a mask, and they cannot say which of two garments is on top; but they
# rule out exactly the confusions of the previous section. A photo tagged *blouse* + *skirt* and no
# *dress* has no full-body garment, whatever the model thinks.
#
# The kit turns that into **pseudo-labels**: for each pixel, the most probable class among those the
# tags allow (background, and the garment classes the tags name), with the probabilities
# renormalised over them,
#
# $$\hat y_i = \arg\max_{c \in A} \frac{p_{i,c}}{\sum_{c' \in A} p_{i,c'}}, \qquad A = \{0\} \cup \text{tagged classes},$$
#
# and a pixel whose renormalised probability stays under ½ is left out of the loss (grey below).
# Only the tagged photos of the *training* split are used this way; the validation and test shares
# stay for measuring. `python -m fsutils.training.pseudo` writes them, and the cloth training takes
# them beside the annotated photos (`tagged_root=`, `pseudo_labels=`):
#
# ```bash
# python -m fsutils.training.pseudo --tagged-root DIR --out runs/pseudo_tags
# python -m fsutils.train cloth --ccp-root DIR --init ccp_deeplab --tagged-root DIR --pseudo-labels runs/pseudo_tags …
# ```

# %%
tagged_root = tags.locate_tagged(ccp_root)
tagged = tags.load_tagged(tagged_root)
print(f"{len(tagged)} tagged photos in {tagged_root}:",
      {s: sum(t.split == s for t in tagged) for s in data.SPLITS})
shipped_model = ClothSegmenter(course.defaults()["cloth segmentation"])
examples = [t.image_id for t in tagged if t.split == "train"][:1 if env.tiny_mode() else 3]
pseudo.figure(tagged_root, examples, shipped_model);

# %% [markdown]
# The tags also **measure**: does the model show a garment class (on at least 2 % of the pixels)
# in the photos tagged with it, and only in those? The F1 of each class (precision and recall in
# one number) against the tags of the tagged photos (`python -m fsutils.evaluate tags`), the
# detector's classes beside the cloth model's, and the full body's precision: low full-body
# precision is the top-and-skirt-read-as-a-dress mistake. The rows say *before*: they measure the
# shipped models, trained before the tagged photos were used.

# %%
display(Markdown("\n".join(course.tags_table())))

# %% [markdown]
# ## 6 · Ship it
#
# `training.export_half` stores the best checkpoint as a plain half-precision state dict, the format of `fsutils/assets/ccp_deeplab.pth`; `ClothSegmenter("my_cloth_model.pth")` loads it
# into the architecture it fits.
#
# ```python
# training.export_half(f"{cfg.out}/best.pt", "my_cloth_model.pth")
# ```
#
# ## What to try next
# - Train at DeepLab's native 513 px on a GPU (`size=513`), or longer with stronger
#   regularisation (`augment="strong"`, `weight_decay=0.05`), and compare the validation curve.
# - Change the mapping: put coats, suits and capes into *upper body* (set `data.GARMENT_GROUPS`
#   to your grouping before training) and see which class gains, and which loses.
# - Compare with the U2NETP recipe: `arch="u2netp"` starts from the saliency U2NETP instead of a
#   person segmenter. How much does starting from *person* help each class?
# - The demo freezes the backbone (`backbone_lr_factor=0`) and trains only the head: train it
#   longer (`epochs=`, `max_train_images=`) — how far does the COCO/VOC representation go on its
#   own? Then let the backbone learn too (`backbone_lr_factor=0.25`) and compare.

# %% [markdown]
# ## Exercises
#
# Each solution is folded away in the cell under its exercise (click it to open it, or run it).
#
# **1.** Why is $\log 3$ taken off the garment biases? Take a pixel's two VOC scores,
# *background* $z_b$ and *person* $z_p$, and show that the three garment classes built from $z_p - \log 3$
# together get exactly the probability that *person* had.

# %%
# @title Solution 1 { display-mode: "form" }
z_b, z_p = 0.3, 1.7                                       # any two scores
voc_person = np.exp(z_p) / (np.exp(z_b) + np.exp(z_p))
garments4 = np.exp([z_b] + [z_p - np.log(3)] * 3)
print(f"P(person) = {voc_person:.4f}; P(upper) + P(lower) + P(full) = {garments4[1:].sum() / garments4.sum():.4f}")
# exp(z_p − log 3) = exp(z_p) / 3: three of them add up to exp(z_p), so the softmax is unchanged
# for background and for the garments together.

# %% [markdown]
# **2.** Why report IoU rather than pixel accuracy? Score a "model" that calls every pixel
# background on a few validation photos: its pixel accuracy, and its mean IoU of the garments.

# %%
# @title Solution 2 { display-mode: "form" }
lookup = data.label_lookup(data.read_label_names(ccp_root))
truth = [data.load_labels(ccp_root, i, lookup) for i in val_ids[:4]]
accuracy = np.mean([np.mean(t == 0) for t in truth])
print(f"all background: pixel accuracy {accuracy:.2f}, mean IoU of the garments 0.00 "
      f"(no garment pixel predicted: every intersection is empty)")
# Most pixels of a street photo are not clothes, so doing nothing already scores a high pixel
# accuracy; the IoU of each garment class cannot be fooled that way.

# %% [markdown]
# **3.** The demo froze the backbone. Count the weights that learned and the weights that stayed
# as COCO/VOC left them.

# %%
# @title Solution 3 { display-mode: "form" }
backbone = sum(v.numel() for k, v in my_model.state_dict().items() if k.startswith("backbone."))
head = sum(v.numel() for k, v in my_model.state_dict().items() if not k.startswith("backbone."))
print(f"backbone (frozen in the demo): {backbone:,} numbers; head (trained): {head:,}")
# A small part of the network learned; the features it reads were all learnt on COCO and VOC.
