# HRNet-W48 at 384x288: MMPose's COCO recipe as shipped, the frame-wise baseline of
# PoseWarper's comparison (posetrack benchmark) and PoseWarper's own backbone and input size.
_base_ = ["mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w48_8xb32-210e_coco-384x288.py"]  # noqa: E501
mpbench_family = "topdown_heatmap"
mpbench_size = "l"
