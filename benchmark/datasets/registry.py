"""Registry of dataset specs, looked up by name everywhere (CLI, Snakemake, DVC stages)."""

from __future__ import annotations

from benchmark.datasets.spec import DatasetSpec


def _all_specs() -> dict[str, DatasetSpec]:
    # Imported lazily so that importing the registry stays cheap and cycle-free.
    from benchmark.datasets import coco, demo, exlpose, llvip_pose, mpii, mvor, posetrack18

    return {s.name: s for s in (demo.SPEC, llvip_pose.SPEC, exlpose.SPEC, mvor.SPEC, coco.SPEC,
                                 mpii.SPEC, posetrack18.SPEC)}


def dataset_names() -> list[str]:
    return sorted(_all_specs())


def get_spec(name: str) -> DatasetSpec:
    specs = _all_specs()
    try:
        return specs[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; known datasets: {sorted(specs)}") from None
