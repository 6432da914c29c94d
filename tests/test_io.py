"""fsutils.io: load_image on a catalogue of odd and broken files made here, array helpers, samples."""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fsutils import io as fio
from fsutils.io import ImageLoadError, load_image, to_float, to_pil


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


# ---------------------------------------------------------------------------- odd but valid
def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (40, 20), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 20, 20))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    out = load_image(write(tmp_path, "rot.jpg", encode(img, "JPEG", exif=exif, quality=95)))
    assert out.size == (20, 40) and out.mode == "RGB"
    top, bottom = np.asarray(out)[5, 10], np.asarray(out)[35, 10]
    assert top[0] > 200 and top[2] < 60       # the red half is now on top
    assert bottom[2] > 200 and bottom[0] < 60


def test_rgba_is_composited_on_white():
    img = Image.new("RGBA", (4, 4), (255, 0, 0, 0))       # fully transparent red
    img.putpixel((1, 1), (255, 0, 0, 255))                # opaque red
    img.putpixel((2, 2), (0, 0, 0, 128))                  # half-transparent black
    a = np.asarray(load_image(encode(img, "PNG")))
    assert tuple(a[0, 0]) == (255, 255, 255)
    assert tuple(a[1, 1]) == (255, 0, 0)
    assert all(abs(int(v) - 127) <= 1 for v in a[2, 2])


def test_la_and_palette_transparency():
    la = Image.new("LA", (3, 3), (0, 0))
    la.putpixel((0, 0), (0, 255))
    a = np.asarray(load_image(encode(la, "PNG")))
    assert tuple(a[0, 0]) == (0, 0, 0) and tuple(a[1, 1]) == (255, 255, 255)

    p = Image.new("P", (3, 3), 0)
    p.putpalette([0, 255, 0] + [0, 0, 255] + [0, 0, 0] * 254)
    p.putpixel((2, 2), 1)
    b = np.asarray(load_image(encode(p, "PNG", transparency=0)))
    assert tuple(b[0, 0]) == (255, 255, 255) and tuple(b[2, 2]) == (0, 0, 255)
    c = np.asarray(load_image(encode(p, "PNG")))  # no transparency: palette colours kept
    assert tuple(c[0, 0]) == (0, 255, 0)


def test_cmyk_becomes_rgb():
    cmyk = Image.new("CMYK", (8, 8), (255, 0, 0, 0))  # pure cyan
    out = load_image(encode(cmyk, "JPEG", quality=95))
    r, g, b = np.asarray(out)[4, 4].astype(int)
    assert out.mode == "RGB" and r < 40 and g > 215 and b > 215


def test_sixteen_bit_grey_is_scaled_not_clipped():
    ramp = np.array([[0, 257 * 64, 257 * 128, 65535]], dtype=np.uint16)
    img = Image.fromarray(ramp)
    data = encode(img, "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    out = np.asarray(load_image(data))
    assert out.shape == (1, 4, 3)
    assert list(out[0, :, 0]) == [0, 64, 128, 255]


def test_float_and_bilevel_and_grey(tmp_path):
    f = Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32), "F")
    out = np.asarray(load_image(write(tmp_path, "f.tif", encode(f, "TIFF"))))
    assert list(out[0, :, 1]) == [0, 128, 255]
    one = Image.new("1", (2, 1), 0)
    one.putpixel((1, 0), 1)
    assert np.asarray(load_image(encode(one, "PNG")))[0, :, 0].tolist() == [0, 255]
    grey = Image.new("L", (2, 2), 77)
    assert np.asarray(load_image(encode(grey, "JPEG", quality=100)))[0, 0].tolist() == [77] * 3


def test_first_frame_of_an_animation():
    frames = [Image.new("RGB", (4, 4), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    r, g, b = np.asarray(load_image(buf.getvalue()))[0, 0]
    assert r > 200 and b < 50


def test_inputs_path_bytes_stream_and_image(tmp_path):
    img = Image.new("RGB", (5, 3), (10, 20, 30))
    data = encode(img, "PNG")
    path = write(tmp_path, "x.png", data)
    for src in (path, str(path), data, bytearray(data), io.BytesIO(data), img):
        out = load_image(src)
        assert out.size == (5, 3) and out.mode == "RGB"
        assert tuple(np.asarray(out)[0, 0]) == (10, 20, 30)


# ------------------------------------------------------------------------------------- broken
def test_empty_file_and_empty_bytes(tmp_path):
    with pytest.raises(ImageLoadError, match="empty"):
        load_image(write(tmp_path, "empty.jpg", b""))
    with pytest.raises(ImageLoadError, match="empty"):
        load_image(b"")
    with pytest.raises(ImageLoadError, match="empty"):
        load_image(io.BytesIO(b""))


def test_not_an_image(tmp_path):
    with pytest.raises(ImageLoadError, match="not an image") as err:
        load_image(write(tmp_path, "notes.jpg", b"just some text, not pixels\n" * 10))
    assert "notes.jpg" in str(err.value)
    with pytest.raises(ImageLoadError, match="not an image"):
        load_image(b"<!DOCTYPE html><html>quota exceeded</html>")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_file(tmp_path, fmt):
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    data = encode(img, fmt)
    path = write(tmp_path, f"cut.{fmt.lower()}", data[: len(data) // 2])
    with pytest.raises(ImageLoadError, match="truncated"):
        load_image(path)


@pytest.mark.parametrize("keep", [30, 300, 600])
def test_jpeg_cut_inside_its_header(tmp_path, keep):
    """A JPEG cut before its first scan fails in ``Image.open`` itself (Pillow: ``OSError:
    Truncated File Read``), not in decoding: still an :class:`ImageLoadError`."""
    data = fio.sample_photos()[0].read_bytes()
    path = write(tmp_path, "cut.jpg", data[:keep])
    with pytest.raises(ImageLoadError, match="truncated or corrupt"):
        load_image(path)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width×height`` (a decompression-bomb shape) with no pixel data."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_before_decoding(monkeypatch):
    with pytest.raises(ImageLoadError, match="decompression bombs") as err:
        load_image(png_header_only(50_000, 50_000))
    assert "2,500,000,000 pixels" in str(err.value)
    with pytest.raises(ImageLoadError, match="decompression bombs") as err:
        load_image(png_header_only(10_000, 10_000))  # below Pillow's own limit, above the kit's
    assert "100,000,000 pixels" in str(err.value) and "max_pixels" in str(err.value)
    small = encode(Image.new("RGB", (20, 20)), "PNG")
    with pytest.raises(ImageLoadError, match="limit of 100"):
        load_image(small, max_pixels=100)
    monkeypatch.setenv("FSUTILS_MAX_PIXELS", "399")
    with pytest.raises(ImageLoadError):
        load_image(small)
    assert load_image(small, max_pixels=400).size == (20, 20)


def test_missing_path_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.jpg"):
        load_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageLoadError, match="folder"):
        load_image(tmp_path)


# ------------------------------------------------------------------------------ array helpers
def test_to_float_and_back():
    rng = np.random.default_rng(1)
    u8 = rng.integers(0, 256, (7, 5, 3), dtype=np.uint8)
    f = to_float(Image.fromarray(u8))
    assert f.dtype == np.float32 and f.shape == (7, 5, 3)
    assert np.allclose(f, u8 / 255.0)
    assert np.array_equal(np.asarray(to_pil(f)), u8)
    assert np.array_equal(to_float(u8), f)
    grey = to_float(np.full((2, 3), 0.25, dtype=np.float64))
    assert grey.shape == (2, 3, 3) and grey.dtype == np.float32
    rgba = to_float(np.array([[[1.0, 0.0, 0.0, 0.5]]]))
    assert np.allclose(rgba, [[[1.0, 0.5, 0.5]]])


def test_to_pil_masks_and_tensors():
    mask = np.zeros((3, 4), bool)
    mask[1, 2] = True
    m = to_pil(mask)
    assert m.mode == "L" and m.size == (4, 3) and np.asarray(m)[1, 2] == 255
    import torch
    t = torch.zeros(3, 2, 5)
    t[0] = 1.0
    img = to_pil(t)
    assert img.size == (5, 2) and tuple(np.asarray(img)[0, 0]) == (255, 0, 0)


def test_to_rgb_takes_every_picture_form(tmp_path):
    """One conversion for every input the kit accepts: PIL (any mode), arrays, tensors, files."""
    import torch
    u8 = np.random.default_rng(2).integers(0, 256, (4, 6, 3), dtype=np.uint8)
    path = tmp_path / "p.png"
    Image.fromarray(u8).save(path)
    for src in (Image.fromarray(u8), u8, u8 / 255.0, torch.from_numpy(u8 / 255.0).permute(2, 0, 1),
                path, str(path), path.read_bytes()):
        img = fio.to_rgb(src)
        assert img.mode == "RGB" and np.array_equal(np.asarray(img), u8), type(src)
    rgba = Image.new("RGBA", (2, 2), (255, 0, 0, 0))
    assert tuple(np.asarray(fio.to_rgb(rgba))[0, 0]) == (255, 255, 255)   # alpha on white
    grey = fio.to_rgb(np.full((2, 2), 0.5))
    assert grey.mode == "RGB" and tuple(np.asarray(grey)[0, 0]) == (128, 128, 128)
    with pytest.raises(TypeError, match="got int"):
        fio.to_rgb(7)
    with pytest.raises(ValueError):
        fio.to_rgb(np.full((2, 2, 3), 3.0))


def test_as_array_and_to_uint8():
    import torch
    t = torch.rand(1, 3, 4, 5)
    assert fio.as_array(t).shape == (4, 5, 3)
    assert fio.as_array(Image.new("LA", (3, 2))).shape == (2, 3, 3)
    mask = np.eye(3, dtype=bool)
    assert fio.to_uint8(mask).tolist()[0] == [255, 0, 0]
    assert fio.to_uint8(np.array([np.nan, 0.5, 2.0], np.float32)).ravel().tolist() == [0, 128, 255]
    with pytest.raises(ValueError, match="uint8"):
        fio.to_uint8(np.zeros((2, 2), np.int32))


@pytest.mark.parametrize("bad", [np.zeros((2, 2, 5)), np.zeros(5), np.full((2, 2, 3), 3.0),
                                 np.zeros((2, 2, 3), np.int32)])
def test_bad_arrays_are_rejected(bad):
    with pytest.raises(ValueError):
        to_float(bad)



# ----------------------------------------------------------------------------- longest side
def test_fit_long_side_resizes_the_longest_side_and_keeps_the_aspect():
    wide = Image.new("RGB", (400, 100), (200, 10, 10))
    assert fio.fit_long_side(wide, 200).size == (200, 50)
    assert fio.fit_long_side(wide, 800).size == (800, 200)  # enlarged by default
    assert fio.fit_long_side(wide, 800, enlarge=False) is wide  # only shrunk
    assert fio.fit_long_side(wide, 200, enlarge=False).size == (200, 50)
    assert fio.fit_long_side(wide, None) is wide and fio.fit_long_side(wide, 400) is wide
    assert fio.fit_long_side(Image.new("L", (100, 1000)), 10).size == (1, 10)  # never 0 px
    stripes = Image.fromarray(np.tile(np.array([0, 255], np.uint8), (4, 4)))  # 8×4, 0/255 columns
    nearest = np.asarray(fio.fit_long_side(stripes, 4, resample=Image.Resampling.NEAREST))
    assert nearest.shape == (2, 4) and set(np.unique(nearest)) <= {0, 255}  # labels stay labels
    for bad in (0, -3, 2.5):
        with pytest.raises(ValueError, match="longest side"):
            fio.fit_long_side(wide, bad)


# ------------------------------------------------------------------------------------ samples
def test_samples_are_bundled_loadable_and_credited():
    photos, styles = fio.sample_photos(), fio.sample_styles()
    assert len(photos) == 6 and len(styles) == 11
    credits = (fio.SAMPLES_DIR / "CREDITS.md").read_text()
    for p in photos + styles:
        assert f"`{p.name}`" in credits, p.name
        img = load_image(p)
        assert img.mode == "RGB" and min(img.size) >= 256
    assert fio.sample_path("ccp_0001") == fio.sample_path("ccp_0001.jpg") == photos[0]
    assert fio.sample_path("style/candy").name == "candy.jpg"
    with pytest.raises(FileNotFoundError, match="starry_night_vangogh"):
        fio.sample_path("mona_lisa")
