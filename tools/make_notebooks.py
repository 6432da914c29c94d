"""Write notebooks/01–05 from the cell texts below (clean: no outputs, no Colab metadata).

The notebooks are plain Jupyter files and can be edited in Jupyter as well; this script is the
convenient way to keep their shared parts (title badge, setup cell) identical and to regenerate
them after an API change:

    python tools/make_notebooks.py            # write notebooks/0[1-5]_*.ipynb
    python tools/make_notebooks.py --check    # exit 1 if a committed notebook differs

Cell ids are derived from the notebook and the cell position, so regenerating gives no diff
unless a text changed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import fsutils  # noqa: E402

NB_DIR = ROOT / "notebooks"
BADGE = "https://colab.research.google.com/assets/colab-badge.svg"


def md(text: str) -> tuple[str, str]:
    return "markdown", dedent(text).strip("\n")


def code(text: str) -> tuple[str, str]:
    return "code", dedent(text).strip("\n")


def title(name: str, heading: str, intro: str) -> tuple[str, str]:
    url = f"https://colab.research.google.com/github/{fsutils.REPO_SLUG}/blob/main/notebooks/{name}"
    return md(f"# {heading}\n\n[![Open In Colab]({BADGE})]({url})\n\n" + dedent(intro).strip())


SETUP = code(f'''
    # Setup. On Colab: install the kit. Colab already has torch, torchvision, numpy and friends,
    # so the kit goes in with --no-deps and Colab's own (GPU-enabled) torch is never reinstalled.
    import sys
    if "google.colab" in sys.modules:
        !pip install -q --no-deps "{fsutils.PIP_INSTALL_URL}"
        !pip install -q "gdown>=6"
        from google.colab import output
        output.enable_custom_widget_manager()

    import fsutils
    from fsutils import env
    env.report()               # torch version, device, and what to do on Colab without a GPU
    TINY = env.tiny_mode()     # FSUTILS_TINY=1 (automatic test runs): tiny images, few steps
''')

IMPORTS = code('''
    %matplotlib inline
    import matplotlib.pyplot as plt
    import numpy as np
    from IPython.display import display
    from fsutils import io as fio, viz, weights, widgets
    from fsutils.pipeline import Pipeline

    WORK = env.default_work_size()    # longest side we work on: 512 on a CPU, 1024 on a GPU
    photo = fio.load_image(fio.sample_path("ccp_0006"))
    photo.thumbnail((WORK, WORK))
    print("photo:", photo.size, "— other samples:", ", ".join(p.stem for p in fio.sample_photos()))
''')


# ============================================================================== 01 segmentation
NB01 = [
    title("01_cloth_segmentation.ipynb", "1 · Cloth segmentation: which pixels are clothes?", """
        Part 1 of the **fsutils** course on *style transfer on clothing*. Before we can paint a
        jacket like Van Gogh, the computer has to know **where the jacket is**. In this notebook a
        neural network labels every pixel of a photo as *background*, *upper-body*, *lower-body* or
        *full-body* clothing, and you explore the result interactively.

        The whole course: **1 segmentation** → 2 saliency → 3 style transfer → 4 saliency blending
        → 5 the full pipeline (and 6, training the segmentation model yourself).
    """),
    md(r"""
        ## The idea

        Segmentation is classification **per pixel**. The network (a U-2-Net: a U-shaped encoder–
        decoder built from smaller U-shaped blocks, so it sees both fine edges and the whole body)
        outputs, for every pixel $(i, j)$, one score $z_{ij}^{k}$ per class $k \in \{0,1,2,3\}$.
        A softmax turns the scores into probabilities, and the label is the most probable class:

        $$p_{ij}(k) = \frac{e^{z_{ij}^{k}}}{\sum_{c=0}^{3} e^{z_{ij}^{c}}}, \qquad
          \ell_{ij} = \arg\max_k \; p_{ij}(k).$$

        | label | class | colour below |
        |---|---|---|
        | 0 | background (also skin, hair, shoes, bags) | none |
        | 1 | upper body (shirt, jacket, sweater …) | red |
        | 2 | lower body (trousers, skirt, shorts …) | green |
        | 3 | full body (dress, coat, jumpsuit …) | yellow |

        Input: the photo resized to $768\times768$ and normalised as $x' = (x - 0.5)/0.5$, so pixel
        values lie in $[-1, 1]$ as during training. A **mask** for a set of garments $K$ is then
        simply $B_{ij} = [\ell_{ij} \in K]$.
    """),
    SETUP,
    IMPORTS,
    md("""
        ## The model and its weights

        The kit ships its own small cloth model, **`ccp_u2netp`** (a U²-Net-small trained on the
        Clothing Co-Parsing dataset in notebook 6, 2–3 MB, no download). The original project's
        model **`cloth_segm`** (176 MB, Google Drive) is supported too — set `USE_OFFICIAL = True`
        on a machine with internet to compare. All weights go through `fsutils.weights`, which
        checks sizes and hashes, and explains what to do when a download fails.
    """),
    code('''
        from fsutils.segment import ClothSegmenter, CLASS_NAMES

        USE_OFFICIAL = False          # True: the official 176 MB cloth_segm model (needs internet)
        segmenter = ClothSegmenter("cloth_segm" if USE_OFFICIAL else "ccp_u2netp")
        print(segmenter)
    '''),
    md("""
        ## Step by step

        **1. Probabilities.** `predict_proba` returns the four probability maps $p(k)$ at the
        photo's size. Bright = likely.
    """),
    code('''
        proba = segmenter.predict_proba(photo)           # float32, 4 × H × W, sums to 1 per pixel
        print(proba.shape, proba.dtype, "sum over classes ≈", float(proba.sum(0).mean()))
        display(viz.panels([photo] + list(proba), ["photo"] + [f"p({n})" for n in CLASS_NAMES]))
    '''),
    md("""
        **2. Labels.** The arg-max over the classes gives one label per pixel; colours make it
        readable. How much of the photo is each garment?
    """),
    code('''
        from fsutils import segment
        labels = segmenter.predict(photo)                 # uint8, H × W, values 0..3
        for k, name in enumerate(CLASS_NAMES):
            print(f"{k} {name:<12} {100 * np.mean(labels == k):5.1f} % of the pixels")
        display(viz.panels([photo, segment.colorize(labels), segment.overlay(photo, labels)], ["photo", "labels", "overlay"]))
    '''),
    md("""
        **3. Masks.** A boolean mask per class, and the union of the garments we want to restyle —
        this is what the later stages use.
    """),
    code('''
        masks = segment.masks(labels)                     # {class name: bool H × W}
        upper_and_lower = segment.combine_masks(labels, ["upper body", "lower body"])
        display(viz.panels([masks["upper body"], masks["lower body"], masks["full body"], upper_and_lower],
                           ["upper body", "lower body", "full body", "upper + lower"]))
    '''),
    md("""
        ## Explore it yourself

        Pick a photo (or upload your own), change the overlay opacity, and tick the garments to
        include in the mask. The panel uses the kit's cached pipeline: the segmentation runs once
        per photo, everything else is instant.
    """),
    code('''
        pipe = Pipeline(segment=segmenter, max_size=WORK)
        picker = widgets.PhotoPicker(pipe)
        picker
    '''),
    code('''
        widgets.SegmentationExplorer(pipe)
    '''),
    md("""
        ## What to try next

        - Upload a photo of yourself or a product shot. Where does the model hesitate? Look at
          `predict_proba`: pixels with no class above 0.5 are the uncertain ones.
        - With internet, set `USE_OFFICIAL = True` and compare the official 176 MB model with the
          kit's 2 MB one on the same photos.
        - Notebook **6** shows how `ccp_u2netp` was trained — train it longer or bigger.
        - Continue with **notebook 2**: which parts of the photo catch the eye (saliency)?
    """),
]

# =================================================================================== 02 saliency
NB02 = [
    title("02_saliency.ipynb", "2 · Saliency: what catches the eye?", """
        Part 2 of the **fsutils** course. A *saliency map* says, for every pixel, how much it
        stands out — it will decide **how much style** each pixel of a garment receives, so the
        salient centre of a jacket gets the full painting while its edges fade into the photo.
    """),
    md(r"""
        ## The idea

        A salient-object-detection network (U²-Net, small version **U2NETP**, 4.7 MB) looks at the
        photo and predicts a map $S \in [0,1]^{H\times W}$. The pre-processing reproduces the
        original U-2-Net code exactly:

        1. resize to $320\times320$ and divide by the image maximum: $\hat x = x / \max(x)$;
        2. normalise each colour channel with the ImageNet statistics:
           $x' = (\hat x - \mu_c)/\sigma_c$, $\mu = (0.485, 0.456, 0.406)$,
           $\sigma = (0.229, 0.224, 0.225)$;
        3. take the network's first (fused) output $d_1$ and stretch it to $[0,1]$:
           $$S = \frac{d_1 - \min d_1}{\max d_1 - \min d_1};$$
        4. resize $S$ back to the photo's size.

        Two knobs help to *use* the map later: a **threshold** $t$ turns it into a region
        $[S > t]$, and a **gamma** $S^\gamma$ reshapes it ($\gamma < 1$ spreads the saliency out,
        $\gamma > 1$ concentrates it on the most salient pixels).
    """),
    SETUP,
    IMPORTS,
    md("""
        ## The weights

        `u2netp` is in the kit's weights registry: name, file, source, size, licence and credit.
        `SaliencyModel("u2netp")` fetches it (with a progress bar, once, into the cache).
    """),
    code('''
        w = weights.get("u2netp")
        print(f"{w.name}: {w.arch}\\n  licence {w.license}; credit: {w.credit}")
        from fsutils.saliency import SaliencyModel
        saliency_model = SaliencyModel("u2netp")
    '''),
    md("""
        ## Step by step

        **1. The map.** Bright pixels stand out. Note how the person, not the street, is salient.
    """),
    code('''
        S = saliency_model.predict(photo)           # float32 H × W in 0..1
        print(S.shape, S.dtype, f"min {S.min():.2f} max {S.max():.2f} mean {S.mean():.2f}")
        display(viz.panels([photo, S, np.asarray(photo) / 255 * S[..., None]], ["photo", "saliency S", "photo × S"]))
    '''),
    md("""
        **2. Its distribution.** Most pixels are either clearly salient or clearly not — a
        threshold in between separates them.
    """),
    code('''
        fig, ax = plt.subplots(figsize=(6, 2.5))
        ax.hist(S.ravel(), bins=50, color="tab:blue")
        ax.set_xlabel("saliency"); ax.set_ylabel("pixels"); ax.set_yscale("log")
        plt.tight_layout(); plt.show()
    '''),
    md("""
        **3. Threshold and gamma.** The same map seen through different knobs.
    """),
    code('''
        display(viz.panels([S > 0.5, S ** 0.5, S ** 2], ["S > 0.5", "S ** 0.5 (spread)", "S ** 2 (focused)"]))
    '''),
    md("""
        **4. Saliency inside the clothes.** Combined with the garment mask of notebook 1, the
        saliency says which *parts of the garment* are prominent.
    """),
    code('''
        pipe = Pipeline(saliency=saliency_model, max_size=WORK)
        pipe.set_image(photo)
        garments = pipe.mask(["upper body", "lower body", "full body"])
        inside = np.where(garments, pipe.saliency(), 0)
        print(f"mean saliency inside the garments {pipe.saliency()[garments].mean():.2f}, "
              f"outside {pipe.saliency()[~garments].mean():.2f}")
        display(viz.panels([garments, inside], ["garment mask", "saliency inside the garments"]))
    '''),
    md("""
        ## Explore it yourself

        Choose a photo and move the threshold and gamma sliders.
    """),
    code('''
        picker = widgets.PhotoPicker(pipe)
        picker
    '''),
    code('''
        widgets.SaliencyExplorer(pipe)
    '''),
    md("""
        ## What to try next

        - Which photos confuse the saliency model (busy backgrounds, several people)?
        - With internet, compare with the full-size model: `SaliencyModel("u2net")` (176 MB).
        - Continue with **notebook 3**: painting the photo with a style.
    """),
]

# ============================================================================= 03 style transfer
NB03 = [
    title("03_style_transfer.ipynb", "3 · Neural style transfer: three ways to paint a photo", """
        Part 3 of the **fsutils** course. We repaint the photo in the style of a painting, with the
        three methods of the kit: **Gatys** (optimise the image itself; any painting, best quality,
        slow), **fast** feed-forward networks (one network per painting, real time) and **AdaIN**
        (any painting in one pass).
    """),
    md(r"""
        ## The idea (Gatys, Ecker & Bethge 2016)

        A network trained to recognise objects (VGG-19) describes an image by its **feature maps**
        $F^l$ at layer $l$: $N_l$ channels of size $M_l = h_l \times w_l$, reshaped to an
        $N_l \times M_l$ matrix.

        - **Content** = *where* the features are. Content loss on layer `conv4_2`, between the
          generated image's features $F$ and the photo's $P$:
          $$\mathcal{L}_{content} = \frac{1}{N_l M_l}\sum_{i,k}\left(F^l_{ik} - P^l_{ik}\right)^2.$$
        - **Style** = *which features occur together*, regardless of where: the **Gram matrix**
          $$G^l_{ij} = \frac{1}{a\,b\,c\,d}\sum_k F^l_{ik} F^l_{jk}$$
          (the correlation of channels $i$ and $j$; $a\,b\,c\,d$ = batch × channels × height ×
          width). Style loss over `conv1_1 … conv5_1`, against the painting's Gram matrices $A^l$:
          $$\mathcal{L}_{style} = \sum_{l} \frac{1}{N_l^2}\sum_{i,j}\left(G^l_{ij} - A^l_{ij}\right)^2.$$
        - **Smoothness**: total variation
          $\mathcal{L}_{TV} = \operatorname{mean}(x_{i+1,j} - x_{i,j})^2 + \operatorname{mean}(x_{i,j+1} - x_{i,j})^2$.

        We start from the photo and change its **pixels** (not the network!) to minimise
        $$\mathcal{L} = \alpha\,\mathcal{L}_{content} + \beta\,\mathcal{L}_{style} + \gamma\,\mathcal{L}_{TV}$$
        with L-BFGS or Adam. The ratio $\beta/\alpha$ decides how much painting versus photo.

        **Fast** (Johnson et al. 2016): a network is trained once to minimise that loss for *one*
        painting; then stylising is one forward pass. **AdaIN** (Huang & Belongie 2017): re-colour
        the photo's features with the painting's per-channel statistics,
        $$\mathrm{AdaIN}(x, y) = \sigma(y)\,\frac{x - \mu(x)}{\sigma(x)} + \mu(y),$$
        and decode them back to an image; $\alpha_{AdaIN}$ mixes $\alpha\,\mathrm{AdaIN}(x,y) + (1-\alpha)\,x$.
    """),
    SETUP,
    IMPORTS,
    code('''
        import torch
        from fsutils.style import gatys_transfer, fast_stylize, adain_transfer, gram_matrix
        from fsutils.pipeline import gatys_features

        SIZE = env.default_style_size()      # 256 on a CPU, 512 on a GPU (64 in test mode)
        STEPS = env.default_gatys_steps()    # 100 on a CPU, 300 on a GPU (3 in test mode)
        painting = fio.load_image(fio.sample_path("starry_night_vangogh"))
        display(viz.panels([photo, painting], ["photo (content)", "painting (style)"]))
    '''),
    md("""
        ## A Gram matrix by hand

        Two channels on a 2×2 image. Channel 0 and channel 1 are "on" at the same places, so their
        correlation $G_{01}$ is large; the Gram matrix has forgotten *where*.
    """),
    code('''
        F = torch.tensor([[[[1., 0.], [0., 1.]],       # channel 0
                           [[2., 0.], [0., 2.]]]])     # channel 1: same places, twice as strong
        a, b, c, d = F.shape
        by_hand = F.reshape(b, c * d) @ F.reshape(b, c * d).T / (a * b * c * d)
        print("Gram matrix:\\n", gram_matrix(F))
        assert torch.allclose(gram_matrix(F), by_hand)
        shifted = torch.roll(F, shifts=1, dims=3)       # move every feature one pixel right
        print("same Gram matrix after moving the features:", torch.allclose(gram_matrix(shifted), by_hand))
    '''),
    md("""
        ## The VGG-19 features

        Gatys needs the ImageNet VGG-19 weights (548 MB, downloaded once through
        `fsutils.weights` with a progress bar and a hash check). In automatic test runs without
        internet a randomly initialised VGG-19 stands in, with a loud warning — the pictures are
        then meaningless, but every cell still runs.
    """),
    code('''
        features = gatys_features()     # None = the real VGG-19 (loaded and cached by fsutils.style)
    '''),
    md("""
        ## Watch the optimisation

        A callback receives the image every few steps: we keep the snapshots and the losses.
    """),
    code('''
        snapshots = []
        def keep(step, image, losses):
            snapshots.append((step, image, losses))

        result = gatys_transfer(photo, painting, steps=STEPS, size=SIZE, features=features,
                                content_weight=1, style_weight=1e6, callback=keep,
                                callback_every=max(1, STEPS // 4), seed=0)
        fig, axes = plt.subplots(1, len(snapshots) + 1, figsize=(3 * (len(snapshots) + 1), 4))
        for ax, (step, image, losses) in zip(axes, snapshots):
            ax.imshow(image); ax.set_title(f"step {step}\\nloss {losses['total']:.3g}"); ax.axis("off")
        axes[-1].plot([s for s, _, _ in snapshots], [l["style"] for _, _, l in snapshots], "o-",
                      label="style"); axes[-1].plot([s for s, _, _ in snapshots],
                      [l["content"] for _, _, l in snapshots], "o-", label="content")
        axes[-1].set_yscale("log"); axes[-1].legend(); axes[-1].set_xlabel("step")
        plt.tight_layout(); plt.show()
    '''),
    md("""
        ## Style only the clothes

        With a garment **mask**, the style loss only looks at the garment: Gram matrices are
        computed from the features inside the mask (weighted by the mask shrunk to each layer and
        normalised by its area). And each garment can get **its own painting** in one optimisation.
    """),
    code('''
        pipe = Pipeline(max_size=WORK)
        pipe.set_image(photo)
        upper, lower = pipe.mask("upper body"), pipe.mask(["lower body", "full body"])
        wave = fio.load_image(fio.sample_path("great_wave_hokusai"))
        two_styles = gatys_transfer(photo, {"upper": (upper, painting), "lower": (lower, wave)},
                                    steps=STEPS, size=SIZE, features=features, seed=0,
                                    progress=False)
        display(viz.panels([upper | lower, two_styles], ["garments", "upper: Van Gogh, lower: Hokusai"]))
    '''),
    md("""
        ## Fast, pretrained networks

        One forward pass per image. The kit knows five pretrained pytorch/examples models.
    """),
    code('''
        fast = {name: fast_stylize(photo, name, max_size=SIZE) for name in ["candy", "mosaic", "rain_princess", "udnie"]}
        display(viz.panels(list(fast.values()), list(fast)))
    '''),
    md("""
        ## AdaIN: any painting, one pass

        Needs the public AdaIN encoder and decoder (`adain/vgg_normalised`, `adain/decoder`),
        fetched through `fsutils.weights`.
    """),
    code('''
        try:
            adain = [adain_transfer(photo, painting, alpha=a, size=SIZE) for a in (0.3, 0.6, 1.0)]
            display(viz.panels(adain, ["α = 0.3", "α = 0.6", "α = 1.0"]))
        except weights.WeightsError as err:
            if not TINY:
                raise
            print("TEST MODE: AdaIN weights are not available on this machine, skipping.\\n", err)
    '''),
    md("""
        ## Your turn: the style panel

        Choose the method and its knobs — content weight α, style weight β, TV weight, steps,
        size, optimizer (or the AdaIN α) — and press **Run**. Gatys shows a live preview while it
        optimises. On a CPU keep the size at 256 px or below.
    """),
    code('''
        widgets.StylePanel(pipe, method="gatys")
    '''),
    md("""
        ## What to try next

        - Raise β/α by factors of 10: when does the photo disappear?
        - `init="noise"` instead of starting from the photo; `optimizer="adam"` instead of L-BFGS.
        - `preserve="color"` keeps the photo's colours, `preserve="shading"` its folds and shadows.
        - Your own painting: the style panel has an upload button.
        - Continue with **notebook 4**: putting the style back into the clothes, smoothly.
    """),
]

# ========================================================================== 04 saliency blending
NB04 = [
    title("04_saliency_blending.ipynb", "4 · Saliency blending: style where it matters", """
        Part 4 of the **fsutils** course. We have a stylised photo (notebook 3), the garment mask
        (notebook 1) and the saliency map (notebook 2). Now we put the style **into the clothes
        only** — and compare a hard cut with a saliency-guided blend, up close at the boundary.
    """),
    md(r"""
        ## The idea

        Let $C$ be the photo, $S$ the stylised image, $B \in \{0,1\}$ the garment mask and
        $M \in [0,1]$ the saliency map (all $H \times W$, images in $[0,1]$).

        - **Hard paste** (the baseline): $C_{hard} = B\,S + (1 - B)\,C$. The style stops abruptly
          at the garment's edge — a visible seam.
        - **Saliency blend** (equation 2 of the project report): inside the garment, each pixel
          takes as much style as it is salient,
          $$C_{final} = M \odot S + (1 - M) \odot C \quad\text{inside } B,\qquad C \text{ outside},$$
          i.e. $C_{final} = C + B\,M\,(S - C)$. A **strength** $s$ scales the map:
          $M = \min(1,\; s \cdot \text{saliency})$.
        - **Feathered** mask: blur the mask with a Gaussian of width $\sigma$,
          $\tilde B = G_\sigma * B$, then $C_{feather} = \tilde B\,S + (1 - \tilde B)\,C$.

        The **seam score** measures how visible the boundary is: the mean colour change *across*
        the garment edge, over the pixels within a few pixels of it (lower = smoother).
    """),
    SETUP,
    IMPORTS,
    md("""
        ## Prepare the ingredients

        The cached pipeline computes segmentation, saliency and the stylised image once (here the
        fast **candy** model); every blend afterwards takes milliseconds.
    """),
    code('''
        from fsutils import blend, viz
        pipe = Pipeline(max_size=WORK)
        res = pipe.run(photo, method="fast", style="candy", classes=["upper body", "lower body", "full body"])
        C, S, B, M = res.content, res.stylized, res.mask, res.saliency
        display(viz.panels([C, S, B, M], ["photo C", "stylised S", "garments B", "saliency M"]))
    '''),
    md("""
        ## Three blends, and their seams

        The formulas above, computed by `fsutils.blend`:
    """),
    code('''
        hard = blend.hard_paste(C, S, B)
        soft = blend.saliency_blend(C, S, M, B)
        feathered = blend.feathered_blend(C, S, B, width=8)
        assert np.allclose(soft, C + (B * M)[..., None] * (S - C), atol=1e-5)   # equation 2
        for name, img in [("hard paste", hard), ("saliency blend", soft), ("feathered", feathered)]:
            print(f"{name:<15} seam score {blend.seam_score(img, B):.4f}")
        display(viz.panels([hard, soft, feathered], ["hard paste", "saliency blend", "feathered (σ = 8 px)"]))
    '''),
    md("""
        ## A closer look at the boundary

        The same crop on the garment's edge, hard paste next to saliency blend.
    """),
    code('''
        box = viz.boundary_box(B, size=max(32, min(B.shape) // 4))   # a square on the garment edge
        print("zoom box (x0, y0, x1, y1):", tuple(box))
        viz.boundary_closeup(hard, soft, box, mask=B)
    '''),
    md("""
        ## How strong should the saliency be?

        Strength 0 gives back the photo, large strengths approach the hard paste inside the
        salient region. The seam score as a function of the strength:
    """),
    code('''
        strengths = [0, 0.25, 0.5, 1, 2, 4]
        scores = [blend.seam_score(pipe.blend("saliency", strength=s), B) for s in strengths]
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.plot(strengths, scores, "o-", label="saliency blend")
        ax.axhline(blend.seam_score(hard, B), color="tab:red", ls="--", label="hard paste")
        ax.set_xlabel("saliency strength"); ax.set_ylabel("seam score"); ax.legend()
        plt.tight_layout(); plt.show()
    '''),
    md("""
        ## Your turn: the blend panel

        Switch the mode, drag the **strength** and **feather width** sliders, and move the **zoom
        box** along the garment's edge: the close-ups show the same crop of the hard paste and the
        saliency blend with their seam scores. Only the blend is recomputed, so it is instant.
    """),
    code('''
        widgets.BlendPanel(pipe, style={"method": "fast", "style": "candy"})
    '''),
    md("""
        ## What to try next

        - Find a place on the boundary where the saliency blend is *worse* than the hard paste.
          Why? (Hint: low saliency inside the garment.)
        - Combine both ideas: a saliency blend with a feathered mask (`blend.saliency_blend` accepts
          a float mask such as `blend.feather_mask(B, 4)`).
        - Continue with **notebook 5**: the whole pipeline, any method, and saving the results.
    """),
]

# ============================================================================ 05 full pipeline
NB05 = [
    title("05_full_pipeline.ipynb", "5 · The full pipeline: from a photo to styled clothes", """
        Part 5 of the **fsutils** course. Everything together: choose a photo, choose the garments,
        choose a style (any method), blend it by saliency, inspect the boundary, and **save the
        results**. The same pipeline runs from the command line: `python -m fsutils photo.jpg`.
    """),
    md(r"""
        ## The pipeline in one formula

        $$\text{photo } C \;\xrightarrow{\text{segment}}\; B = [\ell \in K] \;\xrightarrow{\text{saliency}}\; M
          \;\xrightarrow{\text{style}}\; S \;\xrightarrow{\text{blend}}\;
          C_{final} = C + B\,M\,(S - C).$$

        `fsutils.pipeline.Pipeline` runs the four stages and **caches each one**, keyed by the photo
        and by that stage's own parameters: change the blend strength and only the blend is
        recomputed; change the garments and only the mask and the blend; change the painting and
        only the style and the blend. This is what makes the sliders instant.
    """),
    SETUP,
    IMPORTS,
    md("""
        ## Step by step with `Pipeline`
    """),
    code('''
        pipe = Pipeline(max_size=WORK)
        pipe.set_image(photo)
        labels = pipe.labels()                                   # stage 1
        saliency = pipe.saliency()                               # stage 2
        stylized = pipe.stylize("fast", "mosaic")                # stage 3
        garments = ["upper body"]
        result = pipe.result(mode="saliency", classes=garments)  # stage 4
        print("stages computed so far:", dict(pipe.computed))
        display(viz.panels([photo, result.mask, saliency, stylized, result.output], ["photo", "garments", "saliency", "stylised", "result"]))
    '''),
    md("""
        Now change only the blend strength, then the garments — and count what was recomputed:
    """),
    code('''
        before = dict(pipe.computed)
        pipe.result(mode="saliency", classes=garments, strength=0.5)
        pipe.result(mode="saliency", classes=["upper body", "lower body"], strength=0.5)
        print({k: pipe.computed[k] - before.get(k, 0) for k in pipe.computed})
    '''),
    md("""
        ## Any method

        `method="gatys"` optimises (slow on a CPU: keep `size` small), `"adain"` needs the AdaIN
        weights, `"fast"` uses a pretrained model. Here Gatys on the upper body only, with the style
        loss restricted to the garment:
    """),
    code('''
        from fsutils.pipeline import gatys_features
        features = gatys_features()
        gatys = pipe.run(method="gatys", style="starry_night_vangogh", classes=["upper body"],
                         masked_style=True, steps=env.default_gatys_steps(),
                         size=env.default_style_size(), features=features)
        display(viz.panels([gatys.stylized, gatys.output], ["Gatys, style loss on the garment", "saliency blend"]))
    '''),
    md("""
        ## The boundary comparison
    """),
    code('''
        from fsutils import viz
        viz.comparison_figure(result.content, result.stylized, result.hard, result.output,
                              result.mask, saliency=result.saliency)
    '''),
    md("""
        ## Everything interactive

        Photo → garments → saliency → style (press Run) → blend, then **Save results**.
    """),
    code('''
        panel = widgets.PipelinePanel(pipe)
        panel
    '''),
    md("""
        ## Save the results

        `save_result` writes the result, the hard paste, the full stylised image, the label map,
        the masks, the saliency map and the comparison figure (the same files as
        `python -m fsutils`).
    """),
    code('''
        import os
        from fsutils.pipeline import save_result
        out_dir = os.environ.get("FSUTILS_OUTPUT_DIR", "outputs")
        files = save_result(pipe.result(mode="saliency", classes=garments), out_dir, "ccp_0006")
        print("\\n".join(str(f) for f in files))
        if "google.colab" in sys.modules:           # download them from Colab as one zip
            import shutil
            from google.colab import files as colab_files
            colab_files.download(shutil.make_archive("fsutils_results", "zip", out_dir))
    '''),
    md("""
        ## What to try next

        - Run the command line on a folder of your photos:
          `python -m fsutils my_photos/ --style mosaic --garments upper --out results/`.
        - Give the upper and lower body different paintings (notebook 3, several styles at once),
          then blend with `pipe.blend(..., stylized=...)`.
        - Train a better cloth model (notebook 6) and use it with `Pipeline(segment=...)`.
    """),
]

NOTEBOOKS = {
    "01_cloth_segmentation.ipynb": NB01,
    "02_saliency.ipynb": NB02,
    "03_style_transfer.ipynb": NB03,
    "04_saliency_blending.ipynb": NB04,
    "05_full_pipeline.ipynb": NB05,
}


def build(name: str, cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = new_notebook(metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                       "language": "python"},
        "language_info": {"name": "python"},
    })
    stem = name.split("_")[0]
    for i, (kind, text) in enumerate(cells):
        cell = new_markdown_cell(text) if kind == "markdown" else new_code_cell(text)
        cell["id"] = f"nb{stem}-{i:02d}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare instead of writing")
    args = ap.parse_args(argv)
    NB_DIR.mkdir(exist_ok=True)
    stale = []
    for name, cells in NOTEBOOKS.items():
        text = nbformat.writes(build(name, cells)) + "\n"
        path = NB_DIR / name
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print("differs from tools/make_notebooks.py: " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
