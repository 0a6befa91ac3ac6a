# Runtime shared by every mpbench model config (MMEngine/MMPose 1.x style).
# The dataset and modality overlays are applied on top by benchmark.models.compose; do not
# put dataset paths or keypoint metadata here.
default_scope = "mmpose"
custom_imports = dict(imports=["benchmark.models.ext"], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type="IterTimerHook"),
    logger=dict(type="LoggerHook", interval=20),
    param_scheduler=dict(type="ParamSchedulerHook"),
    # Every epoch: an interrupted training resumes from the newest checkpoint.
    checkpoint=dict(type="CheckpointHook", interval=1, max_keep_ckpts=2, save_last=True),
    sampler_seed=dict(type="DistSamplerSeedHook"),
    visualization=dict(type="PoseVisualizationHook", enable=False),
)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method="fork", opencv_num_threads=0),
    dist_cfg=dict(backend="nccl"),
)
vis_backends = [dict(type="LocalVisBackend")]
visualizer = dict(type="PoseLocalVisualizer", vis_backends=vis_backends, name="visualizer")
log_processor = dict(type="LogProcessor", window_size=20, by_epoch=True, num_digits=6)
log_level = "INFO"
load_from = None
resume = False
backend_args = dict(backend="local")
randomness = dict(seed=0, deterministic=False)

# Placeholders the dataset overlay fills in (annotation files, metainfo, keypoint count).
dataset_type = "CocoDataset"
data_mode = "topdown"
