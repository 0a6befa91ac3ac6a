# Polarized self-attention (PSA, sequential; Liu et al., 2021) in HRNet-W48's basic blocks at
# 256x192: the top-down seed's zoo (COCO test-dev AP 78.9 with the 60.9 AP detector,
# published). HRNet-W48's recipe; PSAHRNet (benchmark.models.ext.psa) inserts PSA in the basic
# blocks of stages 2-4 and loads plain HRNet ImageNet weights (PSA starts from its own init).
_base_ = ["./hrnet_w48.py"]
mpbench_family = "topdown_heatmap"
mpbench_size = "l"

model = dict(backbone=dict(type="PSAHRNet", psa_mode="sequential"))
