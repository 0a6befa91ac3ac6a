# RTMO-l (Lu et al., CVPR 2024) at 640x640: one-stage, MMPose's recipe as shipped.
_base_ = ["mmpose::body_2d_keypoint/rtmo/coco/rtmo-l_16xb16-600e_coco-640x640.py"]
mpbench_family = "onestage"
mpbench_size = "l"
