"""``python -m fsutils.train {cloth,instances,swap} …``: one subcommand per training task, its
options generated from the task's settings (:mod:`.config`), every number range-checked, so a bad
value stops the command with exit status 2 before any work. The spellings of earlier versions
(``--arch deeplab|u2netp``, ``--arch maskrcnn``, ``--arch cagan``) still work."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..args import Parser
from .config import add_arguments, config_from_args

__all__ = ["main", "build_parser", "TASKS"]

#: Subcommand → (module, task class name, one-line description).
TASKS = {
    "cloth": ("fsutils.training.cloth", "ClothTask",
              "the 4-class cloth segmenter (DeepLabV3-MobileNetV2 or U2NETP)"),
    "instances": ("fsutils.training.instances", "InstancesTask",
                  "the garment instance detector (Mask R-CNN on the ccp_deeplab backbone)"),
    "swap": ("fsutils.training.swap", "SwapTask", "the garment-swap generator (CAGAN)"),
}
#: Earlier spellings: ``--arch X`` without a subcommand.
_OLD_ARCH = {"maskrcnn": "instances", "cagan": "swap"}


def task_class(name: str) -> type:
    import importlib

    module, cls, _ = TASKS[name]
    return getattr(importlib.import_module(module), cls)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m fsutils.train", formatter_class=argparse.RawDescriptionHelpFormatter,
               description="Train the kit's models on Clothing Co-Parsing. Running the same "
                           "command again resumes the run from its folder's last.pt; Ctrl-C "
                           "saves last.pt and stops.")
    sub = p.add_subparsers(dest="task", required=True, metavar="{" + ",".join(TASKS) + "}",
                           parser_class=Parser)
    for name, (_, _, what) in TASKS.items():
        task = task_class(name)
        s = sub.add_parser(name, help=what, description=task.__module__ and
                           sys.modules[task.__module__].__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        add_arguments(s, task.Config)
        s.add_argument("--export", metavar="DEST",
                       help="after training, write best.pt's model as half precision to DEST")
    return p


def normalise(argv: list[str]) -> list[str]:
    """The earlier spellings as subcommands: ``--arch maskrcnn`` → ``instances …``, ``--arch
    cagan`` → ``swap …``, anything else without a subcommand → ``cloth …`` (keeping ``--arch``)."""
    if argv and (argv[0] in TASKS or argv[0] in ("-h", "--help")):
        return argv
    arch, rest, skip = None, [], False
    for k, a in enumerate(argv):
        if skip:
            skip = False
            continue
        if a == "--arch" and k + 1 < len(argv):
            arch, skip = argv[k + 1], True
        elif a.startswith("--arch="):
            arch = a.split("=", 1)[1]
        else:
            rest.append(a)
    if arch in _OLD_ARCH:
        return [_OLD_ARCH[arch], *rest]
    return ["cloth", *rest] + (["--arch", arch] if arch else [])


def main(argv: list[str] | None = None) -> int:
    from ..data import CCPError
    from .engine import Interrupted, fit
    from .folder import TrainingError

    argv = normalise(sys.argv[1:] if argv is None else list(argv))
    parser = build_parser()
    args = parser.parse_args(argv)
    sub = parser._subparsers._group_actions[0].choices[args.task]  # noqa: SLF001
    task_cls = task_class(args.task)
    try:
        task = task_cls(config_from_args(task_cls.Config, args))
    except ValueError as e:  # settings that cannot work together: before any work
        sub.error(str(e))
    try:
        summary = fit(task)
    except (TrainingError, CCPError) as e:
        print(f"{sub.prog}: error: {e}", file=sys.stderr)
        return 2
    except Interrupted as e:
        print(str(e), file=sys.stderr)
        return e.code
    print(json.dumps(summary))
    if args.export:
        from .export import export_half

        print("exported", export_half(Path(summary["out"]) / "best.pt", args.export))
    return 0
