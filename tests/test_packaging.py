"""Packaging: requirement lists in step, one repository URL, CI scripts, and a wheel that carries
the bundled assets (what `pip install "git+…"` on Colab gets)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import fsutils
from fsutils import weights

ROOT = Path(__file__).resolve().parent.parent


def requirements(name: str) -> dict[str, str]:
    out = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            m = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(.*)", line)
            out[m.group(1).lower()] = m.group(2).replace(" ", "")
    return out


def test_requirements_are_lower_bounds_only():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for pkg, spec in requirements(name).items():
            assert not re.search(r"==|<|~=|!=", spec), f"{name}: {pkg}{spec} is a pin/upper bound"
    runtime = requirements("requirements.txt")
    for pkg in ("torch", "torchvision", "jupyterlab", "ipywidgets", "matplotlib", "numpy",
                "pillow", "gdown", "tqdm", "scipy", "opencv-python-headless"):
        assert pkg in runtime, pkg
    assert runtime["gdown"] == ">=6"
    dev = requirements("requirements-dev.txt")
    for pkg in ("pytest", "pytest-timeout", "nbclient", "nbformat", "ipykernel", "voila",
                "playwright"):
        assert pkg in dev, pkg


def test_pyproject_dependencies_match_requirements():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = requirements("requirements.txt")
    for dep in project["dependencies"]:
        pkg, spec = re.fullmatch(r"([A-Za-z0-9_.\-]+)(.*)", dep.replace(" ", "")).groups()
        assert runtime.get(pkg.lower()) == spec, f"{dep} differs from requirements.txt"
    assert set(runtime) - {p.split(">")[0].lower() for p in project["dependencies"]} == {"jupyterlab"}


def test_repository_url_lives_in_one_place():
    assert fsutils.REPO_URL.endswith(fsutils.REPO_SLUG)
    assert fsutils.PIP_INSTALL_URL == f"git+{fsutils.REPO_URL}"
    assert fsutils.REPO_URL in (ROOT / "README.md").read_text()  # the documented install line
    assert fsutils.REPO_SLUG not in (ROOT / "pyproject.toml").read_text()


def test_readme_two_commands_and_ci_scripts():
    readme = (ROOT / "README.md").read_text()
    assert "bash .ci/main" in readme and "bash .ci/run" in readme and "python -m pytest" in readme
    for script in ("run", "main", "setup"):
        path = ROOT / ".ci" / script
        assert path.is_file() and os.access(path, os.X_OK), path
    run = (ROOT / ".ci" / "run").read_text()
    assert "python -m pytest" in run and ". .ci/setup" in run
    code = [ln for ln in (ROOT / ".ci" / "setup").read_text().splitlines()
            if not ln.lstrip().startswith("#")]
    assert not any("playwright install" in ln for ln in code)  # it would download a browser
    result = subprocess.run(["bash", "-n", str(ROOT / ".ci" / "setup")], capture_output=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_wheel_contains_the_package_and_its_assets(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "requirements-dev.txt"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "fsutils", src / "fsutils",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(src)], capture_output=True, text=True, timeout=540)
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = out.glob("fsutils-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "fsutils/weights/__init__.py" in names and "fsutils/models/u2net.py" in names
    assert "fsutils/assets/samples/CREDITS.md" in names
    shipped = {n for n in names if n.startswith("fsutils/assets/samples/")}
    assert len(shipped) == 1 + 6 + 11 + 6  # credits, photos, paintings, the photos' annotations
    # every bundled checkpoint of the registry ships, and nothing else heavy does
    bundled = {f"fsutils/assets/{s.path}" for w in weights.REGISTRY.values() for s in w.sources
               if isinstance(s, weights.Bundled)}
    assert bundled >= {"fsutils/assets/ccp_deeplab.pth", "fsutils/assets/u2netp_fp16.pth",
                       "fsutils/assets/tflite/style_predict_quantized_256.tflite",
                       "fsutils/assets/tflite/style_transfer_f16_384.tflite"}
    assert bundled <= names
    sizes = {i.filename: i.file_size for i in zipfile.ZipFile(wheel).infolist()}
    assert sum(sizes[n] for n in bundled) < 30_000_000
    heavy = {n for n, size in sizes.items() if size > 1_000_000}
    assert heavy <= bundled, heavy - bundled
    assert wheel.stat().st_size < 45_000_000


DEFAULT_RUN = {"ccp_deeplab", "u2netp", "tflite/style_predict_quantized_256",
               "tflite/style_transfer_f16_384"}


def test_bundled_weights_stay_small_and_are_all_hash_checked():
    """What the package carries: each bundled file is checked by a hash (its own or its
    entry's); the default run's files stay small, and so does the lot (with the instance model)."""
    total, default_run = 0, 0
    for w in weights.REGISTRY.values():
        for s in w.sources:
            if isinstance(s, weights.Bundled):
                assert s.sha256 or w.sha256, w.name
                assert s.file.is_file() and s.file.stat().st_size == (s.size or w.size), w.name
                total += s.file.stat().st_size
                default_run += s.file.stat().st_size if w.name in DEFAULT_RUN else 0
    assert 5_000_000 < default_run < 13_000_000  # ccp_deeplab, u2netp, Magenta: about 10 MB
    assert total < 30_000_000
