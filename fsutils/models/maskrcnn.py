"""Mask R-CNN (He et al. 2017) for garment instances on the kit's own MobileNetV2.

torchvision's :class:`~torchvision.models.detection.MaskRCNN` (region proposals → RoIAlign → box
and mask heads) on the DeepLabV3-MobileNetV2 of the shipped cloth model ``ccp_deeplab``, with a
feature pyramid fine enough for shoes and bags:

- level ``"0"``: block 5 of MobileNetV2 (32 channels, stride 8);
- level ``"1"``: DeepLab's projection (256 channels, stride 16: image pooling + 1×1 branch);
- level ``"pool"``: a max-pooled copy of level ``"1"`` (stride 32).

The pyramid has 128 channels and GroupNorm: the convolutions carry folded BatchNorm, so the two
input levels differ in scale by about 4×. Anchors are 24–40 px at stride 8, 64–112 at stride 16
and 192–320 at stride 32 (aspect ratios 1:2, 1:1, 2:1). The input is RGB in [0, 1], normalised as
the cloth model's ``(x − 0.5) / 0.5``, resized to a short side of 352 px.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.models.detection.rpn import RPNHead
from torchvision.ops import FeaturePyramidNetwork, MultiScaleRoIAlign
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

from .mobilenet import DeepLabV3, deeplab_v3_mobilenet_v2

__all__ = ["DeepLabFeatures", "DeepLabFPN", "garment_maskrcnn", "maskrcnn_from_deeplab",
           "FINE_BLOCK", "FROZEN_BLOCKS", "ANCHOR_SIZES", "INPUT_SIZE", "FPN_CHANNELS"]

#: The stride-8 feature is the output of this block (0-based; the last 32-channel block).
FINE_BLOCK = 5
#: The stem and this many first blocks keep the cloth model's weights (not trained).
FROZEN_BLOCKS = 6
#: Anchor sizes (px, at the network's input size) per pyramid level: stride 8, 16, 32.
ANCHOR_SIZES: tuple[tuple[int, ...], ...] = ((24, 40), (64, 112), (192, 320))
ASPECT_RATIOS = (0.5, 1.0, 2.0)
#: Short side of the network's input (px) at inference.
INPUT_SIZE = 352
FPN_CHANNELS = 128
_GROUPS = 32


class DeepLabFeatures(nn.Module):
    """The DeepLabV3-MobileNetV2 of the cloth model cut into two feature maps: ``"0"`` after
    block :data:`FINE_BLOCK` (stride 8) and ``"1"`` DeepLab's 256-channel projection (stride 16)."""

    def __init__(self, deeplab: DeepLabV3, fine_block: int = FINE_BLOCK):
        super().__init__()
        blocks = deeplab.backbone.blocks
        self.stem = deeplab.backbone.stem
        self.fine = nn.Sequential(*blocks[: fine_block + 1])
        self.coarse = nn.Sequential(*blocks[fine_block + 1:])
        self.image_pooling, self.aspp0, self.project = deeplab.image_pooling, deeplab.aspp0, deeplab.project
        self.channels = (blocks[fine_block].spec.cout, deeplab.project.out_channels)

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        fine = self.fine(self.stem(x))
        f = self.coarse(fine)
        pooled = self.image_pooling(f.mean(dim=(2, 3), keepdim=True)).expand(-1, -1, *f.shape[-2:])
        return OrderedDict([("0", fine), ("1", self.project(torch.cat([pooled, self.aspp0(f)], 1)))])


class DeepLabFPN(nn.Module):
    """:class:`DeepLabFeatures` → a GroupNorm feature pyramid with a max-pool level
    (``"0"``, ``"1"``, ``"pool"``; ``out_channels`` each), the interface MaskRCNN expects."""

    def __init__(self, deeplab: DeepLabV3, out_channels: int = FPN_CHANNELS):
        super().__init__()
        self.body = DeepLabFeatures(deeplab)
        self.fpn = FeaturePyramidNetwork(list(self.body.channels), out_channels,
                                         extra_blocks=LastLevelMaxPool(),
                                         norm_layer=lambda c: nn.GroupNorm(_GROUPS, c))
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        return self.fpn(self.body(x))

    def freeze(self, blocks: int = FROZEN_BLOCKS) -> None:
        """Keep the stem and the first ``blocks`` blocks as they are (no gradient)."""
        self.body.stem.requires_grad_(False)
        for block in list(self.body.fine)[:blocks]:
            block.requires_grad_(False)


def garment_maskrcnn(num_classes: int = 8, deeplab: DeepLabV3 | None = None,
                     train_sizes: tuple[int, ...] = (), input_size: int = INPUT_SIZE,
                     frozen_blocks: int = FROZEN_BLOCKS) -> MaskRCNN:
    """The garment Mask R-CNN (``num_classes`` counts the background), freshly initialised heads
    on ``deeplab``'s weights (default: an empty DeepLab, for loading a saved detector).

    ``train_sizes``: short sides drawn at random for each training batch (scale jitter); the
    evaluation always uses ``input_size``."""
    fpn = DeepLabFPN(deeplab if deeplab is not None else deeplab_v3_mobilenet_v2(4))
    fpn.freeze(frozen_blocks)
    c = fpn.out_channels
    anchors = AnchorGenerator(ANCHOR_SIZES, (ASPECT_RATIOS,) * len(ANCHOR_SIZES))
    levels = ["0", "1", "pool"]
    sizes = tuple(s for s in train_sizes if s != input_size) + (input_size,)  # eval: the last
    return MaskRCNN(
        fpn, num_classes=None, min_size=sizes, max_size=2 * max(sizes),
        image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5],
        rpn_anchor_generator=anchors, rpn_head=RPNHead(c, anchors.num_anchors_per_location()[0]),
        rpn_pre_nms_top_n_train=1000, rpn_pre_nms_top_n_test=600,
        rpn_post_nms_top_n_train=300, rpn_post_nms_top_n_test=300,
        box_roi_pool=MultiScaleRoIAlign(levels, 7, 2),
        box_head=TwoMLPHead(c * 7 * 7, 512), box_predictor=FastRCNNPredictor(512, num_classes),
        box_batch_size_per_image=128, box_detections_per_img=50,
        mask_roi_pool=MultiScaleRoIAlign(levels, 14, 2),
        mask_head=MaskRCNNHeads(c, (c, c, c, c), 1),
        mask_predictor=MaskRCNNPredictor(c, c, num_classes))


def maskrcnn_from_deeplab(init: str = "ccp_deeplab", num_classes: int = 8,
                          train_sizes: tuple[int, ...] = (), input_size: int = INPUT_SIZE) -> MaskRCNN:
    """The detector at the start of training: backbone and DeepLab projection from the cloth
    model ``init`` (a registry name or a 4-class DeepLab checkpoint), new pyramid and heads."""
    from .. import weights

    deeplab = deeplab_v3_mobilenet_v2(4)
    weights.load_state_dict(deeplab, {k: v.float() for k, v in weights.read_state_dict(init).items()})
    return garment_maskrcnn(num_classes, deeplab, train_sizes, input_size)
