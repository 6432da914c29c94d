"""Time of the cloth segmenters on one CCP-sized photo (550×830), measured in the same run:
the default model against ``ccp_u2netp`` (and any other registry names given).

    python benchmarks/segment_benchmark.py [--weights ccp_deeplab ccp_u2netp] [--repeat 10] [--tiny]

Prints, per model and device (CPU, and CUDA when present): its input size, the median and
90th-percentile wall-clock milliseconds of ``ClothSegmenter.predict`` (resize, network, resize
back, arg-max), the median CPU milliseconds of this process, and the ratio of its median wall
time to the first model's.
"""
from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from timing import parser, wall_and_cpu_ms
from fsutils.segment import DEFAULT_CLOTH_WEIGHTS, ClothSegmenter

PHOTO = Path(__file__).resolve().parent.parent / "fsutils" / "assets" / "samples" / "people" / "ccp_0001.jpg"


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--weights", nargs="+", default=[DEFAULT_CLOTH_WEIGHTS, "ccp_u2netp"])
    p.add_argument("--repeat", type=int, default=10)
    args = p.parse_args(argv)
    if args.tiny:  # both bundled models, one timed call each
        args.repeat = 1
    photo = Image.open(PHOTO).convert("RGB").resize((550, 830), Image.BILINEAR)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() and not args.tiny else [])
    print(f"photo {photo.width}x{photo.height}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU threads")
    for dev in devices:
        base = None
        for name in dict.fromkeys(args.weights):
            seg = ClothSegmenter(name, device=dev, verbose=False)

            med, p90, cpu = wall_and_cpu_ms(lambda: seg.predict(photo), args.repeat,
                                            torch.cuda.synchronize if dev == "cuda" else None)
            base = base or med
            print(f"{dev:4s} {name:12s} input {seg.input_size:4d}px  median {med:7.1f} ms  "
                  f"p90 {p90:7.1f} ms  cpu {cpu:7.1f} ms  x{med / base:.2f} of {args.weights[0]}")


if __name__ == "__main__":
    main()
