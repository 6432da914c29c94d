"""fsutils — style transfer on clothing, for Jupyter and Colab.

Pipeline: cloth segmentation → saliency → style transfer → saliency-guided blend.
Importing the package is cheap: submodules (``fsutils.weights``, ``fsutils.segment`` …) load torch
and friends only when they are imported themselves.
"""
from __future__ import annotations

__version__ = "0.1.0"

#: The one place that names the repository (Colab install cells and badges are built from it).
REPO_SLUG = "fsutils-kit/fsutils"
REPO_URL = f"https://github.com/{REPO_SLUG}"
#: What ``pip install`` needs on Colab or any machine without a checkout.
PIP_INSTALL_URL = f"git+{REPO_URL}"

__all__ = ["__version__", "REPO_SLUG", "REPO_URL", "PIP_INSTALL_URL"]
