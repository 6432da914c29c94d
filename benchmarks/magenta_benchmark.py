"""Magenta stylisation speed: the PyTorch port against the reference TensorFlow Lite interpreter
(ai-edge-litert) running the original files, on the same photo, in the same run.

    python benchmarks/magenta_benchmark.py                 # CPU, and CUDA when present
    python benchmarks/magenta_benchmark.py --repeats 3 --threads 2
    python benchmarks/magenta_benchmark.py --tiny           # one repeat, 384 px only

Rows: the style-prediction network on a 256×256 painting, and the style-transfer network on a
square photo of 384 and 768 px. The published transfer file is fixed at 384×384 (its upsampling
sizes are constants), so at 768 px the interpreter is timed on the photo's four 384-px quarters
(the same number of pixels; said in the row). Times are medians of ``--repeats`` runs after one
warm-up, network only (no image decoding or resizing); both use ``--threads`` CPU threads. The
ratio is interpreter time / port time (above 1: the port is faster). Each row also prints how
far the port's output is from the interpreter's (cosine of the style vectors, mean absolute
error of the pictures in 0..1).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fsutils import io as fio  # noqa: E402
from fsutils.style import magenta  # noqa: E402
from fsutils.weights import fetch  # noqa: E402
from timing import parser, wall_and_cpu_ms  # noqa: E402


def _median_time(fn, repeats: int, sync=None) -> float:
    """Median wall-clock seconds of ``fn`` (after a warm-up call)."""
    return wall_and_cpu_ms(fn, repeats, sync)[0] / 1e3


class _Reference:
    """The interpreter on one file, fed and read by input shape."""

    def __init__(self, Interpreter, name: str, threads: int):
        self.it = Interpreter(model_path=str(fetch(name, progress=False)), num_threads=threads)
        self.it.allocate_tensors()
        self.inputs = self.it.get_input_details()
        self.output = self.it.get_output_details()[0]["index"]

    def __call__(self, *arrays: np.ndarray) -> np.ndarray:
        for d in self.inputs:
            self.it.set_tensor(d["index"], next(a for a in arrays if a.shape[-1] == d["shape"][-1]))
        self.it.invoke()
        return self.it.get_tensor(self.output)


def main(argv=None) -> None:
    ap = parser(__doc__)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads(),
                    help="CPU threads for both (default: torch's)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[384, 768])
    args = ap.parse_args(argv)
    if args.tiny:
        args.repeats, args.sizes = 1, [384]
    torch.set_num_threads(args.threads)
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        Interpreter = None
        print("ai-edge-litert is not installed: the reference interpreter's times are skipped "
              "(pip install -r requirements-dev.txt)")

    painting = fio.load_image(fio.sample_path("starry_night_vangogh"))
    paint = np.asarray(painting.resize((256, 256), Image.Resampling.BILINEAR), np.float32)[None] / 255
    photo = fio.load_image(fio.sample_path("ccp_0100"))
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() and not args.tiny else [])
    print(f"torch {torch.__version__}, {args.threads} CPU thread(s), median of {args.repeats}")
    print(f"{'network':<34}{'device':<7}{'port ms':>10}{'interp. ms':>12}{'ratio':>8}  agreement")

    ref_pred = ref_tr = None
    if Interpreter is not None:
        ref_pred = _Reference(Interpreter, magenta.PREDICT_WEIGHTS, args.threads)
        ref_tr = _Reference(Interpreter, magenta.TRANSFER_WEIGHTS["f16"], args.threads)
    ref_vec = ref_pred(paint).reshape(1, 100) if ref_pred else None

    for dev in devices:
        sync = torch.cuda.synchronize if dev == "cuda" else None
        predictor, transfer = magenta.style_predictor(dev), magenta.transfer_network(dev)
        x = torch.from_numpy(paint).permute(0, 3, 1, 2).to(dev)
        with torch.inference_mode():
            t_port = _median_time(lambda: predictor(x), args.repeats, sync)
            vec = predictor(x).cpu().numpy()
        row = f"{'prediction, 256 px painting':<34}{dev:<7}{t_port * 1e3:>10.1f}"
        if ref_pred:
            t_ref = _median_time(lambda: ref_pred(paint), args.repeats)
            cos = float((vec @ ref_vec.T).item() / np.linalg.norm(vec) / np.linalg.norm(ref_vec))
            row += f"{t_ref * 1e3:>12.1f}{t_ref / t_port:>8.2f}  cosine {cos:.5f}"
        print(row)

        style = torch.from_numpy(ref_vec if ref_vec is not None else vec).to(dev)
        for size in args.sizes:
            img = np.asarray(photo.resize((size, size), Image.Resampling.BILINEAR),
                             np.float32)[None] / 255
            xt = torch.from_numpy(img).permute(0, 3, 1, 2).to(dev)
            with torch.inference_mode():
                t_port = _median_time(lambda: transfer(xt, style), args.repeats, sync)
                out = transfer(xt, style).permute(0, 2, 3, 1).cpu().numpy()
            label = f"transfer, {size} px photo"
            row = f"{label:<34}{dev:<7}{t_port * 1e3:>10.1f}"
            if ref_tr is not None and size == 384:
                t_ref = _median_time(lambda: ref_tr(img, ref_vec.reshape(1, 1, 1, 100)), args.repeats)
                mae = float(np.abs(out - ref_tr(img, ref_vec.reshape(1, 1, 1, 100))).mean())
                row += f"{t_ref * 1e3:>12.1f}{t_ref / t_port:>8.2f}  MAE {mae:.2e}"
            elif ref_tr is not None and size % 384 == 0:
                k = size // 384
                tiles = [img[:, i * 384:(i + 1) * 384, j * 384:(j + 1) * 384]
                         for i in range(k) for j in range(k)]
                vec4 = ref_vec.reshape(1, 1, 1, 100)
                t_ref = _median_time(lambda: [ref_tr(t, vec4) for t in tiles], args.repeats)
                row += (f"{t_ref * 1e3:>12.1f}{t_ref / t_port:>8.2f}  interpreter on {k * k} "
                        f"tiles of 384 px (its file is fixed at 384)")
            elif ref_tr is not None:
                row += f"{'n/a':>12}{'':>8}  the interpreter's file is fixed at 384 px"
            print(row)


if __name__ == "__main__":
    main()
