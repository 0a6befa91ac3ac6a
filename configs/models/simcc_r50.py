# SimCC ResNet-50 (Li et al., ECCV 2022) at 256x192: MMPose's recipe as shipped (the SimCC head
# reads the stride-32 map; input sizes must be multiples of 32).
_base_ = ["mmpose::body_2d_keypoint/simcc/coco/simcc_res50_8xb64-210e_coco-256x192.py"]
mpbench_family = "simcc"
mpbench_size = "m"
