"""Google Colab's package versions for CI: read Colab's published ``pip freeze`` and write
``.ci/colab-constraints.txt``, the exact versions that ``.ci/colab`` installs to test the kit the
way Colab runs it.

    python tools/colab_env.py constraints [FREEZE]   # default FREEZE: ../shared/data/colab/pip-freeze.txt

The file lists the packages the kit and its notebook tests need, with everything they pull in
(pip's resolver on this machine's Python works that out: ``pip install --dry-run --report``), each
at the version Colab has. Two kinds of lines are not Colab's and say so in a comment:

- torch and torchvision: Colab's CPU builds come from the PyTorch index, which CI cannot reach;
  CI's own tested versions (``.ci/constraints.txt``) stand in for them;
- test tools Colab lacks (pytest-timeout) and torch's own dependencies that Colab's CPU build does
  not have: CI's tested versions.

What Colab lacks of the kit's own requirements (the TensorFlow Lite reader, a newer gdown) is not
in the file: ``.ci/colab`` installs it as the notebooks' setup cell does on Colab
(:func:`fsutils.env.install_missing`).

Refresh after Colab publishes a new list: copy it over the freeze, run this, review the diff, run
``bash .ci/colab`` and commit.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
FREEZE = ROOT.parent / "shared" / "data" / "colab" / "pip-freeze.txt"
OUT = ROOT / ".ci" / "colab-constraints.txt"
MAIN_CONSTRAINTS = ROOT / ".ci" / "constraints.txt"
#: What the notebook tests need besides the kit (Colab has all but pytest-timeout).
TEST_TOOLS = ("pytest", "pytest-timeout", "nbclient", "nbformat", "ipykernel", "jupytext")
#: Colab's builds of these cannot be installed here; CI's tested versions stand in.
STAND_INS = ("torch", "torchvision")

_WHEEL = re.compile(r"/([A-Za-z0-9_.]+)-([^-/]+)-[^/]*\.whl$")


def parse_freeze(text: str) -> dict[str, str]:
    """``pip freeze`` text → {canonical name: version}. ``name @ URL`` lines get the version from
    the wheel's file name (``torch-2.11.0+cpu-…whl``); other URLs (git checkouts) are left out."""
    out = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        if " @ " in line:
            name, url = (p.strip() for p in line.split(" @ ", 1))
            m = _WHEEL.search(urllib.parse.unquote(url))
            if m:
                out[canonicalize_name(name)] = m.group(2)
            continue
        name, sep, version = line.partition("==")
        if sep:
            out[canonicalize_name(name)] = version.strip()
    return out


def _pins(path: Path) -> dict[str, str]:
    return parse_freeze(path.read_text(encoding="utf-8"))


def needed(colab: dict[str, str]) -> list[str]:
    """The top-level packages to install as Colab has them: the kit's requirements that Colab
    has (torch and torchvision among them) and the test tools."""
    sys.path.insert(0, str(ROOT))
    from fsutils import env

    kit = [canonicalize_name(Requirement(r).name) for r in env.requirements()]
    return [n for n in kit if n in colab] + [canonicalize_name(t) for t in TEST_TOOLS]


def resolve(top: list[str], constraints: dict[str, str]) -> dict[str, dict]:
    """pip's resolution of ``top`` under ``constraints`` for this Python:
    {name: the package's metadata (``version``, ``requires_dist`` …)}."""
    with tempfile.TemporaryDirectory() as tmp:
        cfile, report = Path(tmp) / "constraints.txt", Path(tmp) / "report.json"
        cfile.write_text("".join(f"{n}=={v}\n" for n, v in sorted(constraints.items())))
        cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "-q",
               "--report", str(report), "-c", str(cfile), *top]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"pip could not resolve Colab's versions:\n{done.stdout}{done.stderr}")
        items = json.loads(report.read_text())["install"]
    return {canonicalize_name(i["metadata"]["name"]): i["metadata"] for i in items}


def _too_old_for(meta: dict[str, dict], pins: dict[str, str]) -> dict[str, str]:
    """The pins that the requirements of the packages in ``meta`` refuse: {name: requirement}."""
    refused = {}
    for m in meta.values():
        for line in m.get("requires_dist") or []:
            req = Requirement(line)
            name = canonicalize_name(req.name)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            if name in pins and not req.specifier.contains(pins[name], prereleases=True):
                refused[name] = f"{m['name']} needs {req.name}{req.specifier}"
    return refused


def constraints_text(freeze: Path) -> str:
    colab = _pins(freeze)
    main = _pins(MAIN_CONSTRAINTS)
    pins = {n: v for n, v in colab.items() if n not in STAND_INS and "+" not in v}
    stand_ins = {n: main[n] for n in STAND_INS}
    # the stand-ins' own needs win over Colab's pins (Colab's torch has older ones)
    refused = _too_old_for(resolve(list(stand_ins), main), pins)
    for name in refused:
        del pins[name]
    pins.update(stand_ins)
    for n, v in main.items():  # what Colab lacks: CI's tested versions
        pins.setdefault(n, v)
    resolved = resolve(needed(colab), pins)
    lines = [
        "# Google Colab's versions of the packages the kit and its notebook tests need, for",
        "# .ci/colab. Generated by tools/colab_env.py from Colab's published pip freeze",
        f"# ({freeze.name}) for Python {'.'.join(map(str, sys.version_info[:2]))}; do not edit, "
        "regenerate:",
        "#   python tools/colab_env.py constraints",
        "# Lines marked 'not Colab's' are CI's tested versions (.ci/constraints.txt).",
    ]
    for name, meta in sorted(resolved.items()):
        version, note = meta["version"], ""
        if name in STAND_INS:
            note = (f"  # not Colab's: Colab has {colab.get(name, 'none')} from the PyTorch "
                    "index, which CI cannot reach")
        elif name in refused:
            note = f"  # not Colab's ({colab[name]}): {refused[name]}"
        elif name not in colab:
            note = "  # not Colab's: Colab lacks it"
        elif colab[name] != version:
            raise SystemExit(f"{name}: resolved {version}, but Colab has {colab[name]}")
        lines.append(f"{name}=={version}{note}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("constraints", help=f"write {OUT.relative_to(ROOT)}")
    p.add_argument("freeze", nargs="?", type=Path, default=FREEZE, help="Colab's pip freeze")
    args = ap.parse_args(argv)
    if not args.freeze.is_file():
        raise SystemExit(f"no Colab package list at {args.freeze}")
    OUT.write_text(constraints_text(args.freeze), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
