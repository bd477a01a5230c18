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

from .stain import eosin


def _norm(kind: str, ch: int) -> nn.Module:
    if kind == "none":
        return nn.Identity()
    if kind == "group":
        # up to 8 groups; the Tiramisu's channel counts (e.g. 129, 81) need a divisor
        return nn.GroupNorm(num_groups=max(g for g in range(1, 9) if ch % g == 0), num_channels=ch)
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


class _DenseLayer(nn.Sequential):
    """norm-ReLU-Conv3x3(growth)-Dropout (RP2: BN-ReLU-Conv3x3, dropout 0.2; BN replaced as for the U-Net)."""

    def __init__(self, cin: int, growth: int, norm: str, dropout: float):
        super().__init__(_norm(norm, cin), nn.ReLU(inplace=False), nn.Conv2d(cin, growth, 3, padding=1, bias=True),
                         nn.Dropout2d(dropout))


class _DenseBlock(nn.Module):
    """Each layer sees the concatenation of the block input and all earlier layers' outputs. Returns the input plus
    all new features (down path, last up block), or only the new features (other up blocks, bottleneck): FC-DenseNet."""

    def __init__(self, cin: int, layers: int, growth: int, norm: str, dropout: float, keep_input: bool):
        super().__init__()
        self.keep_input = keep_input
        self.layers = nn.ModuleList(_DenseLayer(cin + i * growth, growth, norm, dropout) for i in range(layers))
        self.out_channels = (cin if keep_input else 0) + layers * growth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for layer in self.layers:
            feats.append(layer(torch.cat(feats, 1)))
        return torch.cat(feats if self.keep_input else feats[1:], 1)


class Tiramisu(nn.Module):
    """The reference CoMIR network (RP2, models/tiramisu.py DenseUNet): conv_init 3x3 (32), `depth` down dense blocks
    of 4 layers (growth 12, dropout 0.2), transition down norm-ReLU-Conv1x1 (compression 0.75)-Dropout2d-MaxPool2,
    a 4-layer bottleneck, `depth` up blocks (nearest x2 + Conv3x3 + ReLU, concat skip, dense block), final 1x1 conv to
    `latent_channels` without bias or activation. With depth 6 the skips carry 80/108/129/144/156/165 channels and
    the head sees 176 (RP2). Normalisation: none by default, for the reasons in this module's docstring (RP2 uses BN)."""

    def __init__(self, in_channels: int, depth: int = 6, layers: int = 4, growth: int = 12, init: int = 32,
                 compression: float = 0.75, dropout: float = 0.2, latent_channels: int = 1, norm: str = "none"):
        super().__init__()
        self.in_channels, self.depth, self.norm_kind = in_channels, depth, norm
        self.base = init
        self.conv_init = nn.Conv2d(in_channels, init, 3, padding=1, bias=True)
        c = init
        self.down, self.trans, skips = nn.ModuleList(), nn.ModuleList(), []
        for _ in range(depth):
            blk = _DenseBlock(c, layers, growth, norm, dropout, keep_input=True)
            self.down.append(blk)
            c = blk.out_channels
            skips.append(c)
            c_out = int(c * compression)
            self.trans.append(nn.Sequential(_norm(norm, c), nn.ReLU(inplace=False), nn.Conv2d(c, c_out, 1, bias=True),
                                            nn.Dropout2d(dropout), nn.MaxPool2d(2)))
            c = c_out
        self.bottleneck = _DenseBlock(c, layers, growth, norm, dropout, keep_input=False)
        c = self.bottleneck.out_channels
        self.ups, self.up_blocks = nn.ModuleList(), nn.ModuleList()
        for i in range(depth):
            self.ups.append(nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c, c, 3, padding=1),
                                          nn.ReLU(inplace=False)))
            last = i == depth - 1
            blk = _DenseBlock(c + skips[depth - 1 - i], layers, growth, norm, dropout, keep_input=last)
            self.up_blocks.append(blk)
            c = blk.out_channels
        self.head = nn.Conv2d(c, latent_channels, 1, bias=False)
        self.head_channels = c
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        self._rf: int | None = None

    @property
    def stride(self) -> int:
        return 2**self.depth

    def receptive_field(self) -> int:
        """Measured, not derived: the extent of the input gradient of one output pixel (with dropout off), on an
        input large enough to hold it."""
        if self._rf is None:
            was = self.training
            self.eval()
            n = 2 * self.stride * 8
            x = torch.rand(1, self.in_channels, n, n, requires_grad=True)
            self.forward(x)[0, 0, n // 2, n // 2].backward()
            ys, xs = torch.nonzero(x.grad.abs().sum(1)[0] > 0, as_tuple=True)
            self._rf = int(max(ys.max() - ys.min(), xs.max() - xs.min()) + 1)
            self.zero_grad(set_to_none=True)
            self.train(was)
        return self._rf

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_init(x)
        skips = []
        for blk, tr in zip(self.down, self.trans):
            x = blk(x)
            skips.append(x)
            x = tr(x)
        x = self.bottleneck(x)
        for up, blk in zip(self.ups, self.up_blocks):
            x = blk(torch.cat([up(x), skips.pop()], 1))
        return self.head(x)


def build_network(arch: str, in_channels: int, base: int | None, depth: int | None, norm: str) -> nn.Module:
    """--arch unet (ours, default) or tiramisu (the reference's, RP2)."""
    if arch == "unet":
        return UNet(in_channels, base=base or 16, depth=depth or 3, norm=norm)
    if arch == "tiramisu":
        return Tiramisu(in_channels, depth=depth or 6, norm=norm)
    raise ValueError(f"unknown arch {arch!r}")


def count_parameters(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())



# 'percentile': the 1st and 99th percentiles of the image are stretched to 0 and 1 (see preprocess).
PERCENTILES = (0.01, 0.99)


def percentile_stretch(x: torch.Tensor, lo: torch.Tensor | None = None, hi: torch.Tensor | None = None) -> torch.Tensor:
    """x: NCHW in [0, 1]. (x - lo) / (hi - lo) clamped to [0, 1], with lo, hi (N111) the PERCENTILES of each sample
    over all its channels and pixels unless given. hi - lo is at least 1/255 (a flat image stays finite).
    src/pipeline/decode.ts normalize(image, 'percentile') computes the same on the 8-bit values."""
    if lo is None or hi is None:
        q = torch.tensor(PERCENTILES, dtype=x.dtype)
        lh = torch.quantile(x.flatten(1), q, dim=1, interpolation="lower")  # 2, N
        lo, hi = lh[0].view(-1, 1, 1, 1), lh[1].view(-1, 1, 1, 1)
    return ((x - lo) / (hi - lo).clamp_min(1 / 255)).clamp(0, 1)


def preprocess(x: torch.Tensor, kind: str) -> torch.Tensor:
    """Input x in [0, 1]. 'log1p': SHG gets log(1+x) (RP2, "Preprocessing"), NOT rescaled afterwards, so the range is
    [0, ln 2] as in the reference and as src/pipeline/decode.ts normalize(image, 'log1p') produces. 'linear': unchanged
    (BF, RGB, NIR: img_as_float only, RP2). 'percentile': percentile_stretch of each image (not in RP2: the grey BF
    of the test TMA cores spans ~40..145 of 255, the train cores' ~80..255; training/README.md). The names are
    decode.ts's Normalization values. 'eosin': the eosin channel of an RGB H&E image by colour deconvolution
    (comir/stain.py, Ruifrok & Johnston 2001), 3 channels in, 1 out."""
    if kind == "log1p":
        return torch.log1p(x)
    if kind == "linear":
        return x
    if kind == "percentile":
        return percentile_stretch(x)
    if kind == "eosin":
        return eosin(x)
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
