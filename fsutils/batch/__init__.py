"""Restyling many photos, resumably, on one machine or on a cluster.

- :mod:`fsutils.batch.names`: output names that cannot collide, decided before any model loads;
- :mod:`fsutils.batch.unit`: :class:`RestyleBatch`, the unit of work every engine runs (the
  pipeline loaded once, a batch of photos in, written files and manifest rows out);
- :mod:`fsutils.batch.manifest`: the output folder's ``manifest.jsonl`` and what a rerun skips;
- :mod:`fsutils.batch.ray_engine`: the same unit on Ray Data (an optional extra).
"""
from .manifest import MANIFEST_NAME, Manifest
from .names import Photo, name_photos
from .unit import BatchSettings, RestyleBatch

__all__ = ["Photo", "name_photos", "Manifest", "MANIFEST_NAME", "BatchSettings", "RestyleBatch"]
