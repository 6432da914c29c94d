"""The one training loop of the kit: every model (the cloth segmenter, the garment detector, the
garment-swap GAN) is a :class:`Task`, and :class:`Engine` runs any of them the same way:

- the run folder is checked writable and locked before any work (:mod:`.folder`);
- ``last.pt`` holds everything needed to go on: the task's modules (models, optimisers,
  schedules), the running average of the weights, the progress, the history, the settings and the
  state of every random generator (torch, numpy, Python's and the task's own augmentation
  generators), so a run that is interrupted and resumed trains exactly as one that never stopped;
- running the same command again resumes; a folder of another task or of other settings is
  refused, saying what differs;
- ``best.pt`` keeps the validated weights (raw or averaged) with the best value of the task's
  metric, in the metric's direction; ``history.json`` has every step's losses and every
  validation;
- Ctrl-C (or SIGTERM) finishes the step in flight, writes ``last.pt`` and stops with
  :class:`Interrupted`.
"""
from __future__ import annotations

import random
import signal
import threading
import time
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn as nn
from torch.optim.swa_utils import AveragedModel

from .config import RunConfig
from .folder import RunFolder, TrainingError

__all__ = ["Task", "Engine", "Interrupted", "fit", "ema_decay_at", "averaged", "compute_device",
           "task_of_checkpoint"]


class Interrupted(KeyboardInterrupt):
    """Training stopped by a signal after writing ``last.pt``; ``code`` is the exit status
    (130 for Ctrl-C)."""

    def __init__(self, message: str, code: int = 130):
        super().__init__(message)
        self.code = code


class Task(ABC):
    """One trainable model: its data, networks, optimisers and what one step and one validation
    are. Subclasses set :attr:`name`, :attr:`Config`, :attr:`metric` and its direction."""

    name: ClassVar[str]
    Config: ClassVar[type[RunConfig]]
    #: The key of :meth:`validate`'s row that chooses ``best.pt``.
    metric: ClassVar[str]
    higher_is_better: ClassVar[bool] = True

    def __init__(self, cfg: RunConfig):
        cfg.check()
        self.cfg = cfg

    @property
    @abstractmethod
    def total_steps(self) -> int:
        """The optimiser steps of the whole run."""

    @abstractmethod
    def build(self, device: torch.device, resuming: bool) -> None:
        """Data, networks and optimisers; ``resuming``: the weights will be loaded from
        ``last.pt``, so pretrained start weights need not be read."""

    @abstractmethod
    def modules(self) -> dict[str, Any]:
        """Everything with a state dict that ``last.pt`` keeps; ``"model"`` is the trained network."""

    def generators(self) -> dict[str, torch.Generator | np.random.Generator]:
        """The task's own random generators (augmentation, sampling), saved and restored."""
        return {}

    @abstractmethod
    def batch(self, step: int) -> Any:
        """The training batch of step ``step`` (0-based)."""

    @abstractmethod
    def step(self, batch: Any) -> dict[str, float]:
        """One optimisation step (every optimiser of the task); returns its losses."""

    @abstractmethod
    def validate(self, model: nn.Module, step: int) -> dict[str, Any]:
        """Validation figures of ``model`` (the raw or the averaged network) after ``step``
        steps; one is :attr:`metric`."""

    @abstractmethod
    def validate_due(self, step: int) -> bool:
        """Whether to validate after step ``step`` (1-based count of steps done)."""

    def check_data(self) -> None:
        """Refuse missing or malformed training data before the run folder is touched."""
        from ..data import list_ids

        list_ids(self.cfg.ccp_root)

    def after_step(self, step: int, engine: "Engine") -> None:
        """Anything the task does after a step (e.g. snapshots of the model)."""

    def upgrade(self, ckpt: dict) -> dict:
        """A checkpoint of an earlier format of this task, as the current format."""
        return ckpt

    @property
    def model(self) -> nn.Module:
        return self.modules()["model"]


def ema_decay_at(step: int, decay: float) -> float:
    """The running average's decay after ``step`` updates: ``min(decay, (1 + step) / (10 +
    step))``, so the early average follows the model instead of staying near its start weights."""
    return min(decay, (1 + step) / (10 + step))


def averaged(model: nn.Module, decay: float) -> AveragedModel:
    """torch's ``AveragedModel`` of ``model``: an exponential moving average with the warm-up of
    :func:`ema_decay_at`, buffers (BatchNorm statistics) averaged too; integer buffers copied."""
    def avg(avg_p: torch.Tensor, p: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        if not avg_p.is_floating_point():
            return p
        return avg_p.lerp(p.to(avg_p.dtype), 1 - ema_decay_at(int(n), decay))

    return AveragedModel(model, avg_fn=avg, use_buffers=True)


def compute_device(cfg: RunConfig) -> torch.device:
    """The run's device (``cfg.device``, else the best available), after setting the CPU thread
    count to ``cfg.threads`` when given."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    from ..env import device as pick_device

    return pick_device(cfg.device)


def task_of_checkpoint(ckpt: dict) -> str:
    """Which task wrote a ``last.pt`` (also for checkpoints written before it was recorded)."""
    if "task" in ckpt:
        return ckpt["task"]
    config = ckpt.get("config") or {}
    if config.get("arch") == "maskrcnn":
        return "instances"
    return "swap" if "discriminator" in ckpt else "cloth"


class Engine:
    """Runs a :class:`Task` to its end (or ``max_steps`` more steps) in ``task.cfg.out``."""

    def __init__(self, task: Task):
        self.task, self.cfg = task, task.cfg
        self.folder = RunFolder(self.cfg.out)
        self.state: dict = {"step": 0, "best": None, "history": [], "seconds": 0.0}
        self.average: AveragedModel | None = None
        self._signal: int | None = None

    # ------------------------------------------------------------------ checkpoints
    def checkpoint(self) -> dict:
        ckpt = {"format": 2, "task": self.task.name, "state": self.state,
                "config": asdict(self.cfg), "rng": self._rng_state(),
                **{k: m.state_dict() for k, m in self.task.modules().items()}}
        if self.average is not None:
            ckpt["ema"] = self.average.state_dict()
        return ckpt

    def save_last(self) -> None:
        """Write ``last.pt`` and ``history.json``."""
        self.folder.save("last.pt", self.checkpoint())
        self.folder.save_json("history.json", self.state["history"])

    def _rng_state(self) -> dict:
        own = {k: (g.get_state() if isinstance(g, torch.Generator) else g.bit_generator.state)
               for k, g in self.task.generators().items()}
        name, keys, pos, has_gauss, gauss = np.random.get_state()
        return {"torch": torch.get_rng_state(),  # tensors and plain values: torch.load's safe mode reads them
                "numpy": [name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
                "python": random.getstate(), "task": own}

    def _restore_rng(self, rng: dict) -> None:
        torch.set_rng_state(rng["torch"])
        name, keys, pos, has_gauss, gauss = rng["numpy"]
        np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
        random.setstate(rng["python"])
        for k, g in self.task.generators().items():
            if k in rng["task"]:
                if isinstance(g, torch.Generator):
                    g.set_state(rng["task"][k])
                else:
                    g.bit_generator.state = rng["task"][k]

    def _read_last(self) -> dict | None:
        from ..weights import CheckpointError, read_checkpoint

        last = self.folder.path / "last.pt"
        if not last.is_file():
            return None
        try:
            ckpt = read_checkpoint(last)
        except CheckpointError as e:
            raise TrainingError(f"{last} cannot be read ({str(e).split('. ')[0]}): it was probably "
                                "cut short. Delete it to start the run over, or copy a saved "
                                "checkpoint of this run over it, then run the command again.") from None
        if not isinstance(ckpt, dict) or "model" not in ckpt or "state" not in ckpt:
            raise TrainingError(f"{last} is not a training checkpoint of the kit; give another --out.")
        found = task_of_checkpoint(ckpt)
        if found != self.task.name:
            raise TrainingError(f"{self.folder.path} holds a {found} training, not {self.task.name}; "
                                f"resume it with `python -m fsutils.train {found} --out "
                                f"{self.folder.path} …`, or give this run another --out.")
        return ckpt

    def _compare_settings(self, saved: dict) -> None:
        """Refuse a run folder saved with other identity settings; note other changed settings."""
        now = asdict(self.cfg)
        differ = {k: (saved[k], now[k]) for k in now
                  if k in saved and k not in self.cfg.CONTROL and saved[k] != now[k]}
        fixed = {k: v for k, v in differ.items() if k in self.cfg.IDENTITY}
        if fixed:
            what = ", ".join(f"{k}={a!r} (now {b!r})" for k, (a, b) in fixed.items())
            raise TrainingError(f"{self.folder.path} holds a run trained with {what}; resume it "
                                "with the same settings, or give this run another --out.")
        if differ:
            print("resuming with changed settings: "
                  + ", ".join(f"{k} {a!r} → {b!r}" for k, (a, b) in differ.items()), flush=True)

    def _resume(self, ckpt: dict) -> None:
        ckpt = self.task.upgrade(ckpt)
        self._compare_settings(ckpt.get("config") or {})
        for k, m in self.task.modules().items():
            if k in ckpt:
                m.load_state_dict(ckpt[k])
        state = dict(ckpt["state"])
        state.setdefault("step", state.get("global_step", 0))
        state.setdefault("seconds", 0.0)
        if state.get("best") in (-1.0, float("inf")):
            state["best"] = None
        self.state = {k: state[k] for k in ("step", "best", "history", "seconds")}
        if self.average is not None and ckpt.get("ema") is not None:
            sd = ckpt["ema"]
            if "n_averaged" not in sd:  # a plain state dict of the averaged network
                self.average.module.load_state_dict(sd)
                self.average.n_averaged.fill_(max(1, self.state["step"]))
            else:
                self.average.load_state_dict(sd)
        if ckpt.get("rng"):
            self._restore_rng(ckpt["rng"])

    # ------------------------------------------------------------------ validation
    def _better(self, value: float) -> bool:
        best = self.state["best"]
        return best is None or (value > best if self.task.higher_is_better else value < best)

    def validate(self) -> dict:
        """Validate the weights (and their average); keep the better as ``best.pt``."""
        t0 = time.time()
        row: dict = {"step": self.state["step"]}
        candidates = {"raw": self.task.model}
        if self.average is not None:
            candidates["ema"] = self.average.module
        for which, model in candidates.items():
            figures = self.task.validate(model, self.state["step"])
            suffix = "" if which == "raw" else "_ema"
            row.update({k if k == "epoch" else f"{k}{suffix}": v for k, v in figures.items()})
            value = figures[self.task.metric]
            if self._better(value):
                self.state["best"] = value
                self.folder.save("best.pt", {"model": model.state_dict(), "weights": which,
                                             "task": self.task.name,
                                             "state": {"step": self.state["step"],
                                                       self.task.metric: value},
                                             "config": asdict(self.cfg)})
        row["seconds"] = round(time.time() - t0, 1)
        row["time"] = time.time()
        self.state["history"].append(row)
        shown = " ".join(f"{k}={v:.4f}" for k, v in row.items()
                         if isinstance(v, float) and k not in ("time", "seconds"))
        print(f"step {row['step']} ({time.strftime('%H:%M:%S')}, {row['seconds']:.0f} s): {shown}",
              flush=True)
        return row

    # ------------------------------------------------------------------ the loop
    def run(self) -> dict:
        """Train (or resume) until the task's last step or ``max_steps`` more; returns a summary."""
        self.task.check_data()
        with self.folder, self._signals():
            dev = compute_device(self.cfg)
            ckpt = self._read_last()
            torch.manual_seed(self.cfg.seed)
            random.seed(self.cfg.seed)
            np.random.seed(self.cfg.seed)
            self.task.build(dev, resuming=ckpt is not None)
            if self.cfg.ema_decay:
                self.average = averaged(self.task.model, self.cfg.ema_decay)
            if ckpt is not None:
                self._resume(ckpt)
            self._loop()
        return self.summary()

    def _loop(self) -> None:
        from tqdm.auto import tqdm

        cfg, state, total = self.cfg, self.state, self.task.total_steps
        stop = total if cfg.max_steps is None else min(total, state["step"] + cfg.max_steps)
        last_save = time.monotonic()
        with tqdm(total=total, initial=state["step"], desc=self.task.name,
                  disable=not cfg.progress) as bar:
            while state["step"] < stop:
                t0 = time.perf_counter()
                losses = self.task.step(self.task.batch(state["step"]))
                if self.average is not None:
                    self.average.update_parameters(self.task.model)
                seconds = time.perf_counter() - t0
                state["step"] += 1
                state["seconds"] += seconds
                state["history"].append({"step": state["step"], **losses, "seconds": round(seconds, 3)})
                bar.update(1)
                bar.set_postfix({k: f"{v:.3g}" for k, v in list(losses.items())[:3]}, refresh=False)
                step = state["step"]
                if self.task.validate_due(step) or step == stop:
                    self.validate()
                self.task.after_step(step, self)
                due = (cfg.checkpoint_every and step % cfg.checkpoint_every == 0) or (
                    cfg.checkpoint_minutes is not None
                    and time.monotonic() - last_save >= 60 * cfg.checkpoint_minutes)
                if due or step == stop or self._signal is not None:
                    self.save_last()
                    last_save = time.monotonic()
                if self._signal is not None:
                    name = signal.Signals(self._signal).name
                    raise Interrupted(f"{name}: stopped after step {step}; {self.folder.path / 'last.pt'} "
                                      "is saved, run the same command to resume.", 128 + self._signal)

    @contextmanager
    def _signals(self):
        """Ctrl-C and SIGTERM ask the loop to stop after the step in flight (a second Ctrl-C
        stops at once); only in the main thread, where Python delivers signals."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def ask(signum, frame):
            if self._signal is not None and signum == signal.SIGINT:
                raise KeyboardInterrupt
            self._signal = signum

        old = {s: signal.signal(s, ask) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, h in old.items():
                signal.signal(s, h)

    def summary(self) -> dict:
        steps = [r for r in self.state["history"] if "seconds" in r and self.task.metric not in r]
        return {"task": self.task.name, "steps": self.state["step"], "metric": self.task.metric,
                "best": self.state["best"], "out": str(self.folder.path),
                "seconds_per_step": self.state["seconds"] / max(1, len(steps))}


def fit(task: Task) -> dict:
    """Train ``task`` (resuming its run folder) and return the summary."""
    return Engine(task).run()
