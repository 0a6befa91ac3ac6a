# RTMPose-m (Jiang et al., 2023) at 256x192: MMPose's COCO recipe as shipped (CSPNeXt from
# MMDetection, SimCC-style RTMCC head, albumentations 1.x augmentations, 420 epochs).
_base_ = ["mmpose::body_2d_keypoint/rtmpose/coco/rtmpose-m_8xb256-420e_coco-256x192.py"]
mpbench_family = "simcc"
mpbench_size = "s"
