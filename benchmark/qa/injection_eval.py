"""Precision and recall of the QA flags on seeded, injected corruptions.

Shared by ``benchmarks/qa_injection.py`` (the full measurement) and the test that guards it
(on a seeded subset), so both measure exactly the same thing.

For one corruption kind, each seed corrupts ``rate`` of the eligible skeletons of a
canonicalised copy of the file, runs :func:`run_qa` on it and counts, over all annotations:
TP = corrupted and flagged with a flag of that kind, FN = corrupted and not, FP = not
corrupted but flagged with a flag of that kind. Flags raised on the untouched skeletons count
as false positives even when they may be genuine errors of the source data (without images
nobody can tell); how often that happens on the clean file is reported separately.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from benchmark.datasets.layouts import KeypointLayout
from benchmark.qa.config import QAConfig
from benchmark.qa.inject import DETECTED_BY, InjectionConfig, canonicalise, inject
from benchmark.qa.pipeline import run_qa

_CONFIG, _INJECTION = QAConfig(), InjectionConfig()


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    #: False positives on skeletons that the clean file already flags for this kind.
    fp_preflagged: int = 0
    missed: Counter = field(default_factory=Counter)
    injected: Counter = field(default_factory=Counter)

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.fp_preflagged += other.fp_preflagged
        self.missed.update(other.missed)
        self.injected.update(other.injected)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def precision_new(self) -> float:
        """Precision when flags the clean file already raises are left out of the count."""
        fp = self.fp - self.fp_preflagged
        return self.tp / (self.tp + fp) if self.tp + fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def _has(flags: str, wanted: frozenset[str]) -> bool:
    return bool(wanted.intersection(flags.split(";"))) if flags else False


def preflagged(coco: dict, layout: KeypointLayout, config: QAConfig = _CONFIG
               ) -> dict[str, set]:
    """Per kind, the annotation ids the uncorrupted (canonicalised) file already flags."""
    table = run_qa(canonicalise(coco, layout), layout, config=config).table
    return {kind: {a for a, f in zip(table["ann_id"], table["flags"], strict=True)
                   if _has(f, wanted)} for kind, wanted in DETECTED_BY.items()}


def measure(coco: dict, layout: KeypointLayout, kind: str, seeds: range, *,
            config: QAConfig = _CONFIG, injection: InjectionConfig = _INJECTION,
            already: set | None = None) -> Counts:
    """Counts over ``seeds`` independent corruptions of ``coco`` with ``kind``.

    ``already``: ids flagged on the clean file for this kind (computed when not given).
    """
    base = canonicalise(coco, layout)
    total = Counts()
    wanted = DETECTED_BY[kind]
    if already is None:
        already = preflagged(coco, layout, config)[kind]
    for seed in seeds:
        corrupted, injected = inject(base, layout, kind, seed=seed, config=injection)
        truth = {inj.ann_id: inj for inj in injected}
        table = run_qa(corrupted, layout, config=config).table
        counts = Counts()
        for ann_id, flags in zip(table["ann_id"], table["flags"], strict=True):
            hit = _has(flags, wanted)
            inj = truth.get(ann_id)
            if inj is not None:
                counts.injected[inj.variant] += 1
                counts.tp += hit
                counts.fn += not hit
                if not hit:
                    counts.missed[inj.variant] += 1
            elif hit:
                counts.fp += 1
                counts.fp_preflagged += ann_id in already
        total.add(counts)
    return total
