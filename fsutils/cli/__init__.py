"""The command line ``python -m fsutils``: its options (:mod:`fsutils.cli.options`) and the run
(:mod:`fsutils.cli.main`)."""
from .main import INTERRUPTED, main
from .options import MAX_SIDE, MIN_SIDE, build_parser

__all__ = ["main", "build_parser", "MAX_SIDE", "MIN_SIDE", "INTERRUPTED"]
