# SimDR (SimCC; Li et al., ECCV 2022) on HRNet-W32 at 256x192: the top-down seed's zoo (COCO val
# AP 75.3 with the 56.4 AP detector, published). MMPose's SimCC recipe (KL loss, sigma 6,
# split ratio 2, 210 epochs), HRNet-W32 instead of ResNet-50 and no deconvolutions: the SimCC
# head reads HRNet's stride-4 map (48x64 at 256x192).
_base_ = ["mmpose::body_2d_keypoint/simcc/coco/simcc_res50_8xb64-210e_coco-256x192.py",
          "../_base_/backbones/hrnet.py"]
mpbench_family = "simcc"
mpbench_size = "m"

model = dict(
    backbone={{_base_.hrnet_w32}},
    head=dict(in_channels=32, in_featuremap_size=(48, 64), deconv_out_channels=None),
)
