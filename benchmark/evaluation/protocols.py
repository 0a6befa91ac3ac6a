"""The protocol registry: name -> :class:`~benchmark.evaluation.base.ProtocolSpec`."""

from __future__ import annotations

from benchmark.evaluation.base import ProtocolSpec
from benchmark.evaluation.coco import COCO, CROWDPOSE
from benchmark.evaluation.mpii import MPII_PCKH
from benchmark.evaluation.mvor import MVOR_PCK
from benchmark.evaluation.posetrack import POSETRACK_MAP

PROTOCOLS: dict[str, ProtocolSpec] = {
    spec.name: spec for spec in (COCO, CROWDPOSE, MVOR_PCK, MPII_PCKH, POSETRACK_MAP)}


def get_protocol(name: str) -> ProtocolSpec:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ValueError(f"unknown protocol {name!r}; known: {sorted(PROTOCOLS)}") from None
