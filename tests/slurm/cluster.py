"""A real single-node SLURM cluster on loopback, for tests (Debian ``slurm-wlm`` + ``munge``).

``SlurmCluster.start()`` writes ``/etc/slurm/slurm.conf`` and ``gres.conf`` (the job step
strips ``SLURM_CONF``, so the configuration must be at the default path), starts ``munged``
when none is running, then ``slurmctld`` and ``slurmd`` in the foreground (``-D``) as child
processes, and waits until the node is idle. ``stop()`` cancels what is left, ends only the
daemons it started (by PID), and puts back any ``/etc/slurm`` file it replaced.

The cluster: one node (``hostname -s``, the CPUs and memory ``slurmd -C`` reports, two fake
GPUs whose device files are character devices like ``/dev/null``), one default partition
``mpbench`` and a second partition ``mpbench-cpu`` on the same node (for CPU-only jobs), a
third ``mpbench-urgent`` of a higher priority tier whose jobs preempt the others'
(``preempt/partition_prio``, ``PreemptMode=REQUEUE``, 20 s ``GraceTime``: SIGTERM, then the
job goes back to the queue under its id),
``select/cons_tres``, ``proctrack/linuxproc`` (no cgroups), no slurmdbd
(``accounting_storage/none``; finished jobs are written to ``jobcomp.log`` by
``jobcomp/filetxt`` and stay visible to ``scontrol``/``squeue`` for ``MinJobAge`` seconds).

A machine-wide lock and PID files under ``/run/mpbench-test-slurm`` tell our daemons from
foreign ones: daemons left by a crashed earlier run of this module (same PID, same start time,
config written by us) are stopped; any other ``slurmctld``/``slurmd`` makes ``start()`` raise
``ClusterUnavailable`` with the reason, and a test then skips.

Also usable by hand: ``python -m tests.slurm.cluster up|down|status``.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ETC = Path("/etc/slurm")
MANAGED = ("slurm.conf", "gres.conf")
BACKUP_SUFFIX = ".mpbench-backup"
MARKER = "# mpbench-test-cluster"
RUN = Path("/run/mpbench-test-slurm") if Path("/run").is_dir() else Path(
    tempfile.gettempdir()) / "mpbench-test-slurm"
PARTITION = "mpbench"
CPU_PARTITION = "mpbench-cpu"
URGENT_PARTITION = "mpbench-urgent"
ACCOUNT = "mpbench"
GPUS = 2
MIN_JOB_AGE = 900  # s: finished jobs stay in squeue/scontrol (the plugin polls with squeue)
BINARIES = ("slurmctld", "slurmd", "munged", "munge", "unmunge", "sbatch", "squeue", "sinfo",
            "scontrol", "scancel")
SLURM_DAEMONS = ("slurmctld", "slurmd")


class ClusterUnavailable(RuntimeError):
    """The cluster cannot be started here (not root, binaries missing, foreign daemons)."""


def _run(cmd: list[str], timeout: float = 30, check: bool = True, **kw) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: "
                           f"{(proc.stdout + proc.stderr).strip()}")
    return proc.stdout


def missing_binaries() -> list[str]:
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return [b for b in BINARIES if shutil.which(b, path=path) is None]


def unavailable_reason() -> str | None:
    """Why a cluster cannot be started on this machine, or None."""
    if os.name != "posix" or os.geteuid() != 0:
        return ("the SLURM test cluster needs root (it writes /etc/slurm/slurm.conf and runs "
                "slurmctld/slurmd/munged)")
    missing = missing_binaries()
    if missing:
        return (f"SLURM/munge binaries missing ({', '.join(missing)}): `make install` as root "
                "installs the Debian packages slurm-wlm and munge (APT_PACKAGES)")
    return None


def _start_time(pid: int) -> str | None:
    """Process start time (clock ticks since boot) from /proc, to guard against PID reuse."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[19]


def _comm(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def _alive(pid: int) -> bool:
    """Running (a zombie, ended but not yet reaped by its parent, is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _pids_named(names: tuple[str, ...]) -> dict[int, str]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            pid = int(entry.name)
            comm = _comm(pid)
            if comm in names and _alive(pid):
                found[pid] = comm
    return found


def _end(pid: int, wait: float = 20) -> None:
    """SIGTERM, then SIGKILL after ``wait`` seconds, one PID."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _make_fake_gpu(path: Path) -> None:
    """A character device like /dev/null (1,3): slurmd needs File= for GPUs; fall back to a
    plain file where mknod is not permitted."""
    if path.exists() or path.is_symlink():
        path.unlink()
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except OSError:
        path.touch()


@dataclass
class SlurmCluster:
    root: Path
    node: str = field(default_factory=lambda: socket.gethostname().split(".")[0])
    partition: str = PARTITION
    cpu_partition: str = CPU_PARTITION
    #: a higher-priority partition whose jobs preempt (requeue) the others' (preempt/partition_prio)
    urgent_partition: str = URGENT_PARTITION
    account: str = ACCOUNT
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    started_munged: bool = False
    _lock_fd: int | None = None
    _t0: float = field(default_factory=time.monotonic)

    # -- paths -------------------------------------------------------------------------
    @property
    def ctld_log(self) -> Path:
        return self.root / "slurmctld.log"

    @property
    def slurmd_log(self) -> Path:
        return self.root / "slurmd.log"

    @property
    def jobcomp_log(self) -> Path:
        return self.root / "jobcomp.log"

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, timeout: float = 90) -> SlurmCluster:
        reason = unavailable_reason()
        if reason:
            raise ClusterUnavailable(reason)
        self.root.mkdir(parents=True, exist_ok=True)
        RUN.mkdir(parents=True, exist_ok=True)
        self._lock()
        try:
            self._stop_stale()
            foreign = _pids_named(SLURM_DAEMONS)
            if foreign:
                raise ClusterUnavailable(
                    "SLURM daemons not started by this test are running ("
                    + ", ".join(f"{c} pid {p}" for p, c in sorted(foreign.items()))
                    + "); refusing to replace their configuration. Stop them, or run the "
                    "SLURM tests on a machine without a SLURM installation in use")
            self._restore_config()  # files left by a run of this module that was killed
            self._start_munge()
            self._write_config()
            self._spawn("slurmctld", ["slurmctld", "-D", "-c", "-i"], self.root / "slurmctld.out")
            self._wait(lambda: _run(["scontrol", "ping"], check=False).find("UP") >= 0,
                       timeout, "slurmctld to answer `scontrol ping`")
            self._spawn("slurmd", ["slurmd", "-D", "-N", self.node], self.root / "slurmd.out")
            self._wait(self._node_idle, timeout, f"node {self.node} to become idle")
        except ClusterUnavailable:
            # raised before anything was changed: leave every file and process as it is
            for name, proc in self.procs.items():  # a munged we may have started
                _end(proc.pid)
                proc.wait(timeout=30)
                (RUN / f"{name}.json").unlink(missing_ok=True)
            self.procs.clear()
            self._unlock()
            raise
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Cancel remaining jobs, end our daemons (by PID), restore /etc/slurm."""
        if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
            _run(["scancel", "--partition", self.partitions],
                 check=False)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and self.jobs(states="PENDING,RUNNING,"
                                                             "COMPLETING,CONFIGURING"):
                time.sleep(0.5)
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.pop(name, None)
            if proc is not None:
                if proc.poll() is None:
                    _end(proc.pid)
                proc.wait(timeout=30)
            (RUN / f"{name}.json").unlink(missing_ok=True)
        self._restore_config()
        self._unlock()

    def __enter__(self) -> SlurmCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- queries -----------------------------------------------------------------------
    def jobs(self, states: str = "all") -> list[dict[str, str]]:
        """Jobs slurmctld still knows (finished ones for MinJobAge): id, name, state, comment."""
        out = _run(["squeue", "-h", "--states", states, "-o", "%i|%j|%T|%k"], check=False)
        rows = []
        for line in out.splitlines():
            parts = line.split("|", 3)
            if len(parts) == 4:
                rows.append(dict(zip(("id", "name", "state", "comment"), parts)))
        return rows

    def job(self, job_id: str | int) -> dict[str, str]:
        """``scontrol show job -o`` as a dict (empty once slurmctld forgot the job)."""
        out = _run(["scontrol", "show", "job", "-o", str(job_id)], check=False).strip()
        return dict(re.findall(r"(\w[\w/:]*)=(\S*)", out))

    def completed_jobs(self) -> dict[str, dict[str, str]]:
        """Every job that ended, from the jobcomp/filetxt log: {job id: fields}."""
        if not self.jobcomp_log.is_file():
            return {}
        done = {}
        for line in self.jobcomp_log.read_text().splitlines():
            fields = dict(re.findall(r"(\w+)=(\S*)", line))
            if "JobId" in fields:
                done[fields["JobId"]] = fields
        return done

    def logs(self, tail: int = 4000) -> str:
        return "\n".join(f"--- {p}\n{p.read_text(errors='replace')[-tail:]}"
                         for p in (self.ctld_log, self.slurmd_log, self.root / "slurmctld.out",
                                   self.root / "slurmd.out", self.root / "munged.log")
                         if p.is_file())

    # -- internals ---------------------------------------------------------------------
    def _lock(self) -> None:
        fd = os.open(RUN / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ClusterUnavailable(f"another test session holds {RUN / 'lock'} (its SLURM "
                                     "test cluster is in use)") from None
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def _stop_stale(self) -> None:
        """Daemons recorded by an earlier run of this module that did not stop them (it was
        killed): same PID, same start time and name as recorded. Nothing else is touched."""
        for record in sorted(RUN.glob("*.json")):
            try:
                info = json.loads(record.read_text())
            except (OSError, ValueError):
                record.unlink(missing_ok=True)
                continue
            pid = int(info["pid"])
            if _comm(pid) == info["comm"] and _start_time(pid) == info["start"]:
                if info["comm"] == "slurmctld":
                    _run(["scancel", "--partition", self.partitions],
                         check=False)
                    time.sleep(2)
                _end(pid)
            record.unlink(missing_ok=True)

    def _record(self, name: str, proc: subprocess.Popen) -> None:
        start = None
        for _ in range(50):
            start = _start_time(proc.pid)
            if start is not None and _comm(proc.pid) == name:
                break
            time.sleep(0.02)
        (RUN / f"{name}.json").write_text(json.dumps(
            {"pid": proc.pid, "comm": _comm(proc.pid) or name, "start": start}))

    def _spawn(self, name: str, cmd: list[str], out: Path, **kw) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_"))}
        with out.open("ab") as fh:
            proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=env, start_new_session=True,
                                    **kw)
        self.procs[name] = proc
        self._record(name, proc)
        time.sleep(0.3)
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited at once ({proc.returncode}):\n{self.logs()}")

    def _munge_works(self) -> bool:
        try:
            cred = subprocess.run(["munge", "-n"], capture_output=True, timeout=10)
            if cred.returncode != 0:
                return False
            return subprocess.run(["unmunge"], input=cred.stdout, capture_output=True,
                                  timeout=10).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False

    def _start_munge(self) -> None:
        if self._munge_works():
            return  # a munged is already serving the default socket: use it
        if _pids_named(("munged",)):
            raise ClusterUnavailable("a munged not started by this test is running but does not "
                                     "answer `munge -n | unmunge`")
        key = Path("/etc/munge/munge.key")
        if not key.is_file():
            key.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            _run(["mungekey", "--create", "--keyfile", str(key)])
            shutil.chown(key, "munge", "munge")
            shutil.chown(key.parent, "munge", "munge")
            key.chmod(0o400)
        for d, mode in ((Path("/run/munge"), 0o755), (Path("/var/lib/munge"), 0o700),
                        (Path("/var/log/munge"), 0o700)):
            d.mkdir(parents=True, exist_ok=True)
            shutil.chown(d, "munge", "munge")
            d.chmod(mode)
        self._spawn("munged", ["munged", "-F", "--log-file", str(self.root / "munged.log")],
                    self.root / "munged.out", user="munge", group="munge")
        self.procs["munged"].poll()
        self._wait(self._munge_works, 30, "munged to answer")
        self.started_munged = True

    def _node_line(self) -> str:
        """``slurmd -C`` (the node's real CPUs/topology/memory) with 90 % of the memory (so
        the node is not drained for reporting less) and the fake GPUs."""
        line = _run(["slurmd", "-C"]).splitlines()[0].strip()
        mem = int(re.search(r"RealMemory=(\d+)", line).group(1))
        line = re.sub(r"NodeName=\S+", f"NodeName={self.node}", line)
        line = re.sub(r"RealMemory=\d+", f"RealMemory={int(mem * 0.9)}", line)
        return f"{line} NodeAddr=127.0.0.1 Gres=gpu:{GPUS} State=UNKNOWN"

    @property
    def partitions(self) -> str:
        return f"{self.partition},{self.cpu_partition},{self.urgent_partition}"

    def slurm_conf(self) -> str:
        r = self.root
        return f"""{MARKER}: written by tests/slurm/cluster.py, removed at teardown
ClusterName=mpbenchtest
SlurmctldHost={self.node}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={self.ctld_log}
SlurmdLogFile={self.slurmd_log}
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={self.jobcomp_log}
MinJobAge={MIN_JOB_AGE}
KillWait=30
DefMemPerCPU=1024
ReturnToService=2
InactiveLimit=0
{self._node_line()}
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
JobRequeue=1
PartitionName=DEFAULT Nodes={self.node} MaxTime=INFINITE State=UP
PartitionName={self.partition} Default=YES PriorityTier=1 GraceTime=20
PartitionName={self.cpu_partition} Default=NO PriorityTier=1 GraceTime=20
PartitionName={self.urgent_partition} Default=NO PriorityTier=10 PreemptMode=OFF
"""

    def _write_config(self) -> None:
        for d in ("state", "spool", "dev"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        for i in range(GPUS):
            _make_fake_gpu(self.root / "dev" / f"fakegpu{i}")
        devices = f"{self.root}/dev/fakegpu[0-{GPUS - 1}]"
        files = {
            "slurm.conf": self.slurm_conf(),
            "gres.conf": f"{MARKER}: fake GPUs for the test cluster\n"
                         f"NodeName={self.node} Name=gpu File={devices}\n",
        }
        ETC.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            path = ETC / name
            backup = path.with_name(name + BACKUP_SUFFIX)
            if path.exists() and not backup.exists() and not _ours(path):
                path.rename(backup)
            path.write_text(text)

    def _restore_config(self) -> None:
        for name in MANAGED:
            path = ETC / name
            backup = path.with_name(name + BACKUP_SUFFIX)
            if path.exists() and _ours(path):
                path.unlink()
            if backup.exists() and not path.exists():
                backup.rename(path)

    def _node_idle(self) -> bool:
        for name in ("slurmctld", "slurmd"):
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}):\n{self.logs()}")
        state = _run(["sinfo", "-h", "-n", self.node, "-o", "%T"], check=False).strip()
        if state.startswith(("drain", "inval", "down")) and "slurmd" in self.procs:
            reason = _run(["scontrol", "show", "node", self.node], check=False)
            if "Reason=" in reason and time.monotonic() > self._t0 + 10:
                raise RuntimeError(f"node {self.node} is {state}:\n{reason}\n{self.logs()}")
        return state == "idle"

    def _wait(self, ok, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ok():
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}\n"
                                   f"{self.logs()}")
            time.sleep(0.5)


def _ours(path: Path) -> bool:
    try:
        with path.open() as fh:
            return fh.readline().startswith(MARKER)
    except OSError:
        return False


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "status"
    root = Path(os.environ.get("MPBENCH_SLURM_TEST_ROOT", "/tmp/mpbench-slurm-manual"))
    if cmd == "up":
        cluster = SlurmCluster(root)
        cluster.start()
        # hand over: the daemons keep running; `down` stops them by their recorded PIDs
        cluster.procs.clear()
        cluster._unlock()
        print(f"cluster up: node {cluster.node}, partition {cluster.partition}, logs in {root}")
        return 0
    if cmd == "down":
        cluster = SlurmCluster(root)
        RUN.mkdir(parents=True, exist_ok=True)
        cluster._lock()
        cluster._stop_stale()
        cluster._restore_config()
        cluster._unlock()
        print("cluster down")
        return 0
    print(_run(["sinfo"], check=False) + _run(["squeue"], check=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
