#!/usr/bin/env python3
"""Register each colour H&E of shg-bf (`bf_rgb_unaligned`, rotated, shifted and scaled against the SHG) to its
registered grey H&E (`bf`), so that the colour image is aligned with the SHG too.

  /usr/bin/python3 training/register_colour_bf.py --data ../shared/data --out bench/.cache/shg-bf-colour

Both images are the same modality (the grey `bf` is a grey version of the same H&E), so a similarity transform found
by correlation suffices: grey(colour) = rgb2gray, then
  1. coarse search at 1/4 resolution: every angle in steps of --angle-step degrees (full circle), a few scales,
     with and without a mirror flip; for each, the translation is the peak of the phase correlation (numpy FFT);
     of the 12 strongest peaks, the candidate with the highest normalised cross-correlation (NCC) wins;
  2. refinement at full resolution: angle, log-scale and translation maximise the NCC by gradient ascent (torch
     grid_sample is differentiable), coarse-to-fine (blurred, then sharp); then a full affine from there (the grey BF
     of some pancreas cores is not a similarity of the scan; --similarity-only skips it);
  3. residual: NCC of grey(aligned colour) vs bf on the region both cover, and the shift a second phase correlation of
     the aligned pair still finds (sub-pixel, parabolic peak fit), which should be ~0.
Measured on the 31 pairs: training/README.md "Colour brightfield".
Writes DIR/bf-rgb/<id>.png (8-bit RGB, the bf image's size), DIR/pairs.csv (the data's columns with paths relative to
DIR, plus `bf_rgb`), DIR/registration.json (per pair: transform, NCC, residual shift, flag) and prints a summary.
A pair is flagged `poor` when its NCC < --min-ncc or its residual shift > --max-shift px.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from comir.data import read_image  # noqa: E402

# MATLAB rgb2gray weights (Rec. 601 luma), as src/pipeline/decode/decode.ts toGrey
GREY = (0.2989, 0.5870, 0.1140)


def grey(rgb: np.ndarray) -> np.ndarray:
    """HW3 uint8 -> HW float32 in [0, 1]."""
    x = rgb.astype(np.float32) / 255.0
    return x[..., 0] * GREY[0] + x[..., 1] * GREY[1] + x[..., 2] * GREY[2]


def similarity_theta(angle: torch.Tensor, log_scale: torch.Tensor, t: torch.Tensor, flip: bool) -> torch.Tensor:
    """affine_grid theta (N,2,3), normalised coordinates (square images, align_corners=False): the output pixel p
    samples the source at s R(angle) F p + t, F = mirror of x when flip."""
    s = torch.exp(log_scale)
    c, sn = torch.cos(angle) * s, torch.sin(angle) * s
    fx = -1.0 if flip else 1.0
    row0 = torch.stack([c * fx, -sn, t[..., 0]], -1)
    row1 = torch.stack([sn * fx, c, t[..., 1]], -1)
    return torch.stack([row0, row1], -2)


def warp(src: torch.Tensor, theta: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """src (N,C,H,W) sampled by theta into (N,C,*size); bilinear, zeros outside (a validity channel tells where)."""
    grid = F.affine_grid(theta, [theta.shape[0], src.shape[1], *size], align_corners=False)
    return F.grid_sample(src, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def ncc(a: torch.Tensor, b: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Weighted normalised cross-correlation over the last two dims (w >= 0, same shape or broadcast)."""
    sw = w.sum(dim=(-2, -1), keepdim=True).clamp_min(1e-6)
    ma, mb = (a * w).sum(dim=(-2, -1), keepdim=True) / sw, (b * w).sum(dim=(-2, -1), keepdim=True) / sw
    da, db = a - ma, b - mb
    num = (w * da * db).sum(dim=(-2, -1))
    den = ((w * da * da).sum(dim=(-2, -1)) * (w * db * db).sum(dim=(-2, -1))).clamp_min(1e-12).sqrt()
    return (num / den).squeeze()


def phase_shift(ref: np.ndarray, mov: np.ndarray) -> tuple[float, float, float]:
    """(dy, dx, peak) with mov(p) ~ ref(p + d): the phase-correlation peak, sub-pixel by a parabola through the peak and
    its neighbours. Inputs are windowed (Hann) and zero-mean first."""
    h, w = ref.shape
    win = np.outer(np.hanning(h), np.hanning(w)).astype(np.float32)
    A = np.fft.rfft2((ref - ref.mean()) * win)
    B = np.fft.rfft2((mov - mov.mean()) * win)
    R = B * np.conj(A)
    R /= np.abs(R) + 1e-9
    r = np.fft.irfft2(R, s=(h, w))
    iy, ix = np.unravel_index(int(np.argmax(r)), r.shape)

    def sub(m1: float, c0: float, p1: float) -> float:
        d = m1 - 2 * c0 + p1
        return 0.0 if abs(d) < 1e-12 else 0.5 * (m1 - p1) / d

    dy = iy + sub(r[iy - 1, ix], r[iy, ix], r[(iy + 1) % h, ix])
    dx = ix + sub(r[iy, ix - 1], r[iy, ix], r[iy, (ix + 1) % w])
    # r peaks at s where mov(p) = ref(p - s); we return d = -s (mov(p) = ref(p + d)), wrapped to [-n/2, n/2)
    sy = dy if dy < h / 2 else dy - h
    sx = dx if dx < w / 2 else dx - w
    return -sy, -sx, float(r[iy, ix])


def blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    if sigma <= 0:
        return x
    k = int(math.ceil(3 * sigma)) * 2 + 1
    g = torch.exp(-((torch.arange(k) - k // 2).float() ** 2) / (2 * sigma * sigma))
    g = (g / g.sum()).to(x.dtype)
    x = F.conv2d(F.pad(x, (k // 2, k // 2, 0, 0), mode="replicate"), g.view(1, 1, 1, k))
    return F.conv2d(F.pad(x, (0, 0, k // 2, k // 2), mode="replicate"), g.view(1, 1, k, 1))


def register(colour_grey: np.ndarray, bf: np.ndarray, angle_step: float = 2.0,
             scales: tuple[float, ...] = tuple(np.exp(np.linspace(math.log(0.8), math.log(1.25), 9)).tolist()),
             refine_iters: int = 60, top: int = 12, start: dict | None = None, affine: bool = True) -> dict:
    """Similarity transform that maps bf's pixel grid into the colour image: bf(p) ~ colour(s R F p + t).
    Returns dict(angle_deg, scale, flip, t (normalised), ncc_coarse, ncc)."""
    H, W = bf.shape
    assert H == W and colour_grey.shape == bf.shape, "square images of one size (shg-bf: 512 x 512)"
    src_full = torch.from_numpy(colour_grey)[None, None]
    ref_full = torch.from_numpy(bf.astype(np.float32))[None, None]
    # coarse: 1/4 resolution
    f = 4
    n = H // f
    src = F.avg_pool2d(src_full, f)
    ref = F.avg_pool2d(ref_full, f)[0, 0].numpy()
    ones = torch.ones_like(src)
    if start is not None:  # a previous run's similarity (--start): skip the coarse search
        best = (float("nan"), math.radians(start["angle_deg"]), math.log(start["scale"]),
                torch.tensor(start["t"], dtype=torch.float32), bool(start["flip"]))
    cands = []  # (phase-correlation peak, angle, log scale, t, flip)
    angles = torch.arange(-180.0, 180.0, angle_step) * math.pi / 180
    for flip in ((False, True) if start is None else ()):
        for s in scales:
            ls = torch.full_like(angles, math.log(s))
            theta = similarity_theta(angles, ls, torch.zeros(len(angles), 2), flip)
            warped = warp(src.expand(len(angles), -1, -1, -1), theta, (n, n))
            for i in range(len(angles)):
                dy, dx, peak = phase_shift(ref, warped[i, 0].numpy())
                # mov(p) ~ ref(p + d)  <=>  ref(q) ~ mov(q - d) = src(A (q - d)): t = -A d (normalised units)
                d = torch.tensor([dx, dy], dtype=torch.float32) * 2 / n
                cands.append((peak, float(angles[i]), math.log(s), -(theta[i, :, :2] @ d), flip))
    # the strongest phase-correlation peaks are scored by NCC on the region the colour image covers
    best = None if start is None else best
    for peak, ang_c, ls_c, t_c, flip_c in sorted(cands, key=lambda c: -c[0])[:top]:
        th = similarity_theta(torch.tensor([ang_c]), torch.tensor([ls_c]), t_c[None], flip_c)
        wv = warp(torch.cat([src, ones], 1), th, (n, n))
        score = float(ncc(wv[:, :1], torch.from_numpy(ref)[None, None], (wv[:, 1:] > 0.99).float()))
        if best is None or score > best[0]:
            best = (score, ang_c, ls_c, t_c, flip_c)
    score0, ang0, ls0, t0, flip = best
    # refine at full resolution: gradient ascent on NCC, coarse-to-fine
    ang = torch.tensor(ang0, requires_grad=True)
    ls = torch.tensor(ls0, requires_grad=True)
    t = t0.clone().requires_grad_(True)
    src_ones = torch.cat([src_full, torch.ones_like(src_full)], 1)
    for sigma, lr in ((4.0, 2e-3), (1.5, 1e-3), (0.0, 3e-4)):
        s_src = torch.cat([blur(src_full, sigma), torch.ones_like(src_full)], 1)
        s_ref = blur(ref_full, sigma)
        opt = torch.optim.Adam([ang, ls, t], lr=lr)
        for _ in range(refine_iters):
            wv = warp(s_src, similarity_theta(ang[None], ls[None], t[None], flip), (H, W))
            loss = -ncc(wv[:, :1], s_ref, (wv[:, 1:] > 0.99).float())
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        theta = similarity_theta(ang[None], ls[None], t[None], flip)
        wv = warp(src_ones, theta, (H, W))
        sim = float(ncc(wv[:, :1], ref_full, (wv[:, 1:] > 0.99).float()))
    out = dict(angle_deg=math.degrees(float(ang)), scale=math.exp(float(ls)), flip=flip,
               t=[float(t[0]), float(t[1])], ncc_coarse=score0, ncc_similarity=sim)
    if affine:
        # the grey BF of some pancreas cores is not a similarity of the colour scan (a few px of shear/anisotropic
        # scale at the edges: registration.json, pairs flagged poor by the similarity alone): a full affine, from the
        # similarity, by the same NCC ascent
        th = theta.detach().clone().requires_grad_(True)
        for sigma, lr in ((1.5, 3e-4), (0.0, 1e-4)):
            s_src = torch.cat([blur(src_full, sigma), torch.ones_like(src_full)], 1)
            s_ref = blur(ref_full, sigma)
            opt = torch.optim.Adam([th], lr=lr)
            for _ in range(2 * refine_iters):
                wv = warp(s_src, th, (H, W))
                loss = -ncc(wv[:, :1], s_ref, (wv[:, 1:] > 0.99).float())
                opt.zero_grad()
                loss.backward()
                opt.step()
        out["theta"] = th.detach()[0].tolist()
    return out


def apply(rgb: np.ndarray, reg: dict, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The colour image resampled onto bf's grid (bilinear; outside the colour image: its nearest border pixel) and
    the mask of pixels the colour image covers."""
    x = torch.from_numpy(rgb.astype(np.float32)).permute(2, 0, 1)[None]
    th = torch.tensor([reg["theta"]]) if "theta" in reg else similarity_theta(
        torch.tensor([math.radians(reg["angle_deg"])]), torch.tensor([math.log(reg["scale"])]),
        torch.tensor([reg["t"]]), reg["flip"])
    grid = F.affine_grid(th, [1, 3, *size], align_corners=False)
    y = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    cover = F.grid_sample(torch.ones(1, 1, *rgb.shape[:2]), grid, mode="bilinear", padding_mode="zeros",
                          align_corners=False)
    out = y[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()
    return np.ascontiguousarray(out), cover[0, 0].numpy() > 0.99


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="the shared data root (has shg-bf/pairs.csv) or the shg-bf folder")
    ap.add_argument("--out", required=True, help="output folder (outside the repository, or a git-ignored one)")
    ap.add_argument("--ids", help="comma-separated ids (default: every row with a bf_rgb_unaligned image)")
    ap.add_argument("--angle-step", type=float, default=2.0, help="coarse angle step, degrees")
    ap.add_argument("--min-ncc", type=float, default=0.8, help="flag a pair whose NCC is below this")
    ap.add_argument("--max-shift", type=float, default=1.0, help="flag a pair whose residual shift exceeds this (px)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--similarity-only", action="store_true", help="no affine refinement after the similarity")
    ap.add_argument("--start", help="registration.json of an earlier run: start from its similarity transforms "
                                    "(skips the coarse search)")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    root = a.data if os.path.isfile(os.path.join(a.data, "pairs.csv")) else os.path.join(a.data, "shg-bf")
    with open(os.path.join(root, "pairs.csv"), newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "bf_rgb_unaligned" not in rows[0]:
        raise SystemExit(f"{root}/pairs.csv has no bf_rgb_unaligned column (expected the shg-bf data set)")
    want = set(a.ids.split(",")) if a.ids else None
    starts = {}
    if a.start:
        with open(a.start) as fh:
            starts = {r["id"]: r for r in json.load(fh)["pairs"]}
    os.makedirs(os.path.join(a.out, "bf-rgb"), exist_ok=True)
    rel = os.path.relpath(root, a.out)
    report, out_rows = [], []
    t0 = time.time()
    for row in rows:
        if want is not None and row["id"] not in want:
            continue
        if not row.get("bf_rgb_unaligned"):
            continue
        rgb = read_image(os.path.join(root, row["bf_rgb_unaligned"]), 3)
        bf = read_image(os.path.join(root, row["bf"]), 1)[:, :, 0].astype(np.float32) / 255.0
        ts = time.time()
        reg = register(grey(rgb), bf, angle_step=a.angle_step, start=starts.get(row["id"]),
                       affine=not a.similarity_only)
        aligned, cover = apply(rgb, reg, bf.shape)
        g = grey(aligned)
        w = torch.from_numpy(cover.astype(np.float32))[None, None]
        reg["ncc"] = float(ncc(torch.from_numpy(g)[None, None], torch.from_numpy(bf)[None, None], w))
        dy, dx, _ = phase_shift(bf, g)
        reg["residual_shift_px"] = [round(dy, 3), round(dx, 3)]
        reg["residual_shift_norm_px"] = round(math.hypot(dy, dx), 3)
        reg["coverage"] = round(float(cover.mean()), 4)
        reg["poor"] = bool(reg["ncc"] < a.min_ncc or reg["residual_shift_norm_px"] > a.max_shift)
        reg["seconds"] = round(time.time() - ts, 1)
        name = os.path.join("bf-rgb", row["id"] + ".png")
        from PIL import Image
        Image.fromarray(aligned).save(os.path.join(a.out, name))
        report.append(dict(id=row["id"], split=row.get("split"), aligned=row.get("aligned"),
                           **{k: (round(v, 5) if isinstance(v, float) else v) for k, v in reg.items()}))
        out = {k: (os.path.join(rel, v) if k in ("shg", "bf", "bf_rgb_unaligned") and v else v) for k, v in row.items()}
        out["bf_rgb"] = name
        out_rows.append(out)
        print(f"{row['id']:>12}: angle {reg['angle_deg']:8.2f} deg scale {reg['scale']:.4f} flip {int(reg['flip'])} "
              f"NCC similarity {reg['ncc_similarity']:.3f} "
              f"NCC {reg['ncc']:.3f} residual shift {reg['residual_shift_norm_px']:.2f} px "
              f"{'POOR' if reg['poor'] else 'ok'} ({reg['seconds']} s)", file=sys.stderr, flush=True)
    if not out_rows:
        raise SystemExit("no rows selected")
    with open(os.path.join(a.out, "pairs.csv"), "w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(out_rows[0].keys()))
        wr.writeheader()
        wr.writerows(out_rows)
    nccs = np.array([r["ncc"] for r in report])
    shifts = np.array([r["residual_shift_norm_px"] for r in report])
    poor = [r["id"] for r in report if r["poor"]]
    summary = dict(pairs=len(report), ncc_min=round(float(nccs.min()), 4), ncc_median=round(float(np.median(nccs)), 4),
                   residual_shift_max_px=round(float(shifts.max()), 3),
                   residual_shift_median_px=round(float(np.median(shifts)), 3), poor=poor,
                   thresholds=dict(min_ncc=a.min_ncc, max_shift_px=a.max_shift), seconds=round(time.time() - t0, 1),
                   method="similarity transform (angle, scale, mirror, translation): coarse search at 1/4 resolution "
                          f"(angles every {a.angle_step} deg, 9 scales 0.8..1.25, phase correlation for the shift), "
                          "NCC of the 12 strongest peaks; then gradient ascent on NCC at full resolution (blur sigma 4, 1.5, "
                          "0 px, 60 Adam steps each)"
                          + ("" if a.similarity_only else ", then of a full affine (blur 1.5, 0 px, 120 steps each)")
                          + "; "
                          "residual = NCC of rgb2gray(aligned colour) vs bf where the colour covers, and the shift a "
                          "second phase correlation still finds")
    with open(os.path.join(a.out, "registration.json"), "w") as fh:
        json.dump(dict(summary=summary, pairs=report), fh, indent=1)
    print(f"{len(report)} pairs: NCC min {summary['ncc_min']} median {summary['ncc_median']}; residual shift median "
          f"{summary['residual_shift_median_px']} px, max {summary['residual_shift_max_px']} px; poor: "
          f"{', '.join(poor) if poor else 'none'} ({summary['seconds']} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
