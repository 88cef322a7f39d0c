"""Grading a class in parallel: local workers, a real Dask cluster on loopback, resume and --force."""
import contextlib
import csv
import importlib.util
import os
import socket
import subprocess
import sys
import time

import pytest

import submissions as S
from conftest import REPO, full_scores
from test_mutants import load_mutants, mutate

TOTAL = sum(full_scores(S.A).values())


def batch(root):
    S.write(root, "ann", S.solution())
    S.write(root, "ben", S.release())
    mutants, _ = load_mutants(S.A)
    S.write(root, "cat", mutate(S.A, "softmax", next(iter(mutants["softmax"].values()))))


def autograde(root, work, *extra, timeout=1800):
    env = dict(os.environ, COURSE_WORK_DIR=str(work))
    proc = subprocess.run([sys.executable, "-m", "grader", "autograde", str(root), *extra], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(work / "grades.csv") as fh:
        return proc, {r["student_id"]: float(r["raw_score"]) for r in csv.DictReader(fh)}


EXPECTED = {"ann": TOTAL, "ben": 0.0, "cat": TOTAL - full_scores(S.A)["softmax"]}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def dask_cluster():
    """A Dask scheduler on loopback and a worker with two processes; yields the scheduler's address."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    bindir = os.path.dirname(sys.executable)
    scheduler = subprocess.Popen([os.path.join(bindir, "dask"), "scheduler", "--host", "127.0.0.1", "--port",
                                  str(port), "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, start_new_session=True)
    worker = subprocess.Popen([os.path.join(bindir, "dask"), "worker", address, "--nworkers", "2",
                               "--nthreads", "1", "--no-dashboard"], env=env, cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        # the scheduler listens (autograde's client would retry for 30 s; a busy machine may need more);
        # tasks submitted before the worker has joined wait for it at the scheduler
        deadline = time.monotonic() + 120
        while True:
            assert scheduler.poll() is None, "the Dask scheduler exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the Dask scheduler did not listen within 120 s"
                time.sleep(0.2)
        yield address
    finally:
        for p in (worker, scheduler):
            os.killpg(p.pid, 9)


@pytest.mark.slow
def test_two_workers_resume_and_force_on_a_dask_cluster(tmp_path):
    """Two local workers grade the class; a run started again after an interruption grades only what
    has no report; --force then grades everything again, on a real Dask cluster on loopback (with one
    local worker where distributed is not installed), with the same grades."""
    root, work = tmp_path / "subs", tmp_path / "work"
    batch(root)
    proc, grades = autograde(root, work, "--workers", "2")
    assert grades == EXPECTED
    assert "grading" in proc.stderr and "notebook" in proc.stderr  # the progress bar
    assert (work / "summary" / f"{S.A}.png").stat().st_size > 1000
    stamps = {p.name: p.stat().st_mtime_ns for p in (work / "reports" / S.A).glob("*.json")}
    # an interrupted run started again: ann's report vanished as if the run had stopped before her
    (work / "reports" / S.A / "ann.json").unlink()
    proc, grades = autograde(root, work, "--workers", "2")
    assert "2 submission(s) already graded" in proc.stdout and grades == EXPECTED
    for name in ("ben.json", "cat.json"):
        assert (work / "reports" / S.A / name).stat().st_mtime_ns == stamps[name]
    stamps = {p.name: p.stat().st_mtime_ns for p in (work / "reports" / S.A).glob("*.json")}
    if importlib.util.find_spec("distributed") is None:
        proc, grades = autograde(root, work, "--workers", "1", "--force")
    else:
        with dask_cluster() as address:
            proc, grades = autograde(root, work, "--scheduler", address, "--force")
    assert "already graded" not in proc.stdout and grades == EXPECTED
    for name, stamp in stamps.items():  # every report written again
        assert (work / "reports" / S.A / name).stat().st_mtime_ns != stamp, name
