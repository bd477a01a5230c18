"""NT-Xent with the MSE critic (RP2 "Loss") and the p4 rotation trick (RP2 "Rotation equivariance")."""
from __future__ import annotations

import torch


def nt_xent_mse(za: torch.Tensor, zb: torch.Tensor, tau: float = 0.5) -> tuple[torch.Tensor, float]:
    """za, zb: N x C x H x W outputs of the two networks for N corresponding crops.
    s(i,j) = -mean((z_i - z_j)^2) / tau over the 2N stacked outputs; per anchor i:
    loss_i = -s(i, pos(i)) + logsumexp_{j != i} s(i, j), pos(i) = (i+N) mod 2N, so 2N-2 negatives (RP2).
    Returns (mean loss over 2N anchors, in-batch top-1 accuracy)."""
    n = za.shape[0]
    z = torch.cat([za, zb], 0).flatten(1)
    d = z.shape[1]
    sq = (z * z).sum(1)
    dist = (sq[:, None] + sq[None, :] - 2.0 * (z @ z.t())).clamp_min(0) / d
    s = -dist / tau
    eye = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    s = s.masked_fill(eye, float("-inf"))
    pos = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    loss = (-s[torch.arange(2 * n, device=z.device), pos] + torch.logsumexp(s, dim=1)).mean()
    acc = (s.argmax(1) == pos).float().mean().item()
    return loss, acc


def activation_decay(z: torch.Tensor, l1: float = 1e-4, l2: float = 1e-4) -> torch.Tensor:
    """1e-4 * L1 + 1e-4 * L2 of the outputs (RP2, utils/torch.py:activation_decay), as means."""
    return l1 * z.abs().mean() + l2 * (z * z).mean()


def rot_p4(x: torch.Tensor, ks: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    """Rotate each sample i by ks[i] * 90 degrees (or back with inverse=True)."""
    out = torch.empty_like(x)
    for k in range(4):
        idx = (ks == k).nonzero(as_tuple=True)[0]
        if len(idx):
            out[idx] = torch.rot90(x[idx], -k if inverse else k, dims=(2, 3))
    return out


def forward_p4(net: torch.nn.Module, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Feed rot90(x, k) with k drawn per sample in {0,1,2,3}, rotate the output back (RP2)."""
    ks = torch.randint(0, 4, (x.shape[0],), generator=gen).to(x.device)  # drawn on the CPU: seeded alike anywhere
    return rot_p4(net(rot_p4(x, ks)), ks, inverse=True)
