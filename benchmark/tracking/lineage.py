"""What a cell's run was trained on, in the fields MLflow's UI shows.

mpbench's own params and tags (``data_version``, ``config_digest``, ``mpbench.*``) record a
run's identity for mpbench; MLflow's UI reads lineage from elsewhere: the run's dataset inputs
(the "Datasets used" column and the dataset drawer) and the ``mlflow.source.*`` tags (the
"Source" column, the commit on the run page). :func:`log_cell_inputs` writes those. The commit
is a tag, not a param: a job resumed after a new commit sets it again (params never change).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from benchmark.cells import Cell
from benchmark.tracking.runs import _client, set_tags, with_retry

SOURCE_NAME = "mpbench train"


def log_cell_inputs(run_id: str, cell: Cell, *, annotations: str | Path, data_version: str,
                    commit: str, source_name: str = SOURCE_NAME) -> None:
    """Log the cell's training data as the run's MLflow dataset input, and MLflow's source
    and git tags.

    The dataset is named ``<dataset>/<modality>`` with the data version (the DVC digest of the
    run's identity) as its digest, so runs on the same bytes share one dataset in the UI and
    new data shows as a new digest. Its source is the training annotation file (absolute
    path, as ``{"uri": ...}``: MLflow's source form for a local file). Logging again
    (a resumed job) adds nothing: MLflow keeps one input per (name, digest) and run.
    """
    from mlflow.entities import Dataset, DatasetInput, InputTag

    from benchmark.datasets import get_spec

    # MLflow's form for a local file (what its LocalArtifactDatasetSource writes)
    source = json.dumps({"uri": str(Path(annotations).resolve())})
    dataset = Dataset(name=f"{cell.dataset}/{cell.modality}", digest=data_version,
                      source_type="local", source=source)
    tags = [InputTag("mlflow.data.context", "training"),
            InputTag("split", get_spec(cell.dataset).train_split),
            InputTag("modality", cell.modality)]
    with_retry(_client().log_inputs, run_id, datasets=[DatasetInput(dataset, tags)])
    set_tags(run_id, source_tags(commit, source_name))


def source_tags(commit: str, source_name: str = SOURCE_NAME) -> dict[str, str]:
    """MLflow's source tags for a local run at ``commit`` (``git_commit()``'s form: a sha,
    ``<sha>-dirty`` or ``unknown``).

    The commit tag holds the bare sha (MLflow links it to the repository) and
    ``mlflow.source.git.dirty`` says whether the working tree had uncommitted changes. The
    commit and repository tags are left out when there is no commit or no remote.
    """
    tags = {"mlflow.source.name": source_name, "mlflow.source.type": "LOCAL"}
    sha, dirty = commit.removesuffix("-dirty"), commit.endswith("-dirty")
    if sha and sha != "unknown":
        tags["mlflow.source.git.commit"] = sha
        tags["mlflow.source.git.dirty"] = str(dirty).lower()
        url = git_remote_url()
        if url:
            tags["mlflow.source.git.repoURL"] = url
    return tags


def git_remote_url(cwd: Path | None = None) -> str | None:
    """The URL of the checkout's ``origin`` remote (else its first remote), without any
    credentials written into it; None outside a git checkout or without a remote."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              check=True).stdout.strip()

    try:
        remotes = git("remote").split()
        if not remotes:
            return None
        url = git("remote", "get-url", "origin" if "origin" in remotes else remotes[0])
    except (OSError, subprocess.CalledProcessError):
        return None
    return strip_credentials(url) or None


def strip_credentials(url: str) -> str:
    """``https://user:token@host/repo`` -> ``https://host/repo``: a token in a remote's URL
    must not end up in a tracking store others read. scp-style ``git@host:repo`` is kept
    (``git`` is no secret)."""
    parts = urlsplit(url)
    if not parts.scheme or "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
