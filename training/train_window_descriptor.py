#!/usr/bin/env python3
"""Train the learned window descriptor of a CoMIR model (docs/adr/0015) and add it to the model folder.

The first stage (src/pipeline/index/embedding.ts) describes square windows of an image's CoMIR by a vector in pgvector.
The hand-made vector (8 x 8 box means) sees a window at one alignment; this small CNN maps the same window, sampled as
32 x 32 box means and standardised, to a 64-d unit vector, trained so that the two modalities' CoMIRs of the same place
agree although the query's square lies up to 1/16 of its side, 5 degrees and 10 % of scale from the stored window
(what the query lattice of embedding.ts leaves, docs/adr/0011).

  cmir train --pair vis-nir --data ../shared/data --descriptor-only       # the CoMIRs, then this script
  /usr/bin/python3 training/train_window_descriptor.py --comirs DIR --model models/vis-nir    # DIR: CoMIRs written by
      # writeTrainingComirs (src/cli/commands/train.ts)
  /usr/bin/python3 training/train_window_descriptor.py --smoke --model /tmp/x            # generated CoMIRs, tests

Writes MODEL/window.onnx and the manifest's `window_descriptor` block (the file's sha256 names the vectors' space, so a
new descriptor means a reindex).
"""
from __future__ import annotations

import argparse
import csv
import datetime as _dt
import hashlib
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

FORMAT = "cmir-window/1"
# Sampling: the same as embedding.ts windowSamples (box means on a GRID x GRID lattice of the rotated square).
GRID = 32
DIMS = 64  # the pgvector column's dimension (prisma/migrations, embedding.ts embeddingDimensions)
# Stored window sides (embedding.ts EMBEDDING_PARAMS side0, sideRatio).
SIDE0, SIDE_RATIO = 96.0, 1.25
# What the query lattice leaves between a query square and its nearest stored window (docs/adr/0011): 4 x 4 shifts over
# half a side -> up to 1/16 of a side; 10-degree steps -> up to 5 degrees; sides 1.25 apart -> up to ~12 % of scale.
MAX_SHIFT, MAX_TURN, MAX_SCALE = 1 / 16, 5.0, 0.10


def integral(img: np.ndarray) -> np.ndarray:
    s = np.zeros((img.shape[0] + 1, img.shape[1] + 1), np.float64)
    s[1:, 1:] = img.astype(np.float64).cumsum(0).cumsum(1)
    return s


def js_round(x: np.ndarray) -> np.ndarray:
    return np.floor(x + 0.5)


def sample(t: np.ndarray, cx: np.ndarray, cy: np.ndarray, side: np.ndarray, deg: np.ndarray) -> np.ndarray:
    """Box means (N, GRID, GRID) of N rotated squares, as embedding.ts boxMean (windows lie inside the image here)."""
    H, W = t.shape[0] - 1, t.shape[1] - 1
    cell = side / GRID
    g = (np.arange(GRID) + 0.5)
    u = g[None, None, :] * cell[:, None, None] - side[:, None, None] / 2  # (N,1,G) along x
    w = g[None, :, None] * cell[:, None, None] - side[:, None, None] / 2  # (N,G,1) along y
    th = np.deg2rad(deg)[:, None, None]
    px = cx[:, None, None] + np.cos(th) * u - np.sin(th) * w
    py = cy[:, None, None] + np.sin(th) * u + np.cos(th) * w
    half = (cell / 2)[:, None, None]
    x0 = np.clip(js_round(px - half), 0, W).astype(np.int64)
    x1 = np.clip(js_round(px + half), 0, W).astype(np.int64)
    y0 = np.clip(js_round(py - half), 0, H).astype(np.int64)
    y1 = np.clip(js_round(py + half), 0, H).astype(np.int64)
    area = np.maximum((x1 - x0) * (y1 - y0), 1)
    s = t[y1, x1] - t[y0, x1] - t[y1, x0] + t[y0, x0]
    return (s / area).astype(np.float32)


def standardise(x: torch.Tensor) -> torch.Tensor:
    """(N, G, G) -> (N, 1, G, G): minus the mean, over the standard deviation (embedding.ts does the same)."""
    m = x.mean(dim=(1, 2), keepdim=True)
    s = x.std(dim=(1, 2), keepdim=True, unbiased=False)
    return ((x - m) / (s + 1e-6)).unsqueeze(1)


class Descriptor(torch.nn.Module):
    """Three stride-2 3x3 convolutions (16, 32, 64 channels, ReLU), a linear map to 64, L2-normalised: 89k parameters.
    No normalisation layer, so a window's vector does not depend on the batch it is computed in."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, 16, 3, stride=2, padding=1)
        self.c2 = torch.nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.c3 = torch.nn.Conv2d(32, 64, 3, stride=2, padding=1)
        self.fc = torch.nn.Linear(64 * (GRID // 8) ** 2, DIMS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.c1(x))
        x = F.relu(self.c2(x))
        x = F.relu(self.c3(x))
        return F.normalize(self.fc(x.flatten(1)), dim=1)


class Pairs:
    """Aligned CoMIR pairs (a, b) and their integral images; draws matching windows."""

    def __init__(self, images: list[tuple[np.ndarray, np.ndarray]], rng: np.random.Generator):
        self.t = [(integral(a), integral(b)) for a, b in images]
        self.size = [a.shape for a, _ in images]
        self.rng = rng

    def draw(self, n: int, jitter: bool = True) -> tuple[np.ndarray, np.ndarray]:
        r = self.rng
        xa = np.empty((n, GRID, GRID), np.float32)
        xb = np.empty((n, GRID, GRID), np.float32)
        for i in range(n):
            k = int(r.integers(len(self.t)))
            H, W = self.size[k]
            # the largest side whose square, turned any way, scaled and shifted, stays inside the image
            fit = (min(H, W) - 2) / (2 * ((math.sqrt(2) / 2) * (1 + MAX_SCALE) + MAX_SHIFT))
            sides = [SIDE0 * SIDE_RATIO ** j for j in range(40) if SIDE0 * SIDE_RATIO ** j <= fit] or [fit]
            side = sides[int(r.integers(len(sides)))]
            reach = side * (math.sqrt(2) / 2) * (1 + MAX_SCALE) + side * MAX_SHIFT + 1
            cx, cy = r.uniform(reach, W - reach), r.uniform(reach, H - reach)
            phi = r.uniform(0, 360)
            d = r.uniform(-MAX_SHIFT, MAX_SHIFT, 2) * side if jitter else np.zeros(2)
            sc = 1 + (r.uniform(-MAX_SCALE, MAX_SCALE) if jitter else 0)
            turn = r.uniform(-MAX_TURN, MAX_TURN) if jitter else 0
            ta, tb = self.t[k] if r.random() < 0.5 else self.t[k][::-1]
            xa[i] = sample(ta, np.array([cx]), np.array([cy]), np.array([side]), np.array([phi]))[0]
            xb[i] = sample(tb, np.array([cx + d[0]]), np.array([cy + d[1]]), np.array([side * sc]), np.array([phi + turn]))[0]
        return xa, xb


def info_nce(za: torch.Tensor, zb: torch.Tensor, tau: float) -> tuple[torch.Tensor, float]:
    logits = za @ zb.t() / tau
    target = torch.arange(len(za))
    loss = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))
    return loss, float((logits.argmax(1) == target).float().mean())


def box8(x: np.ndarray) -> torch.Tensor:
    """The shipped hand-made vector of the same windows: 8 x 8 box means (4 x 4 blocks of the 32 x 32), centred, unit."""
    v = torch.from_numpy(x).reshape(len(x), 8, GRID // 8, 8, GRID // 8).mean(dim=(2, 4)).flatten(1)
    return F.normalize(v - v.mean(1, keepdim=True), dim=1)


@torch.no_grad()
def evaluate(net: Descriptor, pairs: Pairs, n: int = 512) -> dict:
    """Window retrieval among n windows of held-out pairs (query b, jittered as a query square; gallery a): Acc@1 and
    @10 of the learned and of the 8 x 8 box vector."""
    net.eval()
    xa, xb = pairs.draw(n)
    out = {}
    for name, za, zb in (("learned", net(standardise(torch.from_numpy(xa))), net(standardise(torch.from_numpy(xb)))),
                         ("box8x8", box8(xa), box8(xb))):
        rank = (zb @ za.t()).argsort(1, descending=True)
        hit = rank == torch.arange(n)[:, None]
        out[name] = {"acc1": round(float(hit[:, :1].any(1).float().mean()), 4),
                     "acc10": round(float(hit[:, :10].any(1).float().mean()), 4)}
    net.train()
    return out


def load(comirs: str) -> tuple[list, list, list[str]]:
    with open(os.path.join(comirs, "index.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    names = [c for c in rows[0].keys() if c not in ("id", "role", "width", "height")]
    train, val = [], []
    for row in rows:
        w, h = int(row["width"]), int(row["height"])
        a, b = (np.fromfile(os.path.join(comirs, row[m]), "<f4").reshape(h, w) for m in names)
        (train if row["role"] == "train" else val).append((a, b))
    return train, val, names


def smoke_images(n: int, rng: np.random.Generator) -> list:
    """Smooth random fields and a noisy, contrast-changed copy: pairs to check the tool end to end."""
    out = []
    for _ in range(n):
        z = torch.from_numpy(rng.standard_normal((1, 1, 48, 64)).astype(np.float32))
        a = F.interpolate(z, size=(384, 512), mode="bicubic", align_corners=False)[0, 0].numpy()
        b = 0.7 * a + 0.3 * rng.standard_normal(a.shape).astype(np.float32)
        out.append((a, b))
    return out


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--comirs", help="folder written by writeTrainingComirs (src/cli/commands/train.ts)")
    ap.add_argument("--model", required=True, help="model folder: window.onnx and the manifest block go there")
    ap.add_argument("--steps", type=int, default=None, help="default 3000 (smoke 20)")
    ap.add_argument("--batch", type=int, default=256, help="windows per step, each with 2 x 256 - 2 in-batch negatives (docs/adr/0015: 256 x 3000 steps beat 128 x 1000)")
    ap.add_argument("--tau", type=float, default=0.07, help="InfoNCE temperature (SimCLR's and MoCo's 0.07-0.1)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("CMIR_TRAIN_THREADS", "1")))
    ap.add_argument("--smoke", action="store_true", help="generated CoMIRs, a few steps (tests)")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    if a.smoke:
        train, val, names = smoke_images(4, rng), smoke_images(2, rng), ["a", "b"]
    elif a.comirs:
        train, val, names = load(a.comirs)
    else:
        ap.error("--comirs or --smoke")
    steps = a.steps if a.steps is not None else (20 if a.smoke else 3000)
    sampler, held = Pairs(train, rng), Pairs(val or train, np.random.default_rng(a.seed + 1))

    net = Descriptor()
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=a.lr * 0.1)
    t0, history = time.time(), []
    for step in range(1, steps + 1):
        xa, xb = sampler.draw(a.batch)
        loss, acc = info_nce(net(standardise(torch.from_numpy(xa))), net(standardise(torch.from_numpy(xb))), a.tau)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % max(1, steps // 5) == 0 or step == steps:
            ev = evaluate(net, held, 128 if a.smoke else 512)
            history.append({"step": step, "loss": round(float(loss), 4), "batch_acc": round(acc, 3), "val": ev})
            print(json.dumps(history[-1]), flush=True)
    wall = time.time() - t0
    final = evaluate(net, held, 128 if a.smoke else 1024)

    os.makedirs(a.model, exist_ok=True)
    onnx_path = os.path.join(a.model, "window.onnx")
    tmp = onnx_path + ".tmp"
    net.eval()
    torch.onnx.export(net, torch.zeros(2, 1, GRID, GRID), tmp, input_names=["window"], output_names=["vector"],
                      dynamic_axes={"window": {0: "n"}, "vector": {0: "n"}}, opset_version=13)
    os.replace(tmp, onnx_path)
    digest = sha256(onnx_path)

    mpath = os.path.join(a.model, "manifest.json")
    manifest = json.load(open(mpath)) if os.path.exists(mpath) else {}
    manifest["window_descriptor"] = {
        "format": FORMAT,
        "file": "window.onnx",
        "sha256": digest,
        "version": f"learned-{digest[:12]}",
        "input": {"name": "window", "grid": GRID,
                  "sampling": "box means of the window's CoMIR on a 32 x 32 lattice (embedding.ts), minus their mean, "
                              "over their standard deviation + 1e-6"},
        "output": {"name": "vector", "dimensions": DIMS, "normalised": True},
        "parameters": sum(p.numel() for p in net.parameters()),
        "training": {"comirs": "generated (smoke)" if a.smoke else "this model's CoMIRs of its train_ids (writeTrainingComirs)",
                     "pairs": len(train), "steps": steps, "batch": a.batch, "tau": a.tau, "lr": a.lr, "seed": a.seed,
                     "loss": "symmetric InfoNCE, in-batch negatives",
                     "positives": f"the other modality's window shifted up to {MAX_SHIFT:.4f} of its side, turned up to "
                                  f"{MAX_TURN} degrees, scaled up to {MAX_SCALE:.0%}; both turned by one random angle",
                     "threads": a.threads, "torch": torch.__version__, "wall_s": round(wall, 1),
                     "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")},
        "validation": {"pairs": len(val), "metric": "window retrieval among 1,024 held-out windows, query jittered",
                       **final, "history": history},
    }
    tmp = mpath + ".tmp"
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    os.replace(tmp, mpath)
    print(json.dumps({"onnx": onnx_path, "sha256": digest, "wall_s": round(wall, 1), "validation": final}))


if __name__ == "__main__":
    main(sys.argv[1:])
