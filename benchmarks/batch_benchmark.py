"""How many photos per second does a batch restyle, locally and on Ray, and how fast does a rerun
skip what is done? Photos per second of `python -m fsutils DIR` on the same 48 photos.

    python benchmarks/batch_benchmark.py [--photos 48] [--photo-size N] [--workers 2] [--tiny]

Three runs of the command line in this process, each timed from the call to its return (models
loaded, every file and manifest row written): the local engine into one folder; the Ray engine
with ``--workers`` workers into another, on a local Ray cluster started beforehand (as a cluster
is running before a job is sent to it; ``ray.init(num_cpus=workers)``); and the local command
again on the first folder, which skips every photo. The photos are the first Clothing Co-Parsing
photos of ``$FSUTILS_CCP_ROOT`` (else the bundled samples, copied under new names). The last line
is ``local_pps=<f> ray_pps=<f> skip_pps=<f>`` (``ray_pps=nan`` without Ray, ``pip install
"fsutils[ray]"``). Needs the default run's weights (bundled, or through
``FSUTILS_WEIGHTS_MIRROR``).
"""
from __future__ import annotations

import contextlib
import io
import itertools
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from fsutils import io as fio
from fsutils.__main__ import main as fsutils_main
from fsutils.batch import Manifest, ray_engine
from timing import parser


def _photos(folder: Path, n: int, side: int | None) -> Path:
    """``n`` photos copied into ``folder`` (shrunk to ``side`` px when given)."""
    root = os.environ.get("FSUTILS_CCP_ROOT")
    ccp = sorted((Path(root) / "photos").glob("*.jpg")) if root else []
    sources = ccp[:n] if len(ccp) >= n else list(itertools.islice(
        itertools.cycle(fio.sample_photos()), n))
    folder.mkdir(parents=True, exist_ok=True)
    for i, src in enumerate(sources):
        target = folder / f"{i:03d}_{src.stem}.png"
        if side:
            im = fio.load_image(src)
            im.thumbnail((side, side))
            im.save(target)
        else:
            shutil.copy(src, target.with_suffix(src.suffix))
    return folder


def _timed(args: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (of this process, all its threads) of one command-line run
    (its output kept, and shown if it failed)."""
    out, err = io.StringIO(), io.StringIO()
    t0, c0 = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = fsutils_main(args)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    if rc != 0:
        sys.exit(f"python -m fsutils {' '.join(args)} failed (exit {rc}):\n{err.getvalue()}")
    return seconds, cpu


def _per_photo(out: str) -> str:
    """The median and p90 of the manifest's per-photo seconds (one photo's wall clock inside
    its worker: read, restyle, write; the models already loaded)."""
    seconds = sorted(r["seconds"] for r in Manifest(out).rows() if not r.get("error"))
    if not seconds:
        return "no photo done"
    return (f"per photo {statistics.median(seconds):.2f} s median, "
            f"{seconds[int(0.9 * (len(seconds) - 1))]:.2f} s p90")


def main(argv=None) -> None:
    ap = parser(__doc__)
    ap.add_argument("--photos", type=int, default=48)
    ap.add_argument("--photo-size", type=int, default=None,
                    help="the command line's --photo-size (default: its own, 512 px on a CPU)")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    n = 3 if args.tiny else args.photos
    size = ["--photo-size", "64", "--style-size", "64", "--save", "stylized"] if args.tiny else (
        ["--photo-size", str(args.photo_size)] if args.photo_size else [])
    with tempfile.TemporaryDirectory() as tmp:
        photos = _photos(Path(tmp) / "photos", n, 256 if args.tiny else None)
        common = [str(photos), "--quiet", *size]
        local, cpu = _timed([*common, "--out", f"{tmp}/local"])
        print(f"local engine: {n} photos in {local:.1f} s ({cpu:.1f} s CPU, all threads; "
              f"{_per_photo(f'{tmp}/local')})", flush=True)
        ray_s = float("nan")
        if ray_engine.available():
            import ray

            ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
            try:
                ray_s, _ = _timed([*common, "--out", f"{tmp}/ray", "--engine", "ray",
                                   "--workers", str(args.workers)])
            finally:
                ray.shutdown()
            print(f"ray engine, {args.workers} workers: {n} photos in {ray_s:.1f} s "
                  f"({_per_photo(f'{tmp}/ray')})", flush=True)
        else:
            print(f"ray engine: not installed ({ray_engine.INSTALL})", flush=True)
        skip, _ = _timed([*common, "--out", f"{tmp}/local"])
        print(f"rerun that skips all: {n} photos in {skip:.2f} s", flush=True)
    print(f"local_pps={n / local:.3f} ray_pps={n / ray_s:.3f} skip_pps={n / skip:.3f}")


if __name__ == "__main__":
    main()
