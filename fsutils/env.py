"""Where the kit runs: Colab or not, which device, and defaults that suit it.

- :func:`device` — CUDA, then Apple MPS, then CPU; ``FSUTILS_DEVICE=cpu|cuda|cuda:1|mps`` or the
  ``prefer`` argument overrides the choice; :func:`check_device` checks a name a user typed.
- :func:`report` — one call that prints torch/torchvision versions, the device and the GPU, and on
  Colab without a GPU how to switch the runtime type.
- :func:`tiny_mode` — ``FSUTILS_TINY=1``: notebooks and the main job use tiny sizes and iteration
  counts so that headless test runs finish in seconds.
- :func:`default_style_size`, :func:`default_work_size`, :func:`default_gatys_steps` — CPU-aware
  working resolutions and iteration counts.
- :func:`needs_weights` — for notebook cells that need a checkpoint this machine may not be able
  to obtain: a short message instead of a traceback, and the notebook carries on;
  :func:`weights_message` is that message, for panels that catch the error themselves.
- :func:`number_setting` — a number from an environment variable (``FSUTILS_MAX_PIXELS``,
  ``FSUTILS_DOWNLOAD_TIMEOUT`` …), or a :class:`SettingError` that names the variable and the
  values it takes.
- :func:`check_settings` — every environment setting of the kit checked at once (the command
  lines call it before any work): numbers, folders, the device and the on/off switches.
- :func:`install_missing` — on Colab, after the kit was installed with ``--no-deps``: ``pip
  install`` of those of the kit's requirements (pyproject.toml's ``dependencies``) that the
  machine lacks or has too old (:func:`missing_requirements`), never torch or torchvision.
- :func:`setup_notebook` — the one call of every notebook's setup cell, after installing the kit.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from .settings import (_FALSE, _TRUE, SettingError, check_device, device,
                       number_setting)

__all__ = ["is_colab", "device", "check_device", "report", "tiny_mode", "default_style_size",
           "default_work_size", "default_gatys_steps", "needs_weights", "weights_message",
           "number_setting", "SettingError", "check_settings", "requirements", "installed_versions",
           "missing_requirements", "install_missing", "NEVER_INSTALL", "setup_notebook"]

#: The on/off switches of the kit: ``FSUTILS_TINY`` (tiny sizes for test runs) and
#: ``FSUTILS_OFFLINE`` (no download is tried).
SWITCHES = ("FSUTILS_TINY", "FSUTILS_OFFLINE")
COLAB_GPU_HINT = ("No GPU in this Colab session: everything runs on the CPU and style transfer is "
                  "slow. Switch with Runtime → Change runtime type → Hardware accelerator: GPU "
                  "(e.g. T4), then run the notebook again from the top.")


def _weights_dir_problem(text: str) -> str | None:
    """Why ``$FSUTILS_WEIGHTS_DIR`` cannot be the weights cache (it or a folder above it is a
    file), or None; a folder that does not exist yet is fine (it is created when needed)."""
    path = Path(text).expanduser().absolute()
    for p in (path, *path.parents):
        if p.exists():
            if p.is_dir():
                return None
            return "it is a file" if p == path else f"{p} above it is a file"
    return None


def check_settings(*, device_setting: bool = True) -> None:
    """Check every environment setting of the kit before any work, raising :class:`SettingError`
    (one line naming the variable and what it takes) for the first that cannot be used: the
    numbers (``FSUTILS_MAX_PIXELS``, ``FSUTILS_DOWNLOAD_TIMEOUT``, ``FSUTILS_DOWNLOAD_RETRIES``),
    the folders (``FSUTILS_WEIGHTS_DIR`` must be a folder or not exist yet,
    ``FSUTILS_WEIGHTS_MIRROR`` an existing folder), the switches of :data:`SWITCHES` (1, true,
    yes, on or 0, false, no, off) and, with ``device_setting`` (leave it out when a device was
    given on the command line, which wins), ``FSUTILS_DEVICE``."""
    from fsutils import io as fio
    from fsutils.user_names import shown
    from fsutils.weights import download_settings

    fio.max_pixels_setting()
    download_settings()
    cache = os.environ.get("FSUTILS_WEIGHTS_DIR", "")
    why = _weights_dir_problem(cache) if cache else None
    if why:
        raise SettingError(f"FSUTILS_WEIGHTS_DIR={cache!r} is not usable: {shown(why)}; it "
                           "takes the folder where downloaded weights are kept (created if "
                           "missing): point it at a folder, or unset it for the default.")
    mirror = os.environ.get("FSUTILS_WEIGHTS_MIRROR", "")
    if mirror:
        import warnings

        from fsutils.weights.store import mirror_dir

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = mirror_dir()
        if found is None:
            raise SettingError(f"FSUTILS_WEIGHTS_MIRROR={mirror!r} is not usable: it is not "
                               "a folder; it takes a folder that holds weight files (read only): "
                               "point it at one, or unset it.")
    for name in SWITCHES:
        value = os.environ.get(name, "").strip().lower()
        if value not in _TRUE | _FALSE:
            raise SettingError(f"{name}={os.environ[name]!r} is not usable: it takes 1, true, "
                               "yes or on to switch it on, 0, false, no or off (or unset) for off.")
    chosen = os.environ.get("FSUTILS_DEVICE", "").strip()
    if device_setting and chosen:
        try:
            device()
        except RuntimeError as e:
            raise SettingError(f"FSUTILS_DEVICE={chosen!r} is not usable: {e} Unset it to "
                               "use the best device available.") from None


def is_colab() -> bool:
    """True inside Google Colab (the ``google.colab`` module has been imported by the runtime)."""
    return "google.colab" in sys.modules


def _is_accelerated(dev) -> bool:
    return getattr(dev, "type", str(dev)) != "cpu"


def tiny_mode() -> bool:
    """``FSUTILS_TINY=1``: use tiny sizes and step counts (headless test runs of the notebooks)."""
    return os.environ.get("FSUTILS_TINY", "").strip().lower() in _TRUE


def default_style_size(dev=None) -> int:
    """Longest side for style transfer: 512 on a GPU, 256 on a CPU, 64 in tiny mode."""
    if tiny_mode():
        return 64
    return 512 if _is_accelerated(dev if dev is not None else device()) else 256


def default_work_size(dev=None) -> int:
    """Longest side the photo is worked on (segmentation/blending output): 1024 on a GPU, 512 on a
    CPU, 256 in tiny mode (the cloth model needs about that many pixels to find the garments)."""
    if tiny_mode():
        return 256
    return 1024 if _is_accelerated(dev if dev is not None else device()) else 512


def default_gatys_steps(dev=None) -> int:
    """Optimisation steps for Gatys style transfer: 300 on a GPU, 100 on a CPU, 3 in tiny mode."""
    if tiny_mode():
        return 3
    return 300 if _is_accelerated(dev if dev is not None else device()) else 100


def report(file=None) -> str:
    """Print (and return) versions, the device, the GPU, and on Colab without a GPU what to do."""
    import torch
    import torchvision

    dev = device()
    lines = [
        f"fsutils on Python {platform.python_version()} ({platform.system()}), "
        f"{'Google Colab' if is_colab() else 'not Colab'}",
        f"torch {torch.__version__}, torchvision {torchvision.__version__}",
        f"device: {dev}",
    ]
    if dev.type == "cuda":
        idx = dev.index if dev.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(idx)
        lines.append(f"GPU: {props.name}, {props.total_memory / 2**30:.1f} GiB")
    elif dev.type == "mps":
        lines.append("GPU: Apple Silicon (MPS)")
    else:
        lines.append(f"GPU: none (CPU with {torch.get_num_threads()} threads)")
        if is_colab():
            lines.append(COLAB_GPU_HINT)
    if tiny_mode():
        lines.append("FSUTILS_TINY is set: tiny sizes and step counts")
    lines.append(f"defaults: style size {default_style_size(dev)}, work size "
                 f"{default_work_size(dev)}")
    text = "\n".join(lines)
    print(text, file=file or sys.stdout)
    return text


def weights_message(what: str, err: BaseException, instead: str = "") -> str:
    """The one-line message for ``what`` skipped because of ``err`` (a weights error): why (the
    error's first line), what to do and, if given, ``instead`` (what still works)."""
    text = str(err).strip()
    why = text.splitlines()[0].rstrip(":") if text else type(err).__name__
    return (f"Skipped {what}: its weights could not be obtained here ({why}). To run it, use a "
            "machine with internet access (the file is downloaded once and cached) or set "
            "FSUTILS_WEIGHTS_MIRROR to a folder that holds it." + (f" {instead}" if instead else ""))


@contextlib.contextmanager
def needs_weights(what: str, *, instead: str = "") -> Iterator[None]:
    """For a notebook cell whose work needs weights that may not be obtainable here (offline, no
    mirror): a :class:`fsutils.weights.WeightsError` raised inside the ``with`` block ends the
    block with a short message (:func:`weights_message`) and the notebook goes on with its next
    cell. Any other error is raised as usual.

    >>> with env.needs_weights("Gatys style transfer", instead="The fast models below work."):
    ...     result = gatys_transfer(photo, painting)               # doctest: +SKIP
    """
    from fsutils.weights import WeightsError

    try:
        yield
    except WeightsError as err:
        print(weights_message(what, err, instead))


# ----------------------------------------------------------------- installing on Colab

#: Never installed by :func:`install_missing`: Colab (and any machine with a GPU) ships a torch
#: built for its hardware, and pip would replace it with another build.
NEVER_INSTALL = ("torch", "torchvision")
#: Distributions that install the same module as a requirement: every OpenCV wheel provides
#: ``cv2``, so Colab's ``opencv-python`` meets ``opencv-python-headless`` (a second OpenCV
#: installed over it would break both).
_SAME_MODULE = {"opencv-python-headless": ("opencv-python", "opencv-contrib-python",
                                           "opencv-contrib-python-headless")}


def _canonical(name: str) -> str:
    from packaging.utils import canonicalize_name

    return canonicalize_name(name)


def requirements() -> list[str]:
    """The kit's runtime requirements, as written in pyproject.toml's ``dependencies``: from the
    source checkout this package was imported from, else from the installed package's metadata."""
    from importlib import metadata

    from packaging.requirements import Requirement

    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    project = {}
    if pyproject.is_file():
        import tomllib

        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    if project.get("name") == "fsutils":
        reqs = project["dependencies"]
    else:
        try:
            reqs = metadata.requires("fsutils") or []
        except metadata.PackageNotFoundError:
            raise RuntimeError("fsutils is neither installed nor in a source checkout: install "
                               "it with pip to read its requirements.") from None
    out = []
    for line in reqs:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate({"extra": ""}):  # extras (dev) left out
            out.append(str(req))
    return out


def installed_versions() -> dict[str, str]:
    """Every distribution in this Python environment: canonical name → version."""
    from importlib import metadata

    return {_canonical(d.metadata["Name"]): d.version for d in metadata.distributions()
            if d.metadata["Name"]}


def _met(req, installed: Mapping[str, str]) -> bool:
    for name in (req.name, *_SAME_MODULE.get(_canonical(req.name), ())):
        version = installed.get(_canonical(name))
        if version is not None and req.specifier.contains(version, prereleases=True):
            return True
    return False


def missing_requirements(installed: Mapping[str, str] | None = None,
                         reqs: Iterable[str] | None = None) -> list[str]:
    """Those of ``reqs`` (default: the kit's :func:`requirements`) that ``installed`` (canonical
    name → version, e.g. a ``pip freeze``; default: this environment) does not meet, as
    ``pip install`` arguments — except torch and torchvision (:data:`NEVER_INSTALL`)."""
    from packaging.requirements import Requirement

    installed = installed_versions() if installed is None else {
        _canonical(k): v for k, v in installed.items()}
    parsed = [Requirement(r) for r in (requirements() if reqs is None else reqs)]
    return [str(r) for r in parsed
            if _canonical(r.name) not in NEVER_INSTALL and not _met(r, installed)]


def install_missing(*, quiet: bool = True) -> list[str]:
    """Install what this machine lacks of the kit's requirements (:func:`missing_requirements`)
    with pip, and return it. The notebooks' setup cell runs it on Colab right after
    ``pip install --no-deps`` of the kit, so Colab's own torch, torchvision, numpy … stay.

    torch and torchvision are never installed: if they are missing or too old, a ``RuntimeError``
    says so before anything is installed. A failed ``pip install`` raises ``RuntimeError`` with
    pip's last lines.
    """
    from packaging.requirements import Requirement

    installed = installed_versions()
    torch_reqs = [r for r in requirements() if _canonical(Requirement(r).name) in NEVER_INSTALL]
    unmet = [r for r in torch_reqs if not _met(Requirement(r), installed)]
    if unmet:
        raise RuntimeError(f"fsutils needs {' and '.join(unmet)}, which this environment lacks "
                           "or has too old; the kit does not install them (they must match your "
                           "GPU): install them first, e.g. pip install torch torchvision "
                           "(see pytorch.org for the build for your machine).")
    missing = missing_requirements(installed)
    if not missing:
        return []
    cmd = [sys.executable, "-m", "pip", "install", *(["-q"] if quiet else []), *missing]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"pip could not install {' '.join(missing)} (exit {done.returncode}); "
                           f"run it yourself to see why: {shlex.join(cmd[2:])}\n{tail}")
    importlib.invalidate_caches()  # the running kernel sees the new packages
    print(f"Installed what this machine lacked of the kit's requirements: {', '.join(missing)}")
    return missing


def setup_notebook() -> bool:
    """What every notebook's setup cell runs once the kit is installed, and returns
    :func:`tiny_mode` (the notebooks' ``TINY``).

    On Colab: :func:`install_missing` (what Colab lacks of the kit's requirements; its torch,
    numpy and widgets stay) and Colab's custom widget manager, without which the panels do not
    show. Everywhere: :func:`report` (versions, device, and on Colab without a GPU how to get one).
    """
    if is_colab():
        install_missing()
        from google.colab import output

        output.enable_custom_widget_manager()
    report()
    return tiny_mode()
