# HRNet-W48 at 256x256 on MPII (PCKh@0.5): MMPose's MPII recipe as shipped, flip test (published
# MPII val Mean: mmpose HRNet-W32 90.0, HRNet-W48 90.1; HRNet paper W32 90.3).
_base_ = ["mmpose::body_2d_keypoint/topdown_heatmap/mpii/td-hm_hrnet-w48_8xb64-210e_mpii-256x256.py"]
mpbench_family = "topdown_heatmap"
mpbench_size = "l"
