"""Faults around the weights: a read-only cache, a server that stalls or cuts the connection, a
corrupt cached file replaced by a good one, two processes fetching at once, a download killed by
SIGTERM, bad settings in the environment, and bad weight options on the command line. Each must
end in one clear message (no traceback) and the right behaviour."""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from fsutils import weights as W
from fsutils.env import SettingError

ROOT = Path(__file__).resolve().parent.parent
BUNDLED_U2NETP = ROOT / "fsutils" / "assets" / "u2netp_fp16.pth"


# ----------------------------------------------------------------------------------- helpers
def child_env(cache: Path, **extra: str) -> dict[str, str]:
    """The environment of a child process: this checkout, the given cache, no mirror."""
    env = {k: v for k, v in os.environ.items() if k != "FSUTILS_WEIGHTS_MIRROR"}
    env.update({"PYTHONPATH": str(ROOT), "FSUTILS_WEIGHTS_DIR": str(cache),
                "FSUTILS_DOWNLOAD_RETRIES": "0", "FSUTILS_DOWNLOAD_TIMEOUT": "5", **extra})
    return env


def tiny_entry_code(names_urls: dict[str, str]) -> str:
    """Python lines that add loopback entries (no published hash) to the child's registry."""
    return textwrap.dedent(f"""
        from fsutils import weights as W
        for name, url in {names_urls!r}.items():
            W.REGISTRY[name] = W.Weights(name=name, filename=name + ".pth", sources=(W.Url(url),),
                                         arch="test", license="test", credit="test")
    """)


def run_py(code: str, env: dict[str, str], *, read_only: Path | None = None,
           timeout: float = 240) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter; with ``read_only``, that folder is mounted read-only
    for the child (a private mount namespace, so even root cannot write there)."""
    cmd = [sys.executable, "-c", code]
    if read_only is not None:
        cmd = ["unshare", "-rm", "sh", "-c",
               'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"',
               str(read_only), *cmd]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def can_mount_read_only(tmp: Path) -> bool:
    probe = tmp / "ro-probe"
    probe.mkdir(exist_ok=True)
    r = run_py(f"import os; open({str(probe / 'x')!r}, 'w')", dict(os.environ), read_only=probe,
               timeout=60) if _has_unshare() else None
    return r is not None and "Read-only file system" in r.stderr


def _has_unshare() -> bool:
    from shutil import which
    return which("unshare") is not None


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def good_u2netp(path: Path) -> Path:
    """A full-precision u2netp checkpoint (the bundled half-precision weights as float32, so
    it is as large as the official file)."""
    sd = torch.load(BUNDLED_U2NETP, weights_only=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.float() if v.is_floating_point() else v for k, v in sd.items()}, path)
    return path


def ckpt(value: float, n: int = 1000) -> bytes:
    """A small, valid checkpoint whose content depends on ``value``."""
    buf = io.BytesIO()
    torch.save({"w": torch.full((n,), float(value))}, buf)
    return buf.getvalue()


def corrupt_u2netp(path: Path) -> Path:
    """A checkpoint that passes the file checks (a PyTorch zip above u2netp's minimum size) but
    is not u2netp: the tensors are of another model."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"conv.weight": torch.zeros(1_200_000)}, path)
    assert path.stat().st_size >= W.get("u2netp").min_size
    return path


def assert_one_clean_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


CLI = "from fsutils.__main__ import main; raise SystemExit(main({argv!r}))"


# --------------------------------------------------------------------------- read-only cache
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_read_only_cache_holding_every_file_just_works(tmp_path, http_server):
    if os.geteuid() == 0 and not can_mount_read_only(tmp_path):
        pytest.skip("running as root without a way to mount a folder read-only")
    cache = tmp_path / "cache"
    good_u2netp(cache / "u2netp.pth")
    before = snapshot(cache)
    url = http_server.serve("/absent.pth", b"x")
    code = tiny_entry_code({"absent": url}) + textwrap.dedent("""
        from fsutils.saliency import SaliencyModel
        print(SaliencyModel("u2netp", device="cpu").name, W.fetch("u2netp", progress=False))
        try:
            W.fetch("absent", progress=False)
        except W.WeightsError as e:
            print("ABSENT:", str(e).splitlines()[1])
    """)
    if os.geteuid() != 0:
        cache.chmod(0o555)
    r = run_py(code, child_env(cache), read_only=cache if os.geteuid() == 0 else None)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    out = r.stdout.splitlines()
    assert out[0] == f"u2netp {cache / 'u2netp.pth'}"
    # a file that is not there cannot be downloaded into it: said plainly, with what to do
    assert "Cannot download into the weights cache" in out[1] and "FSUTILS_WEIGHTS_DIR" in out[1]
    assert snapshot(cache) == before  # no .hashes.json, no .fetch-* folder


# --------------------------------------------------------------------- stalls and cuts
@pytest.mark.parametrize("retries", ["0", "1"])
def test_server_that_stalls_after_sending_data_is_a_stall(isolated_weights, http_server,
                                                         monkeypatch, retries):
    monkeypatch.setenv("FSUTILS_DOWNLOAD_TIMEOUT", "1")
    monkeypatch.setenv("FSUTILS_DOWNLOAD_RETRIES", retries)
    url = http_server.serve("/big.pth", b"PK\x03\x04" + bytes(200_000), mode="stall",
                            cut=100_000, stall=4)
    monkeypatch.setitem(W.REGISTRY, "big", W.Weights(
        name="big", filename="big.pth", sources=(W.Url(url),), arch="t", license="t", credit="t"))
    with pytest.raises(W.StalledDownloadError) as err:
        W.fetch("big", progress=False)
    first = str(err.value).splitlines()[1]
    assert "stalled" in first and "FSUTILS_DOWNLOAD_TIMEOUT" in first
    assert "No network" not in str(err.value)
    assert not list(isolated_weights.glob(".fetch-*"))
    assert not (isolated_weights / "big.pth").exists()


def test_connection_cut_after_a_large_part_says_deleted_only(isolated_weights, http_server,
                                                             monkeypatch):
    """A retry that the server answers from the start (no byte ranges) after the connection
    was cut: gdown's 'the partial file is preserved' must not reach the message, which says the
    partial file was deleted (it is)."""
    monkeypatch.setenv("FSUTILS_DOWNLOAD_RETRIES", "1")
    url = http_server.serve("/big.pth", b"PK\x03\x04" + bytes(1_500_000), mode="reset",
                            cut=1_000_000)
    monkeypatch.setitem(W.REGISTRY, "big", W.Weights(
        name="big", filename="big.pth", sources=(W.Url(url),), arch="t", license="t", credit="t"))
    with pytest.raises(W.TruncatedDownloadError) as err:
        W.fetch("big", progress=False)
    msg = str(err.value)
    assert "cut off" in msg and "deleted" in msg and "preserved" not in msg
    assert not isinstance(err.value, W.NoNetworkError)
    assert not list(isolated_weights.glob(".fetch-*"))


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_cli_reports_a_stalled_download_in_one_message(tmp_path, http_server):
    url = http_server.serve("/candy.pth", b"PK\x03\x04" + bytes(200_000), mode="stall",
                            cut=100_000, stall=5)
    code = textwrap.dedent(f"""
        import dataclasses
        from fsutils import weights as W
        W.REGISTRY["fast_style/candy"] = dataclasses.replace(W.REGISTRY["fast_style/candy"],
                                                            sources=(W.Url({url!r}),))
    """) + CLI.format(argv=["--method", "fast", "--style", "candy", "--out", str(tmp_path / "o")])
    r = run_py(code, child_env(tmp_path / "cache", FSUTILS_DOWNLOAD_TIMEOUT="1"))
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.startswith("error: 1 weight file this run needs")
    assert "stalled" in r.stderr and "No network" not in r.stderr
    assert "cloth segmentation:" not in r.stderr  # refused before any model loaded


# ------------------------------------------------------------- the corrupt-then-good sequence
def test_corrupt_then_good_cached_file(isolated_weights):
    from fsutils.saliency import SaliencyModel

    target = corrupt_u2netp(isolated_weights / "u2netp.pth")
    with pytest.raises(W.ArchitectureMismatchError, match="replace it with a good copy") as err:
        SaliencyModel("u2netp", device="cpu")
    assert err.value.weights_name == "u2netp"
    assert target.is_file()                                  # the user's file is not deleted
    assert not (isolated_weights / W.HASHES_FILE).exists()   # and its hash is not pinned

    good_u2netp(target)  # the good file, put back where the message says
    good = target.read_bytes()
    assert SaliencyModel("u2netp", device="cpu").name == "u2netp"
    assert target.read_bytes() == good
    records = json.loads((isolated_weights / W.HASHES_FILE).read_text())
    assert records["u2netp.pth"]["sha256"] == W.sha256(target)

    corrupt_u2netp(target)  # now the pinned hash catches a change, and the file stays
    with pytest.raises(W.HashMismatchError, match="left where it is"):
        W.fetch("u2netp", progress=False)
    assert target.is_file()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_cli_blames_a_corrupt_u2netp_on_the_saliency_model(tmp_path):
    cache = tmp_path / "cache"
    corrupt_u2netp(cache / "u2netp.pth")
    r = run_py(CLI.format(argv=["--out", str(tmp_path / "o"), "--save", "stylized"]),
               child_env(cache, FSUTILS_TINY="1"))
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert "error: the saliency model u2netp could not be loaded" in r.stderr
    assert "Magenta" not in r.stderr.split("error:", 1)[1]
    assert (cache / "u2netp.pth").is_file()


# --------------------------------------------------------------- two processes at once
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_processes_fetching_at_once_keep_every_hash_record(isolated_weights, http_server):
    n = 12  # enough processes that unlocked read-modify-write cycles overlap
    urls = {f"t{i}": http_server.serve(f"/t{i}.pth", ckpt(i)) for i in range(n)}
    go = isolated_weights.parent / "go"
    code = tiny_entry_code(urls) + textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        name = sys.argv[1]
        while not Path({str(go)!r}).exists():
            time.sleep(0.01)
        W.confirm(W.get(name), W.fetch(name, progress=False))
    """)
    env = child_env(isolated_weights)
    procs = [subprocess.Popen([sys.executable, "-c", code, name], env=env, stderr=subprocess.PIPE,
                              text=True) for name in urls]
    time.sleep(1.0)
    go.touch()
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read()
    records = json.loads((isolated_weights / W.HASHES_FILE).read_text())
    assert sorted(records) == sorted(f"{name}.pth" for name in urls)
    assert not list(isolated_weights.glob(".hashes-*"))  # no temporary file left


# ------------------------------------------------------------------------ SIGTERM mid-download
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_sigterm_mid_download_leaves_a_part_that_the_next_fetch_removes(isolated_weights,
                                                                       http_server, monkeypatch):
    body = ckpt(1, 400_000)  # 1.6 MB
    slow = http_server.serve("/slow.pth", body, mode="stall", cut=1_000_000, stall=60)
    fine = http_server.serve("/fine.pth", body)
    code = tiny_entry_code({"slow": slow}) + "W.fetch('slow', progress=False)\n"
    proc = subprocess.Popen([sys.executable, "-c", code],
                            env=child_env(isolated_weights, FSUTILS_DOWNLOAD_TIMEOUT="60"))
    deadline = time.monotonic() + 120
    parts: list[Path] = []
    while time.monotonic() < deadline and not parts:
        parts = [p for p in isolated_weights.glob(".fetch-*/*") if p.stat().st_size > 0]
        time.sleep(0.1)
    assert parts, "the download never started"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == -signal.SIGTERM
    assert parts[0].is_file()  # the killed process could not clean up after itself

    host = parts[0].parent.name.split("@", 1)[1].split("-", 1)[0]
    ours = isolated_weights / f".fetch-{os.getpid()}@{host}-inuse"  # a live process's folder stays
    ours.mkdir()
    elsewhere = isolated_weights / ".fetch-1@another.machine-x"  # another machine's, recent: stays
    elsewhere.mkdir()
    monkeypatch.setitem(W.REGISTRY, "fine", W.Weights(
        name="fine", filename="fine.pth", sources=(W.Url(fine),), arch="t", license="t",
        credit="t"))
    assert W.fetch("fine", progress=False).read_bytes() == body
    assert not parts[0].parent.exists() and ours.is_dir() and elsewhere.is_dir()


# ------------------------------------------------------------------------- bad settings
@pytest.mark.parametrize("var, value, words", [
    ("FSUTILS_DOWNLOAD_TIMEOUT", "abc", "a number > 0"),
    ("FSUTILS_DOWNLOAD_TIMEOUT", "0", "a number > 0"),
    ("FSUTILS_DOWNLOAD_RETRIES", "-1", "a whole number ≥ 0"),
    ("FSUTILS_DOWNLOAD_RETRIES", "1.5", "a whole number ≥ 0"),
    ("FSUTILS_MAX_PIXELS", "abc", "a whole number ≥ 1"),
    ("FSUTILS_MAX_PIXELS", "inf", "a whole number ≥ 1"),
])
def test_bad_settings_name_the_variable_and_the_values_it_takes(monkeypatch, var, value, words):
    from fsutils import io as fio

    monkeypatch.setenv(var, value)
    read = fio.max_pixels_setting if var == "FSUTILS_MAX_PIXELS" else W.download_settings
    with pytest.raises(SettingError) as err:
        read()
    msg = str(err.value)
    assert msg.startswith(f"{var}={value!r}") and words in msg and "\n" not in msg
    if var == "FSUTILS_MAX_PIXELS":
        with pytest.raises(SettingError, match=var):
            fio.load_image(fio.sample_photos()[0])


def test_bad_download_setting_is_raised_before_any_download(isolated_weights, http_server,
                                                            monkeypatch):
    url = http_server.serve("/t.pth", b"PK\x03\x04")
    monkeypatch.setitem(W.REGISTRY, "t", W.Weights(
        name="t", filename="t.pth", sources=(W.Url(url), W.Url(url)), arch="t", license="t",
        credit="t"))
    monkeypatch.setenv("FSUTILS_DOWNLOAD_TIMEOUT", "abc")
    with pytest.raises(SettingError, match="FSUTILS_DOWNLOAD_TIMEOUT"):
        W.fetch("t", progress=False)
    assert not http_server.log


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("var, value", [("FSUTILS_DOWNLOAD_TIMEOUT", "abc"),
                                        ("FSUTILS_DOWNLOAD_RETRIES", "-1"),
                                        ("FSUTILS_MAX_PIXELS", "abc")])
def test_cli_bad_setting_is_one_line_exit_2(tmp_path, var, value):
    r = run_py(CLI.format(argv=["--out", str(tmp_path / "o")]),
               child_env(tmp_path / "cache", **{var: value}))
    line = assert_one_clean_line(r.stderr)
    assert r.returncode == 2 and line.startswith(f"python -m fsutils: error: {var}=")
    assert "--style" not in line


# ------------------------------------------------------------------ weight options of the CLI
@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("argv, words", [
    (["--saliency-weights", "nosuch"], "--saliency-weights: invalid choice: 'nosuch'"),
    (["--segment-weights", "nosuch"], "'nosuch' is neither a cloth model"),
    (["--segment-weights", "u2netp"], "'u2netp' is neither a cloth model"),
])
def test_cli_weight_options_are_checked_before_models_load(tmp_path, argv, words):
    r = run_py(CLI.format(argv=argv + ["--out", str(tmp_path / "o")]),
               child_env(tmp_path / "cache"))
    line = assert_one_clean_line(r.stderr)
    assert r.returncode == 2 and words in line and "Magenta" not in line
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_cli_lists_every_missing_file_of_the_run_at_once(tmp_path):
    cache = tmp_path / "cache"
    r = run_py(CLI.format(argv=["--method", "adain", "--segment-weights", "cloth_segm",
                                "--out", str(tmp_path / "o")]),
               child_env(cache, FSUTILS_OFFLINE="1"))
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.startswith("error: 3 weight files this run needs")
    for name in ("cloth_segm", "adain/vgg_normalised", "adain/decoder"):
        w = W.get(name)
        assert f"- {name} (" in r.stderr and str(cache / w.filename) in r.stderr
        assert w.manual_urls[0] in r.stderr
    assert "u2netp" not in r.stderr          # it ships with the kit
    assert "cloth segmentation:" not in r.stderr                  # no model was loaded
    assert not any((tmp_path / "o").glob("*"))                  # nothing written
