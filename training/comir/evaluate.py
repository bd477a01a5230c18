"""Inference-mode validation on whole held-out images, run exactly as the server runs the exported graph:
reflect padding by `margin` plus to a multiple of the stride, one forward pass, crop back, sigmoid."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .data import Pair, PairSpec, to_input
from .model import UNet


@torch.no_grad()
def infer_whole(net: UNet, x: torch.Tensor, margin: int, shift: float = 0.0, logits: bool = False) -> torch.Tensor:
    """x: 1CHW preprocessed (on the CPU). Returns HW sigmoid(z - shift) (as the exported graph), or z with
    logits=True, on the CPU; the pass runs on the network's device."""
    net.eval()
    x = x.to(next(net.parameters()).device)
    h, w = x.shape[2:]
    s = net.stride
    ph, pw = (-(h + 2 * margin)) % s, (-(w + 2 * margin)) % s
    y = x
    # reflect needs pad < size: pad repeatedly for tiny inputs
    pads = [margin, margin + pw, margin, margin + ph]
    while any(pads):
        step = [min(p, y.shape[3 if i < 2 else 2] - 1) for i, p in enumerate(pads)]
        y = F.pad(y, step, mode="reflect")
        pads = [p - q for p, q in zip(pads, step)]
    z = net(y)[0, 0, margin:margin + h, margin:margin + w]
    return (z if logits else torch.sigmoid(z - shift)).cpu()


@torch.no_grad()
def tissue_logit_mean(net_a: UNet, net_b: UNet, pairs: list[Pair], spec: PairSpec, margin: int, limit: int = 12) -> float:
    """Mean logit on tissue over (up to `limit`) training pairs, both networks pooled: the common shift that puts
    tissue at the centre of the sigmoid. The loss is blind to one common shift of all outputs, so subtracting it
    changes nothing the networks learned (training/README.md "Output")."""
    vals = []
    for p in pairs[:limit]:
        for ms, net, arr in ((spec.a, net_a, p.a), (spec.b, net_b, p.b)):
            z = infer_whole(net, to_input(arr, ms.pre), margin, logits=True).numpy()
            vals.append(float(z[p.tissue].mean()))
    return float(np.mean(vals))


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    d = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / d) if d > 0 else 0.0


def validate(net_a: UNet, net_b: UNet, pairs: list[Pair], spec: PairSpec, margin: int, patch: int = 64,
             min_tissue: float = 0.5, shift: float = 0.0) -> dict:
    """Cross-modal patch retrieval on held-out pairs: outputs of both networks are cut into non-overlapping
    patch x patch tiles; tiles with >= min_tissue tissue are kept; each A tile queries all B tiles of all pairs
    (and vice versa) by mean squared difference; Acc@1 = fraction whose nearest tile is its own counterpart.
    Also Pearson correlation of the two outputs on tissue, aligned pairs vs mismatched (pair i's A vs pair i+1's B)."""
    outs = []
    for p in pairs:
        ya = infer_whole(net_a, to_input(p.a, spec.a.pre), margin, shift).numpy()
        yb = infer_whole(net_b, to_input(p.b, spec.b.pre), margin, shift).numpy()
        outs.append((ya, yb, p.tissue))
    ta, tb = [], []
    for ya, yb, t in outs:
        h, w = ya.shape
        for y in range(0, h - patch + 1, patch):
            for x in range(0, w - patch + 1, patch):
                if t[y:y + patch, x:x + patch].mean() >= min_tissue:
                    ta.append(ya[y:y + patch, x:x + patch].ravel())
                    tb.append(yb[y:y + patch, x:x + patch].ravel())
    A, B = torch.from_numpy(np.stack(ta)), torch.from_numpy(np.stack(tb))
    d = torch.cdist(A, B) ** 2
    gt = torch.arange(len(A))
    acc_ab = (d.argmin(1) == gt).float().mean().item()
    acc_ba = (d.argmin(0) == gt).float().mean().item()
    aligned = [_corr(ya[t], yb[t]) for ya, yb, t in outs]
    mism = []
    for i in range(len(outs)):
        ya, _, ta_ = outs[i]
        _, yb, tb_ = outs[(i + 1) % len(outs)]
        h, w = min(ya.shape[0], yb.shape[0]), min(ya.shape[1], yb.shape[1])
        m = ta_[:h, :w] & tb_[:h, :w]
        mism.append(_corr(ya[:h, :w][m], yb[:h, :w][m]))
    tis = [(ya[t].mean(), yb[t].mean()) for ya, yb, t in outs]
    bg = [(ya[~t].mean(), yb[~t].mean()) for ya, yb, t in outs if (~t).any()]
    return dict(
        acc1=(acc_ab + acc_ba) / 2, acc1_a2b=acc_ab, acc1_b2a=acc_ba, n_patches=len(A), patch=patch,
        corr_aligned_tissue=float(np.mean(aligned)), corr_aligned_tissue_per_pair=[round(c, 3) for c in aligned],
        corr_mismatched_tissue=float(np.mean(mism)),
        mean_on_tissue=[float(np.mean([x[0] for x in tis])), float(np.mean([x[1] for x in tis]))],
        mean_on_background=[float(np.mean([x[0] for x in bg])), float(np.mean([x[1] for x in bg]))] if bg else None,
    )
