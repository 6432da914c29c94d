"""Google Colab: what the notebooks' setup cell installs there, checked against Colab's published
package lists (``../shared/data/colab/``), the constraints file that ``.ci/colab`` installs, and —
run by ``.ci/colab`` — that the environment the notebook and panel tests ran in is Colab's.

The install list has one source, pyproject.toml's ``dependencies`` (:func:`fsutils.env.requirements`);
:func:`fsutils.env.missing_requirements` compares it with what a machine has.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import fsutils
from fsutils import env
from tools.colab_env import parse_freeze

ROOT = Path(__file__).resolve().parent.parent
COLAB_DIR = ROOT.parent / "shared" / "data" / "colab"
CONSTRAINTS = ROOT / ".ci" / "colab-constraints.txt"
FREEZES = ["pip-freeze.txt", "pip-freeze.gpu.txt"]


def colab(name: str) -> dict[str, str]:
    path = COLAB_DIR / name
    if not path.is_file():
        pytest.skip(f"Colab's package list {path} is not on this machine")
    return parse_freeze(path.read_text(encoding="utf-8"))


def name_of(requirement: str) -> str:
    return canonicalize_name(Requirement(requirement).name)


def constraints() -> dict[str, tuple[str, str]]:
    """.ci/colab-constraints.txt: {name: (version, comment)}."""
    out = {}
    for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        pin, _, note = line.partition("#")
        if pin.strip():
            name, _, version = pin.strip().partition("==")
            out[canonicalize_name(name)] = (version, note.strip())
    return out


def test_the_install_list_is_pyprojects_dependencies():
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert env.requirements() == [str(Requirement(d)) for d in deps]


def test_the_freeze_reader_takes_versions_from_wheel_urls():
    freeze = parse_freeze("numpy==2.1.3\n"
                          "torch @ https://example.org/whl/cpu/torch-2.11.0%2Bcpu-cp313-cp313-"
                          "manylinux_2_28_x86_64.whl\n"
                          "jupyter_kernel_gateway @ git+https://example.org/kg@b134e99\n"
                          "Jinja2==3.1.6\n")
    assert freeze == {"numpy": "2.1.3", "torch": "2.11.0+cpu", "jinja2": "3.1.6"}


@pytest.mark.parametrize("freeze", FREEZES)
def test_on_colab_the_setup_cell_installs_what_colab_lacks_and_never_torch(freeze):
    installed = colab(freeze)
    assert installed["ipywidgets"] == "7.7.1" and "tflite" not in installed
    missing = env.missing_requirements(installed)
    # Colab lacks the TensorFlow Lite reader (Magenta, DeepLab) and has gdown 5
    assert {name_of(r) for r in missing} == {"tflite", "gdown"}, missing
    assert not {name_of(r) for r in missing} & set(env.NEVER_INSTALL)
    for req in map(Requirement, env.requirements()):     # everything else Colab already has
        if str(req) not in missing and name_of(str(req)) != "opencv-python-headless":
            assert req.specifier.contains(installed[name_of(str(req))], prereleases=True), req
    # the kit's bounds admit Colab's torch and ipywidgets: nothing to replace there
    assert env.missing_requirements(installed, ["torch>=2.1"]) == []
    assert env.missing_requirements(installed, ["ipywidgets>=7.7"]) == []


def test_missing_requirements_absent_too_old_and_any_opencv_wheel():
    reqs = ["torch>=2.1", "numpy>=1.24", "gdown>=6", "opencv-python-headless>=4.8", "tflite>=2.10"]
    installed = {"torch": "1.0", "numpy": "2.1.3", "gdown": "5.2.2", "opencv-python": "5.0.0.93"}
    assert env.missing_requirements(installed, reqs) == ["gdown>=6", "tflite>=2.10"]
    old_cv = {**installed, "opencv-python": "4.5.1.48"}
    assert "opencv-python-headless>=4.8" in env.missing_requirements(old_cv, reqs)
    assert env.missing_requirements({"Opencv_Contrib_Python": "4.14.0.94"},
                                    ["opencv-python-headless>=4.8"]) == []


def _fake_pip(monkeypatch, installed, returncode=0, output=""):
    calls = []

    def run(cmd, **kw):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, returncode, output, "")

    monkeypatch.setattr(env, "installed_versions", lambda: dict(installed))
    monkeypatch.setattr(env, "requirements", lambda: ["torch>=2.1", "torchvision>=0.16",
                                                      "numpy>=1.24", "gdown>=6", "tflite>=2.10"])
    monkeypatch.setattr(subprocess, "run", run)
    return calls


def test_install_missing_runs_pip_for_what_is_missing_only(monkeypatch, capsys):
    calls = _fake_pip(monkeypatch, {"torch": "2.11.0+cpu", "torchvision": "0.26.0+cpu",
                                    "numpy": "2.1.3", "gdown": "5.2.2"})
    assert env.install_missing() == ["gdown>=6", "tflite>=2.10"]
    assert calls == [[sys.executable, "-m", "pip", "install", "-q", "gdown>=6", "tflite>=2.10"]]
    assert "gdown>=6, tflite>=2.10" in capsys.readouterr().out


def test_install_missing_leaves_a_complete_machine_alone(monkeypatch):
    calls = _fake_pip(monkeypatch, {"torch": "2.14.1", "torchvision": "0.29.1", "numpy": "2.4.6",
                                    "gdown": "6.5.1", "tflite": "2.18.0"})
    assert env.install_missing() == [] and calls == []


def test_install_missing_never_installs_torch_and_says_what_to_do(monkeypatch):
    calls = _fake_pip(monkeypatch, {"torchvision": "0.26.0", "numpy": "2.1.3"})
    with pytest.raises(RuntimeError, match=r"torch>=2\.1.*does not install them"):
        env.install_missing()
    assert calls == []                                  # refused before anything is installed


def test_a_failed_pip_install_is_an_error_with_pips_words(monkeypatch):
    _fake_pip(monkeypatch, {"torch": "2.11.0", "torchvision": "0.26.0", "numpy": "2.1.3",
                            "gdown": "6.0"}, returncode=1,
              output="ERROR: No matching distribution found for tflite>=2.10")
    with pytest.raises(RuntimeError, match=r"(?s)pip could not install tflite.*No matching"):
        env.install_missing()


def test_colab_constraints_hold_colabs_versions():
    """.ci/colab-constraints.txt (tools/colab_env.py) pins Colab's version of everything it lists,
    except lines that say why not; the kit's requirements that Colab has are all there, and what
    Colab lacks is left to the setup cell."""
    freeze = colab("pip-freeze.txt")
    pins = constraints()
    for name, (version, note) in pins.items():
        if "not Colab's" not in note:
            assert freeze.get(name) == version, f"{name}=={version}: Colab has {freeze.get(name)}"
    for name in ("ipywidgets", "ipykernel", "ipython", "traitlets", "widgetsnbextension",
                 "numpy", "pillow", "opencv-python-headless", "scipy", "matplotlib", "gdown",
                 "jupyter-client", "nbclient", "pytest"):
        assert pins[name][0] == freeze[name], name
    for req in env.requirements():
        name = name_of(req)
        if name in env.NEVER_INSTALL:
            assert "not Colab's" in pins[name][1]           # stand-ins, and they say so
        elif name in freeze:
            assert name in pins, f"{name} (Colab has {freeze[name]}) is not in {CONSTRAINTS.name}"
        else:
            assert name not in pins, f"{name}: Colab lacks it; the setup cell installs it"


def _setup_cell(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return next("".join(c["source"]) for c in nb["cells"]
                if c["cell_type"] == "code" and "env.setup_notebook()" in "".join(c["source"]))


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")),
                         ids=lambda p: p.name)
def test_the_setup_cell_on_colab_installs_the_kit_without_deps_then_what_is_missing(
        path, monkeypatch):
    """The setup cell as IPython runs it, with Colab's module present: pip installs the kit with
    ``--no-deps`` (a shell command), then env.setup_notebook runs env.install_missing, the widget
    manager and the report, and returns the tiny mode; nothing else is installed."""
    from IPython.core.inputtransformer2 import TransformerManager

    code = TransformerManager().transform_cell(_setup_cell(path))
    events = []
    shell = types.SimpleNamespace(system=lambda cmd: events.append(("shell", cmd)))
    output = types.SimpleNamespace(enable_custom_widget_manager=lambda: events.append("widgets"))
    colab_pkg = types.ModuleType("google.colab")
    colab_pkg.output = output
    monkeypatch.setitem(sys.modules, "google.colab", colab_pkg)
    monkeypatch.setattr(env, "install_missing", lambda: events.append("install_missing"))
    monkeypatch.setattr(env, "report", lambda: events.append("report"))
    monkeypatch.setenv("FSUTILS_TINY", "1")
    cell = {"get_ipython": lambda: shell}
    exec(compile(code, path.name, "exec"), cell)
    assert events == [("shell", f'pip install -q --no-deps "{fsutils.PIP_INSTALL_URL}"'),
                      "install_missing", "widgets", "report"]
    assert cell["TINY"] is True


def test_outside_colab_the_setup_cell_installs_nothing_and_reports(monkeypatch, capsys):
    from IPython.core.inputtransformer2 import TransformerManager

    code = TransformerManager().transform_cell(_setup_cell(ROOT / "notebooks"
                                                           / "01_cloth_segmentation.ipynb"))
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr(env, "install_missing", lambda: pytest.fail("installed outside Colab"))
    monkeypatch.setenv("FSUTILS_TINY", "0")
    cell = {"get_ipython": lambda: pytest.fail("ran a shell command outside Colab")}
    exec(compile(code, "setup", "exec"), cell)
    assert cell["TINY"] is False and "device:" in capsys.readouterr().out


def test_this_environment_is_colabs():
    """Under .ci/colab (FSUTILS_COLAB_CI=1): the installed versions are the constraints file's,
    and the setup cell's install_missing added only what Colab lacks — so the notebook and panel
    tests of the same run ran on Colab's packages."""
    if os.environ.get("FSUTILS_COLAB_CI") != "1":
        pytest.skip("runs under .ci/colab only (the environment with Colab's versions)")
    import ipywidgets

    assert ipywidgets.__version__ == "7.7.1"
    installed = env.installed_versions()
    added = {name_of(r) for r in env.missing_requirements(colab("pip-freeze.txt"))}
    for name, (version, _) in constraints().items():
        if name not in added:
            assert installed.get(name) == version, f"{name} {installed.get(name)} != {version}"
    assert env.missing_requirements() == []                # the setup cell did its job
    from jupyter_client.kernelspec import KernelSpecManager

    argv = KernelSpecManager().get_kernel_spec("python3").argv    # the notebooks' kernel: here
    assert argv[0] in ("python", sys.executable), argv
    import fsutils.tflite  # noqa: F401  (Magenta and DeepLab read their networks with it)


def test_ci_runs_the_colab_step_in_its_own_environment():
    colab_sh = ROOT / ".ci" / "colab"
    assert colab_sh.is_file() and os.access(colab_sh, os.X_OK)
    for script in ("colab", "lib", "run", "setup"):
        done = subprocess.run(["bash", "-n", str(ROOT / ".ci" / script)], capture_output=True)
        assert done.returncode == 0, done.stderr
    assert "bash .ci/colab" in (ROOT / ".ci" / "run").read_text()
    text = colab_sh.read_text()
    code = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    assert "-r .ci/colab-constraints.txt" in code and "install --no-deps ." in code
    assert "env.install_missing()" in code
    assert "system-site-packages" not in code       # Colab's versions, not the main venv's
