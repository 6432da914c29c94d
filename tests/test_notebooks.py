"""The notebooks: committed clean, Colab badges that point at themselves, and every notebook runs
top to bottom headless (nbclient) in tiny mode.

- Clean: no outputs, no execution counts, no Colab metadata (``colab``, ``accelerator``, cell
  ``id``s from Colab, ``executionInfo`` …), a ``python3`` kernelspec so Lab/Voila open them without
  a kernel picker.
- Badges: every ``colab.research.google.com`` link in a notebook (and in README.md) points at the
  notebook's own file on the one configured repository (``fsutils.REPO_SLUG``), branch ``main``.
- Headless (``-m notebook``): ``FSUTILS_TINY=1`` (tiny sizes and steps), the shared weights through
  the mirror (``tests/conftest.py``), no network; an error in any cell fails the test with the cell
  and its traceback. Each notebook runs in a temporary working directory, so results it saves do
  not land in the checkout.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

import fsutils
from tools.notebooks import BADGE_IMG, colab_url

ROOT = Path(__file__).resolve().parent.parent
NB_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))
COURSE = [f"0{i}_{n}.ipynb" for i, n in enumerate(
    ["cloth_segmentation", "saliency", "style_transfer", "saliency_blending", "full_pipeline"],
    start=1)]
COLAB_URL = re.compile(r"https://colab\.research\.google\.com/[^\s)\"'<>\]]*")
# Metadata that Colab (or a local run) adds and that must not be committed.
NB_META_FORBIDDEN = {"colab", "accelerator", "gpuClass", "widgets", "varInspector", "toc"}
CELL_META_FORBIDDEN = {"colab", "executionInfo", "outputId", "collapsed", "scrolled",
                       "execution"}


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def ids(paths):
    return [p.name for p in paths]


def test_the_course_notebooks_exist():
    missing = [n for n in COURSE if not (NB_DIR / n).is_file()]
    assert not missing, f"notebooks missing from {NB_DIR}: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_committed_without_outputs_or_colab_metadata(path):
    nb = load(path)
    assert nb.get("nbformat") == 4
    problems = []
    bad_nb = NB_META_FORBIDDEN & set(nb.get("metadata", {}))
    if bad_nb:
        problems.append(f"notebook metadata {sorted(bad_nb)}")
    ks = nb.get("metadata", {}).get("kernelspec", {})
    if ks.get("name") != "python3":
        problems.append(f"kernelspec name {ks.get('name')!r} (want 'python3')")
    for i, cell in enumerate(nb["cells"]):
        bad = CELL_META_FORBIDDEN & set(cell.get("metadata", {}))
        if bad:
            problems.append(f"cell {i} metadata {sorted(bad)}")
        if cell["cell_type"] == "code":
            if cell.get("outputs"):
                problems.append(f"cell {i} has {len(cell['outputs'])} output(s)")
            if cell.get("execution_count") is not None:
                problems.append(f"cell {i} execution_count {cell['execution_count']}")
    assert not problems, f"{path.name}: strip before committing: " + "; ".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_colab_badge_points_at_this_notebook(path):
    nb = load(path)
    first = "".join(nb["cells"][0]["source"])
    assert nb["cells"][0]["cell_type"] == "markdown" and first.lstrip().startswith("# "), \
        f"{path.name}: the first cell must be a markdown title ('# …')"
    assert colab_url(path.name) in first and BADGE_IMG in first, \
        f"{path.name}: the title cell needs the badge [![Open In Colab]({BADGE_IMG})]({colab_url(path.name)})"
    for cell in nb["cells"]:
        for url in COLAB_URL.findall("".join(cell["source"])):
            assert url in (colab_url(path.name), BADGE_IMG), \
                f"{path.name}: Colab link {url} does not point at this notebook"


def test_readme_badges_point_at_existing_notebooks():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    urls = [u for u in COLAB_URL.findall(readme) if u != BADGE_IMG]
    prefix = colab_url("")
    for url in urls:
        assert url.startswith(prefix), f"README Colab link {url} is not on {fsutils.REPO_SLUG}/main"
        assert (NB_DIR / url[len(prefix):]).is_file(), f"README links a missing notebook: {url}"
    linked = {u[len(prefix):] for u in urls}
    missing = [n for n in COURSE if n not in linked]
    assert not missing, f"README has no Colab badge for {missing}"


def test_badges_and_install_lines_are_made_from_the_repository_address(monkeypatch):
    """Renaming the repository is one edit (fsutils.REPO_SLUG) and a build: every badge and install
    line of README and the notebook sources follows it."""
    from tools import notebooks as tool

    fsutils_slug = fsutils.REPO_SLUG
    monkeypatch.setattr(fsutils, "REPO_SLUG", "someone/fork")
    monkeypatch.setattr(fsutils, "PIP_INSTALL_URL", "git+https://github.com/someone/fork")
    texts = [(ROOT / "README.md").read_text(encoding="utf-8")] + [
        tool.with_setup_cell(src.read_text(encoding="utf-8"), tool.notebook_path(src).name)
        for src in tool.sources()]
    for text in map(tool.generated, texts):
        assert fsutils_slug not in text and "someone/fork" in text
    readme = tool.generated(texts[0])
    assert all(f"github/someone/fork/blob/main/notebooks/{n}" in readme for n in COURSE)
    assert 'pip install "git+https://github.com/someone/fork"' in readme


def test_a_new_notebooks_copied_badge_is_pointed_at_itself():
    from tools import notebooks as tool

    copied = (NB_DIR / "src" / "02_saliency.py").read_text(encoding="utf-8")
    text = tool.with_setup_cell(copied, "08_new.ipynb")
    assert tool.badge("08_new.ipynb") in text and "02_saliency.ipynb" not in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_notebook_structure(path):
    """Setup cell installs the kit on Colab without touching torch and calls env.setup_notebook();
    the notebook explains with a formula and ends with ideas, then its exercises; the course notebooks (01–05) use a
    panel from fsutils.widgets."""
    name = path.name
    cells = load(path)["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    md = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    setup = next((c for c in code if "env.setup_notebook()" in c), None)
    assert setup is not None, f"{name}: no setup cell calling fsutils.env.setup_notebook()"
    assert "google.colab" in setup and fsutils.PIP_INSTALL_URL in setup, \
        f"{name}: the setup cell must install {fsutils.PIP_INSTALL_URL} on Colab"
    for line in setup.splitlines():
        if "pip install" in line:
            assert "--no-deps" in line or not re.search(r"\btorch(vision)?\b", line), \
                f"{name}: the Colab install must not reinstall torch: {line.strip()}"
            assert "fsutils" not in line or "--no-deps" in line, \
                f"{name}: install the kit with --no-deps so Colab's torch stays: {line.strip()}"
    assert any("$" in m for m in md), f"{name}: explain the idea with its formula (LaTeX $…$)"
    if name in COURSE:
        assert any("fsutils.widgets" in c or "widgets." in c for c in code), \
            f"{name}: use a panel from fsutils.widgets"
    ideas = [i for i, m in enumerate(md) if "try next" in m.lower()]
    assert ideas, f"{name}: end with a 'what to try next' cell (then the exercises)"
    assert all(m.startswith(("## Exercises", "**")) for m in md[ideas[-1] + 1:]), \
        f"{name}: only the exercises may follow the 'what to try next' cell"
    # widget code stays in fsutils.widgets
    assert not any("ipywidgets" in c for c in code), f"{name}: widget code belongs in fsutils.widgets"


def test_every_notebook_has_a_text_source():
    sources = sorted(p.stem for p in (NB_DIR / "src").glob("*.py"))
    assert sources == [p.stem for p in NOTEBOOKS], \
        "each notebooks/NN_name.ipynb is built from notebooks/src/NN_name.py (tools/notebooks.py)"


@pytest.mark.slow  # a child process that builds every notebook: 3-7 s here (python tools/notebooks.py check)
def test_notebooks_match_their_sources():
    """Every notebook is built from its text source by tools/notebooks.py; an edit made in
    Jupyter must go back into the source (``tools/notebooks.py pull``), then build and commit both."""
    pytest.importorskip("jupytext")
    import subprocess
    import sys
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "notebooks.py"), "check"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def _execute(path: Path, tmp_path: Path, monkeypatch, *, tiny: bool = True):
    """Run the notebook at ``path`` headless; return it with its outputs (or fail the test)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("FSUTILS_TINY", "1" if tiny else "0")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
    monkeypatch.setenv("FSUTILS_OUTPUT_DIR", str(tmp_path / "outputs"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as err:
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))  # no terminal colours in the report
        pytest.fail(f"{path.name} failed in a cell:\n{text}", pytrace=False)
    return nb


# Notebooks whose stderr comes from code outside the notebook that is being rewritten; the test
# still fails on their errors, and fails once their stderr is gone so that the entry is removed.


def stderr_of_successful_cells(nb) -> list[str]:
    """``cell N: first line`` for every executed code cell without an error that wrote to stderr."""
    found = []
    for i, cell in enumerate(nb.cells):
        outputs = cell.get("outputs", []) if cell.cell_type == "code" else []
        if any(o.get("output_type") == "error" for o in outputs):
            continue
        text = "".join(o.get("text", "") for o in outputs
                       if o.get("output_type") == "stream" and o.get("name") == "stderr")
        if text.strip():
            found.append(f"cell {i}: {text.strip().splitlines()[0][:200]}")
    return found


def test_stderr_of_a_successful_cell_is_found():
    nbformat = pytest.importorskip("nbformat")
    from nbformat.v4 import new_code_cell, new_notebook, new_output
    ok = new_code_cell("print('step 1/3')", outputs=[new_output("stream", name="stdout",
                                                                 text="step 1/3\n")])
    noisy = new_code_cell("train()", outputs=[new_output("stream", name="stderr",
                                                          text="step 1/3 loss 0.5\n")])
    failed = new_code_cell("boom()", outputs=[
        new_output("stream", name="stderr", text="about to fail\n"),
        new_output("error", ename="RuntimeError", evalue="boom", traceback=[])])
    nb = new_notebook(cells=[ok, noisy, failed])
    assert stderr_of_successful_cells(nbformat.from_dict(nb)) == ["cell 1: step 1/3 loss 0.5"]


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_notebook_runs_headless(path, tmp_path, monkeypatch):
    nb = _execute(path, tmp_path, monkeypatch)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert not errors
    stderr = stderr_of_successful_cells(nb)
    assert not stderr, f"{path.name}: cells that succeeded wrote to stderr, which a notebook " \
        "shows in red as an error (progress belongs on stdout):\n" + "\n".join(stderr)
    if path.name in COURSE:
        # the interactive panel was displayed, and the pictures were drawn
        kinds = {k for o in outputs for k in o.get("data", {})}
        assert "application/vnd.jupyter.widget-view+json" in kinds, f"{path.name}: no panel shown"
        assert "image/png" in kinds, f"{path.name}: no picture drawn"


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_style_notebook_without_the_gatys_and_adain_weights_carries_on(tmp_path, monkeypatch):
    """Offline, with only the fast models and Magenta's networks at hand (a mirror without VGG-19
    and AdaIN, an empty cache, real sizes — not test mode): every Gatys and AdaIN cell says in one
    line what it skipped, and the fast models, Magenta and the style panel still run."""
    shared = Path(os.environ.get("FSUTILS_WEIGHTS_MIRROR", "/nonexistent"))
    fast, tfl = shared / "fast_style", shared / "tflite"
    if not (fast / "candy.pth").is_file() or not (tfl / "style_transfer_f16_384.tflite").is_file():
        pytest.skip("needs the fast-style models and Magenta's networks in the weights mirror "
                    "(FSUTILS_WEIGHTS_MIRROR)")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "fast_style").symlink_to(fast)
    (mirror / "tflite").symlink_to(tfl)
    monkeypatch.setenv("FSUTILS_WEIGHTS_MIRROR", str(mirror))
    monkeypatch.setenv("FSUTILS_WEIGHTS_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FSUTILS_OFFLINE", "1")
    nb = _execute(NB_DIR / "03_style_transfer.ipynb", tmp_path, monkeypatch, tiny=False)
    texts = ["".join(o.get("text", "")) for c in nb.cells if c.cell_type == "code"
             for o in c.get("outputs", []) if o.get("output_type") == "stream"]
    skipped = [line for t in texts for line in t.splitlines() if line.startswith("Skipped ")]
    assert len(skipped) == 3, skipped                       # two Gatys cells and AdaIN
    assert not any("Magenta" in line for line in skipped)
    assert all("FSUTILS_WEIGHTS_MIRROR" in line for line in skipped)
    kinds = {k for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
             for k in o.get("data", {})}
    assert "application/vnd.jupyter.widget-view+json" in kinds   # the style panel is there
