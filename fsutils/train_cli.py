"""The command line of ``python -m fsutils.train`` (the trainers are :mod:`fsutils.train`, the
garment instances' :mod:`fsutils.instances.training` and the garment swap's
:mod:`fsutils.swap.train`): one option per training setting, each number range-checked
(:mod:`fsutils.args`), so a bad value stops the command with exit status 2 before any work."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .args import Parser, add_config_arguments, device, number, whole

__all__ = ["main"]

_HELP = {
    "out": "run folder: last.pt, best.pt, history.json (an existing run resumes)",
    "arch": "deeplab (DeepLabV3-MobileNetV2 from COCO/VOC, the default model's recipe), u2netp, or "
            "maskrcnn (garment instances: Mask R-CNN on the ccp_deeplab backbone; its own defaults "
            "for every option not given)",
    "init": "start weights (default: the architecture's pretrained file: the DeepLab TFLite file, "
            "or the saliency u2netp), or a cloth checkpoint of the same architecture to continue",
    "backbone_lr_factor": "the pretrained backbone learns at lr times this (e.g. 0.25)",
    "dropout": "DeepLab: dropout probability before the logits",
    "size": "square training input size in pixels",
    "warmup_steps": "linear learning-rate warm-up steps before the cosine decay",
    "dice_weight": "weight of the soft Dice term on the fused output (0 = cross-entropy only)",
    "precision": "auto (bf16 on CPUs with native bf16, fp16 on CUDA), fp32, bf16 or fp16",
    "val_every": "validate every N epochs (and after the last)",
    "val_every_steps": "maskrcnn: validate (segm AP50) every N steps",
    "augment": "default, strong (small crops, strong jitter) or context (crops keep most of the figure)",
    "ema_decay": "keep an exponential moving average of the weights (e.g. 0.998); it is validated "
                 "and saved as best.pt",
    "checkpoint_every": "write last.pt every N steps",
    "max_steps": "stop after N steps (quick checks)",
    "threads": "CPU threads for torch",
}


#: The range of each number of the command line (:mod:`fsutils.args`: refused with exit status 2
#: before any work), and the type of the options whose default is None.
_TYPES = {"init": str, "size": whole(16), "epochs": whole(1), "batch_size": whole(1),
          "lr": number(low=0, low_ok=False), "weight_decay": number(low=0),
          "backbone_lr_factor": number(low=0), "dropout": number(low=0, high=1),
          "warmup_steps": whole(0), "dice_weight": number(low=0), "val_every": whole(1),
          "val_every_steps": whole(0), "ema_decay": number(low=0, high=1),
          "checkpoint_every": whole(1), "max_steps": whole(1), "max_train_images": whole(1),
          "max_val_images": whole(1), "seed": whole(0), "device": device, "threads": whole(1)}


def _parser() -> argparse.ArgumentParser:
    from . import train as cloth

    p = Parser(prog="python -m fsutils.train", description=cloth.__doc__,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ccp-root", required=True)
    add_config_arguments(
        p, cloth.TrainConfig(ccp_root=""),
        ("out", "arch", "init", "size", "epochs", "batch_size", "lr", "weight_decay",
         "backbone_lr_factor", "dropout", "warmup_steps", "dice_weight", "precision", "val_every",
         "val_every_steps", "augment", "ema_decay", "checkpoint_every", "max_steps",
         "max_train_images", "max_val_images", "seed", "device", "threads"),
        _HELP, _TYPES)
    p.add_argument("--class-weights", type=lambda t: tuple(float(v) for v in t.split(",")), default=None,
                   metavar="W0,W1,W2,W3", help="cross-entropy weights of the 4 classes, e.g. 1,2,2,2")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--export", metavar="DEST", help="after training, export best.pt as fp16 to DEST")
    return p


def _wants_cagan(argv: list[str]) -> bool:
    return "--arch=cagan" in argv or any(a == "--arch" and b == "cagan" for a, b in zip(argv, argv[1:]))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if _wants_cagan(argv):  # the garment-swap GAN has its own trainer and flags
        from .swap.train import main as train_cagan
        return train_cagan(argv)
    parser = _parser()
    if parser.parse_known_args(argv)[0].arch == "maskrcnn":
        from .instances.training import MASKRCNN_DEFAULTS
        parser.set_defaults(**MASKRCNN_DEFAULTS)
    args = vars(parser.parse_args(argv))
    export = args.pop("export")
    args["progress"] = not args.pop("no_progress")
    from . import train as cloth

    summary = cloth.train(cloth.TrainConfig(**args))
    print(json.dumps(summary))
    if export:
        print("exported", cloth.export_half(Path(summary["out"]) / "best.pt", export))
    return 0
