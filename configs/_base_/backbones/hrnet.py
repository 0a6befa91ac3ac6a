# HRNet backbones (Sun et al., CVPR 2019) with their ImageNet weights, shared by the model
# configs that put another head on them: `backbone={{_base_.hrnet_w32}}` (a model config's own
# backbone of another type is replaced, `_delete_`).
_hrnet_stages = dict(
    w32=(32, 64, 128, 256),
    w48=(48, 96, 192, 384),
)


def _hrnet(width: str, weights: str) -> dict:
    c = _hrnet_stages[width]
    return dict(
        _delete_=True,
        type="HRNet",
        in_channels=3,
        extra=dict(
            stage1=dict(num_modules=1, num_branches=1, block="BOTTLENECK", num_blocks=(4,),
                        num_channels=(64,)),
            stage2=dict(num_modules=1, num_branches=2, block="BASIC", num_blocks=(4, 4),
                        num_channels=c[:2]),
            stage3=dict(num_modules=4, num_branches=3, block="BASIC", num_blocks=(4, 4, 4),
                        num_channels=c[:3]),
            stage4=dict(num_modules=3, num_branches=4, block="BASIC", num_blocks=(4, 4, 4, 4),
                        num_channels=c),
        ),
        init_cfg=dict(type="Pretrained",
                      checkpoint="https://download.openmmlab.com/mmpose/pretrain_models/" + weights),
    )


hrnet_w32 = _hrnet("w32", "hrnet_w32-36af842e.pth")
hrnet_w48 = _hrnet("w48", "hrnet_w48-8ef0771d.pth")
