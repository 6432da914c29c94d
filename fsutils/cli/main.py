"""What ``python -m fsutils`` does with its options: collect the photos, check the style and the
weights before any model loads, then style each photo in turn and write its files (see
:mod:`fsutils.__main__` for the user's guide)."""
from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from fsutils.batch import MANIFEST_NAME, BatchSettings, Manifest, Photo, RestyleBatch, name_photos
from fsutils.batch.unit import STOPS_BATCH, why

from fsutils.user_names import shown

from .inputs import _check_points, _collect, _writable
from .options import _or, build_parser, style_params

__all__ = ["main", "INTERRUPTED"]

#: Exit status after Ctrl-C (128 + SIGINT, as shells report it).
INTERRUPTED = 130


def _style_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict:
    """The method, its style and its parameter object (``Pipeline.run`` arguments), checked."""
    from fsutils.style import METHODS, get_method, load_style

    method = get_method(args.method)
    style = args.style or method.default_style
    if not method.painting:
        try:
            method.weights(style)  # a model method refuses a style it does not have
        except ValueError:
            paintings = [n for n, m in METHODS.items() if m.painting]
            parser.error(f"--style: {style!r} is not a {method.name}-style model "
                         f"({', '.join(method.styles)}); for a painting use --method "
                         f"{_or(paintings)}")
    else:
        try:
            load_style(style)
        except (FileNotFoundError, ValueError) as e:
            parser.error(f"--style: {e}")
    return {"method": method.name, "style": style, "params": style_params(method, args)}


def _weights_help(method: str, err: Exception) -> str:
    """The message of checkpoints that could not be obtained or loaded, headed by the part of
    the run they belong to (the error's ``weights_name``): the cloth model, the saliency model,
    or the style method (with its record's ``weights_help``); for a run's missing files
    (:class:`MissingWeightsError`), the list and what to do."""
    from fsutils.saliency import SALIENCY_WEIGHTS
    from fsutils.segment import CLOTH_WEIGHTS
    from fsutils.style import get_method
    from fsutils.weights import MissingWeightsError

    first = str(err).strip()
    name = getattr(err, "weights_name", None)
    instead = get_method(method).weights_help
    instead = f" {instead}" if instead else ""
    if isinstance(err, MissingWeightsError):
        own = set(err.names) - set(CLOTH_WEIGHTS) - set(SALIENCY_WEIGHTS)
        return (f"error: {first}\n\nWhat to do: run once with internet access (each file is "
                f"downloaded, checked and cached), or save each file as shown above."
                + (instead if own else ""))
    if name in SALIENCY_WEIGHTS:
        return (f"error: the saliency model {name} could not be loaded:\n{first}\n\nWhat to do: "
                "follow the instructions above, or leave out --saliency-weights to use the u2netp "
                "file that ships with fsutils.")
    if name in CLOTH_WEIGHTS:
        return (f"error: the cloth-segmentation model {name} could not be loaded:\n{first}\n\n"
                "What to do: follow the instructions above, or leave out --segment-weights to use "
                "the bundled ccp_deeplab model.")
    return (f"error: the weights of --method {method} could not be loaded:\n{first}\n\nWhat to "
            f"do: follow the instructions above.{instead}")


def _needed_weights(args: argparse.Namespace, style: dict) -> list[str]:
    """The registry checkpoints the chosen options load: the pipeline's models
    (:meth:`fsutils.stages.Models.registry_names`) and the style method's for its style
    (:class:`Method`'s ``weights``)."""
    from fsutils.stages import Models
    from fsutils.style import get_method

    models = Models(segment_weights=args.segment_weights, saliency_weights=args.saliency_weights)
    return [*models.registry_names(), *get_method(style["method"]).weights(style["style"])]


def _check_settings(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """The environment's settings (:func:`fsutils.env.check_settings`), before anything reads
    them (exit 2, one line); ``FSUTILS_DEVICE`` only when no ``--device`` was given."""
    from fsutils.env import SettingError, check_settings

    try:
        check_settings(device_setting=args.device is None)
    except SettingError as e:
        parser.exit(2, f"{parser.prog}: error: {e}\n")


def _require_weights(args: argparse.Namespace, style: dict) -> dict[str, Path]:
    """Every checkpoint of the run fetched before any model loads (name → path), or one message
    listing each missing file, where to get it and where to put it (exit 1)."""
    from fsutils import weights

    try:
        with contextlib.redirect_stdout(sys.stderr):
            return weights.require(_needed_weights(args, style), progress=not args.quiet)
    except weights.WeightsError as e:
        raise SystemExit(_weights_help(style["method"], e)) from None


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


def _model_hashes(paths: dict[str, Path], args: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    """The checkpoints the run loads, name → SHA-256 (a cloth checkpoint of one's own by its
    path), for the manifest."""
    from fsutils.batch.manifest import file_sha256

    own = args.segment_weights if args.segment_weights and args.segment_weights not in paths else None
    found = {**paths, **({own: Path(own).expanduser()} if own else {})}
    return tuple(sorted((name, file_sha256(Path(p)) or "") for name, p in found.items()))


def _settings(args: argparse.Namespace, style: dict, paths: dict[str, Path], dev
              ) -> BatchSettings:
    from fsutils import env
    from fsutils.cli.options import blend_params

    blend = blend_params(args)
    return BatchSettings(out=args.out, style_args=style, garments=args.garments, blend=blend,
                         photo_size=args.photo_size or env.default_work_size(dev),
                         style_size=args.style_size, masked_style=args.masked_style,
                         save=args.save, segment_weights=args.segment_weights,
                         saliency_weights=args.saliency_weights, device=dev,
                         models=_model_hashes(paths, args), quiet=args.quiet)


def _load_unit(settings: BatchSettings) -> RestyleBatch:
    """The unit of work with its models loaded; a cloth model that cannot be obtained is one
    message."""
    from fsutils.weights import WeightsError

    try:
        return RestyleBatch(settings)
    except WeightsError as e:
        raise SystemExit(f"error: the cloth-segmentation model could not be obtained:\n{e}\n\n"
                         "What to do: leave out --segment-weights to use the bundled ccp_deeplab "
                         "model, or follow the instructions above.") from None


def _check_engine(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """The engine's options, before any work: Ray's only with ``--engine ray``, and Ray
    installed when asked for (exit 2 with how to install it)."""
    from fsutils.batch import ray_engine

    given = [o for o, v in (("--address", args.address), ("--workers", args.workers),
                            ("--gpus-per-worker", args.gpus_per_worker)) if v is not None]
    if args.engine != "ray" and given:
        parser.error(f"{', '.join(given)} only work with --engine ray")
    if args.engine == "ray" and not ray_engine.available():
        parser.error(f"--engine ray needs Ray, an optional extra that is not installed here: "
                     f"{ray_engine.INSTALL} (or use the default --engine local)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_engine(args, parser)
    if args.list_samples:
        return _list_samples()
    _check_settings(parser, args)
    photos, notes = name_photos(_collect(args.photos, parser))  # the names: before any model
    _check_points(args, [p.path for p in photos], parser)
    style = _style_args(args, parser)
    _writable(args.out, parser)
    settings = _settings(args, style, _require_weights(args, style), _device(args))
    for note in notes:
        print(note, file=sys.stderr)
    t0 = time.perf_counter()
    todo = _todo(args, photos, settings, t0)
    if not todo:
        return 0
    unit = None if args.engine == "ray" else _load_unit(settings)
    _announce(args, settings, style, len(todo), unit)
    written, failed, stopped = (_run_ray(settings, todo, args) if unit is None
                                else _run_batch(unit, todo, args, style))
    return _summary(args, len(todo), written, failed, stopped, t0)


def _list_samples() -> int:
    from fsutils import io as fio  # (imports PIL: only when asked)

    print("photos:   " + ", ".join(p.stem for p in fio.sample_photos()))
    print("paintings: " + ", ".join(p.stem for p in fio.sample_styles()))
    return 0


def _device(args: argparse.Namespace):
    """The device of the run: ``--device`` or the best here; on Ray the workers' (a GPU per
    worker when ``--gpus-per-worker`` asks for one)."""
    from fsutils import env

    return env.device(args.device if args.engine == "local" or args.device else
                      "cuda" if args.gpus_per_worker else "cpu")


def _todo(args: argparse.Namespace, photos: list[Photo], settings: BatchSettings,
          t0: float) -> list[Photo]:
    """The photos still to do: those the manifest records as done with these settings (and
    whose files are intact) are skipped, with one line saying so."""
    todo, skipped = Manifest(args.out).plan(photos, settings.describe(), overwrite=args.overwrite)
    if skipped:
        print(f"skipped {len(skipped)} of {len(photos)} photo(s): done before with these settings "
              f"and their files intact ({shown(args.out / MANIFEST_NAME)}); --overwrite redoes them",
              file=sys.stderr)
    if not todo:
        print(f"done in {time.perf_counter() - t0:.1f}s: nothing left to do in {shown(args.out)}/",
              file=sys.stderr)
    return todo


def _announce(args: argparse.Namespace, settings: BatchSettings, style: dict, count: int,
              unit: RestyleBatch | None) -> None:
    """The run's one line on stderr: photos, method, garments, blend, where, sizes."""
    from fsutils.garments import garment_names
    from fsutils.segment import CLASS_NAMES
    from fsutils.style import get_method

    dev = settings.device
    names, where = ((CLASS_NAMES, f"Ray ({args.address or 'a local cluster'})") if unit is None
                    else (unit.class_names, f"device {dev}"))
    size = args.style_size or get_method(style["method"]).default_size(settings.photo_size, dev)
    print(f"fsutils: {count} photo(s) → {shown(args.out)}/ | method {style['method']} "
          f"({shown(style['style']) if isinstance(style['style'], str) else 'painting'}), garments "
          f"{', '.join(garment_names(args.garments, names))}, "
          f"blend {settings.blend.title}, {where}, photo size {settings.photo_size}px, "
          f"style size {size}px", file=sys.stderr)


def _summary(args: argparse.Namespace, count: int, written: list[Path],
             failed: list[tuple[Path, str]], stopped: tuple[int, str] | None, t0: float) -> int:
    """The closing lines on stderr and the exit status (the stop's, 1 when a photo failed)."""
    if stopped:
        print(stopped[1], file=sys.stderr)
    print(f"{'stopped after' if stopped else 'done in'} {time.perf_counter() - t0:.1f}s: "
          f"{_files(len(written))} in {shown(args.out)}/", file=sys.stderr)
    if failed:
        print(f"error: {len(failed)} of {count} photo(s) failed:", file=sys.stderr)
        for path, why_failed in failed:
            print(f"  {shown(path)}: {why_failed}", file=sys.stderr)
    return stopped[0] if stopped else 1 if failed else 0


def _report(row: dict, path: Path, failed: list[tuple[Path, str]], write) -> None:
    """A photo's lines on stderr: its error, or its warning and what it wrote."""
    if row["error"]:
        failed.append((path, row["error"]))
        write(f"error: {shown(path)}: {row['error']}", file=sys.stderr)
        return
    if row["warning"]:
        write(row["warning"], file=sys.stderr)
    write(f"{shown(path.name)}: garments cover {100 * row['coverage']:.1f}% of the photo; "
          f"wrote {_files(len(row['files']))}", file=sys.stderr)


def _run_ray(settings: BatchSettings, photos: list[Photo], args: argparse.Namespace
             ) -> tuple[list[Path], list[tuple[Path, str]], tuple[int, str] | None]:
    """The batch on Ray (:mod:`fsutils.batch.ray_engine`): each row appended to the manifest and
    its files listed on stdout as it comes back; what :func:`_run_batch` returns."""
    from fsutils.batch import ray_engine

    written: list[Path] = []
    failed: list[tuple[Path, str]] = []
    manifest, paths = Manifest(args.out), {p.name: p.path for p in photos}
    done: list[str] = []

    def on_row(row: dict) -> None:
        manifest.append([row])
        done.append(row["name"])
        for name in row["files"]:
            written.append(args.out / name)
            print(shown(args.out / name), flush=True)
        _report(row, paths.get(row["name"], Path(row["input"])), failed, print)

    try:
        ray_engine.run(settings, photos, address=args.address, workers=args.workers,
                       gpus_per_worker=args.gpus_per_worker or 0.0, on_row=on_row)
    except KeyboardInterrupt:
        return written, failed, (INTERRUPTED, (
            f"interrupted (Ctrl-C): stopped with {len(done)} of {len(photos)} photo(s) done; "
            "every file listed is complete, none is half-written"))
    except Exception as e:  # noqa: BLE001 — Ray gave up (a worker's disk full, weights …)
        first = str(e).strip().splitlines()
        return written, failed, (1, (
            f"error: the Ray batch stopped ({type(e).__name__}: {first[-1] if first else e}); "
            "the photos recorded in the manifest are done: run the same command again to do "
            "the rest"))
    return written, failed, None


def _run_batch(unit: RestyleBatch, photos: list[Photo], args: argparse.Namespace, style: dict
               ) -> tuple[list[Path], list[tuple[Path, str]], tuple[int, str] | None]:
    """Every photo in turn through the unit of work, each row appended to the manifest as soon
    as the photo is done: the files written (each listed on stdout as soon as it is in place),
    the photos that failed with one line each, and, when the batch stopped early (Ctrl-C, a full
    disk), its exit status and the line that says why (else None). A photo that fails for any
    other reason is reported and the batch goes on. Per-photo lines go through ``tqdm.write`` so
    they never run into the progress bar, and the bar is drawn only on a terminal (tqdm's
    ``disable=None``)."""
    from tqdm.auto import tqdm

    from fsutils.weights import WeightsError

    written: list[Path] = []
    failed: list[tuple[Path, str]] = []
    manifest = Manifest(args.out)

    def saved(path: Path) -> None:
        written.append(path)
        print(shown(path), flush=True)  # one line per file, whatever its name holds

    unit.on_saved = saved
    bar = tqdm(photos, desc="photos", unit="photo", file=sys.stderr,
               disable=True if args.quiet or len(photos) < 2 else None)
    done = 0
    try:
        for photo in bar:
            path = photo.path
            bar.set_postfix_str(path.name)
            try:
                row = unit.one(photo.name, str(path))
                manifest.append([row])
            except WeightsError as e:
                raise SystemExit(_weights_help(style["method"], e)) from None
            except OSError as e:
                if e.errno not in STOPS_BATCH:
                    raise
                bar.close()
                return written, failed, (1, (
                    f"error: the disk is full ({why(e)}): stopped at {shown(path.name)} with "
                    f"{done} of {len(photos)} photo(s) done; earlier results are intact. Free "
                    "some space or choose another --out, then run again"))
            done += 1
            _report(row, path, failed, tqdm.write)
    except KeyboardInterrupt:
        bar.close()
        return written, failed, (INTERRUPTED, (
            f"interrupted (Ctrl-C): stopped with {done} of {len(photos)} photo(s) done; every "
            "file listed is complete, none is half-written"))
    return written, failed, None


def _entry() -> int:
    """``python -m fsutils``: :func:`main`, with Ctrl-C before the batch (e.g. while the models
    load) as one line and exit status 130 (Ctrl-C during the batch is handled there)."""
    try:
        return main()
    except KeyboardInterrupt:
        print("interrupted (Ctrl-C): stopped before any photo was written", file=sys.stderr)
        return INTERRUPTED
