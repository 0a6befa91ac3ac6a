"""``mpbench`` subcommands import only what they use.

Every subcommand is registered into one parser, so a registration module that imports its
stage's heavy dependencies at the top makes every command pay for them (the QA pipeline's
pandas and scipy cost ``mpbench eval`` 0.9 s). Each check runs in a fresh interpreter and
inspects ``sys.modules``; nothing here measures time.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Modules no evaluation command needs (the training, tracking and QA stacks).
HEAVY = ("pandas", "scipy", "torch", "mlflow", "mmengine", "mmcv", "mmpose", "sklearn",
         "matplotlib", "cv2", "shapely", "pycocotools", "xtcocotools", "faster_coco_eval")
#: What registering the ``qa`` subcommand may load of the QA package: the package (whose
#: public names load on first use) and the registration module with its config defaults.
#: The cell commands' parser module (and its package, a docstring) load for every command.
MODELS_REGISTRATION = {"benchmark.models", "benchmark.models.cli"}
QA_REGISTRATION = {"benchmark.qa", "benchmark.qa.cli", "benchmark.qa.config"}

PROBE = """
import json, sys
from benchmark.cli import build_parser, main
argv = json.loads(sys.argv[1])
if argv and argv[-1] == "--help":
    import contextlib, io
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            main(argv)
        except SystemExit as exc:
            assert exc.code == 0, exc.code
else:
    build_parser().parse_args(argv)
print(json.dumps(sorted(sys.modules)))
"""


def loaded_modules(argv: list[str]) -> set[str]:
    """The modules a fresh interpreter holds after ``mpbench ARGV`` parses (or prints help)."""
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv)], check=True,
                         capture_output=True, text=True)
    return set(json.loads(out.stdout))


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


EVAL_ARGV = {
    "eval --help": ["eval", "--help"],
    "eval coco": ["eval", "--protocol", "coco", "--gt", "gt.json", "--pred", "p.json"],
    "eval mvor-pck": ["eval", "--protocol", "mvor-pck", "--gt", "gt.json", "--pred", "p.json",
                      "--json", "--bootstrap", "10"],
    "eval-compare": ["eval-compare", "--protocol", "coco", "--gt", "gt.json", "--pred", "a.json",
                     "--pred", "b.json"],
}


@pytest.mark.parametrize("case", sorted(EVAL_ARGV))
def test_eval_commands_load_no_heavy_stack_and_no_qa_pipeline(case: str) -> None:
    modules = loaded_modules(EVAL_ARGV[case])
    assert heavy_in(modules) == []
    qa = {m for m in modules if m == "benchmark.qa" or m.startswith("benchmark.qa.")}
    assert qa <= QA_REGISTRATION, sorted(qa - QA_REGISTRATION)
    models = {m for m in modules if m == "benchmark.models" or m.startswith("benchmark.models.")}
    assert models <= MODELS_REGISTRATION, sorted(models - MODELS_REGISTRATION)
    for stage in ("benchmark.tracking", "benchmark.reports",
                  "benchmark.modalities", "benchmark.workflow"):
        assert not any(m == stage or m.startswith(stage + ".") for m in modules), stage


def test_top_level_help_loads_no_heavy_stack() -> None:
    modules = loaded_modules(["--help"])
    assert heavy_in(modules) == []
    assert not {m for m in modules if m.startswith("benchmark.qa.")} - QA_REGISTRATION


def test_qa_package_names_still_resolve() -> None:
    """The QA package loads its public names on first use, for ``from benchmark.qa import``."""
    code = ("import benchmark.qa as qa, sys; "
            "assert 'benchmark.qa.pipeline' not in sys.modules; "
            "from benchmark.qa import FLAGS, QAConfig, QAInputError, QAReport, run_qa, "
            "write_report; "
            "assert run_qa is sys.modules['benchmark.qa.pipeline'].run_qa; "
            "assert set(qa.__all__) <= set(dir(qa))")
    subprocess.run([sys.executable, "-c", code], check=True)
