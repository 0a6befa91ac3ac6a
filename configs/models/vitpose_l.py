# ViTPose-Large (Xu et al., NeurIPS 2022) at 256x192: MMPose's recipe as shipped (mmpretrain's
# VisionTransformer with MAE weights, layer-wise lr decay, classic decoder).
_base_ = ["mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_ViTPose-large_8xb64-210e_coco-256x192.py"]
mpbench_family = "topdown_heatmap"
mpbench_size = "l"
