"""Training settings that describe themselves: each field of a task's configuration carries its
help text, its command-line type (a range-checking type of :mod:`fsutils.args`, so a bad value is
refused before any work) and its older spellings, so the command line is generated from the
dataclass and nothing is restated by hand."""
from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any, ClassVar

from ..args import device, number, whole

__all__ = ["param", "RunConfig", "add_arguments", "config_from_args", "MAX_SIZE"]

#: The largest training input side (pixels) any task accepts: bigger ones would allocate tens of
#: gigabytes for the photos alone before the first step.
MAX_SIZE = 1024


def param(default: Any, help: str, type: Callable[[str], Any] | None = None,
          aliases: Iterable[str] = (), cli: bool = True) -> Any:
    """A settings field: ``default``, the ``--flag``'s ``help`` and ``type`` (else the default's
    type), older spellings in ``aliases``; ``cli=False`` keeps it off the command line."""
    meta = {"help": help, "type": type, "aliases": tuple(aliases), "cli": cli}
    return field(default=default, metadata=meta)


@dataclass
class RunConfig:
    """What every training run has: its data, folder, length, checkpoints, randomness and device."""

    ccp_root: str = param("", "the Clothing Co-Parsing folder (photos/, annotations/, label_list.mat)")
    out: str = param("runs/train", "run folder: last.pt, best.pt, history.json (an existing run resumes)")
    max_steps: int | None = param(None, "stop after N more steps in this call (quick checks; the "
                                  "run resumes from there)", whole(1))
    checkpoint_every: int | None = param(None, "write last.pt every N steps", whole(1))
    checkpoint_minutes: float | None = param(None, "write last.pt at least this often (minutes; "
                                             "0: after every step)", number(low=0))
    ema_decay: float | None = param(None, "keep a running average of the weights with this decay "
                                    "(e.g. 0.999); it is validated beside them and best.pt keeps "
                                    "whichever is better", number(low=0, high=1, high_ok=False))
    seed: int = param(0, "seed of every random generator of the run", whole(0))
    device: str | None = param(None, "cpu, cuda, cuda:N or mps (default: best available)", device)
    threads: int | None = param(None, "CPU threads for torch", whole(1))
    progress: bool = param(True, "show a progress bar", cli=False)

    #: Settings that change what is trained: a run folder saved with other values is refused.
    IDENTITY: ClassVar[tuple[str, ...]] = ()
    #: Settings that only steer this call (never compared on resume).
    CONTROL: ClassVar[tuple[str, ...]] = ("ccp_root", "out", "max_steps", "checkpoint_every",
                                "checkpoint_minutes", "device", "threads", "progress")

    def check(self) -> None:
        """Refuse settings that cannot work together (the types checked each value alone)."""


def _cli_fields(cls: type) -> list[Field]:
    return [f for f in fields(cls) if f.metadata.get("cli", True) and f.name != "ccp_root"]


def add_arguments(p: argparse.ArgumentParser, cls: type, defaults: dict[str, Any] | None = None) -> None:
    """One ``--option`` per command-line field of the settings class ``cls`` (see :func:`param`)."""
    p.add_argument("--ccp-root", required=True, help=cls.__dataclass_fields__["ccp_root"].metadata["help"])
    for f in _cli_fields(cls):
        default = (defaults or {}).get(f.name, _default(f))
        kind = f.metadata.get("type") or (type(default) if default is not None else int)
        p.add_argument("--" + f.name.replace("_", "-"), *f.metadata.get("aliases", ()), dest=f.name,
                       type=kind, default=default, help=f.metadata.get("help"))
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")


def _default(f: Field) -> Any:
    return None if f.default is MISSING else f.default


def config_from_args(cls: type, args: argparse.Namespace) -> Any:
    """The settings object of the parsed command line."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in vars(args).items() if k in names})
