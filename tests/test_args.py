"""fsutils.args, the one argument validator: its value types, and every command refusing a bad
number with exit status 2 and one line before any model loads or any training starts."""
import argparse

import pytest

from fsutils import args


def test_number_types_check_their_range():
    lr = args.number(low=0, low_ok=False)
    assert lr("0.001") == 0.001 and lr("1e3") == 1000.0
    for bad, words in (("0", "out of range: give a number > 0"), ("-1", "> 0"),
                       ("nan", "out of range"), ("inf", "out of range"), ("fast", "'fast' is not a number")):
        with pytest.raises(argparse.ArgumentTypeError, match=words):
            lr(bad)
    beta = args.number(low=0, high=1, high_ok=False)
    assert beta("0") == 0 and beta("0.999") == 0.999
    with pytest.raises(argparse.ArgumentTypeError, match="≥ 0 and < 1"):
        beta("1")
    side = args.whole(16, 8192)
    assert side("16") == 16 and isinstance(side("512"), int)
    for bad, words in (("15", "≥ 16 and ≤ 8192"), ("8193", "≤ 8192"), ("1.5", "not a whole number")):
        with pytest.raises(argparse.ArgumentTypeError, match=words):
            side(bad)
    crop = args.multiple_of(16, 16)
    assert crop("96") == 96
    with pytest.raises(argparse.ArgumentTypeError, match="50 is not a multiple of 16"):
        crop("50")
    with pytest.raises(argparse.ArgumentTypeError, match="≥ 16"):
        crop("0")
    with pytest.raises(argparse.ArgumentTypeError, match="Unknown device 'bogus'"):
        args.device("bogus")
    assert args.device(" CPU") == "cpu"


def test_the_parser_refuses_in_one_line_with_exit_2(capsys):
    p = args.Parser(prog="prog")
    p.add_argument("--steps", type=args.whole(1), default=3)
    assert p.parse_args([]).steps == 3
    with pytest.raises(SystemExit) as e:
        p.parse_args(["--steps", "0"])
    assert e.value.code == 2
    assert capsys.readouterr().err == ("prog: error: argument --steps: 0 is out of range: give a "
                                       "whole number ≥ 1 (see --help)\n")


class _NoWork:
    def __init__(self, *a, **k):
        raise AssertionError("work started before the arguments were checked")


def _no_work(*a, **k):
    raise AssertionError("work started before the arguments were checked")


@pytest.fixture
def no_work(monkeypatch):
    """Every model class, model loader and training loop fails the test if it is reached."""
    import fsutils.evaluation.swap
    import fsutils.instances.segmenter
    import fsutils.pipeline
    import fsutils.saliency
    import fsutils.segment
    import fsutils.swap.garment
    import fsutils.training.engine

    for module, name in ((fsutils.segment, "ClothSegmenter"), (fsutils.saliency, "SaliencyModel"),
                         (fsutils.pipeline, "Pipeline"),
                         (fsutils.instances.segmenter, "InstanceSegmenter")):
        monkeypatch.setattr(module, name, _NoWork)
    for module, name in ((fsutils.swap.garment, "load_generator"), (fsutils.training.engine, "fit")):
        monkeypatch.setattr(module, name, _no_work)
    monkeypatch.setattr(fsutils.training.engine.Engine, "run", _no_work)


def _main(command: str):
    if command == "fsutils":
        from fsutils.__main__ import main
    elif command == "fsutils.evaluate":
        from fsutils.evaluate import main
    else:
        from fsutils.train import main
    return main


CASES = [
    ("fsutils", ["photo.jpg", "--radius", "0"], "python -m fsutils", "--radius: 0 is out of range"),
    ("fsutils", ["photo.jpg", "--max-size", "8"], "python -m fsutils", "--max-size"),
    ("fsutils.evaluate", ["segmentation", "--max-images", "0"], "python -m fsutils.evaluate segmentation",
     "--max-images: 0 is out of range"),
    ("fsutils.evaluate", ["blend", "--band", "-2"], "python -m fsutils.evaluate blend", "--band"),
    ("fsutils.evaluate", ["cutout", "--iters", "0"], "python -m fsutils.evaluate cutout", "--iters"),
    ("fsutils.evaluate", ["instances", "--max-images", "0"], "python -m fsutils.evaluate instances",
     "--max-images: 0 is out of range"),
    ("fsutils.evaluate", ["swap", "--max-images", "-1"], "python -m fsutils.evaluate swap",
     "--max-images: -1 is out of range"),
    ("fsutils.evaluate", ["swap", "--width", "50"], "python -m fsutils.evaluate swap",
     "--width: 50 is not a multiple of 16"),
    ("fsutils.evaluate", ["swap", "--device", "bogus"], "python -m fsutils.evaluate swap", "--device"),
    ("fsutils.train", ["--batch-size", "0"], "python -m fsutils.train cloth", "--batch-size: 0 is out of range"),
    ("fsutils.train", ["--lr", "0"], "python -m fsutils.train cloth", "--lr: 0 is out of range: give a number > 0"),
    ("fsutils.train", ["--epochs", "-3"], "python -m fsutils.train cloth", "--epochs"),
    ("fsutils.train", ["--ema-decay", "2"], "python -m fsutils.train cloth", "--ema-decay"),
    ("fsutils.train", ["--max-train-images", "0"], "python -m fsutils.train cloth", "--max-train-images"),
    ("fsutils.train", ["--arch", "maskrcnn", "--warmup-steps", "-1"], "python -m fsutils.train instances",
     "--warmup-steps"),
    ("fsutils.train", ["--arch", "cagan", "--steps", "0"], "python -m fsutils.train swap",
     "--steps: 0 is out of range"),
    ("fsutils.train", ["--arch", "cagan", "--batch-size", "1"], "python -m fsutils.train swap",
     "--batch-size: 1 is out of range: give a whole number ≥ 2"),
    ("fsutils.train", ["--arch", "cagan", "--lr", "-1"], "python -m fsutils.train swap", "--lr"),
    ("fsutils.train", ["--arch", "cagan", "--beta1", "1"], "python -m fsutils.train swap",
     "--beta1"),
    ("fsutils.train", ["--arch", "cagan", "--height", "100"], "python -m fsutils.train swap",
     "--height: 100 is not a multiple of 16"),
]


@pytest.mark.parametrize("command, argv, prog, words", CASES,
                         ids=[f"{c[0]} {' '.join(c[1])}" for c in CASES])
def test_every_command_refuses_a_bad_number_before_any_work(command, argv, prog, words, tmp_path,
                                                            capsys, no_work):
    root = ["--ccp-root", str(tmp_path / "nowhere")] if command != "fsutils" else []
    out_dir = ["--out", str(tmp_path / "out")] if command != "fsutils.evaluate" else []
    with pytest.raises(SystemExit) as e:
        _main(command)([*argv, *root, *out_dir])
    out, err = capsys.readouterr()
    assert e.value.code == 2 and out == "", (e.value.code, out)
    assert len(err.splitlines()) == 1 and err.startswith(f"{prog}: error: ") and words in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("task", ["swap", "instances"])
def test_swap_and_instances_refuse_a_missing_ccp_folder_with_exit_2(task, tmp_path, capsys, no_work):
    from fsutils.evaluate import main

    with pytest.raises(SystemExit) as e:
        main([task, "--ccp-root", str(tmp_path / "nowhere")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.splitlines()) == 1
    assert f"python -m fsutils.evaluate {task}: error: --ccp-root: " in err and "does not exist" in err
