# HRNet-W48 with unbiased data processing (UDP heatmaps; Huang et al., CVPR 2020) at 256x192:
# the LLVIP-Pose paper's strongest top-down baseline; MMPose's recipe as shipped.
_base_ = ["mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w48_udp-8xb32-210e_coco-256x192.py"]
mpbench_family = "topdown_heatmap"
mpbench_size = "l"
