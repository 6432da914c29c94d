"""Release tool: ship a trained garment-swap generator inside the package.

    python tools/ship_swap.py runs/cagan/best.pt --stages runs/cagan [more folders] --measure CCP_ROOT

writes the generator of a training checkpoint (``last.pt``, ``best.pt``, a ``generator_step<N>.pt``
snapshot or an export) in half precision to ``fsutils/assets/ccp_cagan.pth``, writes (or
rewrites) its registry entry ``[ccp_cagan]`` in ``fsutils/weights/registry.toml`` with the file's
SHA-256, size and training step; with ``--stages RUN …`` it draws the snapshots of those folders
and the shipped generator on the bundled samples into ``fsutils/assets/swap_stages.png`` (how the
generator learned, for the course), and with ``--measure CCP_ROOT`` it measures the shipped
generator on the test split (``python -m fsutils.evaluate swap``) and writes the figures into the
``[swap]`` table of ``fsutils/assets/measured.toml``, which notebook 09 reads and
``python tools/notebooks.py build`` writes into docs/results.md. Afterwards ``swap_garment`` uses
the shipped file by default, offline.
"""
from __future__ import annotations

import argparse
import hashlib
import re
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image, PngImagePlugin

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from fsutils import weights as W  # noqa: E402
from fsutils.models.cagan import generator_from_state_dict  # noqa: E402
from fsutils.swap.data import SIZE  # noqa: E402
from fsutils.swap.garment import DEFAULT_SWAP_WEIGHTS  # noqa: E402
from fsutils.swap.stages import STAGE_EXAMPLES, STAGES_FILE  # noqa: E402
from fsutils.weights.registry import REGISTRY_FILE, read_registry  # noqa: E402

__all__ = ["ASSETS_DIR", "checkpoint_step", "registry_entry",
           "replace_table", "write_entry", "validation_record", "record_figures", "ship_generator", "snapshot_steps", "render_stages",
           "main"]

ASSETS_DIR = ROOT / "fsutils" / "assets"
_SNAPSHOT = re.compile(r"generator_step(\d+)\.pt$")


def checkpoint_step(checkpoint: str | Path) -> int | None:
    """The training step of a checkpoint: its ``state["step"]`` (``last.pt``, ``best.pt``) or the
    ``<N>`` of a ``generator_step<N>.pt`` snapshot; ``None`` when it does not say."""
    m = _SNAPSHOT.search(Path(checkpoint).name)
    if m:
        return int(m.group(1))
    ckpt = W.read_checkpoint(checkpoint)
    state = ckpt.get("state") if isinstance(ckpt, dict) else None
    return int(state["step"]) if isinstance(state, dict) and "step" in state else None


def registry_entry(name: str, filename: str, sha256: str, size: int, *, base: int, depth: int,
                   step: int | None, crop: tuple[int, int] = SIZE) -> str:
    """The TOML table of a shipped generator (see the header of ``registry.toml``)."""
    trained = f"the generator after {step:,} training steps" if step else "a trained generator"
    return f'''[{name}]
filename = "{filename}"
sources = [{{ bundled = "{filename}" }}]
arch = "CAGAN generator (U-Net, {base} channels, {depth} down-samplings): garment swap of upper-body garments"
license = "Apache-2.0"
credit = """\\
    fsutils: Conditional Analogy GAN (Jetchev & Bergmann 2017) trained on the upper-body garments \\
    of Clothing Co-Parsing (Yang, Luo, Lin, CVPR 2014) with python -m fsutils.train swap"""
sha256 = "{sha256}"
size = {size:_}
factory = "fsutils.models.cagan:CAGANGenerator"
factory_kwargs = {{ base = {base}, depth = {depth} }}
notes = "half precision, about {size / 1e6:.1f} MB, shipped inside the package: works offline; {trained}; crops of {crop[0]}×{crop[1]} px"
'''


def replace_table(path: str | Path, name: str, entry: str, check: Callable[[Path], None]) -> None:
    """Put the TOML table ``entry`` into the file ``path``: in place of the table ``[name]`` (and
    its sub-tables ``[name.…]``) when there is one, else at the end. ``check(candidate)`` reads
    the new text back (raising when it is wrong) before it replaces the file, so a malformed
    entry never lands."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    head = next((i for i, line in enumerate(lines) if line.strip() == f"[{name}]"), None)
    if head is None:
        text = "".join(lines).rstrip("\n") + "\n\n" + entry
    else:
        end = next((i for i in range(head + 1, len(lines)) if lines[i].startswith("[")
                    and not lines[i].startswith(f"[{name}.")), len(lines))
        while end > head + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
            end -= 1  # blank lines and the next table's comments stay
        rest = "".join(lines[end:])
        text = "".join(lines[:head]) + entry + ("\n" + rest if rest else "")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    try:
        check(tmp)
    except BaseException:
        tmp.unlink()
        raise
    tmp.replace(path)


def write_entry(registry: str | Path, name: str, entry: str) -> None:
    """Put the registry entry ``entry`` (the table ``[name]``) into the registry file
    (:func:`replace_table`; the file is read as the registry before it lands)."""
    def check(tmp: Path) -> None:
        if name not in read_registry(tmp):
            raise W.WeightsError(f"the new entry {name!r} is not in {tmp}")

    replace_table(registry, name, entry, check)


_FIGURES_COMMENT = """\
# python -m fsutils.evaluate swap --ccp-root DIR (the test split; known-answer swaps: each photo's
# own upper-body garment recoloured inside its annotation) on the shipped ccp_cagan, trained for
# `step` steps. Per method: garment IoU (α > 0.5 for CAGAN, the cloth model's upper-body mask for
# the baselines; nan for doing nothing), outside_l1, known_l1. Written by
# python tools/ship_swap.py … --measure DIR (or by hand after measuring).
"""


def validation_record(checkpoint: str | Path) -> dict | None:
    """What validation said of a training checkpoint, from the ``history.json`` beside it: the
    known-answer figures at its step of the weights it holds (``"raw"``, or ``"ema"``, the
    running average), and how many validation photos were scored; ``None`` when the folder has
    no validation row for that step (an export, a snapshot between validations)."""
    import json

    checkpoint = Path(checkpoint)
    history = checkpoint.parent / "history.json"
    step = checkpoint_step(checkpoint)
    if step is None or not history.is_file():
        return None
    ckpt = W.read_checkpoint(checkpoint)
    kind = ckpt.get("weights", "raw") if isinstance(ckpt, dict) else "raw"
    suffix = "_ema" if kind == "ema" else ""
    rows = [r for r in json.loads(history.read_text()) if r.get("step") == step
            and f"val_known_l1{suffix}" in r]
    if not rows:
        return None
    r = rows[-1]
    photos = (ckpt.get("config") or {}).get("val_images") if isinstance(ckpt, dict) else None
    return {"weights": kind, "photos": int(photos or 0),
            "alpha_iou": r[f"val_alpha_iou{suffix}"], "outside_l1": r[f"val_outside_l1{suffix}"],
            "known_l1": r[f"val_known_l1{suffix}"], "known_l1_nothing": r["val_known_l1_nothing"]}


def record_figures(result: dict, step: int | None, measured: str | Path | None = None,
                   validation: dict | None = None) -> None:
    """Write the figures of :func:`fsutils.evaluation.swap.evaluate_swap` (``result``) for the
    generator of training step ``step`` as the ``[swap]`` table of ``measured.toml`` (default the
    kit's, :data:`fsutils.course.MEASURED_FILE`), where the course and the documents read them;
    ``validation`` (:func:`validation_record`): what the choice of this generator rested on,
    written as ``[swap.validation]``."""
    from fsutils import course

    path = Path(measured or course.MEASURED_FILE)
    scores = result["scores"]
    fmt = ("{:.3f}", "{:.4f}", "{:.4f}")
    rows = [f"{m} = [" + ", ".join("nan" if v != v else f.format(v) for f, v in zip(
        fmt, (scores[m]["mask_iou"], scores[m]["outside_l1"], scores[m]["known_l1"]))) + "]"
        for m in ("cagan", "nothing", "colour", "pattern") if m in scores]
    entry = (f'[swap]\nsplit = "{result["split"]}"\nimages = {result["images"]}\n'
             f'step = {step if step is not None else 0}\n'
             'columns = ["mask_iou", "outside_l1", "known_l1"]\n\n[swap.methods]\n'
             + "\n".join(rows) + "\n")
    if validation is not None:
        v = validation
        entry += (f'\n[swap.validation]\nweights = "{v["weights"]}"\nphotos = {v["photos"]}\n'
                  + "".join(f"{k} = {v[k]:.4f}\n" for k in ("alpha_iou", "outside_l1", "known_l1",
                                                           "known_l1_nothing")))
    if "[swap]" not in path.read_text(encoding="utf-8").splitlines():
        entry = _FIGURES_COMMENT + entry

    def check(tmp: Path) -> None:
        with tmp.open("rb") as f:
            if set(tomllib.load(f)["swap"]["methods"]) != set(scores) & {"cagan", "nothing",
                                                                         "colour", "pattern"}:
                raise ValueError(f"the [swap] figures in {tmp} are not the measured ones")

    replace_table(path, "swap", entry, check)
    course.figures.cache_clear()


def ship_generator(checkpoint: str | Path, *, name: str = DEFAULT_SWAP_WEIGHTS,
                   assets: str | Path = ASSETS_DIR, registry: str | Path = REGISTRY_FILE,
                   step: int | None = None) -> dict:
    """Export the generator of ``checkpoint`` as ``<assets>/<name>.pth`` (fp16 state dict) and
    write its registry entry; returns ``{"path", "sha256", "size", "step"}``.

    ``step`` (default: read from the checkpoint, :func:`checkpoint_step`) goes into the entry's
    notes. Anything but a CAGAN generator is refused before a file is written."""
    from fsutils.training.swap import export_generator

    G = generator_from_state_dict(W.read_state_dict(checkpoint))  # refuses other checkpoints
    step = checkpoint_step(checkpoint) if step is None else step
    dest = export_generator(checkpoint, Path(assets) / f"{name}.pth")
    data = dest.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    write_entry(registry, name, registry_entry(name, dest.name, digest, len(data), base=G.base,
                                               depth=G.depth, step=step))
    return {"path": dest, "sha256": digest, "size": len(data), "step": step}


def snapshot_steps(run: str | Path) -> dict[int, Path]:
    """The ``generator_step<N>.pt`` snapshots of a run folder, by step."""
    found = {int(m.group(1)): p for p in Path(run).glob("generator_step*.pt")
             if (m := _SNAPSHOT.search(p.name))}
    return dict(sorted(found.items()))


def render_stages(generators: dict[str, object], dest: str | Path = STAGES_FILE,
                  examples: tuple[tuple[str, str], ...] = STAGE_EXAMPLES) -> Path:
    """Draw each generator (``{label: weights}``, in order) on the bundled ``examples`` (person,
    article) into one PNG: a row per example — the person crop, the article, then the swap and
    α of each generator — with the labels kept in the file's text (:func:`fsutils.swap.stages.read_stages`)."""
    from fsutils.swap.garment import swap_parts
    from fsutils.swap.samples import sample_articles, sample_person

    articles = sample_articles()
    rows = []
    loaded = {label: generator_from_state_dict(W.read_state_dict(w)) if not isinstance(w, torch.nn.Module)
              else w for label, w in generators.items()}
    for person, article in examples:
        photo, mask = sample_person(person)
        a = articles[article]
        tiles = None
        for G in loaded.values():
            p = swap_parts(photo, a.image, weights=G, garment_mask=mask, article_mask=a.mask,
                           device="cpu")
            if tiles is None:
                tiles = [p["x_i"].astype(np.float32) / 255, p["y_j"].astype(np.float32) / 255]
            tiles += [p["swap"], np.repeat(p["alpha"][..., None], 3, -1)]
        rows.append(np.concatenate(tiles, 1))
    grid = np.clip(np.rint(np.concatenate(rows, 0) * 255), 0, 255).astype(np.uint8)
    info = PngImagePlugin.PngInfo()
    info.add_text("fsutils-stages", "\n".join(loaded))
    info.add_text("fsutils-examples", "\n".join(f"{p}|{a}" for p, a in examples))
    dest = Path(dest)
    Image.fromarray(grid).save(dest, pnginfo=info, optimize=True)
    return dest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python tools/ship_swap.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", type=Path,
                   help="last.pt, best.pt or generator_step<N>.pt of python -m fsutils.train swap")
    p.add_argument("--stages", type=Path, nargs="+", metavar="RUN",
                   help="also draw the generator_step<N>.pt snapshots of these folders (a run "
                        "folder, or one of exported copies of last.pt taken during training) and "
                        f"the shipped generator into {STAGES_FILE.relative_to(ASSETS_DIR.parent.parent)}")
    p.add_argument("--step", type=int, help="the checkpoint's training step (default: read from it)")
    p.add_argument("--name", default=DEFAULT_SWAP_WEIGHTS, help="registry name and file name")
    p.add_argument("--measure", type=Path, metavar="CCP_ROOT",
                   help="then measure the shipped generator on the test split (as python -m "
                        "fsutils.evaluate swap) and write the figures into fsutils/assets/measured.toml")
    p.add_argument("--device", default=None, help="device of the measurement")
    args = p.parse_args(argv)
    if not args.checkpoint.is_file():
        p.error(f"{args.checkpoint} is not a file; give a checkpoint of python -m fsutils.train "
                "swap (e.g. runs/cagan/best.pt).")
    if args.measure is not None and not args.measure.is_dir():
        p.error(f"--measure {args.measure} is not a folder; give the folder that holds photos/, "
                "annotations/ and label_list.mat.")
    snapshots: dict[int, Path] = {}
    for folder in args.stages or ():
        found = snapshot_steps(folder)
        if not found:
            p.error(f"{folder} holds no generator_step<N>.pt snapshot; give the run folder.")
        snapshots.update(found)
    try:
        shipped = ship_generator(args.checkpoint, name=args.name, step=args.step)
    except (ValueError, W.WeightsError) as e:
        raise SystemExit(f"error: {e}") from None
    print(f"shipped {shipped['path']} ({shipped['size']:,} bytes, sha256 {shipped['sha256']}, "
          f"step {shipped['step']}); registry entry [{args.name}] written to {REGISTRY_FILE}")
    if args.stages is not None:
        stages = {f"step {s:,}": snapshots[s] for s in sorted(snapshots)
                  if shipped["step"] is None or s < shipped["step"]}
        stages[f"step {shipped['step']:,}, shipped" if shipped["step"] else "shipped"] = shipped["path"]
        print("training stages drawn into", render_stages(stages), "—", "; ".join(stages))
    if args.measure is not None:
        from fsutils.evaluation.swap import evaluate_swap, last_line, swap_table

        result = evaluate_swap(args.measure, str(shipped["path"]), "test", device=args.device)
        record_figures(result, shipped["step"], validation=validation_record(args.checkpoint))
        print("\n".join([f"split={result['split']} images={result['images']}",
                         *swap_table(result["scores"]), last_line(result["scores"])]))
        print("figures written to the [swap] table of fsutils/assets/measured.toml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
