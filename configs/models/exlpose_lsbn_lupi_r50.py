# ExLPose's method (Lee et al., CVPR 2023) on SimpleBaseline ResNet-50 at 256x192: one network
# trained on (low-light, well-lit) pairs with lighting-specific BatchNorm in the backbone and
# the LUPI loss on ResNet's four stages (benchmark.models.ext.exlpose). Train it on the
# `lowlight` modality of `exlpose`: the well-lit twin of each image comes from the `rgb` view;
# the WL test set is predicted through the well-lit BN set, the others through the low-light.
# ExLPose's schedule: Adam 5e-4, weight decay 1e-5, lr x0.5 every 6 epochs, 32 epochs; the
# same crop and scale (U(0.7, 1.35), crop x1.25) on both images, no flip or rotation.
_base_ = ["./simplebaseline_r50.py"]
mpbench_family = "topdown_heatmap"
mpbench_size = "m"
# ExLPose's own input normalisation (in the estimator), not the modality's statistics
mpbench_own_normalisation = True

max_epochs = 32
train_cfg = dict(max_epochs=max_epochs, val_interval=8)
optim_wrapper = dict(optimizer=dict(type="Adam", lr=5e-4, weight_decay=1e-5))
param_scheduler = [
    dict(type="LinearLR", begin=0, end=500, start_factor=0.001, by_epoch=False),
    dict(type="MultiStepLR", begin=0, end=max_epochs, milestones=[6, 12, 18, 24, 30],
         gamma=0.5, by_epoch=True),
]

codec = dict(type="MSRAHeatmap", input_size=(192, 256), heatmap_size=(48, 64), sigma=2)
model = dict(
    type="ExLPoseEstimator",
    lupi_weight=1.0,
    lupi_stages=("layer1", "layer2", "layer3", "layer4"),
    test_modality="lowlight",
    data_preprocessor=dict(_delete_=True, type="PoseDataPreprocessor", mean=None, std=None,
                           bgr_to_rgb=False),
)
train_pipeline = [
    dict(type="LoadImage"),  # the low-light image (the modality overlay's loader)
    dict(type="LoadPairedImage", modality="rgb"),
    dict(type="GetBBoxCenterScale"),
    dict(type="RandomBBoxTransform", shift_factor=0.0, scale_factor=(0.7, 1.35),
         rotate_factor=0.0),
    dict(type="PairedTopdownAffine", input_size=codec["input_size"]),
    dict(type="GenerateTarget", encoder=codec),
    dict(type="StackPair"),
    dict(type="PackPoseInputs"),
]
train_dataloader = dict(batch_size=32, dataset=dict(pipeline=train_pipeline))
