"""Restyling many photos: output names that cannot collide (:mod:`fsutils.batch.names`)."""
from .names import Photo, name_photos

__all__ = ["Photo", "name_photos"]
