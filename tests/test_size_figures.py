"""One size figure per checkpoint: the offline message, ``--help``, the docs, the notebooks and
the docstrings all give :attr:`fsutils.weights.Weights.size_text`, which the registry decides."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from fsutils import weights as W

ROOT = Path(__file__).resolve().parent.parent
FIGURE = re.compile(r"(\d+(?:\.\d+)?) MB\b")
# the longest names first, so "u2net" never matches inside "u2netp" (\b also guards that)
NAMES = re.compile(r"(?<![\w/-])(" + "|".join(
    re.escape(n) for n in sorted(W.REGISTRY, key=len, reverse=True)) + r")(?![\w/-])")


def texts() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "weights" / "README.md", *sorted((ROOT / "docs").glob("*.md")),
             *sorted((ROOT / "notebooks" / "src").glob("*.py")),
             *sorted((ROOT / "fsutils").rglob("*.py")), ROOT / "fsutils" / "weights" / "registry.toml"]
    return [f for f in files if f.is_file()]


def disagreements(text: str) -> list[str]:
    """``name: N MB (registry: M MB)`` for each figure that follows a registry name on its line
    and differs from that checkpoint's figure."""
    found = []
    for line in text.splitlines():
        for fig in FIGURE.finditer(line):
            names = NAMES.findall(line[:fig.start()])
            if names and f"{fig.group(1)} MB" != W.get(names[-1]).size_text:
                found.append(f"{names[-1]}: {fig.group(0)} (registry: {W.get(names[-1]).size_text})"
                             f" in {line.strip()!r}")
    return found


def test_the_figure_comes_from_the_registry_in_decimal_megabytes():
    assert W.get("cloth_segm").size_text == "176 MB"      # min_size 176,321,008 bytes
    assert W.get("u2net").size_text == "176 MB"           # the 176.3 MB its source states
    assert W.get("u2netp").size_text == "4.7 MB"          # no exact size published
    assert W.get("ccp_deeplab").size_text == "4.2 MB"     # the published size, 4,220,019 bytes
    assert disagreements("`cloth_segm` is about 168 MB") == [
        "cloth_segm: 168 MB (registry: 176 MB) in '`cloth_segm` is about 168 MB'"]
    assert disagreements("u2netp (4.7 MB) or u2net (176 MB)") == []
    assert disagreements("u2netp (176 MB)")


@pytest.mark.parametrize("path", texts(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_text_gives_the_registry_figure(path):
    found = disagreements(path.read_text(encoding="utf-8"))
    assert not found, f"{path.name}: " + "; ".join(found)


def test_help_gives_the_registry_figures():
    from fsutils.cli.options import build_parser

    text = " ".join(build_parser().format_help().split())
    assert f"cloth_segm (the official model, a {W.get('cloth_segm').size_text} download)" in text
    assert f"u2net (a {W.get('u2net').size_text} download)" in text


def test_the_offline_message_gives_the_registry_figures(isolated_weights, monkeypatch):
    monkeypatch.setenv("FSUTILS_OFFLINE", "1")
    with pytest.raises(W.MissingWeightsError) as err:
        W.require(["cloth_segm", "u2net"], progress=False)
    msg = str(err.value)
    assert "- cloth_segm (cloth_segm_u2net_latest.pth, about 176 MB)" in msg
    assert "- u2net (u2net.pth, about 176 MB)" in msg
