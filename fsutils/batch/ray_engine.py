"""The batch on Ray Data: the same unit of work (:class:`fsutils.batch.RestyleBatch`) as an actor
pool of ``map_batches``, so that a laptop and a cluster of GPU machines run the same code and
write the same files.

Ray is an optional extra (``pip install "fsutils[ray]"``); nothing here imports it until a run.
The workers read the photos and write the results where the command line names them, so on a
cluster the photos and ``--out`` must be on storage every node sees (a shared file system) and
the kit installed on every node. The rows come back to the driver, which appends them to the
manifest as they arrive: a driver killed at any moment loses at most the photos in flight.

A worker whose process dies (killed, out of memory, its machine lost) is restarted by Ray, which
loads the models again and does again the block of photos it had in flight; their files are
replaced whole and their rows come back once, so nothing is lost or recorded twice. This is Ray
Data's own default for an actor pool (its workers are created with ``max_restarts=-1`` and
``max_task_retries=-1``), so nothing is set here: recent Ray deprecates passing them through
``map_batches``. Retries have no limit: a photo that kills its worker every time (say, out of
memory) is tried again and again, and the run has to be stopped (Ctrl-C; a rerun does the rest).

>>> run(settings, photos, workers=2, on_row=print)   # doctest: +SKIP
"""
from __future__ import annotations

import importlib.util
import json
import logging
from collections.abc import Callable, Sequence

from .names import Photo
from .unit import BatchSettings, RestyleBatch

__all__ = ["INSTALL", "available", "run"]

#: How to install the extra (the command line's message says it).
INSTALL = 'pip install "fsutils[ray]"'
#: Photos per block of the dataset at most: small blocks bring rows back to the driver soon.
_BLOCK = 4


def available() -> bool:
    """Whether Ray Data can be imported here (Ray with its ``data`` extra's pyarrow)."""
    return all(importlib.util.find_spec(m) is not None for m in ("ray", "pyarrow"))


def run(settings: BatchSettings, photos: Sequence[Photo], *, address: str | None = None,
        workers: int | None = None, gpus_per_worker: float = 0.0,
        on_row: Callable[[dict], object] = lambda row: None) -> int:
    """Restyle ``photos`` on Ray and call ``on_row(row)`` for each manifest row as it arrives.

    Joins the cluster at ``address`` (``"auto"``: the one started on this machine with ``ray
    start``), or starts a local one, unless Ray is already initialised in this process (as a
    notebook or test does with ``ray.init(num_cpus=2)``). ``workers`` actors (default: one per CPU
    of the cluster, at most one per photo), each with ``gpus_per_worker`` GPUs, load the models once
    each. Returns the number of workers used."""
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, logging_level=logging.ERROR,
                 log_to_driver=False)
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = not settings.quiet
        if settings.quiet:  # Ray Data's own lines (plans, timings) only with the progress bars
            logging.getLogger("ray.data").setLevel(logging.ERROR)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        n = max(1, min(workers or cpus, len(photos)))
        items = [{"id": p.name, "path": str(p.path)} for p in photos]
        blocks = min(len(items), max(n, -(-len(items) // _BLOCK)))  # every worker gets work
        ds = ray.data.from_items(items, override_num_blocks=max(1, blocks))
        ds = ds.map_batches(RestyleBatch, fn_constructor_kwargs={"settings": settings},
                            batch_size=1, batch_format="numpy",
                            compute=ray.data.ActorPoolStrategy(size=n),
                            num_cpus=1,
                            num_gpus=gpus_per_worker or None)
        for batch in ds.iter_batches(batch_size=1, batch_format="numpy"):
            for text in batch["row"]:
                on_row(json.loads(str(text)))
        return n
    finally:
        if started:
            ray.shutdown()
