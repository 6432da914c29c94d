"""Every benchmark script runs in its tiny mode (``--tiny``), so none can rot unseen.

The figures a tiny run prints mean nothing; each test checks the script ran to its last line.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"

# script → a phrase of the line it prints last (the end of its report)
LAST_LINES = {
    "blend_benchmark.py": "compose poisson",
    "pipeline_benchmark.py": "slider latency",
    "segment_benchmark.py": "ccp_maskrcnn",
    "style_benchmark.py": "AdaIN (random weights)",
    "magenta_benchmark.py": "transfer, 384 px photo",
    "batch_benchmark.py": "skip_pps=",
    "click_benchmark.py": "a click at",
    "preserve_color_benchmark.py": "test histogram",
}

NEEDS = {"preserve_color_benchmark.py": ("fast_style/candy",),
         "magenta_benchmark.py": ("tflite/style_predict_quantized_256",
                                  "tflite/style_transfer_f16_384"),
         "batch_benchmark.py": ("u2netp", "tflite/style_predict_quantized_256",
                                "tflite/style_transfer_f16_384")}


def _run(script: str, timeout: float = 240, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, str(BENCH / script), "--tiny", *args], cwd=ROOT,
                          env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{script} --tiny failed:\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout


def test_every_benchmark_is_covered():
    scripts = {p.name for p in BENCH.glob("*_benchmark.py")}
    assert scripts == set(LAST_LINES) | {"panel_latency_benchmark.py"}


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(LAST_LINES))
def test_benchmark_tiny_mode_runs(script, weights_path):
    for name in NEEDS.get(script, ()):
        weights_path(name)  # the real models come from the mirror or the package (else a skip)
    out = _run(script)
    last = [line for line in out.splitlines() if line.strip()][-1]
    assert LAST_LINES[script] in last, out


def test_every_benchmark_uses_the_shared_timing():
    for path in BENCH.glob("*_benchmark.py"):
        text = path.read_text()
        assert "from timing import" in text, f"{path.name} does not use benchmarks/timing.py"
        assert "argparse.ArgumentParser(" not in text, f"{path.name} builds its own parser (no --tiny)"


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.timeout(600)
def test_panel_latency_benchmark_tiny_mode_runs(weights_path):
    weights_path("u2netp"), weights_path("fast_style/candy")
    out = _run("panel_latency_benchmark.py", timeout=540)
    assert "ratio panel / baseline" in out, out


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.timeout(900)
def test_panel_latency_benchmark_drag_tiny_mode_prints_its_last_line(weights_path):
    weights_path("u2netp"), weights_path("fast_style/candy")
    out = _run("panel_latency_benchmark.py", 840, "--drag", "--lab")
    last = [line for line in out.splitlines() if line.strip()][-1]
    assert re.fullmatch(r"drag_fps=\S+ release_ms_lab=\S+ release_ms_voila=\S+ kernel_ms=\S+",
                        last), out
    assert "nan" not in last and "round trip" in out, out
