# A tiny top-down heatmap HRNet for the CPU demo: 4 stages with one block each and widths
# 16/32/64/128, 96x64 input (h x w; HRNet needs multiples of 32), 24x16 heatmaps. It trains from
# scratch on the synthetic demo in a few minutes per cell on one CPU core. The keypoint count, metainfo, image roots and
# normalisation come from the dataset and modality overlays (benchmark.models.compose).
_base_ = ["../_base_/runtime.py"]
mpbench_family = "topdown_heatmap"
# a few minutes per cell on one CPU core; on a cluster one small GPU job
mpbench_resources = dict(gpus=1, mem_mb=4000, runtime=60)

max_epochs = 16
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()

optim_wrapper = dict(optimizer=dict(type="Adam", lr=3e-3))
param_scheduler = [
    dict(type="LinearLR", begin=0, end=50, start_factor=0.1, by_epoch=False),
    dict(type="MultiStepLR", begin=0, end=max_epochs, milestones=[12, 15], gamma=0.2,
         by_epoch=True),
]

codec = dict(type="MSRAHeatmap", input_size=(64, 96), heatmap_size=(16, 24), sigma=1.0)

model = dict(
    type="TopdownPoseEstimator",
    data_preprocessor=dict(type="PoseDataPreprocessor", mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(
        type="HRNet",
        in_channels=3,
        extra=dict(
            stage1=dict(num_modules=1, num_branches=1, block="BOTTLENECK", num_blocks=(1,),
                        num_channels=(16,)),
            stage2=dict(num_modules=1, num_branches=2, block="BASIC", num_blocks=(1, 1),
                        num_channels=(16, 32)),
            stage3=dict(num_modules=1, num_branches=3, block="BASIC", num_blocks=(1, 1, 1),
                        num_channels=(16, 32, 64)),
            stage4=dict(num_modules=1, num_branches=4, block="BASIC", num_blocks=(1, 1, 1, 1),
                        num_channels=(16, 32, 64, 128)),
        ),
    ),
    head=dict(
        type="HeatmapHead",
        in_channels=16,
        out_channels=17,
        deconv_out_channels=None,
        loss=dict(type="KeypointMSELoss", use_target_weight=True),
        decoder=codec,
    ),
    test_cfg=dict(flip_test=True, flip_mode="heatmap", shift_heatmap=True),
)

train_pipeline = [
    dict(type="LoadImage"),  # replaced by the modality overlay (LoadModalityImage)
    dict(type="GetBBoxCenterScale"),
    dict(type="RandomFlip", direction="horizontal"),
    dict(type="RandomBBoxTransform", shift_factor=0.1, scale_factor=(0.8, 1.2),
         rotate_factor=15),
    dict(type="TopdownAffine", input_size=codec["input_size"]),
    dict(type="GenerateTarget", encoder=codec),
    dict(type="PackPoseInputs"),
]
val_pipeline = [
    dict(type="LoadImage"),
    dict(type="GetBBoxCenterScale"),
    dict(type="TopdownAffine", input_size=codec["input_size"]),
    dict(type="PackPoseInputs"),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type="DefaultSampler", shuffle=True),
    dataset=dict(type="CocoDataset", data_mode="topdown", ann_file="", data_root="",
                 data_prefix=dict(img=""), pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type="DefaultSampler", shuffle=False, round_up=False),
    dataset=dict(type="CocoDataset", data_mode="topdown", ann_file="", data_root="",
                 data_prefix=dict(img=""), test_mode=True, pipeline=val_pipeline),
)
test_dataloader = val_dataloader
val_evaluator = dict(type="CocoMetric", ann_file="")
test_evaluator = val_evaluator
