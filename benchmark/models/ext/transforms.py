"""Data transforms mpbench registers with MMPose."""

from __future__ import annotations

import cv2
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS

from benchmark.modalities.inputs import to_network_input


@TRANSFORMS.register_module()
class LoadModalityImage(BaseTransform):
    """Load ``results['img_path']`` and convert it to the network input of its modality."""

    def __init__(self, kind: str = "rgb", value_range: list[float] | None = None,
                 upsample: int = 1) -> None:
        self.kind = kind
        self.value_range = tuple(value_range) if value_range else None
        self.upsample = int(upsample)

    def transform(self, results: dict) -> dict:
        path = results["img_path"]
        raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if raw is None:
            raise FileNotFoundError(f"{path}: image missing or unreadable ({self.kind})")
        img = to_network_input(raw, self.kind, value_range=self.value_range,
                               upsample=self.upsample)
        results["img"] = img
        results["img_shape"] = img.shape[:2]
        results["ori_shape"] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(kind={self.kind!r}, value_range={self.value_range}, "
                f"upsample={self.upsample})")
