"""Datasets in the pairs.csv layout of ../shared/data (see its README.md), preprocessing, tissue masks,
and the augmentation of RP2 (random 128 px crops, flips, arbitrary rotations, applied to both modalities alike)."""
from __future__ import annotations

import csv
import dataclasses
import math
import os
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .model import PERCENTILES, percentile_stretch, preprocess


@dataclass(frozen=True)
class ModalitySpec:
    name: str  # modality name, also the ONNX file stem
    column: str  # pairs.csv column with the image path
    channels: int  # network input channels
    pre: str  # decode.ts Normalization: 'log1p' (SHG, RP2), 'linear', 'percentile' or 'eosin' (model.preprocess)
    source: str  # human-readable description of how the file is read
    colour: bool = False  # trained on colour images of a modality that also comes as grey: grey input is refused

    @property
    def read_channels(self) -> int:
        """Channels read from the file: 'eosin' turns 3 (RGB) into the network's 1."""
        return 3 if self.pre == "eosin" else self.channels


@dataclass(frozen=True)
class PairSpec:
    name: str
    subdir: str  # folder under the shared data root
    a: ModalitySpec
    b: ModalitySpec
    row_filter: str  # description, recorded in the manifest
    tissue_mask: bool  # True: background exists and is estimated from the images (shg-bf)
    n_val: int  # pairs held out of the training rows for validation
    mask_column: str = ""  # the tissue mask is computed from this (grey) column instead of b (shg-bf: the grey BF)


PAIRS: dict[str, PairSpec] = {
    "shg-bf": PairSpec(
        name="shg-bf", subdir="shg-bf",
        a=ModalitySpec("shg", "shg", 1, "log1p", "8-bit grey TIFF / 255"),
        b=ModalitySpec("bf", "bf", 1, "linear", "registered grey H&E, 8-bit TIFF / 255"),
        row_filter="split == train and aligned != no (pancreas-10, pancreas-15 are misaligned: data README)",
        tissue_mask=True, n_val=3, mask_column="bf"),
    "vis-nir": PairSpec(
        name="vis-nir", subdir="vis-nir",
        a=ModalitySpec("rgb", "rgb", 3, "linear", "8-bit RGB JPEG / 255"),
        b=ModalitySpec("nir", "nir", 1, "linear", "first channel of the 3-channel NIR JPEG / 255"),
        row_filter="category == country (split train, aligned; data README)",
        tissue_mask=False, n_val=6),
}


def generic_pair(name: str, a: str, b: str, channels: dict[str, int]) -> PairSpec:
    """A pair the trainer has no preset for: any pairs.csv whose columns `a` and `b` hold aligned 8-bit images of the
    two modalities (paths relative to the csv). Rows with split == train are used when the csv has a split column (all
    rows otherwise), minus rows with aligned == no. Inputs are linear [0,1] unless --normalization says otherwise; no
    tissue mask (every pixel counts). The networks are named after the columns."""
    for m, c in channels.items():
        if m not in (a, b) or c not in (1, 3):
            raise ValueError(f"--channels {m}={c}: expected {a}|{b}=1|3")
    return PairSpec(
        name=name, subdir=name,
        a=ModalitySpec(a, a, channels.get(a, 1), "linear", f"pairs.csv column {a}, 8-bit / 255"),
        b=ModalitySpec(b, b, channels.get(b, 1), "linear", f"pairs.csv column {b}, 8-bit / 255"),
        row_filter="split == train (when the csv has a split column) and aligned != no",
        tissue_mask=False, n_val=-1)


# shg-bf's BF network input (train_comir.py --bf-input): the registered grey H&E (shipped), or the colour H&E registered
# to it by training/register_colour_bf.py (pairs.csv column bf_rgb), as RGB or as its eosin channel (comir/stain.py)
BF_INPUTS: dict[str, ModalitySpec] = {
    "grey": PAIRS["shg-bf"].b,
    "rgb": ModalitySpec("bf", "bf_rgb", 3, "linear", "colour H&E registered to the grey BF "
                        "(training/register_colour_bf.py), 8-bit RGB / 255", colour=True),
    "eosin": ModalitySpec("bf", "bf_rgb", 1, "eosin", "colour H&E registered to the grey BF "
                          "(training/register_colour_bf.py), eosin optical density by colour deconvolution "
                          "(Ruifrok & Johnston 2001; comir/stain.py) / 0.5, clamped to [0, 1]", colour=True),
}


def with_bf_input(spec: PairSpec, kind: str) -> PairSpec:
    """shg-bf with its BF network reading BF_INPUTS[kind]."""
    if spec.name != "shg-bf":
        raise ValueError("--bf-input is for the shg-bf preset")
    if kind not in BF_INPUTS:
        raise ValueError(f"--bf-input {kind!r}: expected one of {', '.join(BF_INPUTS)}")
    return dataclasses.replace(spec, b=BF_INPUTS[kind])


def default_n_val(spec: PairSpec, n_pairs: int) -> int:
    """Validation hold-out: the preset's, or for a generic pair ~1 in 8 pairs (at least 1, at most 6, as vis-nir)."""
    return spec.n_val if spec.n_val >= 0 else max(1, min(6, n_pairs // 8))


def _keep_row(spec: PairSpec, row: dict, split: str) -> bool:
    if spec.name not in PAIRS:
        return row.get("split", split) == split and row.get("aligned", "yes") != "no"
    if spec.name == "shg-bf":
        return row.get("split") == split and row.get("aligned", "yes") != "no"
    if spec.name == "vis-nir":
        return row.get("category") == "country" if split == "train" else row.get("split") == split
    return row.get("split") == split


def resolve_dir(spec: PairSpec, data: str) -> str:
    """--data may be the pair's folder (has pairs.csv) or the shared data root (has NAME/pairs.csv)."""
    if os.path.isfile(os.path.join(data, "pairs.csv")):
        return data
    sub = os.path.join(data, spec.subdir)
    if os.path.isfile(os.path.join(sub, "pairs.csv")):
        return sub
    raise FileNotFoundError(f"no pairs.csv in {data} or {sub}")


def read_image(path: str, channels: int, colour: bool = False) -> np.ndarray:
    """HWC uint8 with the requested number of channels; colour=True refuses a grey file (no RGB to read)."""
    if path.lower().endswith((".tif", ".tiff")):
        import tifffile
        arr = tifffile.imread(path)
    else:
        from PIL import Image
        arr = np.asarray(Image.open(path))
    if arr.dtype != np.uint8:
        raise ValueError(f"{path}: expected 8-bit, got {arr.dtype}")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if colour and arr.shape[2] < 3:
        raise ValueError(f"{path}: a colour (RGB) image is needed (eosin or colour input), this one is grey")
    if channels == 1:
        arr = arr[:, :, :1]  # grey, or the first channel of a grey image stored as RGB (NIR)
    elif arr.shape[2] == 1:
        arr = np.repeat(arr, channels, axis=2)
    else:
        arr = arr[:, :, :channels]
    return np.ascontiguousarray(arr)


def _box(x: torch.Tensor, k: int) -> torch.Tensor:
    """Mean over a k x k window (k odd), same size, reflect border; integral image, so cost does not grow with k."""
    p = k // 2
    a = np.pad(x.numpy().astype(np.float64), p, mode="reflect" if min(x.shape) > p else "edge")
    ii = np.zeros((a.shape[0] + 1, a.shape[1] + 1))
    ii[1:, 1:] = a.cumsum(0).cumsum(1)
    h, w = x.shape
    s = ii[k:k + h, k:k + w] - ii[:h, k:k + w] - ii[k:k + h, :w] + ii[:h, :w]
    return torch.from_numpy((s / (k * k)).astype(np.float32))


def tissue_mask(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Tissue (True) vs empty glass for an SHG/BF pair, from texture: glass is flat in BF (its level varies between
    cores: ~150 to ~250 of 255, so no fixed threshold) and dark in SHG. Local std of BF over 15 px > 0.04 or local
    mean of SHG > 0.06, then majority in 31 px. Thresholds read off the train cores (training/README.md)."""
    bf = torch.from_numpy(b[:, :, 0].astype(np.float32) / 255.0)
    shg = torch.from_numpy(a[:, :, 0].astype(np.float32) / 255.0)
    m = _box(bf, 15)
    sd = (_box(bf * bf, 15) - m * m).clamp_min(0).sqrt()
    t = ((sd > 0.04) | (_box(shg, 15) > 0.06)).float()
    return (_box(t, 31) > 0.5).numpy()


@dataclass
class Pair:
    id: str
    a: np.ndarray  # HWC uint8
    b: np.ndarray  # HWC uint8
    tissue: np.ndarray  # HW bool


def load_pairs(spec: PairSpec, data: str, split: str = "train") -> list[Pair]:
    root = resolve_dir(spec, data)
    out: list[Pair] = []
    with open(os.path.join(root, "pairs.csv"), newline="") as f:
        for row in csv.DictReader(f):
            if not _keep_row(spec, row, split):
                continue
            for ms in (spec.a, spec.b):
                if ms.column not in row:
                    hint = " (made by training/register_colour_bf.py --out DIR; train with --data DIR)" \
                        if ms.column == "bf_rgb" else ""
                    raise ValueError(f"{root}/pairs.csv has no column {ms.column!r}{hint}")
            a = read_image(os.path.join(root, row[spec.a.column]), spec.a.read_channels, spec.a.pre == "eosin")
            b = read_image(os.path.join(root, row[spec.b.column]), spec.b.read_channels, spec.b.pre == "eosin")
            if a.shape[:2] != b.shape[:2]:
                h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
                a, b = a[:h, :w], b[:h, :w]
            # the mask from the grey column when there is one, so grey, RGB and eosin trainings see the same crops
            mb = read_image(os.path.join(root, row[spec.mask_column]), 1)[:a.shape[0], :a.shape[1]] \
                if spec.mask_column and spec.mask_column != spec.b.column else b
            t = tissue_mask(a, mb) if spec.tissue_mask else np.ones(a.shape[:2], bool)
            out.append(Pair(row["id"], a, b, t))
    if not out:
        raise ValueError(f"no {split} pairs for {spec.name} in {root}")
    return out


def split_val(pairs: list[Pair], n_val: int, seed: int) -> tuple[list[Pair], list[Pair]]:
    """Seeded hold-out of n_val pairs (ids sorted first, so the choice does not depend on the csv order)."""
    pairs = sorted(pairs, key=lambda p: p.id)
    rng = np.random.default_rng(seed)
    idx = set(rng.choice(len(pairs), size=min(n_val, len(pairs) - 1), replace=False).tolist()) if n_val > 0 else set()
    return [p for i, p in enumerate(pairs) if i not in idx], [p for i, p in enumerate(pairs) if i in idx]


def to_input(arr: np.ndarray, pre: str) -> torch.Tensor:
    """HWC uint8 -> 1CHW float in [0,1], preprocessing applied (same as the exported graph does)."""
    x = torch.from_numpy(arr.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    return preprocess(x, pre)


class Sampler:
    """Random crops of `crop` px with an arbitrary rotation (uniform in [-180,180)) and a horizontal flip (p=0.5),
    the same for both modalities (RP2 "Augmentation"); reflection at borders (RP2: mode "symmetric").
    Crop centres are drawn where at least `min_tissue` of the crop window is tissue."""

    def __init__(self, pairs: list[Pair], spec: PairSpec, crop: int, rng: np.random.Generator, min_tissue: float = 0.5,
                 photometric: float = 0.0, crop_stats: float = 0.5):
        self.spec, self.crop, self.rng, self.photometric = spec, crop, rng, photometric
        # 'percentile' modalities: each sample is stretched with the percentiles of its whole image, or with
        # probability crop_stats with those of the crop itself, as a query cut from a larger image will be
        self.crop_stats = crop_stats
        self.stats: dict[str, list[tuple[float, float]]] = {"a": [], "b": []}
        for p in pairs:
            for key, arr, ms in (("a", p.a, spec.a), ("b", p.b, spec.b)):
                if ms.pre == "percentile":
                    q = np.quantile(arr.astype(np.float32) / 255.0, PERCENTILES, method="lower")
                    self.stats[key].append((float(q[0]), float(q[1])))
        self.win = int(math.ceil(crop * math.sqrt(2) / 2)) * 2 + 2  # window that holds the rotated crop
        r = self.win // 2
        self.imgs: list[torch.Tensor] = []
        self.centres: list[np.ndarray] = []
        self.weights: list[float] = []
        for p in pairs:
            x = np.concatenate([p.a, p.b, (p.tissue[:, :, None] * 255).astype(np.uint8)], axis=2)
            t = torch.from_numpy(x).permute(2, 0, 1)[None].float()
            mode = "reflect" if min(t.shape[2:]) > r else "replicate"
            t = F.pad(t, (r, r, r, r), mode=mode)[0].to(torch.uint8)
            self.imgs.append(t)
            frac = _box(torch.from_numpy(p.tissue.astype(np.float32)), max(3, crop // 2 * 2 + 1))
            ys, xs = np.nonzero(frac.numpy() >= min_tissue)
            if len(ys) == 0:
                ys, xs = np.nonzero(np.ones_like(p.tissue))
            self.centres.append(np.stack([ys, xs], 1))
            self.weights.append(float(len(ys)))
        w = np.asarray(self.weights)
        self.probs = w / w.sum()

    def batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        ca, cb = self.spec.a.read_channels, self.spec.b.read_channels
        wins, chosen = [], []
        for _ in range(n):
            i = self.rng.choice(len(self.imgs), p=self.probs)
            chosen.append(i)
            cy, cx = self.centres[i][self.rng.integers(len(self.centres[i]))]
            # centre (cy, cx) in original coords = (cy + r, cx + r) in padded coords; window starts at cy, cx
            wins.append(self.imgs[i][:, cy:cy + self.win, cx:cx + self.win])
        x = torch.stack(wins).float() / 255.0  # N, ca+cb+1, win, win
        ang = torch.from_numpy(self.rng.uniform(-math.pi, math.pi, n)).float()
        flip = torch.from_numpy(np.where(self.rng.random(n) < 0.5, -1.0, 1.0)).float()
        s = self.crop / self.win
        cos, sin = torch.cos(ang) * s, torch.sin(ang) * s
        theta = torch.stack([torch.stack([cos * flip, -sin, torch.zeros(n)], 1),
                             torch.stack([sin * flip, cos, torch.zeros(n)], 1)], 1)
        grid = F.affine_grid(theta, [n, x.shape[1], self.crop, self.crop], align_corners=False)
        y = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
        a = y[:, :ca]
        b = y[:, ca:ca + cb]
        tissue = y[:, ca + cb:] > 0.5
        if self.photometric > 0:
            a, b = self.jitter(a), self.jitter(b)
        return self.normalize(a, "a", chosen), self.normalize(b, "b", chosen), tissue

    def normalize(self, x: torch.Tensor, key: str, chosen: list[int]) -> torch.Tensor:
        """The modality's preprocessing (model.preprocess); see __init__ for 'percentile'."""
        ms = self.spec.a if key == "a" else self.spec.b
        if ms.pre != "percentile":
            return preprocess(x, ms.pre)
        whole = torch.tensor([self.stats[key][i] for i in chosen], dtype=x.dtype).view(-1, 2, 1, 1, 1)
        own = self.rng.random(len(chosen)) < self.crop_stats
        out = percentile_stretch(x, whole[:, 0], whole[:, 1])
        if own.any():
            idx = torch.from_numpy(np.nonzero(own)[0])
            out[idx] = percentile_stretch(x[idx])
        return out

    def jitter(self, x: torch.Tensor) -> torch.Tensor:
        """Photometric jitter, drawn per sample and per modality (so the two networks cannot rely on one shared
        intensity scale): gamma exp(U(-0.4s, 0.4s)), contrast exp(U(-0.3s, 0.3s)) about the sample mean,
        brightness U(-0.1s, 0.1s), Gaussian noise sigma U(0, 0.03s); clamped to [0, 1]. Not in RP2: added because
        the train cores (xy, pancreas) and the test TMA cores differ in staining and glass level (the BF glass level
        alone ranges ~150..250/255, data.py tissue_mask) and longer training overfit the train cores
        (training/README.md)."""
        n, s = x.shape[0], self.photometric
        u = lambda lo, hi: torch.from_numpy(self.rng.uniform(lo, hi, (n, 1, 1, 1))).float()  # noqa: E731
        gamma, contrast = torch.exp(u(-0.4 * s, 0.4 * s)), torch.exp(u(-0.3 * s, 0.3 * s))
        bright, sigma = u(-0.1 * s, 0.1 * s), u(0.0, 0.03 * s)
        y = x.clamp(0, 1) ** gamma
        m = y.mean(dim=(1, 2, 3), keepdim=True)
        y = (y - m) * contrast + m + bright
        noise = torch.from_numpy(self.rng.standard_normal(y.shape)).float() * sigma
        return (y + noise).clamp(0, 1)


def make_smoke_data(root: str, n: int = 6, size: int = 96, seed: int = 0) -> None:
    """Tiny generated SHG/BF-like pairs in the pairs.csv layout (for --smoke and tests): a disc of 'tissue' with
    smooth random structure; SHG = bright fibres where the field is high, BF = darker where it is high; `bf_rgb` = a
    colour H&E-like version of BF (eosin where the field is high, haematoxylin elsewhere; Beer-Lambert with the stain
    vectors of comir/stain.py), for --bf-input rgb|eosin."""
    import tifffile
    from PIL import Image

    from .stain import stain_matrix
    rng = np.random.default_rng(seed)
    for d in ("shg", "bf", "bf-rgb"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    m = stain_matrix()
    yy, xx = np.mgrid[0:size, 0:size]
    rows = []
    for i in range(n):
        f = torch.from_numpy(rng.random((size, size)).astype(np.float32))
        f = _box(_box(f, 7), 5).numpy()
        f = (f - f.min()) / (np.ptp(f) + 1e-6)
        disc = ((yy - size / 2) ** 2 + (xx - size / 2) ** 2) < (0.42 * size) ** 2
        shg = np.where(disc, np.clip((f - 0.5) * 3, 0, 1), 0.0) + rng.random((size, size)) * 0.03
        bf = np.where(disc, 0.85 - 0.6 * f, 0.92) + rng.random((size, size)) * 0.03
        sid = f"gen-{i}"
        tifffile.imwrite(os.path.join(root, "shg", sid + ".tif"), (np.clip(shg, 0, 1) * 255).astype(np.uint8))
        tifffile.imwrite(os.path.join(root, "bf", sid + ".tif"), (np.clip(bf, 0, 1) * 255).astype(np.uint8))
        amount_e = np.where(disc, 0.4 * f, 0.0)[..., None]
        amount_h = np.where(disc, 0.3 * (1 - f), 0.0)[..., None]
        rgb = 10 ** -(amount_e * m[1] + amount_h * m[0]) * 0.95
        Image.fromarray((np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)).save(os.path.join(root, "bf-rgb", sid + ".png"))
        rows.append(dict(id=sid, group="gen", split="train", aligned="yes", shg=f"shg/{sid}.tif", bf=f"bf/{sid}.tif",
                         bf_rgb_unaligned="", bf_rgb=f"bf-rgb/{sid}.png"))
    with open(os.path.join(root, "pairs.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
