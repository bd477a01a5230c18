"""CoMIR training for cmir (stage I of Breznik et al. 2024).

Facts about the reference implementation are cited from ../shared/guide/reference-pipeline.md section 2
("RP2" below). Modules: data (pairs.csv reader, preprocessing, tissue masks, augmentation), model (U-Net),
loss (NT-Xent with MSE critic, p4 rotation trick), evaluate (inference-mode validation), export (ONNX + manifest).
"""
