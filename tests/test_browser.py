"""Real browser: the blending notebook's panel in Voila and in JupyterLab, driven with the mouse.

Voila (and JupyterLab for one smoke test) is started on 127.0.0.1 with a random port and token and
throw-away Jupyter/IPython/matplotlib directories; headless Debian Chromium (/usr/bin/chromium,
never `playwright install`) opens ``notebooks/04_saliency_blending.ipynb``; the test drags the
strength and feather-width sliders and the zoom box with the mouse and asserts that the pixels of
the rendered picture change. Kernels run in tiny mode (``FSUTILS_TINY=1``) with the weights mirror.

On failure a full-page screenshot and the server log are saved under ``$FSUTILS_TEST_ARTIFACTS``
(default ``outputs/test-artifacts/``). Recipe and pitfalls: ``../shared/docs/browser-testing.md``.
Select with ``-m browser``.
"""
from __future__ import annotations

import contextlib
import ctypes
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "04_saliency_blending.ipynb"
# The folder served to Voila/Lab (a copy is made per test); overridable to try other notebooks.
NOTEBOOKS_DIR = Path(os.environ.get("FSUTILS_BROWSER_NOTEBOOKS", ROOT / "notebooks"))
CHROMIUM = os.environ.get("FSUTILS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]
ARTIFACTS = Path(os.environ.get("FSUTILS_TEST_ARTIFACTS", ROOT / "outputs" / "test-artifacts"))
PANEL_TIMEOUT_MS = 300_000      # the kernel imports torch and runs the notebook on a loaded 2-core CPU
CHANGE_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_preexec() -> None:
    """In the server's child process: own process group, and die if pytest dies."""
    os.setsid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class JupyterServer:
    """Voila or JupyterLab on 127.0.0.1 serving a copy of notebooks/, torn down in layers."""

    def __init__(self, kind: str, tmp: Path) -> None:
        self.kind, self.tmp = kind, tmp
        self.port, self.token = _free_port(), secrets.token_hex(16)
        self.root = tmp / "notebooks"
        shutil.copytree(NOTEBOOKS_DIR, self.root)
        self.runtime = tmp / "runtime"
        env = dict(os.environ)
        for var, sub in [("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTER_CONFIG_DIR", "config"),
                         ("IPYTHONDIR", "ipython"), ("MPLCONFIGDIR", "mpl"),
                         ("JUPYTERLAB_SETTINGS_DIR", "lab-settings"),
                         ("JUPYTERLAB_WORKSPACES_DIR", "lab-workspaces")]:
            (tmp / sub).mkdir(parents=True, exist_ok=True)
            env[var] = str(tmp / sub)
        env.update(FSUTILS_TINY="1", FSUTILS_OUTPUT_DIR=str(tmp / "outputs"),
                   OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
                   PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(
                       os.pathsep))
        if kind == "voila":
            cmd = [sys.executable, "-m", "voila", str(self.root), "--no-browser",
                   f"--port={self.port}", "--Voila.ip=127.0.0.1", "--Voila.port_retries=0",
                   f"--token={self.token}", "--show_tracebacks=True"]
        else:
            settings = tmp / "lab-settings"
            for ext, plugin, body in [
                ("@jupyterlab/apputils-extension", "notification", {"fetchNews": "false"}),
                ("@jupyterlab/notebook-extension", "tracker", {"windowingMode": "none"}),
            ]:
                (settings / ext).mkdir(parents=True, exist_ok=True)
                (settings / ext / f"{plugin}.jupyterlab-settings").write_text(json.dumps(body))
            cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
                   f"--port={self.port}", "--ServerApp.port_retries=0", "--allow-root",
                   f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
                   "--expose-app-in-browser", "--LabApp.news_url=None"]
        self.log_path = tmp / f"{kind}.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, env=env, cwd=self.root, stdout=self._log,
                                     stderr=subprocess.STDOUT, preexec_fn=_server_preexec)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, notebook: str) -> str:
        if self.kind == "voila":
            return f"{self.base}/voila/render/{notebook}?token={self.token}"
        return f"{self.base}/lab/tree/{notebook}?token={self.token}"

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-6000:]

    def wait_ready(self, timeout: float = 120) -> None:
        probe = (f"{self.base}/api/status?token={self.token}" if self.kind == "lab"
                 else f"{self.base}/?token={self.token}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(probe, timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise TimeoutError(f"{self.kind} did not answer within {timeout:.0f}s:\n{self.log()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            if self.kind == "lab":
                with contextlib.suppress(OSError):
                    req = urllib.request.Request(f"{self.base}/api/shutdown", method="POST",
                                                 headers={"Authorization": f"token {self.token}"})
                    urllib.request.urlopen(req, timeout=5).close()
            else:
                self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        # Kernels run in their own session and survive the server: kill those started with our
        # runtime directory on their command line (their connection file lives there).
        marker = str(self.runtime).encode()
        for pid_dir in Path("/proc").iterdir():
            if not pid_dir.name.isdigit() or int(pid_dir.name) == os.getpid():
                continue
            with contextlib.suppress(OSError):
                if marker in (pid_dir / "cmdline").read_bytes():
                    os.kill(int(pid_dir.name), signal.SIGKILL)
        self._log.close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium fonts-dejavu-core)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _only_local(route) -> None:
    url = route.request.url
    if url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:")):
        route.continue_()
    else:  # e.g. Voila's icon-font CDN: an offline machine must not wait on it
        route.abort()


@contextlib.contextmanager
def session(browser, kind: str, tmp_path: Path, request):
    """A server of ``kind`` and a fresh page; on failure, a screenshot and the server log."""
    pytest.importorskip("voila" if kind == "voila" else "jupyterlab")
    server = JupyterServer(kind, tmp_path)
    context = page = None
    errors: list[str] = []
    try:
        server.wait_ready()
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(30_000)
        context.route("**/*", _only_local)
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        yield server, page, errors
    except BaseException:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        if page is not None:
            with contextlib.suppress(Exception):
                page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        with contextlib.suppress(Exception):
            (ARTIFACTS / f"{name}.log").write_text(server.log() + "\npage errors:\n"
                                                   + "\n".join(errors))
        raise
    finally:
        if context is not None:
            with contextlib.suppress(Exception):
                context.close()
        server.stop()


# ------------------------------------------------------------------------------------ helpers


def panel_pixels(page) -> np.ndarray:
    """The blend panel's picture as pixels (the Output replaces its <img> on every update, so the
    element is looked up again on each call)."""
    for _ in range(20):
        try:
            png = page.locator(".fsutils-blend-view img").last.screenshot(timeout=10_000)
            return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)
        except Exception:  # detached while the Output redrew: look it up again
            time.sleep(0.25)
    raise AssertionError("could not take a screenshot of the blend panel's picture")


def wait_for_change(page, before: np.ndarray, what: str) -> np.ndarray:
    deadline = time.monotonic() + CHANGE_TIMEOUT_S
    while time.monotonic() < deadline:
        now = panel_pixels(page)
        if now.shape != before.shape or (np.abs(now - before).max(axis=2) > 8).sum() > 20:
            return now
        time.sleep(0.25)
    raise AssertionError(f"the blend panel's picture did not change after {what}")


def drag(page, css: str, fraction: float | None = None) -> float:
    """Drag the noUiSlider handle of the slider with class ``css`` with the mouse to ``fraction``
    of its track (default: well to the other side of where it is); return the new value."""
    slider = page.locator(f".{css}")
    handle = slider.locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    before = handle.get_attribute("aria-valuenow")
    hb = handle.bounding_box()
    track = slider.locator(".noUi-base").first.bounding_box()
    if fraction is None:
        at = (hb["x"] + hb["width"] / 2 - track["x"]) / track["width"]
        fraction = 0.15 if at > 0.5 else 0.85
    y = hb["y"] + hb["height"] / 2
    page.mouse.move(hb["x"] + hb["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(track["x"] + fraction * track["width"], y, steps=12)
    page.mouse.up()
    after = handle.get_attribute("aria-valuenow")
    assert after != before, f"dragging {css} did not move it (value {before})"
    return float(after)


def wait_for_panel(page) -> np.ndarray:
    page.locator(".fsutils-blend-view img").last.wait_for(state="visible",
                                                          timeout=PANEL_TIMEOUT_MS)
    return panel_pixels(page)


def assert_no_tracebacks(page) -> None:
    text = "\n".join(page.locator(".jp-OutputArea-output").all_inner_texts())
    assert "Traceback" not in text, "a notebook cell failed:\n" + text[-3000:]


# -------------------------------------------------------------------------------------- tests


@pytest.mark.timeout(900)
def test_voila_blend_panel_reacts_to_mouse(browser, tmp_path, request):
    with session(browser, "voila", tmp_path, request) as (server, page, errors):
        page.goto(server.url(NOTEBOOK), wait_until="commit", timeout=PANEL_TIMEOUT_MS)
        start = wait_for_panel(page)
        assert_no_tracebacks(page)
        scores = page.locator(".fsutils-seam-scores").inner_text()
        assert "hard" in scores and "saliency" in scores

        value = drag(page, "fsutils-strength", 0.1)                 # saliency strength
        assert value < 1.0                                          # it started at 1
        after_strength = wait_for_change(page, start, "dragging the strength slider")

        page.locator(".fsutils-mode button", has_text="feathered").click()
        after_mode = wait_for_change(page, after_strength, "switching to the feathered mode")
        drag(page, "fsutils-width")                                 # feather width
        after_width = wait_for_change(page, after_mode, "dragging the feather-width slider")

        drag(page, "fsutils-box-x")                                 # move the zoom box
        after_x = wait_for_change(page, after_width, "moving the zoom box horizontally")
        drag(page, "fsutils-box-y")
        wait_for_change(page, after_x, "moving the zoom box vertically")
        assert "feathered" in page.locator(".fsutils-seam-scores").inner_text()
        assert_no_tracebacks(page)


@pytest.mark.timeout(900)
def test_jupyterlab_smoke_blend_panel(browser, tmp_path, request):
    with session(browser, "lab", tmp_path, request) as (server, page, errors):
        page.goto(server.url(NOTEBOOK), wait_until="commit", timeout=PANEL_TIMEOUT_MS)
        page.wait_for_function(
            "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
            " const k = w && w.sessionContext && w.sessionContext.session"
            " && w.sessionContext.session.kernel; return k && k.status === 'idle'; }",
            timeout=PANEL_TIMEOUT_MS)
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        start = wait_for_panel(page)
        drag(page, "fsutils-strength", 0.1)
        wait_for_change(page, start, "dragging the strength slider in JupyterLab")
        assert_no_tracebacks(page)
