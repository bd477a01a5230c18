"""Colour deconvolution of H&E (Ruifrok & Johnston 2001, "Quantification of histochemical staining by color
deconvolution", Anal Quant Cytol Histol 23:291-299): the eosin channel of a brightfield H&E image, which the
TypeScript side computes identically (src/pipeline/decode/stain.ts; test/unit/stain.test.ts compares the two).

Beer-Lambert: the optical density of channel c is OD_c = -log10(I_c / I_0) with I_0 = 1 (white = 255 of 255) and
I_c floored at 1/255 (so black is OD log10(255) = 2.41, not infinite). OD (a row of R, G, B) = C (a row of stain
amounts) x M, whose rows are the unit stain vectors; C = OD x M^-1. Stain vectors: the paper's H&E values as
normalised by scikit-image's rgb2hed (haematoxylin 0.65 0.70 0.29, eosin 0.07 0.99 0.11); the third row is their
normalised cross product (the complement HistomicsTK's complement_stain_matrix uses for a two-stain image).
The eosin amount is divided by EOSIN_SCALE and clamped to [0, 1]: 0.5 is above the largest 99.9th percentile of
eosin over the 31 shg-bf colour H&E images (0.45; training/README.md), so only single bright pixels saturate."""
from __future__ import annotations

import numpy as np
import torch

HAEMATOXYLIN = (0.65, 0.70, 0.29)
EOSIN = (0.07, 0.99, 0.11)
EOSIN_SCALE = 0.5
OD_FLOOR = 1 / 255


def stain_matrix() -> np.ndarray:
    """3x3, rows = unit vectors of haematoxylin, eosin and their cross product (float64)."""
    h = np.asarray(HAEMATOXYLIN, np.float64)
    e = np.asarray(EOSIN, np.float64)
    h, e = h / np.linalg.norm(h), e / np.linalg.norm(e)
    r = np.cross(h, e)
    return np.stack([h, e, r / np.linalg.norm(r)])


def eosin_weights() -> np.ndarray:
    """The column of M^-1 that gives the eosin amount from an OD row: eosin = OD . w."""
    return np.linalg.inv(stain_matrix())[:, 1]


def eosin(x: torch.Tensor) -> torch.Tensor:
    """x: N3HW RGB in [0, 1] -> N1HW eosin optical density / EOSIN_SCALE, clamped to [0, 1]."""
    if x.shape[1] != 3:
        raise ValueError(f"eosin needs a 3-channel (RGB) H&E image, got {x.shape[1]} channel(s)")
    w = torch.tensor(eosin_weights(), dtype=x.dtype).view(1, 3, 1, 1)
    od = -torch.log10(x.clamp(OD_FLOOR, 1.0))
    return ((od * w).sum(dim=1, keepdim=True) / EOSIN_SCALE).clamp(0, 1)
