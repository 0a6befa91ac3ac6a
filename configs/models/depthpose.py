# DepthPose (Srivastav et al., MICCAI 2019, ORPose-Depth) without super-resolution: OpenPose's
# VGG-19 trunk and four part-affinity-field stages (benchmark.models.ext.depthpose), bottom-up,
# on 640x480 input with 80x60 heatmaps and fields. Depth is read as one channel (8-bit, /255);
# on a colour modality the trunk reads the three channels (the paper's colour comparison).
# On a low-resolution modality (depth_80x60, depth_64x48) this is the "without SR" row: the
# low-resolution depth, nearest-upsampled to 640x480. The limbs are the dataset's skeleton.
# Schedule (mpbench's choice; the paper gives none in the notes): Adam 1e-4, 100 epochs, lr
# x0.1 at 70 and 90, batch 8. No ImageNet init (depth has no RGB statistics to share).
_base_ = ["../_base_/runtime.py"]
mpbench_family = "paf"
mpbench_size = "m"
mpbench_own_normalisation = True  # 8-bit depth scaled to [0, 1], as the paper

max_epochs = 100
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=10)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type="Adam", lr=1e-4), clip_grad=dict(max_norm=40.0))
param_scheduler = [
    dict(type="LinearLR", begin=0, end=500, start_factor=0.001, by_epoch=False),
    dict(type="MultiStepLR", begin=0, end=max_epochs, milestones=[70, 90], gamma=0.1,
         by_epoch=True),
]

# limbs and (for the SR variant) heatmap_size are set from the dataset and modality by the
# composer (benchmark.models.families._paf_fix)
codec = dict(type="PartAffinityFieldLabel", input_size=(640, 480), heatmap_size=(80, 60),
             limbs=[], sigma=2.0, paf_width=1.0)

model = dict(
    type="DepthPoseEstimator",
    data_preprocessor=dict(type="PoseDataPreprocessor", mean=[0.0, 0.0, 0.0],
                           std=[255.0, 255.0, 255.0], bgr_to_rgb=False),
    backbone=dict(type="DepthPoseBackbone", in_channels=1, sr=False),
    head=dict(type="PAFHead", in_channels=128, num_keypoints=17, num_stages=4,
              decoder=codec),
    test_cfg=dict(flip_test=True),
)

_meta_keys = ("id", "img_id", "img_path", "crowd_index", "ori_shape", "img_shape",
              "input_size", "input_center", "input_scale", "flip", "flip_direction",
              "flip_indices", "raw_ann_info")
train_pipeline = [
    dict(type="LoadImage"),  # replaced by the modality overlay (LoadModalityImage)
    dict(type="BottomupRandomAffine", input_size=codec["input_size"], shift_factor=0.1,
         rotate_factor=10, scale_factor=(0.85, 1.15)),
    dict(type="RandomFlip", direction="horizontal"),
    dict(type="GenerateTarget", encoder=codec),
    dict(type="PackPoseInputs"),
]
val_pipeline = [
    dict(type="LoadImage"),
    dict(type="BottomupResize", input_size=codec["input_size"], size_factor=8,
         resize_mode="expand"),
    dict(type="PackPoseInputs", meta_keys=_meta_keys),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type="DefaultSampler", shuffle=True),
    dataset=dict(type="CocoDataset", data_mode="bottomup", ann_file="", data_root="",
                 data_prefix=dict(img=""), pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type="DefaultSampler", shuffle=False, round_up=False),
    dataset=dict(type="CocoDataset", data_mode="bottomup", ann_file="", data_root="",
                 data_prefix=dict(img=""), test_mode=True, pipeline=val_pipeline),
)
test_dataloader = val_dataloader
val_evaluator = dict(type="CocoMetric", ann_file="", score_mode="bbox", nms_mode="none")
test_evaluator = val_evaluator
