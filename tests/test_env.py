"""fsutils.env: Colab detection, device choice, report, CPU-aware defaults."""
from __future__ import annotations

import io
import sys
import types

import pytest
import torch

from fsutils import env, settings


def test_is_colab(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert env.is_colab() is False
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert env.is_colab() is True


def test_device_override(monkeypatch):
    monkeypatch.setenv("FSUTILS_DEVICE", "cpu")
    assert env.device() == torch.device("cpu")
    monkeypatch.setenv("FSUTILS_DEVICE", "bogus")
    with pytest.raises(RuntimeError, match="Unknown device 'bogus'"):
        env.device()
    assert env.device(prefer="cpu") == torch.device("cpu")  # the argument wins over the variable


def test_device_auto_order(monkeypatch):
    monkeypatch.delenv("FSUTILS_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(settings, "_mps_available", lambda t: False)
    assert env.device() == torch.device("cpu")
    monkeypatch.setattr(settings, "_mps_available", lambda t: True)
    assert env.device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert env.device() == torch.device("cuda")


def test_unavailable_device_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(settings, "_mps_available", lambda t: False)
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        env.device("cuda")
    with pytest.raises(RuntimeError, match="MPS is not available"):
        env.device("mps")


def test_report_on_colab_without_gpu(monkeypatch):
    monkeypatch.setenv("FSUTILS_DEVICE", "cpu")
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    out = io.StringIO()
    text = env.report(file=out)
    assert out.getvalue().strip() == text
    assert f"torch {torch.__version__}" in text and "device: cpu" in text
    assert "Change runtime type" in text and "GPU" in text


def test_report_off_colab_has_no_hint(monkeypatch):
    monkeypatch.setenv("FSUTILS_DEVICE", "cpu")
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    text = env.report(file=io.StringIO())
    assert "Change runtime type" not in text and "not Colab" in text


def test_defaults_follow_device_and_tiny_mode(monkeypatch):
    monkeypatch.delenv("FSUTILS_TINY", raising=False)
    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    assert not env.tiny_mode()
    assert env.default_style_size(cpu) == 256 and env.default_style_size(gpu) == 512
    assert env.default_work_size(cpu) < env.default_work_size(gpu)
    assert env.default_gatys_steps(cpu) < env.default_gatys_steps(gpu)
    monkeypatch.setenv("FSUTILS_TINY", "1")
    assert env.tiny_mode()
    assert env.default_style_size(gpu) == 64 and env.default_gatys_steps(gpu) <= 5
    monkeypatch.setenv("FSUTILS_TINY", "0")
    assert not env.tiny_mode()


def test_needs_weights_turns_a_weights_error_into_one_short_message(capsys):
    from fsutils.weights import NoNetworkError

    with env.needs_weights("Gatys style transfer", instead="The fast models still work."):
        raise NoNetworkError("vgg19: no network access (FSUTILS_OFFLINE is set):\nmore details")
    out = capsys.readouterr().out.strip()
    assert len(out.splitlines()) == 1
    assert out.startswith("Skipped Gatys style transfer:") and "no network access" in out
    assert "FSUTILS_WEIGHTS_MIRROR" in out and out.endswith("The fast models still work.")
    assert "more details" not in out and "Traceback" not in out


def test_needs_weights_lets_other_errors_through():
    with pytest.raises(ValueError, match="a real bug"):
        with env.needs_weights("AdaIN"):
            raise ValueError("a real bug")
