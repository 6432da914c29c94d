"""Change events: a pipeline tells the panels that follow it when its photo or its current
stylised image changed, so each panel redraws itself (:meth:`Events.on_change`)."""
from __future__ import annotations

from collections.abc import Callable

__all__ = ["Events"]


class Events:
    """A list of listeners called with an event name (``"image"``, ``"style"``)."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[str], None]] = []

    def on_change(self, callback: Callable[[str], None], remove: bool = False) -> None:
        """Call ``callback(event)`` after the photo changed (``"image"``) or a new stylised image
        became the current one (``"style"``); ``remove=True`` stops calling it."""
        if remove:
            self._listeners = [c for c in self._listeners if c != callback]
        elif callback not in self._listeners:
            self._listeners.append(callback)

    def emit(self, event: str) -> None:
        """Tell every listener that ``event`` happened."""
        for cb in list(self._listeners):
            cb(event)
