"""Timing shared by the benchmark scripts (run them as ``python benchmarks/NAME.py``)."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def wall_and_cpu_ms(fn: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """Median and p90 wall-clock ms, and median CPU ms of this process (all its threads), after
    one warm-up call.

    On a busy machine the wall clock includes time spent waiting for a core; the CPU time does
    not, so both are worth printing."""
    fn()
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    wall.sort()
    return statistics.median(wall), wall[int(0.9 * (len(wall) - 1))], statistics.median(cpu)
