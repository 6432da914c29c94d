"""Run every course notebook in JupyterLab in a real browser and take its screenshot.

For each notebook ``notebooks/NN_*.ipynb`` (01…09): start JupyterLab on 127.0.0.1 (a throw-away
copy of ``notebooks/``, as ``tests/test_browser.py`` does), open the notebook in headless Debian
Chromium 1100 px wide, press *Run all* (``notebook:run-all-cells``) and wait until every cell has
run and the kernel is idle. Then read the notebook's outputs: a cell that raised (an ``error``
output) or wrote to stderr (a red box under a cell that succeeded) counts as an error. Last, a
screenshot of the notebook's closing section (its panel or its closing table) is saved as
``docs/screenshots/nbNN_run_all_1100.png``, reduced to a palette of 256 colours.

Kernels run the notebooks for real (``FSUTILS_TINY=0``); ``--tiny NN`` runs notebook NN in tiny
mode instead. One line per notebook:

    NN_name.ipynb  <seconds> s  <code cells run>/<code cells> cells  <errors> errors  <png>

and the exit status is 1 if any notebook showed an error (or did not finish).

    python tools/screenshots.py               # all nine (10–15 minutes on a 2-core CPU)
    python tools/screenshots.py 04 08         # only these
    python tools/screenshots.py --tiny 06     # 06 in tiny mode

Needs JupyterLab, Playwright's Python package and ``/usr/bin/chromium`` with
``fonts-dejavu-core`` (see ``tests/jupyter_browser.py``). Release tooling: nothing in the
package imports it. A full-page picture of each notebook after its run, and the server's log,
go to ``outputs/screenshots/`` for a closer look.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import jupyter_browser as jb  # noqa: E402  (the kit's browser plumbing)

WIDTH = 1100
OUT = ROOT / "docs" / "screenshots"
ARTIFACTS = ROOT / "outputs" / "screenshots"
RUN_TIMEOUT_S = 20 * 60          # per notebook, from Run all to the last cell done
SETTLE_S = 3.0                   # the page must stay unchanged this long before the screenshot


@dataclass(frozen=True)
class Shot:
    """The region of a notebook to show: from the markdown cell whose heading starts with
    ``first`` down to the cell before the heading that starts with ``end``."""
    first: str
    end: str


SHOTS = {
    "01": Shot("Explore it yourself", "What to try next"),
    "02": Shot("Explore it yourself", "What to try next"),
    "03": Shot("Your turn: the style panel", "What to try next"),
    "04": Shot("Your turn: the blend panel", "What to try next"),
    "05": Shot("Restyle a whole folder", "What to try next"),
    "06": Shot("5 · Photos with tags only", "6 · Ship it"),
    "07": Shot("3 · Similarity of the stylised cut-outs", "What the numbers say"),
    "08": Shot("7 · Pick items and restyle them", "8 · Point at the garment"),
    "09": Shot("7 · Try it", "Limitations"),
}

_CURRENT = "window.jupyterapp && window.jupyterapp.shell.currentWidget"

# The state of the run, read from the page: how many code cells, how many have an execution count
# (from the notebook model: a folded solution shows no prompt), how many are queued or running
# ("[*]"), and the kernel's status.
_PROGRESS = """() => {
  const prompts = Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt'))
    .map(p => p.textContent.trim());
  const w = %s;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  const code = w.content.model.toJSON().cells.filter(c => c.cell_type === 'code');
  return {cells: code.length, done: code.filter(c => c.execution_count !== null).length,
          busy: prompts.filter(p => p.includes('*')).length, kernel: k ? k.status : null};
}""" % _CURRENT

# The notebook's outputs as saved (nbformat JSON), from the notebook model.
_OUTPUTS = "() => %s.content.model.toJSON().cells" % _CURRENT

# Count DOM changes inside the notebook (pictures still arriving from panels).
_WATCH = """() => {
  if (window.__fsMutations) return;
  window.__fsMutations = 0;
  new MutationObserver(() => { window.__fsMutations += 1; })
    .observe(document.querySelector('.jp-Notebook'),
             {subtree: true, childList: true, attributes: true, characterData: true});
}"""

# The cells of the section to show, by index: [first, end) (end = -1: to the last cell).
_SECTION = """([first, end]) => {
  const cells = Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell'));
  const heading = (c, text) => Array.from(c.querySelectorAll('h1, h2, h3'))
    .some(h => h.textContent.replace('¶', '').trim().startsWith(text));
  const a = cells.findIndex(c => c.classList.contains('jp-MarkdownCell') && heading(c, first));
  if (a < 0) return null;
  const b = cells.findIndex((c, i) => i > a && c.classList.contains('jp-MarkdownCell')
                                        && heading(c, end));
  return [a, b];
}"""

_BOX = """([a, b]) => {
  const cells = Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell'))
    .slice(a, b < 0 ? undefined : b);
  const boxes = cells.map(c => c.getBoundingClientRect());
  const top = Math.min(...boxes.map(r => r.top)), bottom = Math.max(...boxes.map(r => r.bottom));
  const imgs = cells.flatMap(c => Array.from(c.querySelectorAll('img')));
  return {top, bottom, height: bottom - top,
          loaded: imgs.every(i => i.complete && i.naturalWidth > 0)};
}"""


def problems(cells: list[dict]) -> list[str]:
    """Error outputs and stderr boxes, one line each (cell number, what it says)."""
    found = []
    for n, cell in enumerate(cells, 1):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            if out.get("output_type") == "error":
                found.append(f"cell {n}: {out.get('ename')}: {out.get('evalue')}")
            elif out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = "".join(out.get("text", "")).strip().splitlines()
                found.append(f"cell {n}: stderr: {text[-1] if text else ''}")
    return found


def wait_for_run(page, timeout_s: float) -> dict:
    """Wait until Run all has gone through: no cell queued or running, the kernel idle, and that
    for a few seconds. Returns the last progress reading."""
    deadline = time.monotonic() + timeout_s
    started = False
    calm_since = None
    while time.monotonic() < deadline:
        p = page.evaluate(_PROGRESS)
        if p["busy"] or p["done"]:
            started = True
        calm = started and not p["busy"] and p["kernel"] == "idle"
        if calm:
            calm_since = calm_since or time.monotonic()
            if time.monotonic() - calm_since >= SETTLE_S:
                return p
        else:
            calm_since = None
        time.sleep(1.0)
    raise TimeoutError(f"Run all did not finish within {timeout_s:.0f} s: {page.evaluate(_PROGRESS)}")


def settle(page, section: list[int], timeout_s: float = 120) -> None:
    """Wait until the section's pictures are loaded and nothing in the notebook changed for
    ``SETTLE_S`` (a panel draws its first picture after its cell finished)."""
    page.evaluate(_WATCH)
    deadline = time.monotonic() + timeout_s
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        n = page.evaluate("window.__fsMutations")
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= SETTLE_S and page.evaluate(_BOX, section)["loaded"]:
            return
        time.sleep(0.25)


def screenshot(page, shot: Shot, path: Path) -> None:
    """The section, the whole window's width (1100 px), saved as a 256-colour PNG."""
    from PIL import Image

    section = page.evaluate(_SECTION, [shot.first, shot.end])
    if section is None:
        raise LookupError(f"no heading starting with {shot.first!r}")
    settle(page, section)
    # Make the window tall enough for the whole section, then scroll its first cell to the top.
    height = page.evaluate(_BOX, section)["height"]
    page.set_viewport_size({"width": WIDTH, "height": int(height) + 200})
    page.evaluate("(a) => document.querySelectorAll('.jp-Notebook .jp-Cell')[a]"
                  ".scrollIntoView({block: 'start'})", section[0])
    time.sleep(1.0)
    box = page.evaluate(_BOX, section)
    top = max(0, box["top"] - 8)
    png = page.screenshot(clip={"x": 0, "y": top, "width": WIDTH,
                                "height": box["bottom"] + 8 - top})
    im = Image.open(io.BytesIO(png)).convert("RGB")
    im = im.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, optimize=True)


def run_notebook(browser, name: str, tiny: bool) -> tuple[float, dict, list[str], Path]:
    nn = name[:2]
    png = OUT / f"nb{nn}_run_all_{WIDTH}.png"
    with tempfile.TemporaryDirectory(prefix=f"fsutils-shot-{nn}-") as tmp:
        server = jb.JupyterServer("lab", Path(tmp), tiny=tiny)
        context = page = None
        try:
            server.wait_ready()
            context, page = jb.new_page(browser)
            page.set_viewport_size({"width": WIDTH, "height": 900})
            page.goto(server.url(name), wait_until="commit", timeout=jb.PANEL_TIMEOUT_MS)
            page.wait_for_function(f"() => {_CURRENT} && {_CURRENT}.content", timeout=120_000)
            page.evaluate("() => { window.jupyterapp.shell.collapseLeft();"
                          " window.jupyterapp.shell.collapseRight(); }")
            start = time.monotonic()
            jb.run_all_in_lab(page)
            progress = wait_for_run(page, RUN_TIMEOUT_S)
            seconds = time.monotonic() - start
            found = problems(page.evaluate(_OUTPUTS))
            screenshot(page, SHOTS[nn], png)
            return seconds, progress, found, png
        finally:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            if page is not None:
                with contextlib.suppress(Exception):   # the whole notebook, one tall window
                    tall = page.evaluate(_BOX, [0, -1])["height"]
                    page.set_viewport_size({"width": WIDTH, "height": min(int(tall) + 200, 16000)})
                    page.evaluate("document.querySelector('.jp-Notebook .jp-Cell')"
                                  ".scrollIntoView({block: 'start'})")
                    time.sleep(1.0)
                    page.screenshot(path=str(ARTIFACTS / f"nb{nn}_full.png"))
            with contextlib.suppress(Exception):
                (ARTIFACTS / f"nb{nn}_server.log").write_text(server.log())
            if context is not None:
                with contextlib.suppress(Exception):
                    context.close()
            server.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", help="two-digit numbers (default: all)")
    ap.add_argument("--tiny", action="append", default=[], metavar="NN",
                    help="run notebook NN in tiny mode (FSUTILS_TINY=1); repeatable")
    args = ap.parse_args(argv)
    names = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.notebooks:
        names = [n for n in names if n[:2] in args.notebooks]
    failed = 0
    with jb.chromium() as browser:
        for name in names:
            tiny = name[:2] in args.tiny
            try:
                seconds, progress, found, png = run_notebook(browser, name, tiny)
                cells = f"{progress['done']}/{progress['cells']} cells"
                shown = png.relative_to(ROOT)
            except Exception as e:   # did not finish, or no screenshot: report and go on
                seconds, cells, shown = float("nan"), "?", "-"
                found = [f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"]
            else:
                if progress["done"] != progress["cells"]:
                    found.append("not every cell ran")
            failed += bool(found)
            print(f"{name:<34} {seconds:7.0f} s  {cells:>13}  {len(found)} errors  {shown}"
                  + ("  (tiny mode)" if tiny else ""), flush=True)
            for line in found:
                print(f"    {line}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
