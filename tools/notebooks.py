"""Build the course notebooks from their text sources, or check that they match.

Every notebook ``notebooks/NN_name.ipynb`` has a text source ``notebooks/src/NN_name.py`` in
jupytext's *percent* format: ``# %%`` starts a code cell, ``# %% [markdown]`` a markdown cell
(its lines commented with ``# ``), and notebook magics are written commented (``# !pip …``,
``# %matplotlib inline``). The source is what you edit and review; the ``.ipynb`` is built from
it, clean (no outputs, no execution counts, no Colab metadata, a ``python3`` kernelspec, cell ids
``nbNN-ii`` from the position so a rebuild gives no diff unless a text changed). A code cell whose
first line is a Colab form title with ``display-mode: "form"`` (an exercise's solution,
``# @title Solution { display-mode: "form" }``) is built collapsed for JupyterLab as well
(``jupyter.source_hidden``); Colab hides it from that first line alone:

    python tools/notebooks.py build           # write every notebooks/NN_*.ipynb from its source
    python tools/notebooks.py build 03        # only notebook 03
    python tools/notebooks.py check           # exit 1 if a notebook differs from its source
    python tools/notebooks.py pull 03         # after editing 03 in Jupyter: cells back to the source

jupytext (https://jupytext.readthedocs.io) does the parsing and writing of the percent format, so
the sources open as notebooks in JupyterLab with the jupytext extension too.

Every notebook's first code cell is the same setup cell, written once here (``SETUP_CELL``):
it installs the kit on Colab with ``--no-deps`` (Colab's own torch stays) and calls
``fsutils.env.setup_notebook()``. The repository's address is written once, in
``fsutils/__init__.py`` (``REPO_SLUG``): the setup cell's install line, every Colab badge (each
notebook's title cell, README's notebook table) and README's install lines are made from it.
The measured tables of README.md and docs/results.md are made by ``fsutils.course`` from
``fsutils/assets/measured.toml`` (between ``<!-- fsutils.course.NAME -->`` markers). ``build``
writes all of that into the sources and documents; ``check`` reports any that differ.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import jupytext
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
NB_DIR = ROOT / "notebooks"
SRC_DIR = NB_DIR / "src"
FORMAT = "py:percent"
METADATA = {
    "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
    "language_info": {"name": "python"},
}
# Sources carry cells only: no YAML header, no per-cell metadata.
_TEXT_ONLY = {"notebook_metadata_filter": "-all", "cell_metadata_filter": "-all"}


def _kit():
    """The fsutils package of this checkout (where the repository's address is defined)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import fsutils

    return fsutils


#: The documents whose badges, install lines and measured tables ``build`` writes.
DOCS = [ROOT / "README.md", ROOT / "docs" / "results.md"]
BADGE_IMG = "https://colab.research.google.com/assets/colab-badge.svg"
_BADGE_RE = re.compile(r"\[!\[Open In Colab\]\([^)\s]*\)\]\(https://colab\.research\.google\.com/"
                       r"github/[^)\s]*/notebooks/([\w.-]+\.ipynb)\)")
_INSTALL_RE = re.compile(r"git\+https://github\.com/[\w.-]+/[\w.-]+")
_COURSE_RE = re.compile(r"(<!-- fsutils\.course\.(\w+) -->\n).*?(<!-- end fsutils\.course\.\2 -->)",
                        re.S)


def colab_url(notebook: str) -> str:
    """Where Colab opens ``notebook`` (a file name in notebooks/) from the repository's main."""
    return (f"https://colab.research.google.com/github/{_kit().REPO_SLUG}/blob/main/notebooks/"
            f"{notebook}")


def badge(notebook: str) -> str:
    """The "Open In Colab" badge of ``notebook``, as markdown."""
    return f"[![Open In Colab]({BADGE_IMG})]({colab_url(notebook)})"


def _course_block(match: re.Match) -> str:
    from fsutils import course

    name = match.group(2)
    if name not in course.GENERATED:
        raise SystemExit(f"<!-- fsutils.course.{name} -->: no such generated text; "
                         f"choose from {', '.join(course.GENERATED)}")
    return match.group(1) + "\n".join(course.GENERATED[name]()) + "\n" + match.group(3)


def generated(text: str, notebook: str | None = None) -> str:
    """``text`` with its Colab badges, its ``git+https://github.com/…`` install addresses and its
    ``fsutils.course`` blocks made afresh from ``fsutils/__init__.py`` and measured.toml. In a
    notebook's source (``notebook``: the notebook's file name) every badge opens that notebook."""
    text = _BADGE_RE.sub(lambda m: badge(notebook or m.group(1)), text)
    text = _INSTALL_RE.sub(_kit().PIP_INSTALL_URL, text)
    return _COURSE_RE.sub(_course_block, text)


#: The setup cell of every notebook (jupytext percent text, the magics commented).
SETUP_CELL = f"""\
# Setup. On Colab: install the kit, leaving Colab's own torch, numpy and widgets as they are.
import sys
if "google.colab" in sys.modules:
    # !pip install -q --no-deps "{_kit().PIP_INSTALL_URL}"
    pass
from fsutils import env
TINY = env.setup_notebook()  # prints the environment; TINY: tiny sizes in automatic test runs
"""
# The setup cell in a source: from its "# %%" line to the next cell (or the end).
_SETUP_RE = re.compile(r"^# %%\n# Setup\. On Colab.*?(?=^# %%|\Z)", re.M | re.S)


def sources() -> list[Path]:
    """The text sources, in course order."""
    return sorted(SRC_DIR.glob("[0-9][0-9]_*.py"))


def notebook_path(source: Path) -> Path:
    return NB_DIR / f"{source.stem}.ipynb"


def source_path(notebook: Path) -> Path:
    return SRC_DIR / f"{notebook.stem}.py"


def with_setup_cell(text: str, notebook: str) -> str:
    """The text of ``notebook``'s source with its setup cell replaced by :data:`SETUP_CELL` and
    its badge and install address made afresh (:func:`generated`)."""
    if not _SETUP_RE.search(text):
        raise SystemExit("a notebook source lacks the setup cell: a code cell starting with "
                         "'# Setup. On Colab'")
    return generated(_SETUP_RE.sub(lambda m: f"# %%\n{SETUP_CELL}\n", text, count=1), notebook)


_COLLAPSED = re.compile(r'^#\s*@title\b.*display-mode:\s*"form"')


def collapsed(source: str) -> bool:
    """Whether a code cell is shown collapsed: its first line is a Colab form title in
    ``display-mode: "form"`` (the code hidden until the reader opens it)."""
    return bool(_COLLAPSED.match(source))


def build(source: Path) -> str:
    """The clean ``.ipynb`` text of one source."""
    parsed = jupytext.read(source, fmt=FORMAT)
    nb = new_notebook(metadata=METADATA)
    stem = source.stem.split("_")[0]
    for i, cell in enumerate(parsed.cells):
        new = new_markdown_cell if cell.cell_type == "markdown" else new_code_cell
        out = new(cell.source)
        out["id"] = f"nb{stem}-{i:02d}"
        if cell.cell_type == "code" and collapsed(cell.source):
            out.metadata["jupyter"] = {"source_hidden": True}
        nb.cells.append(out)
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"


def pull(notebook: Path) -> str:
    """The source text of a notebook edited in Jupyter (outputs and metadata dropped)."""
    nb = nbformat.read(notebook, as_version=4)
    nb.metadata = {"jupytext": dict(_TEXT_ONLY)}
    for cell in nb.cells:
        cell.metadata = {}
    return jupytext.writes(nb, fmt=FORMAT)


def _select(names: list[str], paths: list[Path]) -> list[Path]:
    if not names:
        return paths
    chosen = [p for p in paths if any(p.stem == n or p.stem.startswith(f"{n}_") for n in names)]
    unknown = [n for n in names if not any(p.stem == n or p.stem.startswith(f"{n}_") for p in chosen)]
    if unknown:
        raise SystemExit(f"no notebook named {', '.join(unknown)}; "
                         f"choose from {', '.join(p.stem for p in paths)}")
    return chosen


def check() -> list[str]:
    """What is out of date: notebooks that differ from (or lack) their source, and the reverse;
    generated text (setup cell, badges, install lines, measured tables) that differs from what
    ``build`` writes; a notebook without its badge in README."""
    problems = []
    for src in sources():
        nb = notebook_path(src)
        text = src.read_text(encoding="utf-8")
        if with_setup_cell(text, nb.name) != text:
            problems.append(f"{src.relative_to(ROOT)}: its setup cell or Colab badge differs from "
                            "what tools/notebooks.py makes (run: python tools/notebooks.py build)")
        if not nb.is_file():
            problems.append(f"{nb.relative_to(ROOT)} missing (run: python tools/notebooks.py build)")
        elif nb.read_text(encoding="utf-8") != build(src):
            problems.append(f"{nb.relative_to(ROOT)} differs from {src.relative_to(ROOT)} "
                            "(edited in Jupyter? run: python tools/notebooks.py pull "
                            f"{src.stem[:2]}; otherwise: python tools/notebooks.py build)")
    for nb in sorted(NB_DIR.glob("*.ipynb")):
        if not source_path(nb).is_file():
            problems.append(f"{nb.relative_to(ROOT)} has no source {source_path(nb).relative_to(ROOT)}")
    for doc in DOCS:
        if generated(doc.read_text(encoding="utf-8")) != doc.read_text(encoding="utf-8"):
            problems.append(f"{doc.relative_to(ROOT)}: a Colab badge, install address or measured "
                            "table differs from fsutils (run: python tools/notebooks.py build)")
    readme = DOCS[0].read_text(encoding="utf-8")
    problems += [f"README.md has no Colab badge for {notebook_path(src).name}" for src in sources()
                 if badge(notebook_path(src).name) not in readme]
    return problems


def write_docs() -> None:
    """Write the generated text (:func:`generated`) into README.md and docs/results.md."""
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        if generated(text) != text:
            doc.write_text(generated(text), encoding="utf-8")
            print(f"wrote the generated text into {doc.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    for name, text in [("build", "write notebooks from their sources, and the generated text "
                                 "of README.md and docs/results.md"),
                       ("pull", "write sources from notebooks edited in Jupyter")]:
        p = sub.add_parser(name, help=text)
        p.add_argument("names", nargs="*", help="notebook numbers or names (default: all)")
    sub.add_parser("check", help="exit 1 if a notebook differs from its source or generated "
                                 "text from what build writes")
    args = ap.parse_args(argv)
    if args.command == "check":
        problems = check()
        print("\n".join(problems) if problems else f"{len(sources())} notebooks match their sources; "
              "README.md and docs/results.md hold the generated text")
        return 1 if problems else 0
    if args.command == "build":
        for src in _select(args.names, sources()):
            text = src.read_text(encoding="utf-8")
            if with_setup_cell(text, notebook_path(src).name) != text:
                src.write_text(with_setup_cell(text, notebook_path(src).name), encoding="utf-8")
                print(f"wrote the setup cell and badge into {src.relative_to(ROOT)}")
            notebook_path(src).write_text(build(src), encoding="utf-8")
            print(f"wrote {notebook_path(src).relative_to(ROOT)}")
        write_docs()
        return 0
    SRC_DIR.mkdir(exist_ok=True)
    for nb in _select(args.names, sorted(NB_DIR.glob("*.ipynb"))):
        source_path(nb).write_text(pull(nb), encoding="utf-8")
        print(f"wrote {source_path(nb).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
