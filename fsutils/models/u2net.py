"""U-2-Net and U2NETP.

Architecture by Xuebin Qin, Zichen Zhang, Chenyang Huang, Masood Dehghan, Osmar R. Zaiane and
Martin Jagersand, "U2-Net: Going Deeper with Nested U-Structure for Salient Object Detection",
Pattern Recognition 106, 2020 (https://github.com/xuebinqin/U-2-Net, Apache-2.0). The 4-class cloth
variant is the same network with ``out_ch=4`` (levindabhi/cloth-segmentation, MIT).

Parameter names match the official code exactly, so the official checkpoints (``u2net.pth``,
``u2netp.pth``, ``cloth_segm_u2net_latest.pth``) load with ``strict=True``. Differences from the
original file: ``F.interpolate`` instead of the deprecated ``F.upsample`` (same maths:
bilinear, ``align_corners=False``), the repeated RSU blocks are built from one parametrised class,
and ``forward`` returns **logits** (the fused map ``d0`` first, then the six side outputs ``d1…d6``);
apply ``sigmoid`` for saliency or ``softmax``/``argmax`` for cloth classes.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["REBNCONV", "RSU", "RSU4F", "U2NET", "U2NETP"]


def _upsample_like(src: torch.Tensor, tar: torch.Tensor) -> torch.Tensor:
    return F.interpolate(src, size=tar.shape[2:], mode="bilinear", align_corners=False)


class REBNCONV(nn.Module):
    """3×3 (dilated) convolution → BatchNorm → ReLU."""

    def __init__(self, in_ch: int = 3, out_ch: int = 3, dirate: int = 1):
        super().__init__()
        self.conv_s1 = nn.Conv2d(in_ch, out_ch, 3, padding=dirate, dilation=dirate)
        self.bn_s1 = nn.BatchNorm2d(out_ch)
        self.relu_s1 = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu_s1(self.bn_s1(self.conv_s1(x)))


class RSU(nn.Module):
    """Residual U-block of height ``L`` (RSU-7, RSU-6, RSU-5, RSU-4 in the paper).

    Attribute names follow the official ``RSU7``…``RSU4`` classes: ``rebnconvin``,
    ``rebnconv1…L``, ``pool1…L-2``, ``rebnconv{L-1…1}d``.
    """

    def __init__(self, height: int, in_ch: int = 3, mid_ch: int = 12, out_ch: int = 3):
        super().__init__()
        self.height = height
        self.rebnconvin = REBNCONV(in_ch, out_ch, dirate=1)
        self.rebnconv1 = REBNCONV(out_ch, mid_ch, dirate=1)
        for i in range(1, height - 1):
            setattr(self, f"pool{i}", nn.MaxPool2d(2, stride=2, ceil_mode=True))
            setattr(self, f"rebnconv{i + 1}", REBNCONV(mid_ch, mid_ch, dirate=1))
        setattr(self, f"rebnconv{height}", REBNCONV(mid_ch, mid_ch, dirate=2))
        for i in range(height - 1, 1, -1):
            setattr(self, f"rebnconv{i}d", REBNCONV(mid_ch * 2, mid_ch, dirate=1))
        self.rebnconv1d = REBNCONV(mid_ch * 2, out_ch, dirate=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        L = self.height
        hxin = self.rebnconvin(x)
        enc = [self.rebnconv1(hxin)]
        for i in range(1, L - 1):
            hx = getattr(self, f"pool{i}")(enc[-1])
            enc.append(getattr(self, f"rebnconv{i + 1}")(hx))
        hx = getattr(self, f"rebnconv{L}")(enc[-1])
        for i in range(L - 1, 0, -1):
            hx = getattr(self, f"rebnconv{i}d")(torch.cat((hx, enc[i - 1]), 1))
            if i > 1:
                hx = _upsample_like(hx, enc[i - 2])
        return hx + hxin


class RSU4F(nn.Module):
    """RSU-4F: the dilated U-block without pooling used at the lowest resolutions."""

    def __init__(self, in_ch: int = 3, mid_ch: int = 12, out_ch: int = 3):
        super().__init__()
        self.rebnconvin = REBNCONV(in_ch, out_ch, dirate=1)
        self.rebnconv1 = REBNCONV(out_ch, mid_ch, dirate=1)
        self.rebnconv2 = REBNCONV(mid_ch, mid_ch, dirate=2)
        self.rebnconv3 = REBNCONV(mid_ch, mid_ch, dirate=4)
        self.rebnconv4 = REBNCONV(mid_ch, mid_ch, dirate=8)
        self.rebnconv3d = REBNCONV(mid_ch * 2, mid_ch, dirate=4)
        self.rebnconv2d = REBNCONV(mid_ch * 2, mid_ch, dirate=2)
        self.rebnconv1d = REBNCONV(mid_ch * 2, out_ch, dirate=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hxin = self.rebnconvin(x)
        hx1 = self.rebnconv1(hxin)
        hx2 = self.rebnconv2(hx1)
        hx3 = self.rebnconv3(hx2)
        hx4 = self.rebnconv4(hx3)
        hx3d = self.rebnconv3d(torch.cat((hx4, hx3), 1))
        hx2d = self.rebnconv2d(torch.cat((hx3d, hx2), 1))
        hx1d = self.rebnconv1d(torch.cat((hx2d, hx1), 1))
        return hx1d + hxin


#: A block: (height, in, mid, out) channels; height 0 is the dilated RSU-4F, ``in`` None the
#: model's input channels.
Block = tuple[int, int | None, int, int]


def _block(height: int, in_ch: int, mid_ch: int, out_ch: int) -> nn.Module:
    return RSU4F(in_ch, mid_ch, out_ch) if height == 0 else RSU(height, in_ch, mid_ch, out_ch)


class _U2Base(nn.Module):
    """Shared encoder/decoder wiring of U2NET and U2NETP (six stages, deep supervision), built
    from the class's ``STAGES`` (encoder stages 1–6) and ``DECODERS`` (stages 5d down to 1d)."""

    STAGES: tuple[Block, ...] = ()
    DECODERS: tuple[Block, ...] = ()

    def __init__(self, in_ch: int = 3, out_ch: int = 1):
        super().__init__()
        for i, (h, c_in, mid, c_out) in enumerate(self.STAGES, start=1):
            setattr(self, f"stage{i}", _block(h, in_ch if c_in is None else c_in, mid, c_out))
            if i < 6:
                setattr(self, f"pool{i}{i + 1}", nn.MaxPool2d(2, stride=2, ceil_mode=True))
        for i, block in zip(range(5, 0, -1), self.DECODERS):
            setattr(self, f"stage{i}d", _block(*block))
        # side i reads decoder stage i (stage 6 for side 6)
        side_in = [b[3] for b in reversed(self.DECODERS)] + [self.STAGES[-1][3]]
        for i, c in enumerate(side_in, start=1):
            setattr(self, f"side{i}", nn.Conv2d(c, out_ch, 3, padding=1))
        self.outconv = nn.Conv2d(6 * out_ch, out_ch, 1)
        self.out_ch = out_ch

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        enc = []
        hx = x
        for i in range(1, 7):
            hx = getattr(self, f"stage{i}")(hx)
            enc.append(hx)
            if i < 6:
                hx = getattr(self, f"pool{i}{i + 1}")(hx)
        dec = {6: enc[5]}
        hx = enc[5]
        for i in range(5, 0, -1):
            hx = getattr(self, f"stage{i}d")(torch.cat((_upsample_like(hx, enc[i - 1]), enc[i - 1]), 1))
            dec[i] = hx
        d1 = self.side1(dec[1])
        sides = [d1] + [_upsample_like(getattr(self, f"side{i}")(dec[i]), d1) for i in range(2, 7)]
        d0 = self.outconv(torch.cat(sides, 1))
        return (d0, *sides)


class U2NET(_U2Base):
    """Full U-2-Net (176 MB checkpoint). ``forward`` returns logits ``(d0, d1, …, d6)``."""

    STAGES = ((7, None, 32, 64), (6, 64, 32, 128), (5, 128, 64, 256), (4, 256, 128, 512),
              (0, 512, 256, 512), (0, 512, 256, 512))
    DECODERS = ((0, 1024, 256, 512), (4, 1024, 128, 256), (5, 512, 64, 128), (6, 256, 32, 64),
                (7, 128, 16, 64))


class U2NETP(_U2Base):
    """U-2-Net† (small, 4.7 MB). ``forward`` returns logits ``(d0, d1, …, d6)``."""

    STAGES = ((7, None, 16, 64), (6, 64, 16, 64), (5, 64, 16, 64), (4, 64, 16, 64),
              (0, 64, 16, 64), (0, 64, 16, 64))
    DECODERS = ((0, 128, 16, 64), (4, 128, 16, 64), (5, 128, 16, 64), (6, 128, 16, 64),
                (7, 128, 16, 64))
