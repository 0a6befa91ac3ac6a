# Residual log-likelihood estimation (RLE; Li et al., ICCV 2021) on ResNet-50 at 256x192:
# MMPose's regression recipe as shipped.
_base_ = ["mmpose::body_2d_keypoint/topdown_regression/coco/td-reg_res50_rle-8xb64-210e_coco-256x192.py"]
mpbench_family = "regression"
mpbench_size = "m"
