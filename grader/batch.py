"""Grading many submissions: one task per (student, assignment), run by a local pool of worker
threads or by a Dask cluster, results written as each finishes, resumable.

Each worker thread owns a long-lived nbgrader process (grader/worker.py) and hands it one task at
a time: nbgrader, torch and the reference solutions are loaded once per worker, not once per
notebook. The student's code runs in a fresh sandboxed kernel per notebook, never in that process;
should the process die or hang anyway, that one task is recorded as failed (for review) and a fresh
process takes the next. The gradebook is SQLite in WAL mode with a long lock timeout, so concurrent
processes take turns writing their grades (each write is milliseconds; the seconds go to the
kernels, which hold no lock).
"""
from __future__ import annotations

import atexit
import hashlib
import json
import os
import sqlite3
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path



def enable_wal(db: Path) -> None:
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA journal_mode=WAL")


class WorkerProcess:
    """One `python -m grader.worker` process (nbgrader started once) grading tasks one at a time."""

    MAX_TASKS = 100  # then a fresh process, so that nothing accumulates over a long run

    def __init__(self, work: Path, extra=(), command=None):
        import subprocess
        self.tasks = 0
        from .nbgrader_run import env_for
        from . import course
        self.work = Path(work)
        logs = self.work / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.stderr_path = logs / f"worker-{os.getpid()}-{threading.get_ident()}-{time.time_ns()}.log"
        self._stderr = open(self.stderr_path, "w+")
        command = command or [sys.executable, "-m", "grader.worker", *extra]
        self.proc = subprocess.Popen(command, cwd=course.REPO,
                                     env=env_for(self.work), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, text=True, bufsize=1)

    def alive(self) -> bool:
        return self.proc.poll() is None and self.tasks < self.MAX_TASKS

    def grade(self, student: str, assignment: str, timeout: float) -> tuple[bool, str]:
        return self.request({"student": student, "assignment": assignment}, timeout)

    def request(self, task: dict, timeout: float) -> tuple[bool, str]:
        """Send one task; (ok, log) when its reply comes, (False, why) when the process died or hung."""
        import select
        self.tasks += 1
        ready = []
        try:
            self.proc.stdin.write(json.dumps(task) + "\n")
            self.proc.stdin.flush()
            ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
            line = self.proc.stdout.readline() if ready else ""
        except OSError:  # the process is gone: reported below
            line = None
        if not line:
            if ready or line is None:  # end of file: the process is exiting; give it a moment to finish
                try:
                    self.proc.wait(timeout=10)
                except Exception:  # noqa: BLE001 - still running: stopped below
                    pass
            if self.proc.poll() is None:
                why = f"did not answer within {timeout:g} s and was stopped"
                self.proc.kill()
                self.proc.wait()
            else:
                why = f"exited with code {self.proc.returncode}"
            tail = self.stderr_tail()
            self.close()
            return False, f"the grading process {why}\n{tail}"
        reply = json.loads(line)
        return bool(reply.get("ok")), reply.get("log", "")

    def stderr_tail(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")[-20000:]

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except Exception:  # noqa: BLE001 - a stuck process is killed below
                pass
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()
        if self.proc.returncode == 0:
            self.stderr_path.unlink(missing_ok=True)


_local = threading.local()
_all_workers: list[WorkerProcess] = []
_workers_lock = threading.Lock()


def _worker_for(work: Path, extra: tuple) -> WorkerProcess:
    key = (str(work), tuple(extra))
    pool = getattr(_local, "workers", None)
    if pool is None:
        pool = _local.workers = {}
    worker = pool.get(key)
    if worker is None or not worker.alive():
        if worker is not None:
            worker.close()
        worker = pool[key] = WorkerProcess(work, extra)
        with _workers_lock:
            _all_workers.append(worker)
    return worker


def close_workers():
    with _workers_lock:
        workers, _all_workers[:] = list(_all_workers), []
    for worker in workers:
        worker.close()


atexit.register(close_workers)


def grade_task(student: str, assignment: str, work: str, extra: tuple = (), timeout: float = 1800.0) -> dict:
    """Autograde one submission already in <work>/submitted/, in this thread's long-lived nbgrader
    process. Runs on a local thread or a Dask worker (which must see the same repository and work
    folder, e.g. on a shared filesystem)."""
    t0 = time.monotonic()
    ok, log = _worker_for(Path(work), tuple(extra)).grade(student, assignment, timeout)
    report = Path(work) / "reports" / assignment / f"{student}.json"
    return {"student": student, "assignment": assignment, "ok": ok and report.is_file(),
            "seconds": time.monotonic() - t0, "log": log}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_done(work: Path, student: str, assignment: str, digest: str) -> bool:
    """Graded before, from the same file: an interrupted run started again skips it."""
    report = work / "reports" / assignment / f"{student}.json"
    manifest = work / "manifest" / assignment / f"{student}.sha256"
    return report.is_file() and manifest.is_file() and manifest.read_text().strip() == digest


def preflight_task(assignment: str, work: str, extra: tuple = (), timeout: float = 1800.0) -> dict:
    """Grade the reference notebook of `assignment` in this thread's grading process, exactly as a
    submission would be (same sandbox, same hidden checks): it must earn full marks."""
    ok, log = _worker_for(Path(work), tuple(extra)).request({"preflight": assignment}, timeout)
    return {"assignment": assignment, "ok": ok, "log": log}


class Pool:
    """Where tasks run: local threads, each driving its own long-lived grading process, or a Dask
    cluster. The preflight and the grading share one pool, so the processes (and the reference
    solutions they loaded) started for the one serve the other."""

    def __init__(self, workers: int, scheduler: str | None = None):
        self.workers, self.scheduler = max(1, workers), scheduler
        self._executor = self._client = None

    def __enter__(self):
        if self.scheduler:
            from distributed import Client
            self._client = Client(self.scheduler, timeout="30s")
        else:
            self._executor = ThreadPoolExecutor(max_workers=self.workers)
        return self

    def __exit__(self, *exc):
        if self._client is not None:
            self._client.close()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            close_workers()
        return False

    def run(self, fn, calls, on_result):
        """fn(*args) for every args in calls; on_result(result) as each finishes."""
        if self._client is not None:
            from distributed import as_completed as dask_completed
            futures = [self._client.submit(fn, *args, pure=False, key=f"{fn.__name__}-{args[0]}-{time.time_ns()}-{i}")
                       for i, args in enumerate(calls)]
            for future in dask_completed(futures):
                on_result(future.result())
        else:
            for future in as_completed([self._executor.submit(fn, *args) for args in calls]):
                on_result(future.result())


def run_preflight(assignments, work: Path, pool: Pool, extra=()) -> list[str]:
    """The reference of every assignment, graded on the pool's workers; a line per problem."""
    problems = []

    def done(result):
        if not result["ok"]:
            problems.append(result["log"].strip() or f"the preflight of {result['assignment']} failed")
    pool.run(preflight_task, [(a, str(work), tuple(extra)) for a in assignments], done)
    return problems


def run_tasks(tasks, work: Path, workers: int, scheduler: str | None, extra=(), on_done=None, pool=None):
    """Run grade_task for every (student, assignment) with a progress bar and an ETA."""
    from tqdm import tqdm
    if pool is None:
        with Pool(workers, scheduler) as own:
            return run_tasks(tasks, work, workers, scheduler, extra, on_done, own)
    results = []
    bar = tqdm(total=len(tasks), unit="notebook", desc="grading", file=sys.stderr,
               disable=not tasks, dynamic_ncols=True)

    def collect(result):
        results.append(result)
        if on_done:
            on_done(result)
        bar.update(1)

    try:
        pool.run(grade_task, [(s, a, str(work), tuple(extra)) for s, a in tasks], collect)
    finally:
        bar.close()
    return results


def plot_summary(work: Path, assignment: str) -> Path | None:
    """Per-part outcome counts and the distribution of total scores, saved as a PNG."""
    import json
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    reports = [json.loads(p.read_text()) for p in sorted((work / "reports" / assignment).glob("*.json"))]
    if not reports:
        return None
    parts = [p["part"] for p in reports[0]["parts"]]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
    bottom = [0] * len(parts)
    for status, colour in (("passed", "tab:green"), ("failed", "tab:red"), ("needs_review", "tab:orange")):
        counts = [sum(1 for r in reports for p in r["parts"] if p["part"] == part and p["status"] == status)
                  for part in parts]
        ax1.bar(parts, counts, bottom=bottom, color=colour, label=status.replace("_", " "))
        bottom = [b + c for b, c in zip(bottom, counts)]
    ax1.set_ylabel("submissions")
    ax1.set_title(f"{assignment}: outcome per part")
    ax1.legend()
    ax1.tick_params(axis="x", rotation=30)
    totals = [r["score"] for r in reports]
    ax2.hist(totals, bins=min(20, max(5, len(set(totals)))), color="tab:blue")
    ax2.set_xlabel(f"total score (of {reports[0]['max_score']:g})")
    ax2.set_ylabel("submissions")
    ax2.set_title(f"{assignment}: total scores, {len(reports)} submissions")
    fig.tight_layout()
    out = work / "summary" / f"{assignment}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
