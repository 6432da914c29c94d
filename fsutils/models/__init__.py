"""All network definitions of the kit live here."""
from .u2net import U2NET, U2NETP

__all__ = ["U2NET", "U2NETP"]
