"""Pickers: the photo (:class:`PhotoPicker`), the painting (:class:`StylePicker`) and the garment
classes (:class:`GarmentPicker`); :func:`colab_upload` for Colab's file dialog."""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
import html
import io

import ipywidgets as W
from PIL import Image

from fsutils import io as fio
from fsutils.garments import Point, resolve_garments
from fsutils.limits import check_photo_size, working_size
from fsutils.pipeline import Pipeline
from fsutils.user_names import file_stem, shown

from .base import STYLE_WIDE
from .drawing import thumbnail

__all__ = ["ImagePicker", "PhotoPicker", "StylePicker", "GarmentPicker", "colab_upload"]


def _upload_file(upload: W.FileUpload) -> tuple[str, bytes] | None:
    """The uploaded file's name and bytes. ipywidgets 8 gives a tuple of ``{"name", "content",
    …}``; ipywidgets 7 (Colab's) a dict ``{file name: {"metadata": …, "content": bytes}}``."""
    value = upload.value
    if not value:
        return None
    if isinstance(value, dict):
        name, item = next(iter(value.items()))
    else:
        item = value[0]
        name = item.get("name", "")
    return str(name or ""), bytes(item["content"])


class ImagePicker(W.VBox):
    """What the photo and style pickers share: an upload button, ``.value`` (the chosen PIL
    image), ``.name``, :meth:`set` and :meth:`on_pick`.

    An upload that cannot be used — not an image, empty, truncated, too many pixels (the limit of
    :func:`fsutils.io.load_image`), a side too short (:func:`fsutils.limits.check_photo_size`) —
    is refused in the picker's status line (``.problem`` holds the line) and the image chosen
    before stays; nothing is raised out of the upload button. An upload's file name becomes
    ``.name`` through :func:`fsutils.user_names.file_stem` (no folders, no hidden names, no
    control characters).

    A subclass creates its own controls, calls ``super().__init__(upload_label)`` and implements
    :meth:`_children` (the layout, which may use ``self.upload``) and :meth:`_use` (what choosing
    an image changes besides ``.value`` and ``.name``).
    """

    default_name = "image"

    def __init__(self, upload_label: str) -> None:
        self.upload = W.FileUpload(accept="image/*", multiple=False, description=upload_label)
        self.value: Image.Image | None = None
        self.name: str = ""
        #: why the last upload was refused (one line), "" when it was used
        self.problem: str = ""
        self._status_html = ""
        self._callbacks: list[Callable[[Image.Image], None]] = []
        super().__init__(self._children())
        self.upload.observe(lambda c: self._pick_upload(), names="value")

    def _children(self) -> list[W.Widget]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _use(self, img: Image.Image, name: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def on_pick(self, callback: Callable[[Image.Image], None]) -> None:
        """Call ``callback(image)`` whenever an image is chosen."""
        self._callbacks.append(callback)

    def _status(self) -> W.HTML:  # pragma: no cover - abstract
        """The picker's status line."""
        raise NotImplementedError

    def _set_status(self, html_text: str) -> None:
        """Show ``html_text`` (names already escaped) as the status of the chosen image."""
        self._status_html, self.problem = html_text, ""
        self._status().value = html_text

    def check(self, img: Image.Image) -> None:
        """Refuse (``ValueError``) an image this picker cannot use; the sizes of
        :mod:`fsutils.limits` by default (a side under ``MIN_SIDE`` px)."""
        check_photo_size(img.size, img.size, None)

    def load_upload(self, filename: str, content: bytes) -> tuple[Image.Image, str]:
        """The image of an uploaded file and its name (:func:`~fsutils.user_names.file_stem`),
        checked (:meth:`check`); raises what :func:`fsutils.io.load_image` and :meth:`check`
        raise, its messages naming the file."""
        stream = io.BytesIO(content)
        stream.name = shown(filename or "the upload")   # how load_image's messages name it
        img = fio.load_image(stream)
        self.check(img)
        return img, file_stem(filename, self.default_name)

    def _pick_upload(self) -> None:
        got = _upload_file(self.upload)
        if got is None:
            return
        try:
            img, name = self.load_upload(*got)
        except Exception as e:  # noqa: BLE001 — any failure to read an uploaded file is shown
            self.refuse(got[0], e)
            return
        self._use_upload(img, name)

    def _use_upload(self, img: Image.Image, name: str) -> None:
        self.set(img, name)

    def refuse(self, filename: str, err: BaseException) -> None:
        """Show why the upload ``filename`` was not used in the status line (the image chosen
        before stays) and keep it in :attr:`problem`."""
        text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        name = shown(filename or "the upload")
        self.problem = text if text.startswith(name) else f"{name}: {text}"
        kept = f"; still using {html.escape(shown(self.name))}" if self.value is not None else ""
        self._status().value = (f"{self._status_html}<br><span class=\"fsutils-upload-problem\" "
                                f"style=\"color:#b00020\">upload not used: "
                                f"{html.escape(self.problem)}{kept}</span>")

    def set(self, img: Image.Image, name: str | None = None) -> None:
        """Use ``img`` (what the bundled choices and the upload call)."""
        name = name or self.default_name
        self.value, self.name = img, name
        self._use(img, name)
        for cb in self._callbacks:
            cb(img)


def colab_upload(picker: ImagePicker | None = None) -> Image.Image:
    """On Colab: open the browser's file dialog (``google.colab.files.upload()``), load the first
    file, and hand it to ``picker`` (a :class:`PhotoPicker` or :class:`StylePicker`). Run it in a
    cell of its own: Colab's dialog cannot be opened from a button."""
    if "google.colab" not in sys.modules:
        raise RuntimeError("colab_upload() works on Google Colab only; use the picker's Upload "
                           "button (or pass a file path to pipe.set_image) elsewhere.")
    from google.colab import files  # type: ignore[import-not-found]

    uploaded = files.upload()
    if not uploaded:
        raise RuntimeError("no file was uploaded")
    name, data = next(iter(uploaded.items()))
    if picker is None:
        return fio.load_image(data)
    img, stem = picker.load_upload(name, data)
    picker._use_upload(img, stem)
    return img


class PhotoPicker(ImagePicker):
    """Choose the photo: a bundled sample (dropdown) or an upload; shows a thumbnail and sets the
    photo on ``pipe`` (so every panel of that pipeline follows).

    With a ``pipe`` that already has a photo, the picker opens on that photo (it does not switch
    the pipeline to a sample), and it follows photos set on the pipeline elsewhere. ``value``
    chooses a bundled sample instead; without either it opens on the first sample.
    """

    default_name = "photo"

    def __init__(self, pipe: Pipeline | None = None, *, value: str | None = None) -> None:
        self.pipe = pipe
        self.samples = {p.stem: p for p in fio.sample_photos()}
        names = list(self.samples)
        follow = value is None and pipe is not None and pipe.image_key is not None
        self.dropdown = W.Dropdown(options=names, value=None if follow else (value or names[0]),
                                   description="photo", style=STYLE_WIDE)
        self.thumb = W.Image(format="png", layout=W.Layout(height="120px"))
        self.status = W.HTML()
        self._syncing = False
        super().__init__("Upload photo")
        self.add_class("fsutils-photo-picker")
        self.dropdown.observe(lambda c: self._pick_sample(), names="value")
        if pipe is not None:
            pipe.on_change(self._on_pipeline)
        if follow:
            self._follow_pipeline()
        else:
            self._pick_sample()

    def _children(self) -> list[W.Widget]:
        hint = [W.HTML("On Colab you can also run <code>fsutils.widgets.colab_upload(picker)</code> "
                       "in a cell.")] if "google.colab" in sys.modules else []
        return [W.HBox([self.thumb, W.VBox([self.dropdown, self.upload, self.status])]), *hint]

    def _pick_sample(self) -> None:
        name = self.dropdown.value
        if self._syncing or name is None:
            return
        self.set(fio.load_image(self.samples[name]), name)

    def _status(self) -> W.HTML:
        return self.status

    def check(self, img: Image.Image) -> None:
        """Refuse a photo with a side under ``MIN_SIDE`` px at the pipeline's working size, as
        the command line does (:func:`fsutils.limits.check_photo_size`)."""
        size = self.pipe.photo_size if self.pipe is not None else None
        check_photo_size(img.size, working_size(img.size, size), size,
                         larger="give the pipeline a larger photo_size")

    def _show(self, img: Image.Image, name: str) -> None:
        self.thumb.value = thumbnail(img, 160)
        self._set_status(f"<b>{html.escape(shown(name))}</b> — {img.width}×{img.height} px")

    def _use(self, img: Image.Image, name: str) -> None:
        self._show(img, name)
        if self.pipe is not None:
            self._syncing = True  # the pipeline's "image" event must not redraw this picker
            try:
                self.pipe.set_image(img, name=name)
            finally:
                self._syncing = False

    def _on_pipeline(self, event: str) -> None:
        if event == "image" and not self._syncing:
            self._follow_pipeline()

    def _follow_pipeline(self) -> None:
        """Show the pipeline's current photo (set by another cell or panel) as the chosen one."""
        pipe = self.pipe
        name = pipe.image_name or self.default_name
        self._syncing = True
        try:
            self.dropdown.value = name if name in self.samples else None
        finally:
            self._syncing = False
        self.value, self.name = pipe.photo, name
        self._show(pipe.photo, name)


class StylePicker(ImagePicker):
    """The bundled paintings as thumbnails (click one) plus an upload; ``.value`` is the chosen
    painting (PIL), ``.name`` its name."""

    default_name = "painting"

    def __init__(self, value: str = "starry_night_vangogh", *, columns: int = 6) -> None:
        self.samples = {p.stem: p for p in fio.sample_styles()}
        if value not in self.samples:
            value = next(iter(self.samples))
        self.buttons: dict[str, W.Button] = {}
        self._cells = []
        for name, path in self.samples.items():
            img = fio.load_image(path)
            thumb = W.Image(value=thumbnail(img, 84), format="png",
                            layout=W.Layout(width="84px", height="84px", object_fit="cover"))
            button = W.Button(description=self.label_of(name), tooltip=name.replace("_", " "),
                              layout=W.Layout(width="84px", padding="0px 2px"))  # "kandinsky" fits
            button.on_click(lambda b, n=name: self.select(n))
            self.buttons[name] = button
            self._cells.append(W.VBox([thumb, button], layout=W.Layout(align_items="center")))
        self._columns = columns
        self.label = W.HTML()
        super().__init__("Your painting")
        self.add_class("fsutils-style-picker")
        self.select(value)

    @staticmethod
    def label_of(name: str) -> str:
        """A painting's button label: the painter, the last part of the file name
        (``starry_night_vangogh`` → ``vangogh``); the whole name when it has one part."""
        return name.rsplit("_", 1)[-1]

    def _children(self) -> list[W.Widget]:
        grid = W.GridBox(self._cells, layout=W.Layout(
            grid_template_columns=f"repeat({self._columns}, 90px)", grid_gap="4px"))
        return [grid, W.HBox([self.upload, self.label])]

    def select(self, name: str) -> None:
        """Choose a bundled painting by name."""
        self.set(fio.load_image(self.samples[name]), name)

    def _status(self) -> W.HTML:
        return self.label

    def _use(self, img: Image.Image, name: str) -> None:
        for n, b in self.buttons.items():
            b.button_style = "info" if n == name else ""
        self._set_status(f"style: <b>{html.escape(shown(name))}</b>")


class GarmentPicker(W.HBox):
    """One checkbox per garment class (by name), and the garments pointed at on a panel's
    picture; ``.garments`` is the points when there are any (:meth:`toggle`), else the ticked
    label indices. ``names`` defaults to the cloth models' classes
    (:data:`fsutils.segment.CLASS_NAMES`). Ticking a class forgets the points."""

    def __init__(self, names: Iterable[str] | None = None,
                 value: Iterable[int | str] | None = None) -> None:
        if names is None:
            from fsutils.segment import CLASS_NAMES as names
        self.names = tuple(names)
        chosen = resolve_garments(value, self.names)
        self.boxes = {i: W.Checkbox(value=i in chosen, description=self.names[i], indent=False,
                                    layout=W.Layout(width="130px"))
                      for i in range(1, len(self.names))}
        for i, b in self.boxes.items():
            b.add_class(f"fsutils-garment-{i}")
            b.observe(lambda c: self._forget_points(), names="value")
        #: the points of the garments pointed at (photo pixels as given); its text says which
        self.points: tuple[Point, ...] = ()
        self.pointed = W.HTML("")
        self.pointed.add_class("fsutils-pointed")
        super().__init__([W.HTML("<b>garments:</b>&nbsp;"), *self.boxes.values(), self.pointed])
        self.add_class("fsutils-garments")

    @property
    def garments(self) -> tuple[int, ...] | tuple[Point, ...]:
        if self.points:
            return self.points
        return tuple(i for i, b in self.boxes.items() if b.value)

    def set_points(self, points: Iterable[Point]) -> None:
        """Choose the garments at ``points`` (none: the ticked classes again); the text after the
        checkboxes says which, and panels that watch :attr:`pointed` redraw."""
        self.points = resolve_garments(list(points)) if points else ()
        self.pointed.value = ("&nbsp;pointed at: " + ", ".join(map(str, self.points))
                              + " (click a chosen garment again to drop it)" if self.points
                              else "")

    def toggle(self, pipe: Pipeline, point: Point) -> None:
        """A click at ``point`` (photo pixels as given) on ``pipe``'s photo: drops the chosen
        garments under it, else adds the garment there. Raises
        :class:`fsutils.clicks.NoGarmentAt` when there is none."""
        from fsutils.clicks import to_working

        h, w = pipe.content.shape[:2]
        x, y = to_working(point, pipe.given_size, (w, h))
        under = [p for p in self.points if pipe.mask((p,))[y, x]]
        if under:
            self.set_points([p for p in self.points if p not in under])
            return
        pipe.mask([point])                             # NoGarmentAt when nothing is there
        self.set_points([*self.points, point])

    def _forget_points(self) -> None:
        if self.points:
            self.set_points(())

    @garments.setter
    def garments(self, value: Iterable[int | str]) -> None:
        chosen = resolve_garments(value, self.names)
        for i, b in self.boxes.items():
            b.value = i in chosen

    def observe_garments(self, callback: Callable[[tuple[int, ...]], None]) -> None:
        for b in self.boxes.values():
            b.observe(lambda c: callback(self.garments), names="value")
