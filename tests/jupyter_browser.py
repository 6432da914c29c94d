"""Real-browser plumbing shared by tests/test_browser.py and benchmarks/panel_latency_benchmark.py.

Voila or JupyterLab on 127.0.0.1 (random port and token, throw-away Jupyter/IPython/matplotlib
directories, torn down in layers), headless Debian Chromium (``/usr/bin/chromium``, never
``playwright install``) that may only talk to 127.0.0.1, and the gestures: drag a noUiSlider with
the mouse, read a picture's pixels, wait for it to change, and time **slider release → new
picture decoded in the page** with ``performance.now()`` stamps taken in the page itself.
Recipe and pitfalls: ``../shared/docs/browser-testing.md``.
"""
from __future__ import annotations

import contextlib
import ctypes
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
# The folder served to Voila/Lab (a copy is made per test); overridable to try other notebooks.
NOTEBOOKS_DIR = Path(os.environ.get("FSUTILS_BROWSER_NOTEBOOKS", ROOT / "notebooks"))
CHROMIUM = os.environ.get("FSUTILS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]
ARTIFACTS = Path(os.environ.get("FSUTILS_TEST_ARTIFACTS", ROOT / "outputs" / "test-artifacts"))
PANEL_TIMEOUT_MS = 300_000   # the kernel imports torch and runs the notebook on a loaded 2-core CPU
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


def write_notebook(path: Path, cells: list[str]) -> None:
    """A notebook of code cells (python3 kernel), written with nbformat."""
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, str(path))


class JupyterServer:
    """Voila or JupyterLab on 127.0.0.1 serving a copy of notebooks/ (plus ``extra`` notebooks,
    ``{file name: code cells}``), torn down in layers. Kernels run in tiny mode unless ``tiny`` is
    false."""

    def __init__(self, kind: str, tmp: Path, *, extra: dict[str, list[str]] | None = None,
                 tiny: bool = True) -> None:
        self.kind, self.tmp = kind, tmp
        self.port, self.token = _free_port(), secrets.token_hex(16)
        self.root = tmp / "notebooks"
        shutil.copytree(NOTEBOOKS_DIR, self.root)
        for name, cells in (extra or {}).items():
            write_notebook(self.root / name, cells)
        self.runtime = tmp / "runtime"
        env = dict(os.environ)
        for var, sub in [("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTER_CONFIG_DIR", "config"),
                         ("IPYTHONDIR", "ipython"), ("MPLCONFIGDIR", "mpl"),
                         ("JUPYTERLAB_SETTINGS_DIR", "lab-settings"),
                         ("JUPYTERLAB_WORKSPACES_DIR", "lab-workspaces")]:
            (tmp / sub).mkdir(parents=True, exist_ok=True)
            env[var] = str(tmp / sub)
        env.update(FSUTILS_TINY="1" if tiny else "0", FSUTILS_OUTPUT_DIR=str(tmp / "outputs"),
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


def only_local(route) -> None:
    url = route.request.url
    if url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:")):
        route.continue_()
    else:  # e.g. Voila's icon-font CDN: an offline machine must not wait on it
        route.abort()


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """A headless Debian Chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def new_page(browser, errors: list[str] | None = None):
    """A fresh context and page that may only reach 127.0.0.1; returns ``(context, page)``."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    context.route("**/*", only_local)
    page = context.new_page()
    if errors is not None:
        page.on("pageerror", lambda e: errors.append(str(e)))
    return context, page


# ------------------------------------------------------------------------------------ gestures


LIVE_CANVAS = "fsutils-live-canvas"   # a panel's live picture (fsutils.widgets.live)


def _screenshot(locator) -> np.ndarray:
    png = locator.screenshot(timeout=10_000)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)


def _stack(pictures: list[np.ndarray]) -> np.ndarray:
    """Pictures one above the other, as the page shows them (narrower ones padded in black)."""
    width = max(p.shape[1] for p in pictures)
    return np.concatenate([np.pad(p, ((0, 0), (0, width - p.shape[1]), (0, 0)))
                           for p in pictures])


def pixels(page, css: str) -> np.ndarray:
    """What the user sees of the picture inside the first element with class ``css`` (the panel
    whose controls the gestures' ``.first`` drive, when a notebook shows two), as pixels: the
    live canvas when it is shown (the whole photo recomposed in the page) above the last <img>
    (the kernel's picture: the close-ups beside a live canvas, else everything). An Output
    replaces its <img> on every update, so the elements are looked up again on each call."""
    for _ in range(20):
        try:
            shown = []
            view = page.locator(f".{css}").first
            canvas = view.locator(f".{LIVE_CANVAS}")
            if canvas.count() and canvas.first.is_visible():
                shown.append(_screenshot(canvas.first))
            img = view.locator("img")
            if img.count() and img.last.is_visible():
                shown.append(_screenshot(img.last))
            if shown:
                return _stack(shown)
        except Exception:  # detached while the Output redrew: look it up again
            pass
        time.sleep(0.25)
    raise AssertionError(f"could not take a screenshot of the picture in .{css}")


def wait_for_live(page, css: str, timeout_s: float = CHANGE_TIMEOUT_S) -> None:
    """Where the panel in ``.css`` has a live picture (``fsutils.widgets.live``), wait until the
    browser has drawn it and the kernel has moved the tile there (the kernel's picture changes
    once the live one is ready), then until the pictures stop changing; a live picture that never
    shows (a panel with nothing to show there) is waited for ``timeout_s`` at most."""
    if not page.locator(f".{css} .fsutils-live").count():
        return
    with contextlib.suppress(Exception):
        page.wait_for_function(
            "(css) => { const c = document.querySelector('.' + css + ' .%s');"
            " return c && c.offsetParent !== null && +c.dataset.frames > 0; }" % LIVE_CANVAS,
            arg=css, timeout=timeout_s * 1000)
    deadline, last = time.monotonic() + timeout_s, pixels(page, css)
    while time.monotonic() < deadline:
        time.sleep(0.75)
        now = pixels(page, css)
        if not changed(now, last):
            return
        last = now


def changed(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape != b.shape or bool((np.abs(a - b).max(axis=2) > 8).sum() > 20)


def wait_for_change(page, css: str, before: np.ndarray, what: str,
                    timeout_s: float = CHANGE_TIMEOUT_S) -> np.ndarray:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = pixels(page, css)
        if changed(now, before):
            return now
        time.sleep(0.25)
    raise AssertionError(f"the picture in .{css} did not change after {what}")


def _readout(slider) -> str:
    """The value a slider shows (its readout). Not the handle's ``aria-valuenow``: noUiSlider
    rounds that to one decimal (0.15 reads "0.1")."""
    return (slider.locator(".widget-readout").first.text_content() or "").strip()


def drag(page, css: str, fraction: float | None = None, *, root: str = "") -> float:
    """Drag the noUiSlider handle of the slider with class ``css`` (inside ``root``, a CSS
    selector) with the mouse to ``fraction`` of its track (default: well to the other side of
    where it is); return the new value the slider shows."""
    slider = page.locator(f"{root} .{css}".strip()).first
    handle = slider.locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    before = _readout(slider)
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
    after = _readout(slider)
    assert after != before, f"dragging {css} did not move it (value {before})"
    return float(after)


def press_slider(page, css: str, root: str = "") -> tuple[dict, float]:
    """Press the mouse on the handle of the first slider ``.css`` (inside ``root``) and keep it
    pressed: returns its track's bounding box and the height to drag along (move with
    ``page.mouse.move(track["x"] + f * track["width"], y)``, release with ``page.mouse.up()``)."""
    slider = page.locator(f"{root} .{css}".strip()).first
    handle = slider.locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    hb, track = handle.bounding_box(), slider.locator(".noUi-base").first.bounding_box()
    y = hb["y"] + hb["height"] / 2
    page.mouse.move(hb["x"] + hb["width"] / 2, y)
    page.mouse.down()
    return track, y


def canvas_pixels(page) -> np.ndarray:
    """The RGB pixels of the first live picture's canvas, at its own size."""
    data = page.evaluate(f"""() => {{ const c = document.querySelector('.{LIVE_CANVAS}');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height);
        return [c.width, c.height, Array.from(d.data)]; }}""")
    w, h, rgba = data
    return np.asarray(rgba, np.uint8).reshape(h, w, 4)[..., :3]


def read_after_release(path: Path, timeout_s: float = CHANGE_TIMEOUT_S) -> dict:
    """The JSON record a test notebook's kernel writes when a slider reports (``path``), once it
    has appeared and settled (one value per release)."""
    deadline = time.monotonic() + timeout_s
    while not path.is_file() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    return json.loads(path.read_text())


def slider_value(page, css: str, root: str = "") -> float:
    """The value the slider with class ``css`` shows."""
    return float(_readout(page.locator(f"{root} .{css}".strip()).first))


def assert_visible_sliders(page, *css: str, root: str = "") -> None:
    """Each slider is displayed (its handle has a size on the page)."""
    for c in css:
        loc = page.locator(f"{root} .{c}".strip()).first
        loc.scroll_into_view_if_needed()
        box = loc.locator(".noUi-handle").first.bounding_box()
        assert box and box["width"] > 0 and box["height"] > 0, f"the slider .{c} is not visible"


def assert_no_tracebacks(page) -> None:
    text = "\n".join(page.locator(".jp-OutputArea-output").all_inner_texts())
    assert "Traceback" not in text, "a notebook cell failed:\n" + text[-3000:]


_CUT_LABELS = """(sel) => Array.from(document.querySelectorAll(sel)).filter(b => {
    const cs = getComputedStyle(b);
    const ctx = document.createElement('canvas').getContext('2d');
    ctx.font = cs.font;
    const room = b.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    const text = ctx.measureText(b.textContent.trim()).width;
    return b.scrollWidth > b.clientWidth || text > room + 0.5;
}).map(b => b.textContent.trim())"""


def assert_labels_fit(page, css: str) -> None:
    """No button under ``.css`` has its label cut off: the label's width in the button's font
    (measured on a canvas, since an ellipsis hides the overflow) fits inside its padding."""
    cut = page.evaluate(_CUT_LABELS, f".{css} button")
    assert not cut, f"button labels cut off in .{css}: {cut}"


# ----------------------------------------------------------------------- release → new picture

_PROBE = """(selector) => {
  if (window.__fsLatency) window.__fsLatency.observer.disconnect();
  const w = window.__fsLatency = {release: null, shown: [], observer: null};
  if (!window.__fsRelease) {
    window.__fsRelease = {at: null};
    document.addEventListener('pointerup', () => { window.__fsRelease.at = performance.now(); },
                              true);
  }
  const root = document.querySelector(selector);
  let last = null, frames = null;
  const seen = () => {
    const canvas = root.querySelector('.%s');
    if (canvas && canvas.dataset.frames !== frames) {      // the live picture redrawn
      frames = canvas.dataset.frames;
      const at = performance.now();
      requestAnimationFrame(() => w.shown.push({kind: 'canvas', arrived: at,
                                                decoded: performance.now()}));
    }
    const img = Array.from(root.querySelectorAll('img')).pop();
    if (!img || img.src === last) return;
    last = img.src;
    const at = performance.now();
    const stamp = () => w.shown.push({kind: 'img', arrived: at, decoded: performance.now()});
    const done = () => requestAnimationFrame(() => requestAnimationFrame(stamp));  // painted
    (img.decode ? img.decode() : Promise.resolve()).then(done, done);
  };
  w.observer = new MutationObserver(seen);
  w.observer.observe(root, {subtree: true, childList: true, attributes: true,
                            attributeFilter: ['src', 'data-frames']});
  seen();
}""" % LIVE_CANVAS


def install_latency_probe(page, selector: str) -> None:
    """Stamp, in the page, every mouse release and every new picture inside the element matching
    ``selector`` once the browser has painted it: a new <img> once decoded, and each redraw of a
    live canvas (``data-frames``); replaces an earlier probe."""
    page.evaluate(_PROBE, selector)


def _pictures(page) -> int:
    return page.evaluate("window.__fsLatency.shown.length")


def wait_until_quiet(page, quiet_s: float = 1.5, timeout_s: float = CHANGE_TIMEOUT_S) -> None:
    """Wait until no new picture has been painted for ``quiet_s`` (redraws of earlier changes
    must not be taken for the next release's)."""
    deadline = time.monotonic() + timeout_s
    last, since = _pictures(page), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = _pictures(page)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
    raise AssertionError(f"the panel kept redrawing for {timeout_s:.0f} s")


def release_to_picture_ms(page, slider_css: str, fractions: list[float], *, root: str = "",
                          timeout_s: float = CHANGE_TIMEOUT_S, counts: list[int] | None = None,
                          kind: str | None = None, others: dict[str, list[float]] | None = None
                          ) -> list[float]:
    """For each fraction: once the panel is quiet, drag the slider (class ``slider_css`` inside
    ``root``) there and measure, in the page, the time from the mouse release to the last new
    picture of ``kind`` (``"canvas"``: the live picture, ``"img"``: the kernel's picture, None:
    either) painted after it (ms). Needs :func:`install_latency_probe` first. ``counts``
    receives how many new pictures of that kind each release brought; ``others`` (kind → times)
    the same time for each kind of picture that came."""
    after_release = """([n, kind]) => window.__fsLatency.shown.slice(n)
        .filter(s => s.decoded >= window.__fsRelease.at && (!kind || s.kind === kind))
        .map(s => [s.kind, s.decoded - window.__fsRelease.at])"""
    times = []
    for f in fractions:
        wait_until_quiet(page)
        n = _pictures(page)
        drag(page, slider_css, f, root=root)
        deadline = time.monotonic() + timeout_s
        while not page.evaluate(after_release, [n, kind]):
            if time.monotonic() > deadline:
                raise AssertionError(f"no new picture after dragging .{slider_css} to {f}")
            time.sleep(0.02)
        time.sleep(0.5)   # let a second (late) picture of the same release show up too
        got = page.evaluate(after_release, [n, kind])
        times.append(max(ms for _, ms in got))
        if counts is not None:
            counts.append(len(got))
        if others is not None:
            for k in {k for k, _ in page.evaluate(after_release, [n, None])}:
                others.setdefault(k, []).append(max(
                    ms for kk, ms in page.evaluate(after_release, [n, None]) if kk == k))
    return times


def run_all_in_lab(page) -> None:
    """JupyterLab: wait for the notebook's kernel to be idle, then run all cells."""
    page.wait_for_function(
        "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " const k = w && w.sessionContext && w.sessionContext.session"
        " && w.sessionContext.session.kernel; return k && k.status === 'idle'; }",
        timeout=PANEL_TIMEOUT_MS)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
