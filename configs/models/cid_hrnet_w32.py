# CID (contextual instance decoupling; Wang and Zhang, CVPR 2022) on HRNet-W32 at 512x512:
# MMPose's bottom-up recipe as shipped.
_base_ = ["mmpose::body_2d_keypoint/cid/coco/cid_hrnet-w32_8xb20-140e_coco-512x512.py"]
mpbench_family = "bottomup"
mpbench_size = "l"
