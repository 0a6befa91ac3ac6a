# PoseWarper (Bertasius et al., "Learning Temporal Pose Estimation from Sparsely-Labeled
# Videos", NeurIPS 2019) on HRNet-W48 at 384x288, for video datasets whose frames are files
# <video>/<frame:06d>.jpg (PoseTrack18). Published: Total 79.7 mAP on PoseTrack18 val (the
# paper; results/paper/posewarper.md). benchmark.models.ext.posewarper has the method.
#
# MMPose's HRNet-W48 384x288 recipe with MMPose's PoseWarperNeck as MMPose 0.x configured it
# (hrnet_w48_posetrack18_384x288_posewarper_stage2): inner channels 128, 20 BASIC residual
# blocks, offsets at dilations 3/6/12/18/24, 3x3 offset and deformable kernels, one deformable
# group per keypoint; the head only scores and decodes the warped heatmaps. Training: one
# supporting frame within +-3 of each labelled one, scored on the labelled frame's ground truth
# after warping (frame weights 0/1); test: +-2 frames, weights 0.3 (key), 0.1/0.25/0.25/0.1
# (offsets -2/-1/+1/+2), no flip test. Adam 1e-4, x0.1 at epochs 10 and 15, 20 epochs.
#
# One stage, end to end: the backbone starts from MMPose's COCO HRNet-W48 384x288 (the paper's
# COCO initialisation; the PoseTrack fine-tuning is this cell's training) and the heatmap
# layer (the neck's trans_layer) trains with it. The paper's two stages: train a plain
# top-down HRNet-W48 cell first, then init from it with `model.backbone.frozen_stages=4` and
# `model.neck.freeze_trans_layer=True` (its head's final layer must then be mapped onto
# `neck.trans_layer`).
_base_ = ["mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w48_8xb32-210e_coco-384x288.py"]  # noqa: E501
mpbench_family = "topdown_heatmap"
mpbench_size = "l"
# Video pose propagation (paper sec. 4.2; benchmark.models.propagate): every 7th labelled
# frame's poses warped to the labelled frames within +-3, scored as `<set>/prop`.
mpbench_propagation = dict(every=7, max_offset=3)

max_epochs = 20
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
optim_wrapper = dict(optimizer=dict(type="Adam", lr=1e-4))
param_scheduler = [
    dict(type="LinearLR", begin=0, end=500, start_factor=0.001, by_epoch=False),
    dict(type="MultiStepLR", begin=0, end=max_epochs, milestones=[10, 15], gamma=0.1,
         by_epoch=True),
]

codec = dict(type="MSRAHeatmap", input_size=(288, 384), heatmap_size=(72, 96), sigma=3)
model = dict(
    type="PoseWarperEstimator",
    # BGR->RGB and the modality's mean/std applied to each stacked frame
    data_preprocessor=dict(type="MultiFrameDataPreprocessor"),
    backbone=dict(init_cfg=dict(
        type="Pretrained", prefix="backbone.",
        checkpoint="https://download.openmmlab.com/mmpose/top_down/hrnet/"
                   "hrnet_w48_coco_384x288-314c8528_20200708.pth")),
    # out_channels and deform_groups follow the keypoint count (PoseWarperEstimator)
    neck=dict(type="PoseWarperNeck", in_channels=48, inner_channels=128,
              dilations=(3, 6, 12, 18, 24), trans_conv_kernel=1,
              res_blocks_cfg=dict(block="BASIC", num_blocks=20), offsets_kernel=3,
              deform_conv_kernel=3, freeze_trans_layer=False, im2col_step=80),
    head=dict(type="HeatmapHead", in_channels=17, out_channels=17, deconv_out_channels=None,
              final_layer=None, loss=dict(type="KeypointMSELoss", use_target_weight=True),
              decoder=codec),
    train_frame_weight=(0.0, 1.0),
    test_frame_weight=(0.3, 0.1, 0.25, 0.25, 0.1),
    test_cfg=dict(flip_test=False, flip_mode="heatmap", shift_heatmap=True),
)

# `LoadImage` (the key frame's and, nested, the supporting frames') becomes the modality's
# loader when the cell is composed.
train_pipeline = [
    dict(type="LoadImage"),
    dict(type="LoadSupportingFrames", frame_range=3, loader=dict(type="LoadImage")),
    dict(type="GetBBoxCenterScale"),
    dict(type="RandomFlip", direction="horizontal"),  # flips every frame of the list
    dict(type="RandomHalfBody"),
    dict(type="RandomBBoxTransform"),
    dict(type="TopdownAffine", input_size=codec["input_size"]),  # one crop for every frame
    dict(type="GenerateTarget", encoder=codec),
    dict(type="StackFrames"),
    dict(type="PackPoseInputs"),
]
val_pipeline = [
    dict(type="LoadImage"),
    dict(type="LoadSupportingFrames", offsets=(-2, -1, 1, 2), loader=dict(type="LoadImage")),
    dict(type="GetBBoxCenterScale"),
    dict(type="TopdownAffine", input_size=codec["input_size"]),
    dict(type="StackFrames"),
    dict(type="PackPoseInputs"),
]
# 16 labelled frames (32 frames through HRNet) and 8 test clips (40 frames) per GPU batch
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=8, dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
