# RTMO-s (Lu et al., CVPR 2024) at 640x640: one-stage with dual 1-D heatmaps, MMPose's recipe as
# shipped (600 epochs, raw pixels).
_base_ = ["mmpose::body_2d_keypoint/rtmo/coco/rtmo-s_8xb32-600e_coco-640x640.py"]
mpbench_family = "onestage"
mpbench_size = "m"
