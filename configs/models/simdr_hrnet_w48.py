# SimDR (SimCC) on HRNet-W48 at 256x192: the top-down seed's zoo (COCO val AP 75.9 with the
# 56.4 AP detector, published). As simdr_hrnet_w32 with the W48 backbone.
_base_ = ["./simdr_hrnet_w32.py"]
mpbench_family = "simcc"
mpbench_size = "l"

model = dict(backbone={{_base_.hrnet_w48}}, head=dict(in_channels=48))
