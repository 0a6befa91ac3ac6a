# DEKR (Geng et al., CVPR 2021) on HRNet-W32 at 512x512: bottom-up disentangled keypoint
# regression, MMPose's recipe as shipped (mmcv deformable convolutions; the keypoint rescoring
# net is COCO-only and dropped for other layouts).
_base_ = ["mmpose::body_2d_keypoint/dekr/coco/dekr_hrnet-w32_8xb10-140e_coco-512x512.py"]
mpbench_family = "bottomup"
mpbench_size = "l"
