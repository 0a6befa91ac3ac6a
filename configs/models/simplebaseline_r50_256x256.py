# SimpleBaseline ResNet-50 at 256x256 on MPII: MMPose's MPII recipe as shipped, flip test
# (published MPII val Mean 88.2, mmpose).
_base_ = ["mmpose::body_2d_keypoint/topdown_heatmap/mpii/td-hm_res50_8xb64-210e_mpii-256x256.py"]
mpbench_family = "topdown_heatmap"
mpbench_size = "m"
