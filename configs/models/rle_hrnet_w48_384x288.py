# RLE on HRNet-W48 at 384x288: the top-down seed's zoo (COCO test-dev AP 75.7 with the 60.9 AP
# detector, published). MMPose's RLE recipe (flow-based residual log-likelihood, 210 epochs)
# with HRNet-W48 features pooled globally; mpbench_input_size scales every copy of the codec's
# 256x192 to 384x288 (benchmark.models.families.scale_input).
_base_ = ["./rle_r50.py", "../_base_/backbones/hrnet.py"]
mpbench_family = "regression"
mpbench_size = "l"
mpbench_input_size = (288, 384)

model = dict(backbone={{_base_.hrnet_w48}}, head=dict(in_channels=48))
