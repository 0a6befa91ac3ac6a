# YOLOX-Pose-l (Maji et al., CVPRW 2022) at 640x640: one-stage, MMPose's recipe as shipped
# (mosaic and mix-up on raw pixels, 300 epochs).
_base_ = ["mmpose::body_2d_keypoint/yoloxpose/coco/yoloxpose_l_8xb32-300e_coco-640.py"]
mpbench_family = "onestage"
mpbench_size = "l"
