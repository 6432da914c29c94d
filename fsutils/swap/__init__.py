"""Garment swap: put another photo's garment on a person with a Conditional Analogy GAN.

CAGAN (Jetchev & Bergmann 2017, "The Conditional Analogy GAN: swapping fashion articles on
people images") takes a person ``x_i``, the article they wear ``y_i`` and a new article ``y_j``,
and paints ``x_i^j = α·x̃ + (1 − α)·x_i``. The kit trains it on Clothing Co-Parsing, which has no
product photos: each garment is cut out with its annotation and centred on white as a flat-lay
stand-in (:mod:`.data`).

- :mod:`.data` — crops and triplets from CCP photos and annotations;
- :mod:`fsutils.models.cagan` — generator, discriminator, losses, :func:`swap_garment`;
- :mod:`fsutils.training.swap` — ``python -m fsutils.train swap …`` (resumable);
- :mod:`fsutils.evaluation.swap` — ``python -m fsutils.evaluate swap …``: implicit segmentation,
  changes outside the garment, and known-answer swaps against two baselines;
- :mod:`.garment` — :func:`~fsutils.swap.garment.swap_garment`, the swap on a full photo with the
  shipped generator ``ccp_cagan``;
- :mod:`.stages` — the shipped generator's training stages (drawn by the release tool
  ``python tools/ship_swap.py CHECKPOINT --stages RUN``, which also writes the fp16 file, its
  registry entry and the measured figures);
- :mod:`.samples` — bundled people and articles; :mod:`.viz` — the course's pictures.
"""
