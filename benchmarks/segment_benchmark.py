"""Time of the segmenters on one CCP-sized photo (550×830), measured in the same run: the
default cloth model against ``ccp_u2netp`` (and any other registry names given), and the garment
instance detector ``ccp_maskrcnn``.

    python benchmarks/segment_benchmark.py [--weights ccp_deeplab ccp_u2netp]
        [--instance-weights ccp_maskrcnn] [--repeat 10] [--tiny]

Prints, per model and device (CPU, and CUDA when present): its input size, the median and
90th-percentile wall-clock milliseconds of ``ClothSegmenter.predict`` (resize, network, resize
back, arg-max) or ``InstanceSegmenter.predict`` (resize to the detector's short side, proposals,
boxes and masks, masks pasted back at the photo's size), the median CPU milliseconds of this
process, and the ratio of its median wall time to the first cloth model's.
"""
from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from timing import parser, wall_and_cpu_ms
from fsutils.instances import DEFAULT_INSTANCE_WEIGHTS, InstanceSegmenter
from fsutils.segment import DEFAULT_CLOTH_WEIGHTS, ClothSegmenter

PHOTO = Path(__file__).resolve().parent.parent / "fsutils" / "assets" / "samples" / "people" / "ccp_0001.jpg"


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--weights", nargs="+", default=[DEFAULT_CLOTH_WEIGHTS, "ccp_u2netp"])
    p.add_argument("--instance-weights", default=DEFAULT_INSTANCE_WEIGHTS,
                   help="the garment instance detector timed after the cloth models")
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
        sync = torch.cuda.synchronize if dev == "cuda" else None
        for name in dict.fromkeys(args.weights):
            seg = ClothSegmenter(name, device=dev, verbose=False)
            med, p90, cpu = wall_and_cpu_ms(lambda: seg.predict(photo), args.repeat, sync)
            base = base or med
            print(f"{dev:4s} {name:12s} input {seg.input_size:4d}px  median {med:7.1f} ms  "
                  f"p90 {p90:7.1f} ms  cpu {cpu:7.1f} ms  x{med / base:.2f} of {args.weights[0]}")
        det = InstanceSegmenter(args.instance_weights, device=dev)
        med, p90, cpu = wall_and_cpu_ms(lambda: det.predict(photo), args.repeat, sync)
        side = min(det.model.transform.min_size)
        print(f"{dev:4s} {args.instance_weights:12s} short {side:4d}px  median {med:7.1f} ms  "
              f"p90 {p90:7.1f} ms  cpu {cpu:7.1f} ms  x{med / base:.2f} of {args.weights[0]} "
              "(instances)")


if __name__ == "__main__":
    main()
