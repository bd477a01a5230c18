"""ONNX export (torch.onnx.export, no onnx package needed: ../shared/guide/stack.md) and manifest.json."""
from __future__ import annotations

import copy
import hashlib
import inspect
import json
import os
import warnings

import torch

from .model import ExportWrapper, UNet

# onnxruntime 1.30 reads opsets up to 21+; torch 1.13 exports up to 17. 13 covers Conv/MaxPool/Resize/Sigmoid/Log.
OPSET = 13


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def export_onnx(net: UNet, path: str, shift: float = 0.0) -> None:
    net = copy.deepcopy(net).cpu().eval()  # a network trained on a GPU exports from a CPU copy
    wrapper = ExportWrapper(net, shift).eval()
    dummy = torch.rand(1, net.in_channels, 64, 64)
    with warnings.catch_warnings():
        # torch 1.13 warns about prim::Constant shape inference on every export; harmless here
        warnings.simplefilter("ignore", UserWarning)
        _export(wrapper, dummy, path)


def _export(wrapper: torch.nn.Module, dummy: torch.Tensor, path: str) -> None:
    # torch >= 2.9 exports through dynamo by default (other opsets, onnxscript needed); keep the TorchScript exporter
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    torch.onnx.export(
        wrapper, dummy, path, opset_version=OPSET, input_names=["input"], output_names=["comir"],
        dynamic_axes={"input": {0: "batch", 2: "height", 3: "width"}, "comir": {0: "batch", 2: "height", 3: "width"}},
        do_constant_folding=True, **legacy,
    )


def write_manifest(path: str, manifest: dict) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
