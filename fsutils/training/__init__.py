"""Training the kit's models: one engine (:mod:`.engine`: resumable runs, checkpoints, the
running average of the weights, validation and ``best.pt``, exact resumption, Ctrl-C) and one
task per model — :mod:`.cloth` (the cloth segmenter), :mod:`.instances` (the garment detector),
:mod:`.swap` (the garment-swap generator). ``python -m fsutils.train {cloth,instances,swap}``
runs them from the command line.

    from fsutils import training
    from fsutils.training.cloth import ClothConfig, ClothTask
    summary = training.fit(ClothTask(ClothConfig.preset("demo", ccp_root)))
"""
from .engine import Engine, Interrupted, Task, fit
from .export import export_half
from .folder import TrainingError

__all__ = ["Engine", "Interrupted", "Task", "TrainingError", "fit", "export_half"]
