"""Timing shared by the benchmark scripts (run them as ``python benchmarks/NAME.py``).

Every script takes ``--tiny``: the same code on the smallest inputs with one or two repeats, so
``tests/test_benchmarks.py`` runs each one and none can rot unseen. Tiny figures mean nothing.
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable


def wall_and_cpu_ms(fn: Callable[[], object], repeat: int,
                    sync: Callable[[], object] | None = None) -> tuple[float, float, float]:
    """Median and p90 wall-clock ms, and median CPU ms of this process (all its threads), after
    one warm-up call. ``sync`` (e.g. ``torch.cuda.synchronize``) runs after each call, inside the
    timing, so that asynchronous devices are timed to the end of their work.

    On a busy machine the wall clock includes time spent waiting for a core; the CPU time does
    not, so both are worth printing."""
    sync = sync or (lambda: None)
    fn()
    sync()
    wall, cpu = [], []
    for _ in range(max(1, repeat)):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        sync()
        wall.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    wall.sort()
    return statistics.median(wall), wall[int(0.9 * (len(wall) - 1))], statistics.median(cpu)


def parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser with the script's first docstring paragraph and ``--tiny``."""
    ap = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiny", action="store_true",
                    help="smallest inputs, fewest repeats: checks the script runs (figures mean nothing)")
    return ap
