"""``mpbench infer``: run a trained cell on images, a folder, a video or a webcam.

The pieces, each small enough to read alone:

- :mod:`.sources`: what a SOURCE argument is and its frames, each converted to the network
  input exactly as the cell's training loader converts it (16-bit depth, 1-channel thermal,
  low-resolution upsampling);
- :mod:`.model`: the cell's composed config and checkpoint, and the strict check that refuses a
  checkpoint of another keypoint count, input or architecture before any frame is read;
- :mod:`.boxes`: person boxes from a COCO detection file, an MMDetection detector, or the
  whole frame;
- :mod:`.runner`: batched prediction with resumable per-frame output;
- :mod:`.render`: overlays in the dataset's skeleton colours.

docs/inference.md describes the command.
"""

from __future__ import annotations

from typing import Any

__all__ = ["InferenceError", "run_inference"]


def __getattr__(name: str) -> Any:
    """Public names load on first use: registering the ``infer`` command (every ``mpbench``
    call does) must not import numpy and the runner."""
    if name == "run_inference":
        from benchmark.inference.runner import run_inference

        return run_inference
    if name == "InferenceError":
        from benchmark.inference.sources import InferenceError

        return InferenceError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
