"""``python -m fsutils.train {cloth,instances,swap} …``: the command line of :mod:`fsutils.training`."""
from __future__ import annotations

import sys

from .training.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
