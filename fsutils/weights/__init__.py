"""The weights layer: one registry of checkpoints, one ``fetch``, one safe checkpoint reader.

``fetch(name)`` returns a checked local copy of a registry checkpoint: from the mirror folder
``$FSUTILS_WEIGHTS_MIRROR``, the cache (``weights/`` of the checkout, ``$FSUTILS_WEIGHTS_DIR``, or
``~/.cache/fsutils/weights``), or downloaded from the entry's sources (Google Drive, HTTPS, a
member of a zip archive, or a file bundled in ``fsutils/assets``) with size and SHA-256 checks.
``load_state_dict(model, name_or_path)`` reads with ``torch.load(weights_only=True)`` and loads
strictly, with errors that say what to do next. ``require(names)`` fetches every checkpoint a
run needs and, when any is missing, raises one error that lists them all with where to get each
and where to put it; ``missing(names)`` says which would need a download.

The package is laid out by concern:

- :mod:`.spec` — what an entry says (:class:`Weights`, its sources, :class:`Preprocessing`);
- ``registry.toml`` — the registry's data, one table per checkpoint;
- :mod:`.registry` — :data:`REGISTRY`, :func:`get`, and :func:`lookup`, the one place that
  decides "registry name or file path";
- :mod:`.store` — cache, mirror, :func:`fetch`, :func:`require`; :mod:`.download` — the
  downloaders;
- :mod:`.verify` — size, format and SHA-256 checks; :mod:`.checkpoint` — the reader;
- :mod:`.errors` — the exceptions.

Environment: ``FSUTILS_WEIGHTS_DIR`` (cache folder), ``FSUTILS_WEIGHTS_MIRROR`` (mirror folder),
``FSUTILS_OFFLINE=1`` (never touch the network; loopback URLs stay allowed for tests),
``FSUTILS_DOWNLOAD_TIMEOUT`` (seconds without data before giving up, a number > 0, default 60),
``FSUTILS_DOWNLOAD_RETRIES`` (extra attempts that resume the transfer, a whole number ≥ 0,
default 2); :func:`download_settings` reads the two, and a value outside those raises
:class:`fsutils.settings.SettingError` naming the variable.
"""
from __future__ import annotations

from .checkpoint import (load_model, load_state_dict, locate, read_checkpoint, read_state_dict,
                         strip_module_prefix)
from .download import ARCHIVES_DIR
from .download import settings as download_settings
from .errors import (ArchitectureMismatchError, CheckpointError, DownloadError, HashMismatchError,
                     HtmlPageError, MissingWeightsError, NoNetworkError, NotACheckpointError,
                     SizeMismatchError, StalledDownloadError, TruncatedDownloadError,
                     UnknownWeightsError, UnsafeCheckpointError, WeightsError)
from .registry import REGISTRY, get, lookup, names_for
from .spec import IMAGENET_MEAN, IMAGENET_STD, Bundled, Drive, Preprocessing, Url, Weights, ZipMember
from .store import (HASHES_FILE, cache_dir, cache_path, confirm, fetch, mirror_dir, missing,
                    print_registry, require)
from .verify import sha256

__all__ = [
    "REGISTRY", "Weights", "Preprocessing", "Drive", "Url", "ZipMember", "Bundled",
    "fetch", "require", "missing", "confirm", "download_settings",
    "get", "lookup", "names_for", "locate", "read_state_dict", "read_checkpoint", "load_state_dict",
    "strip_module_prefix", "load_model",
    "cache_dir", "mirror_dir", "cache_path", "print_registry", "sha256",
    "HASHES_FILE", "ARCHIVES_DIR", "IMAGENET_MEAN", "IMAGENET_STD",
    "WeightsError", "UnknownWeightsError", "DownloadError", "NoNetworkError", "HtmlPageError",
    "TruncatedDownloadError", "StalledDownloadError", "SizeMismatchError", "HashMismatchError",
    "CheckpointError", "NotACheckpointError", "UnsafeCheckpointError", "ArchitectureMismatchError",
    "MissingWeightsError",
]
