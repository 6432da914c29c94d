"""fsutils.weights: fetch through the real download path (gdown) from a local HTTP server, and
safe, strict loading."""
from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from fsutils import weights as W

# --------------------------------------------------------------------------------- helpers


class Tiny(nn.Module):
    def __init__(self, ch: int = 4):
        super().__init__()
        self.conv = nn.Conv2d(3, ch, 3)
        self.bn = nn.BatchNorm2d(ch)


def ckpt_bytes(sd=None, **save_kw) -> bytes:
    buf = io.BytesIO()
    torch.save(Tiny().state_dict() if sd is None else sd, buf, **save_kw)
    return buf.getvalue()


def entry(name="tiny", sources=(), **kw) -> W.Weights:
    kw.setdefault("filename", f"{name}.pth")
    return W.Weights(name=name, sources=tuple(sources), arch="Tiny(ch=4)", license="test",
                     credit="test", factory=f"{__name__}:Tiny", **kw)


@pytest.fixture
def register(monkeypatch):
    def add(w: W.Weights) -> W.Weights:
        monkeypatch.setitem(W.REGISTRY, w.name, w)
        return w
    return add


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) with its content."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture
def wcache(isolated_weights):
    """The isolated cache with one unrelated file in it, to show failures leave it as it was."""
    isolated_weights.mkdir(parents=True)
    (isolated_weights / "other.pth").write_bytes(ckpt_bytes())
    return isolated_weights


DRIVE_QUOTA_PAGE = (b"<!DOCTYPE html><html><head><title>Google Drive - Quota exceeded</title></head>"
                    b"<body>Too many users have viewed or downloaded this file recently. Please "
                    b"try accessing the file again later.</body></html>")


# ------------------------------------------------------------------------------ good fetches
def test_good_download_is_cached_recorded_and_loads(wcache, http_server, register):
    body = ckpt_bytes()
    url = http_server.serve("/tiny.pth", body)
    register(entry(sources=[W.Url(url)]))

    path = W.fetch("tiny", progress=True)

    assert path == wcache / "tiny.pth" and path.read_bytes() == body
    assert not (wcache / W.HASHES_FILE).exists()  # recorded only once it has loaded
    # a second fetch is served from the cache
    assert W.fetch("tiny", progress=False) == path and http_server.hits("/tiny.pth") == 1
    model = W.load_state_dict(Tiny(), "tiny")
    assert torch.equal(model.conv.weight, torch.load(path, weights_only=True)["conv.weight"])
    records = json.loads((wcache / W.HASHES_FILE).read_text())
    assert records["tiny.pth"]["sha256"] == hashlib.sha256(body).hexdigest()
    assert records["tiny.pth"]["size"] == len(body) and records["tiny.pth"]["source"] == url
    leftovers = [p.name for p in wcache.iterdir()]
    assert sorted(leftovers) == sorted(["other.pth", "tiny.pth", W.HASHES_FILE])


def test_drive_source_goes_through_gdown(wcache, http_server, register, monkeypatch):
    body = ckpt_bytes()
    http_server.serve("/uc?id=abc123", body)
    monkeypatch.setattr(W.spec, "DRIVE_URL", http_server.base + "/uc?id={id}")
    register(entry(sources=[W.Drive("abc123")], filename="sub/tiny.pth"))

    path = W.fetch("tiny", progress=False)

    assert path == wcache / "sub" / "tiny.pth" and path.read_bytes() == body


def test_published_hash_and_size_are_accepted(wcache, http_server, register):
    body = ckpt_bytes()
    url = http_server.serve("/tiny.pth", body)
    register(entry(sources=[W.Url(url)], sha256=hashlib.sha256(body).hexdigest(), size=len(body)))
    assert W.fetch("tiny", progress=False).read_bytes() == body
    assert not (wcache / W.HASHES_FILE).exists()  # a published hash needs no record


def test_later_source_is_used_when_the_first_fails(wcache, http_server, register):
    body = ckpt_bytes()
    good = http_server.serve("/good.pth", body)
    register(entry(sources=[W.Url(http_server.base + "/missing.pth"), W.Url(good)]))
    assert W.fetch("tiny", progress=False).read_bytes() == body
    assert [p for p, _ in http_server.log] == ["/missing.pth", "/good.pth"]


def test_retry_resumes_an_interrupted_transfer(wcache, http_server, register, monkeypatch):
    monkeypatch.setenv("FSUTILS_DOWNLOAD_RETRIES", "1")
    body = ckpt_bytes(sd={"w": torch.arange(400_000, dtype=torch.float32)})  # 1.6 MB
    url = http_server.serve("/tiny.pth", body, mode="flaky", cut=len(body) * 2 // 3)
    register(entry(sources=[W.Url(url)]))

    assert W.fetch("tiny", progress=False).read_bytes() == body
    (_, first), (_, second) = http_server.log
    assert first is None and second.startswith("bytes=")
    assert 0 < int(second[len("bytes="):-1]) <= len(body) * 2 // 3  # resumed, not restarted


# ---------------------------------------------------------------------------- failed fetches
def assert_manual_help(msg: str, wcache: Path, filename: str = "tiny.pth") -> None:
    assert str(wcache / filename) in msg           # the exact path to put the file
    assert "FSUTILS_WEIGHTS_MIRROR" in msg


def test_wrong_published_hash(wcache, http_server, register):
    url = http_server.serve("/tiny.pth", ckpt_bytes())
    register(entry(sources=[W.Url(url)], sha256="0" * 64))
    before = snapshot(wcache)
    with pytest.raises(W.HashMismatchError, match="published hash") as err:
        W.fetch("tiny", progress=False)
    assert snapshot(wcache) == before
    assert_manual_help(str(err.value), wcache)


def test_hash_recorded_at_first_download_is_enforced(wcache, http_server, register):
    first = ckpt_bytes()
    url = http_server.serve("/tiny.pth", first)
    register(entry(sources=[W.Url(url)]))
    W.load_state_dict(Tiny(), "tiny")
    W.fetch("tiny", progress=False).unlink()
    http_server.serve("/tiny.pth", ckpt_bytes())  # upstream now serves different (random) weights
    before = snapshot(wcache)
    with pytest.raises(W.HashMismatchError, match="first copy that loaded"):
        W.fetch("tiny", progress=False)
    assert snapshot(wcache) == before


def test_cached_file_changed_on_disk_is_reported_and_kept(wcache, http_server, register):
    body = ckpt_bytes()
    url = http_server.serve("/tiny.pth", body)
    register(entry(sources=[W.Url(url)]))
    path = W.fetch("tiny", progress=False)
    W.load_state_dict(Tiny(), "tiny")
    other = ckpt_bytes()
    path.write_bytes(other)  # same size, other content: no longer the recorded file
    with pytest.raises(W.HashMismatchError, match="left where it is") as err:
        W.fetch("tiny", progress=False)
    assert err.value.weights_name == "tiny"
    assert path.read_bytes() == other and http_server.hits("/tiny.pth") == 1
    path.unlink()  # as the message says: delete it to get a fresh copy
    assert W.fetch("tiny", progress=False).read_bytes() == body


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/octet-stream"])
def test_html_page_instead_of_checkpoint(wcache, http_server, register, content_type):
    url = http_server.serve("/tiny.pth", DRIVE_QUOTA_PAGE, content_type=content_type)
    register(entry(sources=[W.Url(url)]))
    before = snapshot(wcache)
    with pytest.raises(W.HtmlPageError) as err:
        W.fetch("tiny", progress=False)
    msg = str(err.value)
    assert "quota" in msg and "retry later" in msg
    assert url in msg                              # the manual download link
    assert_manual_help(msg, wcache)
    assert snapshot(wcache) == before


def test_drive_quota_page_names_the_drive_link(wcache, http_server, register, monkeypatch):
    http_server.serve("/uc?id=XYZ", DRIVE_QUOTA_PAGE, content_type="text/html")
    monkeypatch.setattr(W.spec, "DRIVE_URL", http_server.base + "/uc?id={id}")
    register(entry(sources=[W.Drive("XYZ")]))
    with pytest.raises(W.HtmlPageError) as err:
        W.fetch("tiny", progress=False)
    assert "https://drive.google.com/file/d/XYZ/view" in str(err.value)


def test_truncated_body(wcache, http_server, register):
    body = ckpt_bytes()
    url = http_server.serve("/tiny.pth", body, mode="truncate", cut=len(body) // 2)
    register(entry(sources=[W.Url(url)]))
    before = snapshot(wcache)
    with pytest.raises(W.TruncatedDownloadError) as err:
        W.fetch("tiny", progress=False)
    assert_manual_help(str(err.value), wcache)
    assert snapshot(wcache) == before


@pytest.mark.parametrize("mode, words", [("reset", "cut off"), ("stall", "stalled")])
def test_interrupted_transfer(wcache, http_server, register, monkeypatch, mode, words):
    monkeypatch.setenv("FSUTILS_DOWNLOAD_TIMEOUT", "1")
    body = ckpt_bytes(sd={"w": torch.zeros(300_000)})
    url = http_server.serve("/tiny.pth", body, mode=mode, cut=len(body) // 2, stall=5)
    register(entry(sources=[W.Url(url)]))
    before = snapshot(wcache)
    with pytest.raises(W.TruncatedDownloadError, match=words):
        W.fetch("tiny", progress=False)
    assert snapshot(wcache) == before


def test_zip_directory_cut_off_is_truncation(wcache, http_server, register):
    body = ckpt_bytes()[:-200]  # served honestly (right Content-Length), but the file is cut
    url = http_server.serve("/tiny.pth", body)
    register(entry(sources=[W.Url(url)]))
    before = snapshot(wcache)
    with pytest.raises(W.TruncatedDownloadError, match="zip directory"):
        W.fetch("tiny", progress=False)
    assert snapshot(wcache) == before


@pytest.mark.parametrize("delta, error", [(+10, W.TruncatedDownloadError),
                                          (-10, W.SizeMismatchError)])
def test_published_size(wcache, http_server, register, delta, error):
    body = ckpt_bytes()
    url = http_server.serve("/tiny.pth", body)
    register(entry(sources=[W.Url(url)], size=len(body) + delta))
    before = snapshot(wcache)
    with pytest.raises(error):
        W.fetch("tiny", progress=False)
    assert snapshot(wcache) == before


def test_smaller_than_the_architecture_is_truncation(wcache, http_server, register):
    body = ckpt_bytes()
    url = http_server.serve("/tiny.pth", body)
    register(entry(sources=[W.Url(url)], min_size=len(body) + 1))
    with pytest.raises(W.TruncatedDownloadError, match="tensors of Tiny"):
        W.fetch("tiny", progress=False)


@pytest.mark.parametrize("body, error", [(b"", W.TruncatedDownloadError),
                                         (b"\x00\x01garbage" * 100, W.NotACheckpointError)])
def test_empty_or_garbage_download(wcache, http_server, register, body, error):
    url = http_server.serve("/tiny.pth", body)
    register(entry(sources=[W.Url(url)]))
    before = snapshot(wcache)
    with pytest.raises(error):
        W.fetch("tiny", progress=False)
    assert snapshot(wcache) == before


def test_http_error(wcache, http_server, register):
    register(entry(sources=[W.Url(http_server.base + "/nothing-here.pth")]))
    with pytest.raises(W.DownloadError, match="HTTP 404"):
        W.fetch("tiny", progress=False)


def test_no_network(wcache, register):
    with socket_closed_port() as port:
        register(entry(sources=[W.Url(f"http://127.0.0.1:{port}/tiny.pth")]))
        before = snapshot(wcache)
        with pytest.raises(W.NoNetworkError) as err:
            W.fetch("tiny", progress=False)
    msg = str(err.value)
    assert "tiny.pth" in msg and f"http://127.0.0.1:{port}/tiny.pth" in msg
    assert_manual_help(msg, wcache)
    assert snapshot(wcache) == before


def test_offline_mode_never_touches_the_network(wcache, register, monkeypatch):
    monkeypatch.setenv("FSUTILS_OFFLINE", "1")
    register(entry(sources=[W.Drive("some-id")]))
    with pytest.raises(W.NoNetworkError, match="FSUTILS_OFFLINE"):
        W.fetch("tiny", progress=False)


def socket_closed_port():
    """A context manager yielding a loopback port nobody listens on."""
    import contextlib
    import socket

    @contextlib.contextmanager
    def cm():
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        yield port
    return cm()


def test_bad_cached_copy_is_reported_never_deleted(wcache, http_server, register):
    body = ckpt_bytes()
    url = http_server.serve("/tiny.pth", body)
    register(entry(sources=[W.Url(url)]))
    (wcache / "tiny.pth").write_bytes(DRIVE_QUOTA_PAGE)
    with pytest.raises(W.HtmlPageError, match="left where it is") as err:
        W.fetch("tiny", progress=False)
    assert_manual_help(str(err.value), wcache)
    assert (wcache / "tiny.pth").read_bytes() == DRIVE_QUOTA_PAGE and not http_server.log
    (wcache / "tiny.pth").unlink()
    assert W.fetch("tiny", progress=False).read_bytes() == body


# -------------------------------------------------------------------- mirror, zip, bundled
def test_mirror_is_searched_before_any_network(wcache, http_server, register, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "sub").mkdir(parents=True)
    body = ckpt_bytes()
    (mirror / "sub" / "tiny.pth").write_bytes(body)
    monkeypatch.setenv("FSUTILS_WEIGHTS_MIRROR", str(mirror))
    register(entry(sources=[W.Url(http_server.serve("/tiny.pth", ckpt_bytes()))],
                   filename="sub/tiny.pth"))
    assert W.fetch("tiny", progress=False) == mirror / "sub" / "tiny.pth"
    assert http_server.log == [] and not (wcache / "sub").exists()
    # a relative mirror path works from another working directory (notebooks/ for example)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FSUTILS_WEIGHTS_MIRROR", "mirror")
    assert W.fetch("tiny", progress=False) == mirror / "sub" / "tiny.pth"


def test_bad_mirror_file_is_reported(wcache, register, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "tiny.pth").write_bytes(DRIVE_QUOTA_PAGE)
    monkeypatch.setenv("FSUTILS_WEIGHTS_MIRROR", str(mirror))
    register(entry(sources=[W.Drive("x")]))
    with pytest.raises(W.HtmlPageError, match="FSUTILS_WEIGHTS_MIRROR"):
        W.fetch("tiny", progress=False)
    assert (mirror / "tiny.pth").exists()  # the mirror is read-only: never deleted


def make_zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_member_source_caches_the_archive(wcache, http_server, register):
    candy, mosaic = ckpt_bytes(), ckpt_bytes()
    url = http_server.serve("/saved_models.zip",
                            make_zip({"saved_models/candy.pth": candy,
                                      "saved_models/mosaic.pth": mosaic}))
    register(entry("candy", [W.ZipMember(url, "candy.pth")], filename="fast_style/candy.pth"))
    register(entry("mosaic", [W.ZipMember(url, "saved_models/mosaic.pth")],
                   filename="fast_style/mosaic.pth"))

    assert W.fetch("candy", progress=False).read_bytes() == candy
    assert W.fetch("mosaic", progress=False).read_bytes() == mosaic
    assert http_server.hits("/saved_models.zip") == 1
    assert (wcache / W.ARCHIVES_DIR / "saved_models.zip").is_file()


def test_zip_member_missing(wcache, http_server, register):
    url = http_server.serve("/saved_models.zip", make_zip({"saved_models/udnie.pth": ckpt_bytes()}))
    register(entry("candy", [W.ZipMember(url, "candy.pth")]))
    with pytest.raises(W.DownloadError, match="udnie.pth"):
        W.fetch("candy", progress=False)
    assert not (wcache / "candy.pth").exists()


def test_zip_archive_that_is_a_web_page(wcache, http_server, register):
    url = http_server.serve("/saved_models.zip", DRIVE_QUOTA_PAGE, content_type="text/html")
    register(entry("candy", [W.ZipMember(url, "candy.pth")]))
    before = snapshot(wcache)
    with pytest.raises(W.HtmlPageError):
        W.fetch("candy", progress=False)
    assert snapshot(wcache) == before


def test_damaged_cached_archive_is_reported_and_kept(wcache, http_server, register):
    url = http_server.serve("/saved_models.zip", make_zip({"candy.pth": ckpt_bytes()}))
    register(entry("candy", [W.ZipMember(url, "candy.pth")]))
    cached = wcache / W.ARCHIVES_DIR / "saved_models.zip"
    cached.parent.mkdir()
    cached.write_bytes(make_zip({"candy.pth": ckpt_bytes()})[:100])
    with pytest.raises(W.TruncatedDownloadError, match="left where it is"):
        W.fetch("candy", progress=False)
    assert cached.stat().st_size == 100 and not http_server.log


def test_bundled_source(wcache, register, tmp_path, monkeypatch):
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "tiny.pth").write_bytes(ckpt_bytes())
    monkeypatch.setattr(W.spec, "_ASSETS", assets)
    register(entry(sources=[W.Bundled("tiny.pth")]))
    assert W.fetch("tiny", progress=False) == assets / "tiny.pth"
    # a bundled copy that is not the published file carries its own hash and size
    body = (assets / "tiny.pth").read_bytes()
    register(entry("half", [W.Bundled("tiny.pth", hashlib.sha256(body).hexdigest(), len(body))],
                   sha256="0" * 64, min_size=len(body) * 10))
    assert W.fetch("half", progress=False) == assets / "tiny.pth"
    register(entry("bad", [W.Bundled("tiny.pth", "1" * 64, len(body))]))
    with pytest.raises(W.HashMismatchError):
        W.fetch("bad", progress=False)
    register(entry("gone", [W.Bundled("gone.pth")]))
    with pytest.raises(W.DownloadError, match="missing from this installation"):
        W.fetch("gone", progress=False)


# ----------------------------------------------------------------------------- locations
def test_cache_dir_defaults_and_override(tmp_path, monkeypatch):
    monkeypatch.delenv("FSUTILS_WEIGHTS_DIR", raising=False)
    assert W.cache_dir() == Path(W.__file__).resolve().parents[2] / "weights"  # checkout
    monkeypatch.setattr(W.store, "_checkout_root", lambda: None)  # as a non-editable install
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert W.cache_dir() == tmp_path / "xdg" / "fsutils" / "weights"
    monkeypatch.setenv("FSUTILS_WEIGHTS_DIR", str(tmp_path / "mine"))
    assert W.cache_dir() == tmp_path / "mine"
    assert W.cache_path("u2netp") == tmp_path / "mine" / "u2netp.pth"


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(W.UnknownWeightsError, match="u2netp"):
        W.fetch("no-such-model")
    with pytest.raises(W.UnknownWeightsError, match="cloth_segm"):
        W.load_state_dict(Tiny(), "no_such_model")


def test_registry_entries_build_and_min_sizes_match_the_architecture():
    for name in ("cloth_segm", "u2net", "u2netp"):
        w = W.REGISTRY[name]
        assert w.sources and w.license and w.credit and w.arch
        model = w.build()
        tensor_bytes = sum(v.numel() * 4 for v in model.state_dict().values()
                           if v.is_floating_point())
        assert w.min_size == tensor_bytes, name
        del model
    assert W.REGISTRY["cloth_segm"].build().outconv.out_channels == 4
    assert W.REGISTRY["cloth_segm"].preprocessing.input_size == 768


# ------------------------------------------------------------------------------- loading
def test_plain_and_module_prefixed_state_dicts_load(tmp_path):
    src = Tiny()
    plain = tmp_path / "plain.pth"
    torch.save(src.state_dict(), plain)
    prefixed = tmp_path / "dp.pth"
    torch.save(nn.DataParallel(src).state_dict(), prefixed)
    assert all(k.startswith("module.") for k in torch.load(prefixed, weights_only=True))
    wrapped = tmp_path / "wrapped.pth"
    torch.save({"epoch": 3, "state_dict": src.state_dict()}, wrapped)
    for path in (plain, prefixed, wrapped):
        m = W.load_state_dict(Tiny(), path)
        for k, v in src.state_dict().items():
            assert torch.equal(m.state_dict()[k], v), (path.name, k)


def test_a_state_dict_read_once_loads_like_its_file(tmp_path):
    src = Tiny()
    path = tmp_path / "dp.pth"
    torch.save({"state_dict": nn.DataParallel(src).state_dict()}, path)
    state = W.read_state_dict(path)  # unwrapped, still prefixed: the model decides
    assert all(k.startswith("module.") for k in state)
    m = W.load_state_dict(Tiny(), state)
    for k, v in src.state_dict().items():
        assert torch.equal(m.state_dict()[k], v), k
    with pytest.raises(W.ArchitectureMismatchError, match="The given state dict does not fit"):
        W.load_state_dict(Tiny(ch=8), state)


def test_module_prefix_kept_when_the_model_itself_has_it(tmp_path):
    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.module = Tiny()

    src = Holder()
    path = tmp_path / "holder.pth"
    torch.save(src.state_dict(), path)
    m = W.load_state_dict(Holder(), path)
    assert torch.equal(m.module.conv.weight, src.module.conv.weight)


def test_partly_prefixed_keys_are_not_stripped(tmp_path):
    sd = Tiny().state_dict()
    mixed = {("module." + k if k.startswith("conv") else k): v for k, v in sd.items()}
    path = tmp_path / "mixed.pth"
    torch.save(mixed, path)
    with pytest.raises(W.ArchitectureMismatchError, match="Missing key"):
        W.load_state_dict(Tiny(), path)


def test_wrong_architecture_names_the_expected_one(isolated_weights, http_server, register):
    register(entry(sources=[W.Url(http_server.serve("/tiny.pth", ckpt_bytes()))]))
    with pytest.raises(W.ArchitectureMismatchError) as err:
        W.load_state_dict(Tiny(ch=8), "tiny")
    msg = str(err.value)
    assert "'tiny'" in msg and "Tiny(ch=8)" not in msg and "Tiny(ch=4)" in msg
    assert "size mismatch for conv.weight" in msg


def test_wrong_architecture_real_checkpoint_is_summarised(tmp_path):
    from fsutils.models import U2NET, U2NETP

    path = tmp_path / "u2netp.pth"
    torch.save(U2NETP(3, 1).state_dict(), path)
    with pytest.raises(W.ArchitectureMismatchError) as err:
        W.load_state_dict(U2NET(3, 4), path)
    msg = str(err.value)
    assert "'u2netp'" in msg and "U2NETP(in_ch=3, out_ch=1)" in msg
    assert "size mismatches in all" in msg and len(msg) < 3000


class Evil:
    """Unpickling this runs code: it creates the marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


@pytest.mark.parametrize("zip_format", [True, False])
def test_pickle_that_would_run_code_is_refused(tmp_path, zip_format):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    sd = dict(Tiny().state_dict())
    sd["payload"] = Evil(marker)
    torch.save(sd, path, _use_new_zipfile_serialization=zip_format)
    with pytest.raises(W.UnsafeCheckpointError, match="could run code"):
        W.load_state_dict(Tiny(), path)
    assert not marker.exists()
    # without the guard the same file really runs code, so the refusal above means something
    torch.load(path, weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize("content, error", [
    (b"", W.TruncatedDownloadError),
    (DRIVE_QUOTA_PAGE, W.HtmlPageError),
    (b"not a checkpoint at all", W.NotACheckpointError),
])
def test_bad_files_given_to_load_state_dict(tmp_path, content, error):
    path = tmp_path / "bad.pth"
    path.write_bytes(content)
    with pytest.raises(error):
        W.load_state_dict(Tiny(), path)


def test_truncated_checkpoint_given_to_load_state_dict(tmp_path):
    path = tmp_path / "cut.pth"
    path.write_bytes(ckpt_bytes()[: len(ckpt_bytes()) // 2])
    with pytest.raises(W.NotACheckpointError, match="truncated"):
        W.load_state_dict(Tiny(), path)
    with pytest.raises(W.CheckpointError, match="no file"):
        W.load_state_dict(Tiny(), tmp_path / "missing.pth")


def test_load_model_builds_and_loads(isolated_weights, http_server, register):
    src = Tiny()
    register(entry(sources=[W.Url(http_server.serve("/tiny.pth", ckpt_bytes(src.state_dict())))]))
    m = W.load_model("tiny", device="cpu")
    assert isinstance(m, Tiny) and not m.training
    assert torch.equal(m.conv.weight, src.conv.weight)


# ----------------------------------------------------------------------- real checkpoints
def test_shared_u2netp_loads_strictly(weights_path, monkeypatch):
    from fsutils.models import U2NETP

    path = weights_path("u2netp")
    model = W.load_state_dict(U2NETP(3, 1), path)
    assert model.outconv.weight.shape == (1, 6, 1, 1)
    assert os.access(path, os.R_OK)


def test_registry_file_is_read_strictly(tmp_path):
    """The registry is data (registry.toml); a mistyped key is an error naming it, not ignored."""
    from fsutils.weights.registry import read_registry

    good = tmp_path / "good.toml"
    good.write_text('[tiny]\nfilename = "tiny.pth"\nsources = [{ url = "http://127.0.0.1/t.pth" }]\n'
                    'arch = "Tiny"\nlicense = "test"\ncredit = "test"\n'
                    '[tiny.preprocessing]\ninput_size = 64\nmean = [0.1, 0.2, 0.3]\n')
    (w,) = read_registry(good).values()
    assert w.sources == (W.Url("http://127.0.0.1/t.pth"),)
    assert w.preprocessing == W.Preprocessing(64, mean=(0.1, 0.2, 0.3))
    bad = tmp_path / "bad.toml"
    bad.write_text(good.read_text().replace("input_size", "inputsize"))
    with pytest.raises(W.WeightsError, match="inputsize"):
        read_registry(bad)


# ------------------------------------------------------------ the default run's bundled files
@pytest.mark.parametrize("name", ["u2netp", "tflite/style_predict_quantized_256",
                                  "tflite/style_transfer_f16_384", "ccp_deeplab"])
def test_default_run_files_ship_hash_checked_and_need_no_download(isolated_weights, name):
    w = W.get(name)
    bundled = w.sources[0]
    assert isinstance(bundled, W.Bundled)
    expected = bundled.sha256 or w.sha256           # every bundled file is hash-checked
    assert expected and hashlib.sha256(bundled.file.read_bytes()).hexdigest() == expected
    assert bundled.file.stat().st_size == (bundled.size or w.size)
    assert W.missing([name]) == []
    assert W.fetch(name, progress=False) == bundled.file
    assert not isolated_weights.exists()            # nothing downloaded, nothing written
    if name != "ccp_deeplab":                       # the public sources stay as fallbacks
        assert any(isinstance(s, (W.Url, W.Drive)) for s in w.sources[1:])


def test_bundled_tflite_files_are_the_published_bytes(shared_dir):
    for name in ("tflite/style_predict_quantized_256", "tflite/style_transfer_f16_384"):
        w = W.get(name)
        assert w.sources[0].file.read_bytes() == (shared_dir / "weights" / w.filename).read_bytes()


def test_bundled_u2netp_is_half_precision_and_loads_strictly(isolated_weights):
    from fsutils.models import U2NETP

    path = W.fetch("u2netp", progress=False)
    sd = torch.load(path, weights_only=True)
    assert {v.dtype for v in sd.values() if v.is_floating_point()} == {torch.float16}
    model = W.load_state_dict(U2NETP(3, 1), "u2netp")
    assert model.outconv.weight.dtype == torch.float32
    assert not isolated_weights.exists()  # a bundled file is not recorded in the cache


def test_a_bad_bundled_copy_falls_back_to_the_public_source(isolated_weights, http_server,
                                                            register, tmp_path, monkeypatch):
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "tiny.pth").write_bytes(ckpt_bytes())
    monkeypatch.setattr(W.spec, "_ASSETS", assets)
    body = ckpt_bytes()
    url = http_server.serve("/tiny.pth", body)
    register(entry(sources=[W.Bundled("tiny.pth", "0" * 64, 1), W.Url(url)]))
    assert W.fetch("tiny", progress=False).read_bytes() == body


# ------------------------------------------------------------------------------ a whole run
def test_missing_and_require_list_every_file_at_once(wcache, http_server, register):
    good = ckpt_bytes()
    register(entry("here", [W.Url(http_server.serve("/here.pth", good))]))
    register(entry("a", [W.Url(http_server.base + "/nothing-a.pth")], filename="sub/a.pth"))
    register(entry("b", [W.Drive("id-b")]))
    names = ["here", "a", "b", "u2netp"]
    assert W.missing(names) == ["here", "a", "b"]    # u2netp ships with the kit
    with pytest.raises(W.MissingWeightsError) as err:
        W.require(names, progress=False)
    msg = str(err.value)
    assert msg.startswith("2 weight files this run needs")
    assert err.value.names == ("a", "b")
    assert "- a (a.pth" in msg and "HTTP 404" in msg and str(wcache / "sub" / "a.pth") in msg
    assert "- b (b.pth" in msg and "https://drive.google.com/file/d/id-b/view" in msg
    assert str(wcache / "b.pth") in msg and "FSUTILS_WEIGHTS_MIRROR" in msg
    assert W.missing(names) == ["a", "b"]              # the one that could be fetched was
    http_server.serve("/nothing-a.pth", good)
    assert set(W.require(["here", "a"], progress=False)) == {"here", "a"}


def test_method_table_names_the_weights_each_method_needs():
    from fsutils.style import METHODS

    needs = {m: METHODS[m].weights(METHODS[m].default_style) for m in METHODS}
    assert needs == {"magenta": ("tflite/style_predict_quantized_256",
                                 "tflite/style_transfer_f16_384"),
                     "fast": ("fast_style/candy",),
                     "adain": ("adain/vgg_normalised", "adain/decoder"),
                     "gatys": ("vgg19",)}
    assert all(n in W.REGISTRY for names in needs.values() for n in names)
