"""Mutation testing: do the tests fail when the code is wrong?

    python benchmarks/mutation.py [--sample 4] [--seed 0] [--limit N] [--timeout 120]
                                  [--modules benchmark/evaluation/coco.py ...] [--list]
                                  [--allow-dirty] [--out benchmarks/results/mutation]

Each mutant is one small change to one module (a comparison flipped ``<``/``<=``,
``>``/``>=``, ``==``/``!=``; ``+``/``-``, ``*``/``/``; a number +1 or x2; ``min``/``max``;
``True``/``False``; an index ``[0]``/``[-1]``), found with :mod:`ast` and applied to the source
text at the node's position, so nothing else of the file changes. For each mutant the tests
mapped to that module (:data:`TESTS`) run with ``-x -q -p no:cacheprovider`` under a timeout:
a failing run *kills* the mutant, a passing one lets it *survive* (a test gap, or an
equivalent mutant), a run past the timeout is counted apart (usually an endless loop: killed
in effect, but reported).

Why a copy: the mutants are applied in a snapshot of the working tree under a temporary
directory (tracked + untracked files that git does not ignore, plus the compiled helpers), so
other processes that import the package from the repository never see a mutant, and an
interrupted run cannot leave one behind. Inside the snapshot every file is still restored in a
``finally`` and checked byte for byte. Bytecode is compiled afresh for each run (its cache goes
to a per-run prefix and is never written): a ``+`` -> ``-`` mutant keeps the file's size, and a
cached ``.pyc`` of the same second would hide it.

Before mutating, the script refuses a working tree whose target files differ from ``HEAD``
(the report's ``file:line`` must point at committed code; ``--allow-dirty`` overrides), and
runs each module's tests once unmutated: tests that already fail there are deselected and
listed, so that they do not count as kills.

Writes ``mutation.json`` and ``mutation.md`` (kill rate per package and overall, every
survivor with ``file:line`` and its mutation) under ``--out``. Not part of ``make test``: a full
run takes hours; ``--sample N`` (N mutants per module, seeded) sizes it to a time budget.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = REPO / ".venv" / "bin" / "python"

#: Module -> the tests that exercise it: what a developer runs after editing it (the
#: package's own test folder; all fast), and the mutation score says whether they are enough.
_EVAL = ("tests/evaluation",)
_DATA = ("tests/datasets",)
_COMPOSE = ("tests/unit/test_compose.py", "tests/unit/test_recipes.py",
            "tests/models/test_compose_all.py")
TESTS: dict[str, tuple[str, ...]] = {
    **{f"benchmark/evaluation/{m}.py": _EVAL for m in (
        "accumulate", "api", "base", "bootstrap", "cli", "coco", "engines", "geometry",
        "inputs", "layout_map", "mpii", "mvor", "native", "posetrack", "result")},
    **{f"benchmark/datasets/{m}.py": _DATA for m in (
        "canonical", "coco", "exlpose", "llvip_pose", "mpii", "mvor", "posetrack18")},
    "benchmark/models/checkpoints.py": ("tests/unit/test_checkpoints.py",),
    "benchmark/models/compose.py": _COMPOSE,
    # composing every family's cells and the generated model table (docs/models.md: sizes,
    # resources), not training them (tests/models/test_families.py trains eleven models)
    "benchmark/models/families.py": (*_COMPOSE, "tests/models/test_model_table.py"),
    "benchmark/reports/leaderboard.py": ("tests/unit/test_leaderboard_tables.py",
                                         "tests/unit/test_tracking_leaderboard.py",
                                         "tests/unit/test_replicates.py"),
}

_COMPARE = {ast.Lt: ("<", "<="), ast.LtE: ("<=", "<"), ast.Gt: (">", ">="),
            ast.GtE: (">=", ">"), ast.Eq: ("==", "!="), ast.NotEq: ("!=", "==")}
_ARITH = {ast.Add: ("+", "-"), ast.Sub: ("-", "+"), ast.Mult: ("*", "/"), ast.Div: ("/", "*")}


@dataclass(frozen=True)
class Mutant:
    """One text replacement in one file: bytes ``[start, end)`` become ``new``."""

    path: str
    line: int
    start: int
    end: int
    old: str
    new: str
    kind: str

    @property
    def label(self) -> str:
        return f"{self.path}:{self.line} {self.kind}: `{self.old}` -> `{self.new}`"


def _offsets(source: bytes) -> list[int]:
    """Byte offset of the start of every line (ast columns are UTF-8 byte offsets)."""
    starts = [0]
    for i, b in enumerate(source):
        if b == 0x0A:
            starts.append(i + 1)
    return starts


def _skipped_nodes(tree: ast.AST) -> set[int]:
    """Nodes not worth mutating: docstrings, annotations, f-string parts, ``__all__``."""
    skip: set[int] = set()

    def drop(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            drop(node.returns)
            for arg in (*node.args.args, *node.args.kwonlyargs, *node.args.posonlyargs,
                        node.args.vararg, node.args.kwarg):
                drop(arg.annotation if arg else None)
        elif isinstance(node, ast.AnnAssign):
            drop(node.annotation)
        elif isinstance(node, ast.JoinedStr):
            drop(node)
        elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            drop(node)
    return skip


def find_mutants(rel: str, source: bytes) -> list[Mutant]:
    """Every mutant of one module, in source order."""
    tree = ast.parse(source)
    lines = _offsets(source)
    skip = _skipped_nodes(tree)
    out: list[Mutant] = []

    def pos(line: int, col: int) -> int:
        return lines[line - 1] + col

    def between(a: ast.AST, b: ast.AST, token: str, new: str, kind: str) -> None:
        """The operator ``token`` between the end of ``a`` and the start of ``b``."""
        lo, hi = pos(a.end_lineno, a.end_col_offset), pos(b.lineno, b.col_offset)
        gap = source[lo:hi].decode()
        at = gap.find(token)
        # "<" must not be the start of "<=" (nor "*" of "**", "/" of "//")
        while at >= 0 and gap[at + len(token):at + len(token) + 1] in ("=", token[-1]) \
                and not token.endswith("="):
            at = gap.find(token, at + 1)
        if at >= 0 and "#" not in gap[:at]:
            start = lo + len(gap[:at].encode())
            out.append(Mutant(rel, a.end_lineno, start, start + len(token), token, new, kind))

    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Compare):
            left = node.left
            for op, right in zip(node.ops, node.comparators):
                if type(op) in _COMPARE:
                    old, new = _COMPARE[type(op)]
                    between(left, right, old, new, "compare")
                left = right
        elif isinstance(node, ast.BinOp) and type(node.op) in _ARITH and not any(
                isinstance(side, ast.JoinedStr) or (isinstance(side, ast.Constant)
                                                    and isinstance(side.value, str))
                for side in (node.left, node.right)):  # string building: not arithmetic
            old, new = _ARITH[type(node.op)]
            between(node.left, node.right, old, new, "arith")
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float, bool):
            a, b = pos(node.lineno, node.col_offset), pos(node.end_lineno, node.end_col_offset)
            text = source[a:b].decode()
            if isinstance(node.value, bool):
                out.append(Mutant(rel, node.lineno, a, b, text, str(not node.value), "bool"))
                continue
            out.append(Mutant(rel, node.lineno, a, b, text, repr(node.value + 1), "number+1"))
            if node.value not in (0, 1):  # 0*2 is 0; 1*2 is 1+1
                out.append(Mutant(rel, node.lineno, a, b, text, repr(node.value * 2),
                                  "number*2"))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("min", "max")):
            f = node.func
            a, b = pos(f.lineno, f.col_offset), pos(f.end_lineno, f.end_col_offset)
            new = "max" if f.id == "min" else "min"
            out.append(Mutant(rel, f.lineno, a, b, f.id, new, "min/max"))
        elif isinstance(node, ast.Subscript):
            s = node.slice
            a, b = pos(s.lineno, s.col_offset), pos(s.end_lineno, s.end_col_offset)
            text = source[a:b].decode()
            if text == "0":
                out.append(Mutant(rel, s.lineno, a, b, "0", "-1", "index"))
            elif text == "-1":
                out.append(Mutant(rel, s.lineno, a, b, "-1", "0", "index"))
    # a constant's own +1 mutant already covers "0" in [0]; keep the index one only
    index_spans = {(m.start, m.end) for m in out if m.kind == "index"}
    out = [m for m in out if m.kind == "index" or (m.start, m.end) not in index_spans]
    return sorted(set(out), key=lambda m: (m.start, m.kind, m.new))


# --------------------------------------------------------------------------- running


def _git_dirty(paths: list[str]) -> list[str]:
    res = subprocess.run(["git", "status", "--porcelain", "--", *paths], cwd=REPO,
                         capture_output=True, text=True, check=True)
    return [line[3:] for line in res.stdout.splitlines()]


def snapshot(dst: Path, tracked_only: bool = False) -> Path:
    """Tracked + untracked-but-not-ignored files of the working tree (``tracked_only``: the
    tracked ones, so that tests still being written do not count), and the compiled
    extension modules (ignored build outputs the package imports)."""
    others = [] if tracked_only else ["--others", "--exclude-standard"]
    listed = subprocess.run(["git", "ls-files", "--cached", *others],
                            cwd=REPO, capture_output=True, text=True, check=True).stdout
    files = [*listed.splitlines(), *(p.relative_to(REPO).as_posix()
                                     for p in (REPO / "benchmark").rglob("*.so"))]
    for rel in files:
        src = REPO / rel
        if src.is_file():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / rel)
    return dst


def _env(root: Path, pycache: Path) -> dict[str, str]:
    env = dict(os.environ)
    fixtures = os.environ.get("MPBENCH_REAL_FIXTURES",
                              str(REPO.parent / "shared" / "fixtures" / "real"))
    env.update(PYTHONPATH=str(root), PYTHONDONTWRITEBYTECODE="1",
               PYTHONPYCACHEPREFIX=str(pycache), MPBENCH_REAL_FIXTURES=fixtures,
               MLFLOW_DISABLE_TELEMETRY="true", NO_ALBUMENTATIONS_UPDATE="1")
    return env


def run_tests(root: Path, tests: tuple[str, ...], timeout: float, env: dict[str, str],
              extra: tuple[str, ...] = ()) -> tuple[str, float, str]:
    """``killed``/``survived``/``timeout`` (or ``passed``/``failed`` read the same way), wall
    seconds and the output's tail."""
    cmd = [str(PYTHON), "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *extra, *tests]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # pytest and anything it started
        proc.communicate()
        return "timeout", time.monotonic() - t0, ""
    except BaseException:  # Ctrl-C: the run has its own session, so stop it here
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    status = "survived" if proc.returncode == 0 else "killed"
    # 2: the session stopped on errors, which for a mutant whose tests pass unmutated means a
    # collection error it caused (the module no longer imports): a kill. 3 and 4 (pytest's
    # internal error, usage) say nothing about the tests.
    if proc.returncode in (3, 4):
        status = "error"
    return status, time.monotonic() - t0, out[-2000:]


def _baseline_failures(root: Path, tests: tuple[str, ...], env: dict[str, str]) -> list[str]:
    """Node ids that fail without any mutant (deselected for the module's mutants)."""
    cmd = [str(PYTHON), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", *tests]
    out = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True).stdout
    return [line.split()[1] for line in out.splitlines() if line.startswith("FAILED ")]


def mutate_and_test(root: Path, mutant: Mutant, tests: tuple[str, ...], timeout: float,
                    env: dict[str, str], extra: tuple[str, ...]) -> tuple[str, float]:
    path = root / mutant.path
    original = path.read_bytes()
    try:
        path.write_bytes(original[:mutant.start] + mutant.new.encode()
                         + original[mutant.end:])
        status, wall, _ = run_tests(root, tests, timeout, env, extra)
    finally:
        path.write_bytes(original)
    if path.read_bytes() != original:
        raise RuntimeError(f"{path} was not restored")
    return status, wall


def _package(rel: str) -> str:
    return "/".join(rel.split("/")[:2])


def write_report(out_dir: Path, results: list[dict], meta: dict) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    by_pkg: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in results:
        by_pkg[_package(r["path"])][r["status"]] += 1
        by_pkg["all"][r["status"]] += 1

    def rate(c: dict[str, int]) -> float | None:
        judged = c["killed"] + c["survived"] + c["timeout"]
        return None if not judged else (c["killed"] + c["timeout"]) / judged

    summary = {pkg: {**c, "kill_rate": rate(c)} for pkg, c in sorted(by_pkg.items())}
    (out_dir / "mutation.json").write_text(json.dumps(
        {"meta": meta, "summary": summary, "mutants": results}, indent=1) + "\n")
    lines = ["# Mutation testing", "",
             f"{meta['mutants']} mutants (seed {meta['seed']}, {meta['sample']} per module "
             f"of {meta['candidates']} candidates), {meta['wall_s']:.0f} s wall"
             + (", interrupted (partial)." if meta.get("interrupted") else ".")
             + (f" A rerun of the survivors of `{meta['rerun_of']}`."
                if meta.get("rerun_of") else ""), "",
             "| package | mutants | killed | timeout | survived | error | kill rate |",
             "|---|---|---|---|---|---|---|"]
    for pkg, c in summary.items():
        r = c["kill_rate"]
        lines.append(f"| {pkg} | {sum(v for k, v in c.items() if k != 'kill_rate')} | "
                     f"{c.get('killed', 0)} | {c.get('timeout', 0)} | {c.get('survived', 0)} | "
                     f"{c.get('error', 0)} | {'-' if r is None else f'{100 * r:.1f} %'} |")
    lines += ["", "Timeouts count as killed. Survivors:", ""]
    lines += [f"- `{r['path']}:{r['line']}` {r['kind']}: `{r['old']}` -> `{r['new']}`"
              for r in results if r["status"] == "survived"] or ["- none"]
    if meta["baseline_failures"]:
        lines += ["", "Tests failing before any mutation (deselected):", ""]
        lines += [f"- `{t}`" for t in meta["baseline_failures"]]
    (out_dir / "mutation.md").write_text("\n".join(lines) + "\n")
    return out_dir / "mutation.json", out_dir / "mutation.md"


def sample_mutants(modules: list[str], per_module: int | None, seed: int,
                   limit: int | None) -> tuple[list[Mutant], int]:
    """A seeded sample of ``per_module`` mutants of each module (all when None), then at most
    ``limit`` in all; and the number of candidates."""
    rng = random.Random(seed)
    chosen: list[Mutant] = []
    total = 0
    for rel in modules:
        found = find_mutants(rel, (REPO / rel).read_bytes())
        total += len(found)
        chosen += found if per_module is None or per_module >= len(found) else \
            sorted(rng.sample(found, per_module), key=lambda m: m.start)
    if limit is not None and len(chosen) > limit:
        chosen = sorted(rng.sample(chosen, limit), key=lambda m: (m.path, m.start))
    return chosen, total


def survivors_of(report: Path) -> tuple[list[str], list[Mutant], int]:
    """The survivors of an earlier report, found again in today's sources.

    A rerun measures the tests added since, on the very same mutants; so each survivor must
    still be a mutant of its module at the same bytes. A module edited since then has moved
    offsets, and is refused by name rather than silently matched to other code."""
    data = json.loads(report.read_text())
    fields = ("path", "line", "start", "end", "old", "new", "kind")
    wanted = [Mutant(**{k: r[k] for k in fields}) for r in data["mutants"]
              if r["status"] == "survived"]
    modules = sorted({m.path for m in wanted})
    stale = []
    for rel in modules:
        current = set(find_mutants(rel, (REPO / rel).read_bytes()))
        stale += [m.label for m in wanted if m.path == rel and m not in current]
    if stale:
        raise SystemExit(f"{report}: these survivors are not at the same place in today's "
                         "sources (module edited since?):\n  " + "\n  ".join(stale))
    return modules, wanted, data["meta"]["candidates"]


def _iter_modules(selected: list[str] | None) -> Iterator[str]:
    for rel in selected or TESTS:
        if rel not in TESTS:
            raise SystemExit(f"no tests mapped for {rel}; known: {', '.join(TESTS)}")
        yield rel


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modules", nargs="*", help="repo-relative modules (default: all mapped)")
    ap.add_argument("--sample", type=int, default=None, help="mutants per module (seeded)")
    ap.add_argument("--limit", type=int, default=None, help="at most this many mutants in all")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds per mutant (default: 3 x the module's baseline + 20)")
    ap.add_argument("--list", action="store_true", help="print the mutants and exit")
    ap.add_argument("--allow-dirty", action="store_true",
                    help="mutate target files that differ from HEAD")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks/results/mutation")
    ap.add_argument("--tracked-only", action="store_true",
                    help="leave untracked files (tests in progress) out of the snapshot")
    ap.add_argument("--rerun", type=Path, default=None, metavar="MUTATION_JSON",
                    help="run again only the survivors of an earlier report (after tests "
                         "were added; the mutated modules must be unchanged)")
    args = ap.parse_args(argv)

    if args.rerun:
        modules, mutants, candidates = survivors_of(args.rerun)
    else:
        modules = list(_iter_modules(args.modules))
        mutants, candidates = sample_mutants(modules, args.sample, args.seed, args.limit)
    if args.list:
        for m in mutants:
            print(m.label)
        print(f"{len(mutants)} of {candidates} candidate mutants", file=sys.stderr)
        return 0
    dirty = _git_dirty(modules)
    if dirty and not args.allow_dirty:
        print("target files differ from HEAD (commit them, or --allow-dirty): "
              + ", ".join(dirty), file=sys.stderr)
        return 2

    t_start = time.monotonic()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                            capture_output=True, text=True).stdout.strip()  # the snapshot's
    results: list[dict] = []
    baseline_failures: list[str] = []
    interrupted = False
    with tempfile.TemporaryDirectory(prefix="mpbench-mutation-") as tmp:
        root = snapshot(Path(tmp) / "repo", tracked_only=args.tracked_only)
        env = _env(root, Path(tmp) / "pycache")
        by_module: dict[str, list[Mutant]] = defaultdict(list)
        for m in mutants:
            by_module[m.path].append(m)
        try:
            _run_modules(root, by_module, args.timeout, env, results, baseline_failures)
        except KeyboardInterrupt:  # Ctrl-C: the current file is restored; report what ran
            interrupted = True
    meta = {"seed": args.seed, "sample": args.sample, "limit": args.limit,
            "rerun_of": str(args.rerun) if args.rerun else None,
            "tracked_only": args.tracked_only,
            "commit": commit,
            "candidates": candidates, "mutants": len(results),
            "wall_s": time.monotonic() - t_start, "modules": modules,
            "baseline_failures": baseline_failures, "interrupted": interrupted}
    paths = write_report(args.out, results, meta)
    print("\n".join(str(p) for p in paths))
    print((args.out / "mutation.md").read_text())
    return 130 if interrupted else 0


def _run_modules(root: Path, by_module: dict[str, list[Mutant]], timeout_s: float | None,
                 env: dict[str, str], results: list[dict], baseline_failures: list[str]
                 ) -> None:
    """Baseline, then every mutant, module by module; appends to ``results`` as it goes."""
    for rel, todo in by_module.items():
        tests = TESTS[rel]
        failing = _baseline_failures(root, tests, env)
        baseline_failures += [f for f in failing if f not in baseline_failures]
        extra = tuple(a for f in failing for a in ("--deselect", f))
        status, base_wall, tail = run_tests(root, tests, 900, env, extra)
        if status != "survived":
            print(f"{rel}: its tests fail unmutated ({status}); skipped\n{tail}",
                  file=sys.stderr)
            continue
        timeout = timeout_s or 3 * base_wall + 20
        print(f"{rel}: {len(todo)} mutants, baseline {base_wall:.1f} s", file=sys.stderr)
        for m in todo:
            status, wall = mutate_and_test(root, m, tests, timeout, env, extra)
            results.append({**asdict(m), "status": status, "wall_s": round(wall, 1)})
            print(f"  {status:8s} {wall:5.1f}s {m.label}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
