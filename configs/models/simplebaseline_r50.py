# SimpleBaseline ResNet-50 (Xiao et al., ECCV 2018) at 256x192: MMPose's COCO recipe as shipped
# (three deconvolutions, MSRA heatmaps, 210 epochs, batch 8x64).
_base_ = ["mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py"]
mpbench_family = "topdown_heatmap"
mpbench_size = "m"
