# DepthPose with its super-resolution branch (Srivastav et al., MICCAI 2019): for a
# low-resolution depth modality only (depth_80x60, depth_64x48). The backbone pools the loaded
# image back to the modality's size, upsamples it x8 (conv-ReLU-conv-ReLU-conv ->
# PixelShuffle(2), three times), runs the VGG trunk on the x8 map with the branch's skip
# features, and reconstructs the depth, trained jointly with an L2 loss against the registered
# full-resolution depth (channel 1 of the training image: LoadPairedImage + PairAsChannels).
# Heatmaps and fields are at the low-resolution size (80x60 or 64x48), upsampled bicubically
# to 640x480 at inference. The composer sets the factor and the partner modality.
_base_ = ["./depthpose.py"]

model = dict(
    backbone=dict(sr=True, sr_factor=8),
    head=dict(in_channels=192),
    sr_weight=1.0,
)
train_pipeline = [
    dict(type="LoadImage"),  # the low-resolution depth (the modality overlay's loader)
    dict(type="LoadPairedImage", modality="depth"),  # the full-resolution depth
    dict(type="PairAsChannels"),
    dict(type="BottomupRandomAffine", input_size=(640, 480), shift_factor=0.1,
         rotate_factor=10, scale_factor=(0.85, 1.15)),
    dict(type="RandomFlip", direction="horizontal"),
    dict(type="GenerateTarget", encoder={{_base_.codec}}),
    dict(type="PackPoseInputs"),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
