"""Scoring the kit's stages against annotated photos, one module per task:

- :mod:`.segmentation` — cloth segmentation: per-class IoU, pixel accuracy, label breakdown;
- :mod:`.placement` — where each blend puts the style: coverage, leakage, edge contrast;
- :mod:`.cutout` — cut-out baselines (GrabCut, saliency, the cloth model) and their IoU;
- :mod:`.instances` — garment instances: per-class segm and bbox AP50;
- :mod:`.swap` — garment swap: implicit segmentation, changes outside the garment, known answers;
- :mod:`.choice` — choosing a garment: per class, how often the chosen garment is found or missed;
- :mod:`.presence` — on photos with image-level tags only: whether the models show the tagged
  garments (precision, recall, F1 per class);

and what they share: :mod:`.overlap` (the one IoU) and :mod:`.photos` (which photos a task scores,
and scoring them with the photos that cannot be scored left out and listed).

``python -m fsutils.evaluate <task> …`` runs each on a Clothing Co-Parsing folder. Importing this
package is cheap: each module loads its dependencies when it is imported itself.
"""
