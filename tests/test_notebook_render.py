"""Every markdown cell of every course notebook, rendered by JupyterLab and its MathJax in a real
browser: no math error, and no formula left as raw TeX.

One JupyterLab server (127.0.0.1, random port and token, throw-away settings; see
``tests/jupyter_browser.py``) and headless Debian Chromium open each notebook without running it
(markdown renders on opening), wait until MathJax has typeset every formula, and fail on MathJax's
error elements (``mjx-merror``: "Math input error", an undefined control sequence …) and on TeX
that was never typeset (``$$`` or ``\\frac`` left in the text). Select with ``-m browser``.
"""
from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest

from tests import jupyter_browser as jb

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOKS = sorted(p.name for p in jb.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))

# What the rendered markdown shows: cells, typeset formulas, MathJax errors, and TeX left as text
# (the text of each rendered cell without its code spans and formulas).
_STATE = """(name) => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!w || !w.context || !w.context.path.endsWith(name)) return null;   // not open yet
  const root = w.node;
  const cells = Array.from(root.querySelectorAll('.jp-MarkdownCell .jp-RenderedMarkdown'));
  const raw = [];
  for (const c of cells) {
    const copy = c.cloneNode(true);
    copy.querySelectorAll('code, pre, mjx-container, .MathJax, script').forEach(e => e.remove());
    const t = copy.textContent;
    const m = t.match(/\\$\\$|\\\\(frac|text|vec|beta|mathcal|operatorname|sum|alpha)\\b/);
    if (m) raw.push(t.slice(Math.max(0, m.index - 60), m.index + 60));
  }
  return {
    cells: cells.length,
    math: root.querySelectorAll('.jp-MarkdownCell mjx-container').length,
    errors: Array.from(root.querySelectorAll('mjx-merror, [data-mjx-error]'))
      .map(e => (e.getAttribute('data-mjx-error') || e.textContent || '').slice(0, 120)),
    inputErrors: (root.innerText.match(/Math input error/g) || []).length,
    raw: raw,
  };
}"""


def markdown_cells(name: str) -> int:
    import nbformat

    nb = nbformat.read(str(jb.NOTEBOOKS_DIR / name), as_version=4)
    return sum(c.cell_type == "markdown" for c in nb.cells)


def has_math(name: str) -> bool:
    import nbformat

    nb = nbformat.read(str(jb.NOTEBOOKS_DIR / name), as_version=4)
    return any("$" in c.source for c in nb.cells if c.cell_type == "markdown")


def rendered(page, name: str, expected_cells: int, math: bool, timeout_s: float = 180) -> dict:
    """The notebook's markdown once every cell is rendered and the number of typeset formulas
    (and errors) has stayed the same for 4 s (MathJax typesets lazily, cell by cell)."""
    deadline = time.monotonic() + timeout_s
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        state = page.evaluate(_STATE, name)
        key = state and (state["cells"], state["math"], len(state["errors"]), state["inputErrors"])
        if key != last:
            last, since = key, time.monotonic()
        elif (state and state["cells"] == expected_cells and (state["math"] > 0 or not math)
              and time.monotonic() - since >= 4):
            return state
        time.sleep(0.25)
    raise AssertionError(f"the notebook did not finish rendering: {last} "
                         f"(want {expected_cells} markdown cells)")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    pytest.importorskip("playwright.sync_api")
    pytest.importorskip("jupyterlab")
    if not Path(jb.CHROMIUM).exists():
        pytest.skip(f"{jb.CHROMIUM} is not installed (apt-get install chromium fonts-dejavu-core)")
    server = jb.JupyterServer("lab", tmp_path_factory.mktemp("render"))
    try:
        server.wait_ready()
        with jb.chromium() as browser:
            context, page = jb.new_page(browser)
            try:
                yield server, page
            finally:
                with contextlib.suppress(Exception):
                    context.close()
    finally:
        server.stop()


@pytest.mark.timeout(1200)
def test_every_markdown_cell_renders_without_a_math_error(lab):
    server, page = lab
    problems = {}
    for name in NOTEBOOKS:
        # ?reset: a fresh workspace, so only this notebook is open
        page.goto(server.url(name).replace("?", "?reset&"), wait_until="commit",
                  timeout=jb.PANEL_TIMEOUT_MS)
        page.locator(".jp-MarkdownCell").first.wait_for(state="attached",
                                                        timeout=jb.PANEL_TIMEOUT_MS)
        state = rendered(page, name, markdown_cells(name), has_math(name))
        bad = {k: state[k] for k in ("errors", "raw") if state[k]}
        if state["inputErrors"]:
            bad["Math input error"] = state["inputErrors"]
        if bad:
            jb.ARTIFACTS.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(Exception):
                page.screenshot(path=str(jb.ARTIFACTS / f"render_{name}.png"), full_page=True)
            problems[name] = bad
        elif has_math(name):
            assert state["math"] > 0, f"{name}: no formula was typeset"
    assert not problems, f"math errors or raw TeX in the rendered notebooks: {problems}"
