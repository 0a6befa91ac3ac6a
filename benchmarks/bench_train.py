"""Training throughput: mpbench's training path against a plain MMEngine ``Runner``.

    python benchmarks/bench_train.py [--iters 30] [--repeats 3] [--batch 4] [--input-size 96x128]
        [--warmup 3] [--json benchmarks/results/bench_train.json] [--keep]

HRNet-W32 (``configs/models/hrnet_w32.py``, no pretrained backbone) at a reduced input size on
the CPU, one torch thread, on a small COCO tree built in a temporary directory from the real
COCO sample (``../shared/fixtures/real/mmpose/tests/data/coco``: 4 photos, 12 persons with
keypoints), replicated to ``(warmup + iters) * batch`` training persons so that one epoch has
exactly ``warmup + iters`` full batches (image files copied under new names, new ids); the
validation split is the sample itself. The tree has mpbench's layout
(``data/coco/processed/{annotations,annotations_official}/rgb/{train,val}.json``, images under
the ``rgb`` modality's root ``data/coco/raw/``), with ``configs/`` linked to the repository's, so
both paths run from that directory as a job runs from the repository root.

- ``mpbench``: ``benchmark.models.train.train_cell(Cell("coco", "rgb", "hrnet_w32"),
  overrides={epochs: 1, batch_size, seed: 0, pretrained_backbone: False, input_size})``, as the
  workflow's train job calls it: composed config (``ResumableEpochBasedTrainLoop``,
  ``ResumableSampler``, ``SeededCocoDataset``, ``LoadModalityImage``), an MLflow run in a
  temporary SQLite store (``MLFLOW_TRACKING_URI``), ``MlflowEpochHook`` and
  ``PreemptionCheckpointHook`` (interval 0, the default), ``config.py`` dumped, then
  ``Runner.from_cfg(cfg).train()``. Nothing is patched: the directory has no ``dvc.lock``, so
  ``data_version`` is ``"unversioned"`` (no DVC repository needed), and no git repository, so
  ``git_commit`` logs ``"unknown"``. Both paths run with ``MPBENCH_THREADS=1``, as a one-core
  train job: ``train_cell`` sets one torch thread and, through ``limit_workers``, no
  data-loading workers (MMPose's recipe asks for 2), so the data pipeline runs in the training
  process and ``num_workers=0`` is in the dumped config.
- ``plain``: the same resolved config, read back from the ``config.py`` that the first mpbench
  run dumped, with MMEngine/MMPose's stock ``EpochBasedTrainLoop``, ``DefaultSampler`` and
  ``CocoDataset`` (``aug_seed`` dropped) and without the two mpbench hooks, through
  ``Runner.from_cfg(cfg).train()``. ``LoadModalityImage`` stays (the same files on disk; for
  ``rgb`` it is ``cv2.imread`` as MMCV's ``LoadImage`` does), hence ``custom_imports`` too.

Per-iteration time: a hook of the lowest priority (``IterClock``), registered alike on both
runners (``Runner.from_cfg`` is wrapped to add it; nothing else is changed), takes the wall
time and this process's CPU time from one iteration's last hook to the next one's: loading the
batch, the training step and every hook, mpbench's included. (MMEngine's ``train/time`` is
recorded too: it stops at the timer hook, so the hooks of lower priority, mpbench's among
them, fall into the next iteration.) The first ``--warmup`` iterations are left out; a run's
value is the median of the others (robust to a spike of another job on the shared machine; the
mean is recorded too). CPU time is less sensitive than wall time to other jobs taking the
cores, not immune (caches, memory bandwidth). Both paths save the end-of-epoch checkpoint and
run the end-of-training validation of the config; neither is timed.

Each run is a fresh subprocess: imports, the model build, allocator and page-cache state start
the same for both, and neither runs in a process the other warmed up. Repeats alternate the
order (mpbench, plain / plain, mpbench / ...) so that a drift of the machine's load does not
favour one side. The result: per path the median over repeats of the per-run medians, the ratio
(mpbench iterations/s over plain iterations/s = plain time / mpbench time, target >= 0.98),
also for each adjacent pair, and the same from CPU times; printed as a table and written to
``--json`` (exit status 1 when the wall-time ratio misses the target).

Then, because a 2 % difference is below the noise of a shared machine, what mpbench adds is
measured part by part in one more process (:func:`components`): CPU time per call of the two
hooks' ``after_train_iter``, per index of the samplers, per sample of the seeding and of the
two datasets, the wall time of the epoch's MLflow logging; and, from the timed runs, the
one-off time before the first iteration and after the last.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("MPBENCH_REAL_FIXTURES", REPO.parent / "shared" / "fixtures" /
                               "real"))
COCO_SAMPLE = FIXTURES / "mmpose" / "tests" / "data" / "coco"
DEFAULT_JSON = REPO / "benchmarks" / "results" / "bench_train.json"
CELL = ("coco", "rgb", "hrnet_w32")
TARGET = 0.98
EXPERIMENT = "bench_train"
MPBENCH_HOOKS = ("MlflowEpochHook", "PreemptionCheckpointHook")


# --------------------------------------------------------------------------- the data


def build_tree(root: Path, persons: int) -> dict:
    """A repository-shaped directory with a COCO tree of ``persons`` training persons (the
    sample's 12 persons with keypoints, repeated) and the sample as validation split."""
    sys.path.insert(0, str(REPO))
    from benchmark.datasets import get_spec
    from benchmark.datasets.canonical import canonical_dict, count_labelled, validate
    from benchmark.datasets.layouts import COCO17

    spec = get_spec(CELL[0])
    sample = json.loads((COCO_SAMPLE / "test_coco.json").read_text())
    (root / "configs").symlink_to(REPO / "configs", target_is_directory=True)
    img_root = spec.image_root(CELL[1], root / "data")

    def image(img: dict, rel: str, new_id: int) -> dict:
        dest = img_root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(COCO_SAMPLE / img["file_name"], dest)
        return {"id": new_id, "file_name": rel, "width": int(img["width"]),
                "height": int(img["height"]), "modality_paths": {CELL[1]: rel}}

    def annotation(ann: dict, new_id: int, image_id: int) -> dict:
        kp = [float(v) for v in ann["keypoints"]]
        return {"id": new_id, "image_id": image_id, "category_id": 1,
                "iscrowd": int(ann.get("iscrowd", 0)), "bbox": [float(v) for v in ann["bbox"]],
                "area": float(ann["area"]), "keypoints": kp, "num_keypoints": count_labelled(kp)}

    by_image: dict[int, list[dict]] = {}
    for ann in sample["annotations"]:
        if ann["num_keypoints"] > 0 and not ann.get("iscrowd"):
            by_image.setdefault(ann["image_id"], []).append(ann)
    train_images: list[dict] = []
    train_anns: list[dict] = []
    rep = 0
    while len(train_anns) < persons:
        for img in sample["images"]:
            anns = by_image.get(img["id"], [])[:persons - len(train_anns)]
            if not anns:
                continue
            new_id = len(train_images) + 1
            train_images.append(image(img, f"train/r{rep:03d}_{img['file_name']}", new_id))
            train_anns += [annotation(a, len(train_anns) + i + 1, new_id)
                           for i, a in enumerate(anns)]
        rep += 1
    val_images = [image(img, f"val/{img['file_name']}", img["id"]) for img in sample["images"]]
    val_anns = [annotation(a, a["id"], a["image_id"]) for a in sample["annotations"]]
    splits = {"train": canonical_dict(COCO17, train_images, train_anns, source="bench_train"),
              "val": canonical_dict(COCO17, val_images, val_anns, source="bench_train")}
    for split, coco in splits.items():
        validate(coco, COCO17, f"bench_train {split}", spec.modalities)
        for variant in ("qa", "official"):
            path = spec.modality_annotation_file(split, CELL[1], root / "data", variant=variant)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(coco))
    return {"train_images": len(train_images), "train_persons": len(train_anns),
            "val_images": len(val_images),
            "val_persons": sum(a["num_keypoints"] > 0 for a in val_anns)}


# --------------------------------------------------------------------------- one run (child)


def _components(runner) -> dict:
    loader = runner.train_loop.dataloader
    return {"loop": type(runner.train_loop).__name__,
            "sampler": type(loader.sampler).__name__,
            "dataset": type(loader.dataset).__name__,
            "load": type(loader.dataset.pipeline.transforms[0]).__name__,
            "hooks": [type(h).__name__ for h in runner.hooks],
            "batch_size": loader.batch_size, "num_workers": loader.num_workers}


def _plain_config(mpbench_config: Path, work_dir: Path):
    """The config mpbench trained with, with MMEngine/MMPose's stock loop, sampler and dataset
    and without mpbench's hooks."""
    from mmengine.config import Config

    cfg = Config.fromfile(str(mpbench_config))
    cfg.train_cfg.type = "EpochBasedTrainLoop"
    cfg.train_dataloader.sampler.type = "DefaultSampler"
    cfg.train_dataloader.dataset.type = "CocoDataset"
    cfg.train_dataloader.dataset.pop("aug_seed", None)
    cfg.custom_hooks = [h for h in cfg.get("custom_hooks", []) if h.type not in MPBENCH_HOOKS]
    cfg.work_dir = str(work_dir)
    cfg.load_from, cfg.resume = None, False
    return cfg


def _iter_clock():
    """A hook of the lowest priority, registered on both paths' runners alike: wall and CPU
    time (``process_time``: this process, every thread; the data workers are other processes)
    from one iteration's last hook to the next one's, so every hook and the wait for data
    count."""
    from mmengine.hooks import Hook

    class IterClock(Hook):
        priority = "LOWEST"

        def __init__(self) -> None:
            self.wall: list[float] = []
            self.cpu: list[float] = []

        def before_train_epoch(self, runner) -> None:
            self._t = (time.perf_counter(), time.process_time())
            self.first = self._t[0]

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
            now = (time.perf_counter(), time.process_time())
            self.wall.append(now[0] - self._t[0])
            self.cpu.append(now[1] - self._t[1])
            self._t = now
            self.last = now[0]

    return IterClock()


def child(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(1)
    if args.child == "components":
        Path(args.result).write_text(json.dumps(components(args)))
        return
    from mmengine.runner import Runner

    runners, clock = [], _iter_clock()
    from_cfg = Runner.from_cfg.__func__

    def keep(cls, cfg):
        runners.append(from_cfg(cls, cfg))
        runners[-1].register_hook(clock, "LOWEST")
        return runners[-1]

    Runner.from_cfg = classmethod(keep)
    work_dir = Path(args.work_dir)
    start = time.perf_counter()
    if args.child == "mpbench":
        from benchmark.cells import Cell
        from benchmark.models.train import train_cell

        w, h = args.input_size
        train_cell(Cell(*CELL), overrides={"epochs": 1, "batch_size": args.batch, "seed": 0,
                                           "pretrained_backbone": False, "input_size": (w, h)},
                   experiment=EXPERIMENT, work_dir=work_dir)
    else:
        import benchmark.models.ext  # noqa: F401 - LoadModalityImage

        Runner.from_cfg(_plain_config(Path(args.config), work_dir)).train()
    end = time.perf_counter()
    (runner,) = runners
    hub = runner.message_hub
    result = {"path": args.child, "times": clock.wall, "cpu_times": clock.cpu,
              "mmengine_times": [float(t) for t in hub.get_scalar("train/time").data[0]],
              "data_times": [float(t) for t in hub.get_scalar("train/data_time").data[0]],
              "total_s": end - start, "before_s": clock.first - start,
              "after_s": end - clock.last, "torch_threads": torch.get_num_threads(),
              "components": _components(runner)}
    Path(args.result).write_text(json.dumps(result))


def _per_call(fn, n: int, rounds: int = 5) -> float:
    """Best of ``rounds`` CPU time per call of ``fn(i)``, i in range(n)."""
    best = float("inf")
    for _ in range(rounds):
        t = time.process_time()
        for i in range(n):
            fn(i)
        best = min(best, (time.process_time() - t) / n)
    return best


def _wall(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def components(args: argparse.Namespace) -> dict:
    """CPU time of what mpbench adds, part by part, against the stock parts (this process,
    one thread): per call of the two hooks' ``after_train_iter`` (the only per-iteration
    hook calls; MlflowEpochHook logs to MLflow once per epoch), per index of the samplers, per
    sample of the datasets (``dataset[i]``: the whole training pipeline; the two datasets
    alternate, best of 6 passes over the data), the seeding alone, and (wall time) the
    epoch's MLflow logging."""
    import random
    import types

    import numpy as np
    import torch
    from mmengine.config import Config
    from mmengine.dataset import DefaultSampler
    from mmpose.registry import DATASETS

    import benchmark.models.ext  # noqa: F401
    from benchmark.models.ext.hooks import MlflowEpochHook
    from benchmark.models.ext.preemption import PreemptionCheckpointHook, ResumableSampler

    cfg = Config.fromfile(args.config)
    plain = _plain_config(Path(args.config), Path(args.work_dir))
    out: dict[str, float] = {}
    w = torch.ones(3, requires_grad=True)
    outputs = {"loss": (w * 0.5).sum(), "loss_kpt": (w * 0.5).sum(),
               "acc_pose": torch.tensor(0.25)}
    runner = types.SimpleNamespace(iter=0, epoch=0, work_dir=args.work_dir)
    mlflow_hook, preempt = MlflowEpochHook(run_id="unused"), PreemptionCheckpointHook(0)
    mlflow_hook.before_train_epoch(runner)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # float() of a loss that requires grad, warned once
        out["MlflowEpochHook.after_train_iter_s"] = _per_call(
            lambda i: mlflow_hook.after_train_iter(runner, i, None, outputs), 20000)
    out["PreemptionCheckpointHook.after_train_iter_s"] = _per_call(
        lambda i: preempt.after_train_iter(runner, i, None, outputs), 20000)
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    stock = DATASETS.build(plain.train_dataloader.dataset)
    n = len(ds)
    for name, cls in (("ResumableSampler", ResumableSampler), ("DefaultSampler", DefaultSampler)):
        sampler = cls(ds, shuffle=True, seed=0)
        out[f"{name}_per_index_s"] = _per_call(lambda i, s=sampler: list(iter(s)), 200) / n
    # The stock dataset draws from the global stream: reseeded before each pass, so that
    # every pass of either dataset does the same work (a best-of over different draws would
    # favour it), the two in alternating order.
    best = {"SeededCocoDataset": float("inf"), "CocoDataset": float("inf")}
    for r in range(6):
        for name, d in (("SeededCocoDataset", ds), ("CocoDataset", stock))[::(-1) ** r]:
            random.seed(0)
            np.random.seed(0)
            best[name] = min(best[name], _per_call(d.__getitem__, n, rounds=1))
    out |= {f"{k}_per_sample_s": v for k, v in best.items()}

    def seeding(i: int) -> None:
        state = np.random.SeedSequence([0, 0, i]).generate_state(2)
        random.seed(int(state[0]))
        np.random.seed(int(state[1]))

    out["seeding_per_sample_s"] = _per_call(seeding, 20000)

    # The epoch's end: one log_batch to the run of the first mpbench run (SQLite store).
    (hook_cfg,) = [h for h in cfg.custom_hooks if h.type == "MlflowEpochHook"]
    epoch_hook = MlflowEpochHook(run_id=hook_cfg.run_id)
    runner.optim_wrapper = types.SimpleNamespace(get_lr=lambda: {"lr": [1e-3]})
    epoch_hook.before_train_epoch(runner)
    epoch_hook.after_train_iter(runner, 0, None, {"loss": 0.1, "acc_pose": 0.5})
    out["MlflowEpochHook.after_train_epoch_wall_s"] = min(
        _wall(lambda: epoch_hook.after_train_epoch(runner)) for _ in range(5))
    out["samples"] = n
    return out


# --------------------------------------------------------------------------- the parent


def run_child(path: str, args: argparse.Namespace, tmp: Path, tag: str,
              config: Path | None) -> dict:
    work_dir = tmp / "work" / tag
    result = tmp / f"{tag}.json"
    log = tmp / f"{tag}.log"
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", path,
            "--work-dir", str(work_dir), "--result", str(result),
            "--batch", str(args.batch), "--input-size", "x".join(map(str, args.input_size))]
    if config is not None:
        argv += ["--config", str(config)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env |= {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'mlflow' / 'mlflow.db'}",
            "MLFLOW_DISABLE_TELEMETRY": "true", "MPBENCH_THREADS": "1", "OMP_NUM_THREADS": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))}
    with open(log, "w") as fh:
        proc = subprocess.run(argv, cwd=tmp / "repo", env=env, stdout=fh,
                              stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise SystemExit(f"{tag} failed (exit {proc.returncode}):\n"
                         f"{log.read_text()[-4000:]}")
    out = json.loads(result.read_text())
    for ckpt in work_dir.glob("*.pth"):  # ~330 MB each (weights + Adam state)
        ckpt.unlink()
    return out


def summarise(run: dict, warmup: int, iters: int) -> dict:
    if len(run["times"]) != warmup + iters:
        raise SystemExit(f"{run['path']}: {len(run['times'])} iterations, expected "
                         f"{warmup + iters}")
    wall, cpu = run["times"][warmup:], run["cpu_times"][warmup:]
    return {"median_s": statistics.median(wall), "mean_s": statistics.fmean(wall),
            "min_s": min(wall), "max_s": max(wall), "cpu_median_s": statistics.median(cpu),
            "cpu_mean_s": statistics.fmean(cpu),
            "data_time_median_s": statistics.median(run["data_times"][warmup:]),
            "num_workers": run["components"]["num_workers"],
            "total_s": run["total_s"], "before_s": run["before_s"], "after_s": run["after_s"],
            "times_s": run["times"], "cpu_times_s": run["cpu_times"]}


def check_components(runs: dict[str, dict]) -> None:
    mp, plain = runs["mpbench"]["components"], runs["plain"]["components"]
    expected = {"mpbench": ("ResumableEpochBasedTrainLoop", "ResumableSampler",
                            "SeededCocoDataset"),
                "plain": ("EpochBasedTrainLoop", "DefaultSampler", "CocoDataset")}
    for name, comp in (("mpbench", mp), ("plain", plain)):
        got = (comp["loop"], comp["sampler"], comp["dataset"])
        if got != expected[name] or comp["load"] != "LoadModalityImage":
            raise SystemExit(f"{name}: unexpected components {comp}")
    # Hooks of one priority may come in another order (the reloaded config's dict order).
    others = sorted(h for h in mp["hooks"] if h not in MPBENCH_HOOKS)
    if others != sorted(plain["hooks"]) or not all(h in mp["hooks"] for h in MPBENCH_HOOKS):
        raise SystemExit(f"hooks differ beyond mpbench's: {mp['hooks']} / {plain['hooks']}")


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f}"


def report(args: argparse.Namespace, runs: dict[str, list[dict]], parts: dict) -> dict:
    """Print the table; return the figures written to the JSON file."""
    med = {p: statistics.median(r["median_s"] for r in runs[p]) for p in runs}
    cpu = {p: statistics.median(r["cpu_median_s"] for r in runs[p]) for p in runs}
    ratio, cpu_ratio = med["plain"] / med["mpbench"], cpu["plain"] / cpu["mpbench"]
    pairs = [p["median_s"] / m["median_s"] for m, p in zip(runs["mpbench"], runs["plain"])]
    cpu_pairs = [p["cpu_median_s"] / m["cpu_median_s"]
                 for m, p in zip(runs["mpbench"], runs["plain"])]
    w, h = args.input_size
    print(f"\nHRNet-W32 {w}x{h}, batch {args.batch}, 1 torch thread, {args.iters} timed "
          f"iterations after {args.warmup}, {args.repeats} runs of each path; per run the "
          f"median iteration, then the median over runs (ms)")
    print("| path | wall / iteration | runs (wall) | CPU / iteration | runs (CPU) |")
    print("|---|---|---|---|---|")
    for p in ("mpbench", "plain"):
        print(f"| {p} | **{_ms(med[p])}** | {' / '.join(_ms(r['median_s']) for r in runs[p])} | "
              f"{_ms(cpu[p])} | {' / '.join(_ms(r['cpu_median_s']) for r in runs[p])} |")
    verdict = "met" if ratio >= TARGET else "MISSED"
    print(f"ratio mpbench it/s / plain it/s: wall {ratio:.3f} (pairs "
          f"{', '.join(f'{x:.3f}' for x in pairs)}), CPU {cpu_ratio:.3f} (pairs "
          f"{', '.join(f'{x:.3f}' for x in cpu_pairs)}); target >= {TARGET} (wall): {verdict}")
    # SeededCocoDataset's own cost is its seeding (the whole-pipeline times of the two
    # datasets differ mostly by their augmentation draws); it runs in the training process
    # when the loader has no workers (train_cell's limit_workers with MPBENCH_THREADS=1).
    workers = runs["mpbench"][0]["num_workers"]
    seeding = args.batch * parts["seeding_per_sample_s"]
    per_iter = (parts["MlflowEpochHook.after_train_iter_s"]
                + parts["PreemptionCheckpointHook.after_train_iter_s"]
                + args.batch * (parts["ResumableSampler_per_index_s"]
                                - parts["DefaultSampler_per_index_s"])
                + (seeding if workers == 0 else 0.0))
    where = "the training process" if workers == 0 else f"the {workers} data workers"
    print("\nwhat mpbench adds, CPU time measured part by part (one process, one thread):")
    print(f"- MlflowEpochHook.after_train_iter "
          f"{parts['MlflowEpochHook.after_train_iter_s'] * 1e6:.1f} us, "
          f"PreemptionCheckpointHook.after_train_iter "
          f"{parts['PreemptionCheckpointHook.after_train_iter_s'] * 1e6:.2f} us per iteration")
    print(f"- sampler per index: ResumableSampler "
          f"{parts['ResumableSampler_per_index_s'] * 1e9:.0f} ns, DefaultSampler "
          f"{parts['DefaultSampler_per_index_s'] * 1e9:.0f} ns")
    print(f"- SeededCocoDataset's seeding {parts['seeding_per_sample_s'] * 1e6:.1f} us per "
          f"sample, in {where}; dataset[i] (whole training pipeline, draws differ): "
          f"SeededCocoDataset {_ms(parts['SeededCocoDataset_per_sample_s'])} ms, CocoDataset "
          f"{_ms(parts['CocoDataset_per_sample_s'])} ms")
    epoch = parts["MlflowEpochHook.after_train_epoch_wall_s"]
    print(f"- MlflowEpochHook.after_train_epoch (one MLflow log_batch, SQLite): "
          f"{_ms(epoch)} ms per epoch = {epoch / (med['mpbench'] * args.iters) * 100:.3f} % of "
          f"this benchmark's {args.iters}-iteration epoch (not in the timed iterations)")
    before = {p: statistics.median(r["before_s"] for r in runs[p]) for p in runs}
    after = {p: statistics.median(r["after_s"] for r in runs[p]) for p in runs}
    print(f"- once per job (wall, median): start to first iteration mpbench "
          f"{before['mpbench']:.1f} s / plain {before['plain']:.1f} s (train_cell: compose, "
          f"MLflow run and params, git, config dump); last iteration to the end "
          f"{after['mpbench']:.1f} s / {after['plain']:.1f} s (checkpoint, validation)")
    print(f"- per iteration in the training process: {per_iter * 1e6:.1f} us = "
          f"{per_iter / med['mpbench'] * 100:.4f} % of an iteration")
    return {"median_iter_s": med, "median_iter_cpu_s": cpu, "ratio": ratio,
            "pair_ratios": pairs, "cpu_ratio": cpu_ratio, "cpu_pair_ratios": cpu_pairs,
            "target": TARGET, "met": ratio >= TARGET, "num_workers": workers,
            "added_per_iter_main_s": per_iter, "before_train_s": before,
            "after_train_s": after, "parts": parts}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iters", type=int, default=30, help="timed iterations per run")
    ap.add_argument("--warmup", type=int, default=3, help="first iterations left out")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each path, alternated")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--input-size", default="96x128", help="network input WxH")
    ap.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write the result")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--child", choices=["mpbench", "plain", "components"],
                    help=argparse.SUPPRESS)
    ap.add_argument("--work-dir", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    ap.add_argument("--config", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.input_size = tuple(int(v) for v in args.input_size.lower().split("x"))
    if args.child:
        child(args)
        return 0
    if not (COCO_SAMPLE / "test_coco.json").is_file():
        raise SystemExit(f"{COCO_SAMPLE}: the real COCO sample is missing (set "
                         "MPBENCH_REAL_FIXTURES)")

    tmp = Path(tempfile.mkdtemp(prefix="mpbench-bench-train-"))
    load = [os.getloadavg()[0]]
    try:
        (tmp / "repo").mkdir()
        data = build_tree(tmp / "repo", (args.warmup + args.iters) * args.batch)
        print(f"data: {data} in {tmp / 'repo'}", flush=True)
        runs: dict[str, list[dict]] = {"mpbench": [], "plain": []}
        raw: dict[str, list[dict]] = {"mpbench": [], "plain": []}
        config = None
        for r in range(args.repeats):
            for path in (("mpbench", "plain") if r % 2 == 0 else ("plain", "mpbench")):
                out = run_child(path, args, tmp, f"{path}{r}", config)
                if path == "mpbench" and config is None:
                    config = tmp / "work" / f"{path}{r}" / "config.py"
                raw[path].append(out)
                runs[path].append(run := summarise(out, args.warmup, args.iters))
                load.append(os.getloadavg()[0])
                print(f"repeat {r} {path:8s} {_ms(run['median_s'])} ms/iter wall (mean "
                      f"{_ms(run['mean_s'])}), {_ms(run['cpu_median_s'])} CPU, data wait "
                      f"{_ms(run['data_time_median_s'])}; run {out['total_s']:.0f} s, load "
                      f"{load[-1]:.1f}", flush=True)
        check_components({p: raw[p][0] for p in raw})
        parts = run_child("components", args, tmp, "components", config)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    result = {"model": CELL[2], "cell": "/".join(CELL), "input_size": list(args.input_size),
              "batch": args.batch, "iters": args.iters, "warmup": args.warmup,
              "repeats": args.repeats, "torch_threads": raw["mpbench"][0]["torch_threads"],
              "cpu_count": os.cpu_count(), "load_avg_1min": load, "data": data,
              "components": {p: raw[p][0]["components"] for p in raw},
              **report(args, runs, parts), "runs": runs}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.json}")
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
