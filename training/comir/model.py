"""A small U-Net for CoMIR, and the export wrapper (network + sigmoid in one graph).

Normalisation: the default is NO normalisation layer ("none"). Reasons (measured/argued in training/README.md):
- BatchNorm: running statistics in inference mode differ from the batch statistics seen in training, which
  offset the two networks' outputs (issue 4: correlation -0.06..0.48 on aligned test tissue).
- GroupNorm fixes that, but its statistics are taken over the whole spatial extent of the input, so the
  representation of a region depends on the field of view: a tile, a crop query (s-CBIR) and the whole image give
  different values for the same pixels, and tiled inference cannot equal whole-image inference.
- Without normalisation the network is purely local (receptive field below), has no train/inference difference,
  and tiled == whole exactly up to float rounding. GroupNorm stays available with --norm group.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def _norm(kind: str, ch: int) -> nn.Module:
    if kind == "none":
        return nn.Identity()
    if kind == "group":
        return nn.GroupNorm(num_groups=min(8, ch), num_channels=ch)
    raise ValueError(f"unknown norm {kind!r}")


class DoubleConv(nn.Sequential):
    def __init__(self, cin: int, cout: int, norm: str):
        bias = norm == "none"
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1, bias=bias), _norm(norm, cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=bias), _norm(norm, cout), nn.ReLU(inplace=True),
        )


class UNet(nn.Module):
    """Encoder: DoubleConv at `depth`+1 scales with max-pool 2 between them; decoder: nearest x2 upsampling
    (as the reference Tiramisu's "upsample" mode, RP2), concat skip, DoubleConv. Final 1x1 conv to
    `latent_channels` without bias and without activation (RP2)."""

    def __init__(self, in_channels: int, base: int = 16, depth: int = 3, latent_channels: int = 1, norm: str = "none"):
        super().__init__()
        self.in_channels, self.base, self.depth, self.norm_kind = in_channels, base, depth, norm
        chs = [base * 2**i for i in range(depth + 1)]
        self.enc = nn.ModuleList()
        cin = in_channels
        for c in chs:
            self.enc.append(DoubleConv(cin, c, norm))
            cin = c
        self.dec = nn.ModuleList()
        for i in range(depth - 1, -1, -1):
            self.dec.append(DoubleConv(chs[i + 1] + chs[i], chs[i], norm))
        self.head = nn.Conv2d(chs[0], latent_channels, 1, bias=False)
        # He init everywhere, the 1x1 head included: outputs start with O(1) spread, so the MSE critic's
        # similarities (-mean sq. diff / tau) are not all ~0 at step 0 (a 0.1-scaled head left the loss at ln(2N-1)
        # for the first 20+ steps: measured, training/README.md).
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    @property
    def stride(self) -> int:
        return 2**self.depth

    def receptive_field(self) -> int:
        """Receptive field in input pixels (two 3x3 convs per level on each side, pooling/upsampling aligned)."""
        rf, scale = 1, 1
        for _ in range(self.depth):  # encoder levels before each pool
            rf += 4 * scale
            rf += scale  # 2x2 max-pool adds (2-1)*scale
            scale *= 2
        rf += 4 * scale  # bottleneck
        for _ in range(self.depth):  # decoder levels
            scale //= 2
            rf += 4 * scale
        return rf

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.enc):
            x = block(x)
            if i < self.depth:
                skips.append(x)
                x = F.max_pool2d(x, 2)
        for block in self.dec:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            x = block(torch.cat([x, skips.pop()], dim=1))
        return self.head(x)


def count_parameters(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())



def preprocess(x: torch.Tensor, kind: str) -> torch.Tensor:
    """Input x in [0, 1]. 'log1p': SHG gets log(1+x) (RP2, "Preprocessing"), NOT rescaled afterwards, so the range is
    [0, ln 2] as in the reference and as src/pipeline/decode.ts normalize(image, 'log1p') produces. 'linear': unchanged
    (BF, RGB, NIR: img_as_float only, RP2). The names are decode.ts's Normalization values."""
    if kind == "log1p":
        return torch.log1p(x)
    if kind == "linear":
        return x
    raise ValueError(f"unknown preprocessing {kind!r}")


class ExportWrapper(nn.Module):
    """What ships: input NCHW, already normalised by the modality's rule (manifest input.normalization, applied by
    decode.ts at ingest) -> U-Net -> sigmoid(z - shift), output N1HW in [0,1]; shift = the common tissue logit
    mean of both networks (evaluate.tissue_logit_mean), recorded as output.logit_shift."""

    def __init__(self, net: UNet, shift: float = 0.0):
        super().__init__()
        self.net, self.shift = net, float(shift)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(x) - self.shift)
