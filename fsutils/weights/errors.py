"""The errors of the weights layer: each message says what went wrong and what to do next."""
from __future__ import annotations

__all__ = [
    "WeightsError", "UnknownWeightsError", "DownloadError", "NoNetworkError", "HtmlPageError",
    "TruncatedDownloadError", "StalledDownloadError", "SizeMismatchError", "HashMismatchError",
    "CheckpointError", "NotACheckpointError", "UnsafeCheckpointError", "ArchitectureMismatchError",
    "MissingWeightsError",
]


class WeightsError(Exception):
    """Anything that went wrong with a checkpoint; the message says what to do next.
    ``weights_name`` is the registry name of the checkpoint concerned, when known."""

    weights_name: str | None = None


class UnknownWeightsError(WeightsError):
    """The name is not in :data:`REGISTRY` (and is not a path to a file)."""


class DownloadError(WeightsError):
    """A source could not deliver the file (HTTP error, missing archive member …)."""


class NoNetworkError(DownloadError):
    """The server could not be reached (no network, offline mode, DNS or connection failure)."""


class HtmlPageError(DownloadError):
    """A web page (for example Google Drive's quota or virus-scan page) arrived instead of the file."""


class TruncatedDownloadError(DownloadError):
    """The file is incomplete: empty, shorter than announced, interrupted, or its zip directory is cut off."""


class StalledDownloadError(TruncatedDownloadError):
    """The server was reached but stopped sending data for longer than the download timeout."""


class SizeMismatchError(WeightsError):
    """The file is larger than / different from the published size."""


class HashMismatchError(WeightsError):
    """The SHA-256 differs from the published hash or from the hash recorded when a copy first
    loaded."""


class CheckpointError(WeightsError):
    """The file is not a loadable checkpoint."""


class NotACheckpointError(CheckpointError):
    """Neither a PyTorch zip checkpoint nor a legacy PyTorch pickle, or unreadable as one."""


class UnsafeCheckpointError(CheckpointError):
    """The checkpoint holds pickled Python objects beyond tensors (it could run code); refused."""


class ArchitectureMismatchError(CheckpointError):
    """The state dict does not fit the model (missing / unexpected keys, other shapes)."""


class MissingWeightsError(WeightsError):
    """Checkpoints a run needs could not be obtained; the message lists every one of them, where
    to get it and where to put it. ``names`` are their registry names."""

    def __init__(self, message: str, names: tuple[str, ...] = ()):
        super().__init__(message)
        self.names = names
