"""``mpbench infer``: poses of a trained cell on an image, a folder, a video or a webcam.

Registered in :mod:`benchmark.cli` like the other stage commands; torch and MMPose are imported
inside the handler, so ``mpbench --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _cmd_infer(args: argparse.Namespace) -> int:
    from benchmark.inference import InferenceError, run_inference
    from benchmark.inference.boxes import Detector

    if bool(args.config) != bool(args.checkpoint):
        raise InferenceError("--config and --checkpoint go together")
    if bool(args.cell) == bool(args.config):
        raise InferenceError("name the model: --cell KEY, or --config and --checkpoint")
    if bool(args.detector) != bool(args.det_checkpoint):
        raise InferenceError("--detector and --det-checkpoint go together (a detector without "
                             "its trained weights finds nobody)")
    if args.max_frames is not None and args.max_frames < 1:
        raise InferenceError(f"--max-frames {args.max_frames}: must be >= 1")
    detector = (Detector(args.detector, args.det_checkpoint, score_thr=args.bbox_thr,
                         nms_iou=args.nms_iou) if args.detector else None)
    out = args.out or (Path("results") / "infer" / Path(str(args.source)).stem)
    summary = run_inference(
        args.source, out, cell=args.cell, config=args.config, checkpoint=args.checkpoint,
        work_dir=args.work_dir, device=args.device, boxes=args.boxes, detector=detector,
        batch_size=args.batch_size, render=not args.no_render, kpt_thr=args.kpt_thr,
        max_frames=args.max_frames, progress=not args.no_progress)
    summary["computed"] = len(summary["computed"])
    print(json.dumps(summary, indent=2))
    return 0


def register(sub) -> None:
    """Add ``infer`` to the ``mpbench`` subcommands."""
    p = sub.add_parser("infer", help="poses of a trained cell on an image, a folder of images, "
                                     "a video or a webcam (resumable; docs/inference.md)")
    p.add_argument("source", help="an image file, a folder of images, a video file, or a "
                                  "webcam index (0, 1, ...)")
    p.add_argument("--cell", default=None, metavar="DATASET/MODALITY/MODEL",
                   help="a trained cell: its work_dirs/<key>/config.py and the checkpoint its "
                        "summary names")
    p.add_argument("--work-dir", type=Path, default=None,
                   help="the cell's work dir (default: work_dirs/<cell key>)")
    p.add_argument("--config", type=Path, default=None, help="a composed config (with "
                                                             "--checkpoint), instead of --cell")
    p.add_argument("--checkpoint", type=Path, default=None)
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default: results/infer/<source name>); a stopped run "
                        "resumes there")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    p.add_argument("--boxes", type=Path, default=None,
                   help="person boxes: a COCO detection results file (matched by file_name or "
                        "image_id for images, by frame index for a video)")
    p.add_argument("--detector", default=None, metavar="CONFIG",
                   help="person boxes from an MMDetection detector (a config file or "
                        "mmdet::path/in/package.py), with --det-checkpoint")
    p.add_argument("--det-checkpoint", default=None, metavar="PATH")
    p.add_argument("--bbox-thr", type=float, default=0.3,
                   help="detector score threshold (default: %(default)s, MMPose's demo)")
    p.add_argument("--nms-iou", type=float, default=0.5,
                   help="person NMS of the detector's boxes (default: %(default)s)")
    p.add_argument("--kpt-thr", type=float, default=0.3,
                   help="overlays draw keypoints above this score (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=8,
                   help="frames per detector pass and person crops per pose pass")
    p.add_argument("--max-frames", type=int, default=None,
                   help="stop after this many new frames (a webcam runs until Ctrl-C "
                        "otherwise)")
    p.add_argument("--no-render", action="store_true", help="write no overlays")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_infer)
