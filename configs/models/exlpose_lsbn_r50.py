# ExLPose's LSBN alone (no LUPI term) on SimpleBaseline ResNet-50: the ablation beside
# exlpose_lsbn_lupi_r50, with everything else the same.
_base_ = ["./exlpose_lsbn_lupi_r50.py"]
mpbench_family = "topdown_heatmap"
mpbench_size = "m"

model = dict(lupi_weight=0.0)
