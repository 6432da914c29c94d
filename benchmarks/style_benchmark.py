"""Style-transfer speed: Gatys steps per second against the PyTorch-tutorial recipe, and
milliseconds per 512 px image for the feed-forward and AdaIN networks.

    python benchmarks/style_benchmark.py                  # 128 and 256 px (and 512 px with CUDA)
    python benchmarks/style_benchmark.py --sizes 128 --steps 6 --repeats 1
    python benchmarks/style_benchmark.py --tiny           # 32 px, 3 steps, 64 px feed-forward

Baseline: the straightforward implementation of the PyTorch tutorial "Neural Transfer Using
PyTorch" — deep-copy the VGG, insert ContentLoss / StyleLoss modules after the chosen convolutions,
cut after the last one, L-BFGS with a closure that clamps the image. It is configured with the same
layers (content conv4_2, style conv1_1 … conv5_1), weights, image and step count as ours, and timed
in the same run, interleaved with ours. "tutorial + frozen" is that baseline with the one-line fix
``model.requires_grad_(False)`` (the tutorial as published computes VGG weight gradients too), to
show where the speed-up comes from. A step is one loss evaluation (forward + backward); rates are
steady state (the first step and the set-up are excluded for every variant).

The ImageNet VGG-19 and the AdaIN weights cannot be downloaded on the machines this runs on in CI,
so the networks are randomly initialised with the real architectures: the compute per step is the
same as with the real weights (the script says so in its output). The fast-style models come from
the registry when available (mirror), otherwise random weights are used.
"""
from __future__ import annotations

import copy
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fsutils.style import adain_transfer, fast_stylize, gatys_transfer  # noqa: E402
from fsutils.style.gatys import CONTENT_LAYERS, STYLE_LAYERS  # noqa: E402
from timing import parser, wall_and_cpu_ms  # noqa: E402

# ------------------------------------------------------------------ the tutorial's recipe


def _tutorial_gram(x: torch.Tensor) -> torch.Tensor:
    a, b, c, d = x.size()
    feats = x.view(a * b, c * d)
    return torch.mm(feats, feats.t()).div(a * b * c * d)


class _ContentLoss(nn.Module):
    def __init__(self, target):
        super().__init__()
        self.target = target.detach()

    def forward(self, x):
        self.loss = F.mse_loss(x, self.target)
        return x


class _StyleLoss(nn.Module):
    def __init__(self, target_feature):
        super().__init__()
        self.target = _tutorial_gram(target_feature).detach()

    def forward(self, x):
        self.loss = F.mse_loss(_tutorial_gram(x), self.target)
        return x


class _Normalization(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def forward(self, img):
        return (img - self.mean) / self.std


def _tutorial_model(cnn, content_img, style_img, content_layers, style_layers):
    cnn = copy.deepcopy(cnn)
    model = nn.Sequential(_Normalization([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]))
    content_losses, style_losses = [], []
    block, i = 1, 0
    for layer in cnn.children():
        if isinstance(layer, nn.Conv2d):
            i += 1
            name = f"conv{block}_{i}"
        elif isinstance(layer, nn.ReLU):
            name = f"relu{block}_{i}"
            layer = nn.ReLU(inplace=False)
        elif isinstance(layer, nn.MaxPool2d):
            name = f"pool{block}"
            block, i = block + 1, 0
        else:
            raise RuntimeError(type(layer).__name__)
        model.add_module(name, layer)
        if name in content_layers:
            loss = _ContentLoss(model(content_img).detach())
            model.add_module(f"content_loss_{name}", loss)
            content_losses.append(loss)
        if name in style_layers:
            loss = _StyleLoss(model(style_img).detach())
            model.add_module(f"style_loss_{name}", loss)
            style_losses.append(loss)
    for j in range(len(model) - 1, -1, -1):
        if isinstance(model[j], (_ContentLoss, _StyleLoss)):
            break
    return model[: j + 1], style_losses, content_losses


def tutorial_transfer(cnn, content_img, style_img, steps, *, freeze=False, on_step=None,
                      style_weight=1e6, content_weight=1.0):
    model, style_losses, content_losses = _tutorial_model(
        cnn, content_img, style_img, CONTENT_LAYERS, STYLE_LAYERS)
    input_img = content_img.clone()
    if freeze:
        model.requires_grad_(False)
    optimizer = torch.optim.LBFGS([input_img.requires_grad_()], max_iter=steps, max_eval=steps)
    run = [0]

    def closure():
        input_img.data.clamp_(0, 1)
        optimizer.zero_grad()
        model(input_img)
        style_score = sum(sl.loss for sl in style_losses) * style_weight
        content_score = sum(cl.loss for cl in content_losses) * content_weight
        loss = style_score + content_score
        loss.backward()
        run[0] += 1
        if on_step is not None:
            on_step()
        return style_score + content_score

    optimizer.step(closure)
    input_img.data.clamp_(0, 1)
    return input_img


# ------------------------------------------------------------------------------ helpers


def _images(size: int) -> tuple[Image.Image, Image.Image]:
    try:
        from fsutils.io import load_image, sample_photos, sample_styles

        return (load_image(sample_photos()[0]).resize((size, size)),
                load_image(sample_styles()[0]).resize((size, size)))
    except Exception:  # samples missing: synthetic images have the same cost
        rng = np.random.default_rng(0)
        return tuple(Image.fromarray((rng.random((size, size, 3)) * 255).astype(np.uint8))
                     for _ in range(2))


def _rate(stamps: list[tuple[float, float]]) -> tuple[float, float]:
    """Steady-state steps per wall-clock second and per CPU second of this process."""
    n = len(stamps) - 1
    return (n / (stamps[-1][0] - stamps[0][0]), n / (stamps[-1][1] - stamps[0][1]))


def _to_tensor(img: Image.Image, device) -> torch.Tensor:
    arr = np.asarray(img, dtype=np.float32) / 255
    return torch.from_numpy(arr).permute(2, 0, 1)[None].contiguous().to(device)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench_gatys(vgg, size, steps, repeats, device):
    content, style = _images(size)
    c_t, s_t = _to_tensor(content, device), _to_tensor(style, device)
    results: dict[str, list[tuple[float, float]]] = {
        "fsutils": [], "tutorial": [], "tutorial + frozen": []}
    for _ in range(repeats):
        stamps: list[tuple[float, float]] = []

        def stamp(*_):
            _sync(device)
            stamps.append((time.perf_counter(), time.process_time()))

        gatys_transfer(content, style, steps=steps, optimizer="lbfgs", size=size, features=vgg,
                       progress=False, device=device, callback_every=1, callback=stamp)
        results["fsutils"].append(_rate(stamps))
        for name, freeze in (("tutorial", False), ("tutorial + frozen", True)):
            stamps = []
            tutorial_transfer(vgg, c_t, s_t, steps, freeze=freeze, on_step=stamp)
            results[name].append(_rate(stamps))
    # best of the repeats, separately for each clock
    return {k: (max(r[0] for r in v), max(r[1] for r in v)) for k, v in results.items()}


def bench_ms(fn, repeats, device) -> tuple[float, float]:
    """Median wall-clock and CPU milliseconds per call (after one warm-up call)."""
    wall, _, cpu = wall_and_cpu_ms(fn, repeats, lambda: _sync(device))
    return wall, cpu


def main(argv=None) -> int:
    cuda = torch.cuda.is_available()
    p = parser(__doc__)
    p.add_argument("--sizes", type=int, nargs="+", default=[128, 256] + ([512] if cuda else []))
    p.add_argument("--steps", type=int, default=8, help="L-BFGS loss evaluations per run")
    p.add_argument("--repeats", type=int, default=2, help="interleaved runs; the best is kept")
    p.add_argument("--ff-size", type=int, default=512, help="image size for fast / AdaIN")
    p.add_argument("--skip-ff", action="store_true", help="only the Gatys comparison")
    args = p.parse_args(argv)
    if args.tiny:
        args.sizes, args.steps, args.repeats, args.ff_size, cuda = [32], 3, 1, 64, False
    device = torch.device("cuda" if cuda else "cpu")
    import torchvision

    print(f"device: {device}" + (f" ({torch.cuda.get_device_name()})" if cuda else
                                 f" ({torch.get_num_threads()} threads)"))
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}")
    print("NOTE: VGG-19 and AdaIN are RANDOMLY INITIALISED (their ImageNet / release weights are "
          "not downloadable here); the architectures and therefore the compute per step are the "
          "real ones, the pictures are not.")
    torch.manual_seed(0)
    vgg = torchvision.models.vgg19(weights=None).features.eval().to(device)

    print(f"\nGatys, L-BFGS, content {CONTENT_LAYERS}, style {STYLE_LAYERS}, {args.steps} steps, "
          f"best of {args.repeats}")
    print(f"{'size':>6} {'clock':>5} {'fsutils':>10} {'tutorial':>10} {'+frozen':>10} "
          f"{'speed-up':>9} {'vs frozen':>10}")
    for size in args.sizes:
        r = bench_gatys(vgg, size, args.steps, args.repeats, device)
        for i, clock in enumerate(("wall", "cpu")):
            if clock == "cpu" and device.type == "cuda":
                continue
            ours, tut, frozen = r["fsutils"][i], r["tutorial"][i], r["tutorial + frozen"][i]
            print(f"{size:>5}px {clock:>5} {ours:>8.3f}/s {tut:>8.3f}/s {frozen:>8.3f}/s "
                  f"{ours / tut:>8.2f}x {ours / frozen:>9.2f}x", flush=True)
    if device.type == "cpu":
        print("(cpu = steps per CPU-second of this process: robust when other jobs share the "
              "machine; on an idle machine it equals wall-clock x threads)")
    print("target: fsutils >= 1.5x the tutorial recipe at the same size")

    if args.skip_ff:
        return 0
    content, style = _images(args.ff_size)
    from fsutils.models.adain import adain_decoder, adain_encoder
    from fsutils.models.transformer_net import TransformerNet

    try:
        from fsutils.style.fast import fast_model

        net, origin = fast_model("candy", device), "candy weights from the registry"
    except Exception as e:  # no mirror / no network
        net, origin = TransformerNet().to(device).eval(), f"random weights ({type(e).__name__})"
    wall, cpu = bench_ms(lambda: fast_stylize(content, net), 3, device)
    print(f"\nfeed-forward TransformerNet, {args.ff_size}x{args.ff_size}: {wall:.0f} ms per image "
          f"(CPU time {cpu:.0f} ms; {origin})")
    models = (adain_encoder().to(device).eval(), adain_decoder().to(device).eval())
    wall, cpu = bench_ms(
        lambda: adain_transfer(content, style, size=args.ff_size, models=models), 3, device)
    print(f"AdaIN (random weights), {args.ff_size}x{args.ff_size} photo and painting: {wall:.0f} ms "
          f"per image (CPU time {cpu:.0f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
