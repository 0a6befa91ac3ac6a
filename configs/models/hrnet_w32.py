# HRNet-W32 (Sun et al., CVPR 2019) at 256x192: MMPose's COCO recipe as shipped (published COCO
# val AP 74.4 with the 56.4 AP detector, HRNet paper).
_base_ = ["mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-256x192.py"]
mpbench_family = "topdown_heatmap"
mpbench_size = "m"
