#!/usr/bin/env python3
"""Train a CoMIR pair (two U-Nets, no shared weights) and export two ONNX files + manifest.json.

  /usr/bin/python3 training/train_comir.py --pair shg-bf --data ../shared/data [--steps N] [--out models/shg-bf]
  /usr/bin/python3 training/train_comir.py --pair shg-bf --smoke --out /tmp/x     # tiny generated pairs, a few steps

Facts about the reference (CoMIR, MultiRegEval) are cited as RP2 = ../shared/guide/reference-pipeline.md section 2.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import json
import math
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from comir.data import (BF_INPUTS, PAIRS, PairSpec, Sampler, default_n_val, generic_pair, load_pairs,  # noqa: E402
                        make_smoke_data, resolve_dir, split_val, with_bf_input)
from comir.evaluate import tissue_logit_mean, validate  # noqa: E402
from comir.export import OPSET, export_onnx, sha256, write_manifest  # noqa: E402
from comir.loss import activation_decay, forward_p4, nt_xent_mse  # noqa: E402
from comir.model import PERCENTILES, build_network, count_parameters  # noqa: E402

MANIFEST_FORMAT = "cmir-comir/1"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pair", required=True,
                    help=f"a preset ({', '.join(sorted(PAIRS))}) or a new pair's name, with --modalities")
    ap.add_argument("--modalities", metavar="A,B",
                    help="a new pair: the two pairs.csv columns holding its images (also the network names)")
    ap.add_argument("--channels", action="append", default=[], metavar="MODALITY=N",
                    help="a new pair: input channels of a modality, 1 (default) or 3, e.g. rgb=3")
    ap.add_argument("--data", help="pair folder with pairs.csv, or the shared data root (../shared/data)")
    ap.add_argument("--out", help="output model dir (default models/PAIR)")
    ap.add_argument("--steps", type=int, default=None, help="training steps (default 450; smoke 4)")
    ap.add_argument("--smoke", action="store_true", help="a few steps on tiny generated pairs (tests)")
    ap.add_argument("--batch", type=int, default=None, help="N pairs per step (default 24: 46 negatives, RP2)")
    ap.add_argument("--crop", type=int, default=None, help="crop size (default 128, RP2)")
    ap.add_argument("--tau", type=float, default=0.5, help="temperature (RP2)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--base", type=int, default=None, help="U-Net base channels (default 16)")
    ap.add_argument("--depth", type=int, default=None, help="poolings (stride = 2**depth; unet 3, tiramisu 6)")
    ap.add_argument("--arch", default="unet", choices=["unet", "tiramisu"],
                    help="unet (ours, 487k parameters) or tiramisu (the reference's FC-DenseNet, 1.04M; RP2)")
    ap.add_argument("--norm", default="none", choices=["none", "group"], help="see comir/model.py")
    ap.add_argument("--l1", type=float, default=1e-4, help="activation decay L1 (RP2)")
    ap.add_argument("--l2", type=float, default=1e-4, help="activation decay L2 (biodata notebook, RP2)")
    ap.add_argument("--center-weight", type=float, default=0.0,
                    help="weight of (mean logit on tissue)^2 per network (tried: slowed learning; README)")
    ap.add_argument("--calibrate", action="store_true",
                    help="subtract the mean tissue logit before the sigmoid (tried: worse agreement; README)")
    ap.add_argument("--from-ckpt", help="skip training: load this --ckpt file and the training record of the "
                                        "manifest.json already in --out, then calibrate, validate and export again")
    ap.add_argument("--bg-weight", type=float, default=1.0, help="weight of the background -> 0.5 term")
    ap.add_argument("--photometric", type=float, default=0.0,
                    help="strength of per-modality intensity jitter (0 = off, RP2; 1 = gamma/contrast/brightness/"
                         "noise ranges in comir/data.py Sampler.jitter)")
    ap.add_argument("--normalization", action="append", default=[], metavar="MODALITY=RULE",
                    help="override a modality's input normalization (linear, log1p, percentile, eosin), "
                         "e.g. bf=percentile; eosin reads an RGB H&E and feeds its eosin channel (comir/stain.py)")
    ap.add_argument("--bf-input", default="grey", choices=sorted(BF_INPUTS),
                    help="shg-bf: what the BF network reads: grey (the registered grey H&E, column bf), rgb or eosin "
                         "(the colour H&E registered to it, column bf_rgb: --data is the folder written by "
                         "training/register_colour_bf.py)")
    ap.add_argument("--epoch-steps", type=int, default=None, help="steps per epoch (validation each epoch)")
    ap.add_argument("--val-patch", type=int, default=None, help="validation patch size (default 64)")
    ap.add_argument("--n-val", type=int, default=None, help="held-out train pairs for validation")
    ap.add_argument("--scale-tolerance", type=float, default=None,
                    help="write search.scale_tolerance to the manifest: the pair's default scale sweep for "
                         "correlation searches, 0..0.5 (docs/adr/0005; vis-nir: 0.1)")
    ap.add_argument("--structure-weight", type=float, default=None,
                    help="write search.structure_weight to the manifest: the weight (0..1) of the images' own edges "
                         "beside the CoMIR in correlation searches, for pairs that share edges (docs/adr/0008; vis-nir: 0.5)")
    ap.add_argument("--refine", type=int, default=None,
                    help="write search.refine to the manifest: how many of the best candidates correlation searches "
                         "correlate again at twice the resolution, 0..200 (docs/adr/0009; vis-nir: 20)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("CMIR_TRAIN_THREADS", "1")))
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"],
                    help="where the networks train: cpu (default), cuda, or auto (cuda when torch sees a GPU). "
                         "Crops are drawn on the CPU either way; export always runs on a CPU copy")
    ap.add_argument("--eval-test", action="store_true", help="after training, report metrics on the test split "
                                                              "(shg-bf only; not used for training or selection)")
    ap.add_argument("--ckpt", help="also save a torch state_dict here")
    a = ap.parse_args(argv)
    if not a.smoke and not a.data:
        ap.error("--data is required (unless --smoke)")
    if not a.smoke and (a.pair in PAIRS) == bool(a.modalities):
        ap.error(f"--modalities A,B is needed for a new pair and not allowed for a preset ({', '.join(sorted(PAIRS))})")
    if a.bf_input != "grey" and not a.smoke and a.pair != "shg-bf":
        ap.error("--bf-input is for --pair shg-bf")
    if a.channels and not a.modalities:
        ap.error("--channels is only for a new pair (with --modalities)")
    if not 0 <= a.photometric <= 2:
        ap.error("--photometric must be in 0..2 (the jitter's ranges scale with it: comir/data.py Sampler.jitter)")
    if a.device == "auto":
        a.device = "cuda" if torch.cuda.is_available() else "cpu"
    if a.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: this torch sees no CUDA GPU")
    sm = a.smoke
    a.steps = a.steps if a.steps is not None else (4 if sm else 450)
    a.batch = a.batch or (4 if sm else 24)
    a.crop = a.crop or (48 if sm else 128)
    a.base = a.base or (8 if sm else 16)
    a.epoch_steps = a.epoch_steps or (2 if sm else 50)
    a.val_patch = a.val_patch or (32 if sm else 64)
    a.out = a.out or os.path.join("models", a.pair)
    return a


class Progress:
    """A text progress bar: redrawn in place on a terminal, one line per `every` steps otherwise."""

    def __init__(self, total: int, every: int = 10):
        self.total, self.every, self.t0 = total, every, time.time()
        self.tty = sys.stderr.isatty()

    def update(self, step: int, msg: str) -> None:
        if not self.tty and step % self.every and step != self.total:
            return
        frac = step / self.total
        el = time.time() - self.t0
        eta = el / max(frac, 1e-9) - el
        bar = "#" * int(30 * frac) + "." * (30 - int(30 * frac))
        line = f"[{bar}] {step}/{self.total} {msg} {el:.0f}s eta {eta:.0f}s"
        if self.tty:
            sys.stderr.write("\r" + line + ("\n" if step == self.total else ""))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()


def device_name(device: str) -> str:
    """The device as the manifest records it: 'cpu', or 'cuda (NVIDIA H100 80GB HBM3)'."""
    return f"cuda ({torch.cuda.get_device_name(0)})" if device == "cuda" else "cpu"


def pair_spec(a: argparse.Namespace) -> PairSpec:
    """The preset, or a new pair from --modalities / --channels."""
    if a.pair in PAIRS:
        return PAIRS[a.pair]
    names = [m.strip() for m in a.modalities.split(",")]
    if len(names) != 2 or not all(names) or names[0] == names[1]:
        raise SystemExit(f"--modalities {a.modalities!r}: expected two different pairs.csv columns, e.g. mri,other")
    channels = {}
    for c in a.channels:
        name, _, n = c.partition("=")
        if not n.isdigit():
            raise SystemExit(f"--channels {c!r}: expected MODALITY=1 or MODALITY=3")
        channels[name] = int(n)
    try:
        return generic_pair(a.pair, names[0], names[1], channels)
    except ValueError as e:
        raise SystemExit(str(e)) from None


def with_normalization(spec: PairSpec, overrides: list[str]) -> PairSpec:
    """The pair with --normalization MODALITY=RULE applied."""
    for o in overrides:
        name, _, rule = o.partition("=")
        if rule not in ("linear", "log1p", "percentile", "eosin") or name not in (spec.a.name, spec.b.name):
            raise SystemExit(f"--normalization {o!r}: expected {spec.a.name}|{spec.b.name}=linear|log1p|percentile|eosin")
        if rule == "eosin" and getattr(spec, "a" if name == spec.a.name else "b").channels != 1:
            raise SystemExit(f"--normalization {o!r}: eosin is one channel from an RGB image; drop --channels {name}=3")
        side = "a" if name == spec.a.name else "b"
        spec = dataclasses.replace(spec, **{side: dataclasses.replace(getattr(spec, side), pre=rule)})
    return spec


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    t_start = time.time()

    tmpdir = None
    if a.smoke:
        if a.pair != "shg-bf":
            print("--smoke generates SHG/BF-like pairs; using spec shg-bf layout", file=sys.stderr)
        spec = with_normalization(with_bf_input(PAIRS["shg-bf"], a.bf_input), a.normalization)
        tmpdir = tempfile.TemporaryDirectory(prefix="cmir-smoke-")
        make_smoke_data(tmpdir.name, n=6, size=96, seed=a.seed)
        data_dir = tmpdir.name
    else:
        spec = pair_spec(a)
        spec = with_normalization(with_bf_input(spec, a.bf_input) if a.bf_input != "grey" else spec, a.normalization)
        data_dir = resolve_dir(spec, a.data)
    pairs = load_pairs(spec, data_dir, "train")
    n_val = a.n_val if a.n_val is not None else (2 if a.smoke else default_n_val(spec, len(pairs)))
    train, val = split_val(pairs, n_val, a.seed)
    ids = lambda ps: [p.id for p in ps] if len(ps) <= 20 else [p.id for p in ps[:10]] + ["..."]  # noqa: E731
    print(f"pair {spec.name}: {len(pairs)} pairs ({spec.row_filter}); train {len(train)}: "
          f"{ids(train)}; validation {len(val)}: {ids(val)}", file=sys.stderr)

    net_a = build_network(a.arch, spec.a.channels, a.base, a.depth, a.norm)
    net_b = build_network(a.arch, spec.b.channels, a.base, a.depth, a.norm)
    dev = torch.device(a.device)
    net_a.to(dev)
    net_b.to(dev)
    # margin >= one-sided reach of the receptive field (+ stride-1 for pooling phase), rounded up to the stride
    reach = (net_a.receptive_field() - 1) // 2 + net_a.stride - 1
    margin = int(math.ceil(reach / net_a.stride) * net_a.stride)
    history: list[dict] = []
    ema_loss = ema_acc = None
    last_val: dict = {}
    prior: dict = {}
    if a.from_ckpt:
        ck = torch.load(a.from_ckpt, map_location=dev)
        net_a.load_state_dict(ck["a"])
        net_b.load_state_dict(ck["b"])
        with open(os.path.join(a.out, "manifest.json")) as f:
            prior = json.load(f)
        history = prior["validation"]["history"]
        ema_loss, ema_acc = prior["training"]["final_loss"], prior["training"]["final_batch_acc"]
    else:
        sampler = Sampler(train, spec, a.crop, rng, photometric=a.photometric)
        # Adam (not the biodata notebook's SGD 1e-2, RP2): converges in the few hundred steps the CPU budget allows;
        # the Zurich notebook used Adam 1e-3 (RP2). Cosine decay to 10 %.
        params = list(net_a.parameters()) + list(net_b.parameters())
        opt = torch.optim.Adam(params, lr=a.lr, weight_decay=1e-5)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(s, a.steps) / max(a.steps, 1))))

        prog = Progress(a.steps, every=1 if a.smoke else 10)
        for step in range(1, a.steps + 1):
            net_a.train(); net_b.train()
            xa, xb, tissue = (t.to(dev) for t in sampler.batch(a.batch))  # preprocessed (Sampler.normalize)
            za = forward_p4(net_a, xa, gen)  # p4 trick, each net its own k (RP2)
            zb = forward_p4(net_b, xb, gen)
            loss_c, acc = nt_xent_mse(za, zb, a.tau)
            loss = loss_c + activation_decay(za, a.l1, a.l2) + activation_decay(zb, a.l1, a.l2)
            if a.center_weight > 0:
                # the MSE-critic loss is blind to one shift of all outputs; this pins the tissue level at 0 during
                # training (tried; slowed learning, README). Default: calibrate after training instead.
                t = tissue.expand_as(za)
                loss = loss + a.center_weight * (za[t].mean() ** 2 + zb[t].mean() ** 2)
            if spec.tissue_mask and a.bg_weight > 0:
                # background (no tissue within 7 px) -> logit 0 in both networks (exported: sigmoid(-logit_shift))
                near = F.max_pool2d(tissue.float(), 15, stride=1, padding=7)
                bg = near < 0.5
                if bg.any():
                    loss = loss + a.bg_weight * (za[bg].pow(2).mean() + zb[bg].pow(2).mean())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net_a.parameters(), 1.0)  # per net (RP2)
            torch.nn.utils.clip_grad_norm_(net_b.parameters(), 1.0)
            opt.step()
            sched.step()
            lv = float(loss.item())
            ema_loss = lv if ema_loss is None else 0.9 * ema_loss + 0.1 * lv
            ema_acc = acc if ema_acc is None else 0.9 * ema_acc + 0.1 * acc
            prog.update(step, f"loss {ema_loss:.3f} batch-acc {ema_acc:.2f}")
            if step % a.epoch_steps == 0 or step == a.steps:
                v = validate(net_a, net_b, val, spec, margin, patch=a.val_patch)
                last_val = v
                history.append(dict(step=step, loss=round(ema_loss, 4), batch_acc=round(ema_acc, 3),
                                    val_acc1=round(v["acc1"], 4), val_corr_aligned=round(v["corr_aligned_tissue"], 3),
                                    val_corr_mismatched=round(v["corr_mismatched_tissue"], 3)))
                print(f"epoch {len(history)} step {step}: loss {ema_loss:.4f} batch-acc {ema_acc:.3f} | "
                      f"val Acc@1 {v['acc1']:.3f} (a->b {v['acc1_a2b']:.3f}, b->a {v['acc1_b2a']:.3f}, "
                      f"{v['n_patches']} patches) corr on tissue aligned {v['corr_aligned_tissue']:.3f} "
                      f"mismatched {v['corr_mismatched_tissue']:.3f}", file=sys.stderr, flush=True)
    trained = prior.get("training", {})  # --from-ckpt: where and with which torch the checkpoint was trained
    train_s = trained["wall_s"] if prior else time.time() - t_start
    if a.ckpt and not a.from_ckpt:
        cpu = lambda net: {k: v.cpu() for k, v in net.state_dict().items()}  # noqa: E731
        torch.save({"a": cpu(net_a), "b": cpu(net_b), "args": vars(a)}, a.ckpt)

    shift = tissue_logit_mean(net_a, net_b, train, spec, margin) if a.calibrate else 0.0
    last_val = validate(net_a, net_b, val, spec, margin, patch=a.val_patch, shift=shift)
    print(f"calibration: logit shift {shift:.3f}; final val Acc@1 {last_val['acc1']:.3f} corr aligned "
          f"{last_val['corr_aligned_tissue']:.3f} mismatched {last_val['corr_mismatched_tissue']:.3f} "
          f"tissue means {last_val['mean_on_tissue']}", file=sys.stderr, flush=True)

    report_test = None
    if a.eval_test and not a.smoke and spec.name == "shg-bf":
        test = load_pairs(spec, data_dir, "test")
        report_test = validate(net_a, net_b, test, spec, margin, patch=a.val_patch, shift=shift)
        report_test["ids"] = [p.id for p in test]
        report_test["note"] = "test split: reported only, never used for training or model selection"
        print(f"test split: Acc@1 {report_test['acc1']:.3f} corr aligned {report_test['corr_aligned_tissue']:.3f} "
              f"{report_test['corr_aligned_tissue_per_pair']} mismatched {report_test['corr_mismatched_tissue']:.3f}",
              file=sys.stderr, flush=True)

    os.makedirs(a.out, exist_ok=True)
    mods = []
    for ms, net in ((spec.a, net_a), (spec.b, net_b)):
        fn = f"{ms.name}.onnx"
        export_onnx(net, os.path.join(a.out, fn), shift)
        mods.append(dict(
            name=ms.name, file=fn, sha256=sha256(os.path.join(a.out, fn)), parameters=count_parameters(net),
            input=dict(name="input", layout="NCHW", channels=ms.channels, source=ms.source,
                       # decode.ts Normalization applied by the caller BEFORE the graph (not in the graph):
                       # 'log1p' = log(1+x) of x in [0,1], not rescaled after the log (range [0, ln 2], RP2)
                       # 'percentile' = (x - p1) / (p99 - p1) of the image's own percentiles, clamped to [0, 1]
                       normalization=ms.pre, normalization_in_graph=False, normalised_after_log=False,
                       **(dict(percentiles=[q * 100 for q in PERCENTILES]) if ms.pre == "percentile" else {}),
                       range=[0, round(math.log(2), 6)] if ms.pre == "log1p" else [0, 1],
                       # trained on colour images of a modality that also comes as grey: comir.ts refuses grey input
                       **(dict(colour="required") if ms.colour else {}),
                       **(dict(column=ms.column) if ms.column != ms.name else {})),
            output=dict(name="comir", channels=1)))
    manifest = dict(
        format=MANIFEST_FORMAT,
        pair=a.pair if not a.smoke else "smoke",
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        modalities=mods,
        output=dict(
            channels=1, activation="sigmoid", activation_in_graph=True, range=[0, 1], logit_shift=round(shift, 6),
            formula="sigmoid(z - logit_shift), z = network logit",
            uint8="round(255 * y), applied in TypeScript (src/pipeline/comir.ts toUint8)",
            background=(f"outside tissue (no tissue within 7 px) both networks are trained towards logit 0, i.e. "
                        f"sigmoid(-logit_shift) = {1 / (1 + math.exp(shift)):.3f} (uint8 "
                        f"{round(255 / (1 + math.exp(shift)))})"
                        if spec.tissue_mask else "no background in this data set (whole scenes)")),
        network=dict(
            type=a.arch, norm=a.norm, base_channels=net_a.base, depth=net_a.depth, latent_channels=1,
            upsampling="nearest x2", stride=net_a.stride, required_multiple=net_a.stride,
            receptive_field=net_a.receptive_field(), margin=margin, padding="reflect", opset=OPSET,
            parameters=count_parameters(net_a) + count_parameters(net_b)),
        training=dict(
            data=("generated smoke pairs" if a.smoke else os.path.abspath(data_dir)), rows=spec.row_filter,
            train_ids=[p.id for p in train], **({"bf_input": a.bf_input} if spec.name == "shg-bf" else {}),
            steps=a.steps, batch=a.batch, negatives_per_anchor=2 * a.batch - 2,
            crop=a.crop, loss="NT-Xent, MSE critic", tau=a.tau, p4_rotation_trick=True,
            augmentation="random crop, rotation uniform [-180,180) bilinear reflect, horizontal flip p=0.5"
                         + (f", photometric jitter strength {a.photometric} per modality (Sampler.jitter)"
                            if a.photometric > 0 else ""),
            activation_decay=dict(l1=a.l1, l2=a.l2), center_weight=a.center_weight,
            background_weight=a.bg_weight if spec.tissue_mask else 0,
            optimizer=f"Adam lr {a.lr} wd 1e-5, cosine to 10%, grad-norm clip 1.0 per net", seed=a.seed,
            threads=a.threads, device=trained.get("device") or device_name(a.device),
            torch=trained.get("torch") or torch.__version__, wall_s=round(train_s, 1),
            final_loss=round(ema_loss if ema_loss is not None else float("nan"), 4),
            final_batch_acc=round(ema_acc if ema_acc is not None else float("nan"), 3)),
        validation=dict(
            ids=[p.id for p in val],
            metric="cross-modal patch retrieval Acc@1 (inference mode, whole images, tissue patches, MSE), "
                   "final values on the exported (calibrated) outputs; history before calibration",
            **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in last_val.items()},
            history=history),
    )
    if a.scale_tolerance is not None:
        if not 0 <= a.scale_tolerance <= 0.5:  # POSE_BOUNDS in src/pipeline/correlate.ts
            raise SystemExit("--scale-tolerance must be in 0..0.5")
        manifest.setdefault("search", {})["scale_tolerance"] = a.scale_tolerance
    if a.structure_weight is not None:
        if not 0 <= a.structure_weight <= 1:  # src/services/search.service.ts correlationSettings
            raise SystemExit("--structure-weight must be in 0..1")
        manifest.setdefault("search", {})["structure_weight"] = a.structure_weight
    if a.refine is not None:
        if not 0 <= a.refine <= 200:  # MAX_REFINE in src/pipeline/correlate.ts
            raise SystemExit("--refine must be an integer in 0..200")
        manifest.setdefault("search", {})["refine"] = a.refine
    if "search" in manifest:
        manifest["search"]["source"] = "cmir train " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in manifest["search"].items())
    if report_test is not None:
        manifest["report_test"] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in report_test.items()}
    write_manifest(os.path.join(a.out, "manifest.json"), manifest)
    print(f"wrote {a.out}/{{{spec.a.name},{spec.b.name}}}.onnx and manifest.json in {time.time() - t_start:.0f}s",
          file=sys.stderr)
    if tmpdir:
        tmpdir.cleanup()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (FileNotFoundError, ValueError) as e:  # bad --data, empty selection, unreadable image
        print(f"train_comir.py: error: {e}", file=sys.stderr)
        sys.exit(2)
