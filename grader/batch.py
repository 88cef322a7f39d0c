"""Grading many submissions: one task per (student, assignment), run by a local pool of worker
threads or by a Dask cluster, results written as each finishes, resumable.

Each worker thread owns a long-lived nbgrader process (grader/worker.py) and hands it one task at
a time: nbgrader, torch and the reference solutions are loaded once per worker, not once per
notebook. The student's code runs in a fresh sandboxed kernel per notebook, never in that process;
should the process die or hang anyway, that one task is recorded as failed (for review) and a fresh
process takes the next. The gradebook is SQLite in WAL mode with a long lock timeout, so concurrent
processes take turns writing their grades (each write is milliseconds; the seconds go to the
kernels, which hold no lock).

No part is scored `failed` unless the reference solution of its assignment earned full marks in this
run, in the same sandbox, with the same hidden checks (grade_verified): the reference of an assignment
is graded, on the same workers and ahead of the waiting notebooks, as soon as a submission of it loses
a part, and a batch in which nobody lost a part grades no reference at all.
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
    t0 = time.monotonic()
    ok, log = _worker_for(Path(work), tuple(extra)).request({"preflight": assignment}, timeout)
    return {"assignment": assignment, "ok": ok, "log": log, "verify": True, "seconds": time.monotonic() - t0}


VERIFY_PRIORITY = 100  # a reference to verify runs before every grading task still waiting


class _StudentQueue:
    """The local pool's queue of (rank, seq, fn, args): the lowest rank first, then, among the tasks of that
    rank, one of the student whose notebook this worker graded last, else one of a student no other
    worker is grading, else the oldest. A student's notebooks then go to one grading process, whose fork
    server starts all their kernels (grader/forkserver.py), rather than to every worker, each starting a
    fork server for that student. A task's student is its first argument (a reference to verify is
    named by its assignment, and has a rank of its own)."""

    def __init__(self):
        self._items = []  # sorted by (rank, seq)
        self._last = {}   # worker -> the student of the task it took last
        self._busy = set()  # the workers on a task
        self._cond = threading.Condition()

    def put(self, item):
        import bisect
        with self._cond:
            bisect.insort(self._items, item, key=lambda i: (i[0], i[1]))
            self._cond.notify()

    def get(self, worker):
        """The next task for `worker` (waits for one)."""
        def student(item):
            return item[3][0] if item[3] else None
        with self._cond:
            self._busy.discard(worker)
            while not self._items:
                self._cond.wait()
            rank = self._items[0][0]
            candidates = [i for i in self._items if i[0] == rank]
            others = {self._last.get(w) for w in self._busy}
            pick = next((i for i in candidates if student(i) == self._last.get(worker)), None) \
                or next((i for i in candidates if student(i) not in others), candidates[0])
            self._items.remove(pick)
            self._last[worker] = student(pick)
            self._busy.add(worker)
            return pick

    def empty(self):
        with self._cond:
            return not self._items

    def get_nowait(self):
        import queue
        with self._cond:
            if not self._items:
                raise queue.Empty
            return self._items.pop(0)


class Pool:
    """Where tasks run: local threads, each driving its own long-lived grading process, or a Dask
    cluster. Tasks wait in a priority queue (`priority=` on Dask), so a reference to verify, submitted
    while the class is being graded, runs next on the same processes (whose nbgrader, torch and
    reference solutions are already loaded) instead of after the whole class. Locally, a worker keeps
    to one student's notebooks while it can (`_StudentQueue`).

    warm=(work, extra): each local thread starts its grading process at once (nbgrader and torch then
    load while the release runs) rather than on its first task."""

    _STOP = object()

    def __init__(self, workers: int, scheduler: str | None = None, warm: tuple | None = None):
        self.workers, self.scheduler, self.warm = max(1, workers), scheduler, warm
        self._client = None
        self._threads = []
        self._seq = 0
        self._pending = 0       # submitted, result not yet handed out (local threads)
        self._futures = []      # Dask
        self._closing = False

    def __enter__(self):
        import queue
        if self.scheduler:
            from distributed import Client, as_completed as dask_completed
            self._client = Client(self.scheduler, timeout="30s")
            self._completed = dask_completed(loop=self._client.loop)
        else:
            self._queue, self._done = _StudentQueue(), queue.Queue()
            self._threads = [threading.Thread(target=self._serve, name=f"grading-{i}", daemon=True)
                             for i in range(self.workers)]
            for thread in self._threads:
                thread.start()
        return self

    def __exit__(self, *exc):
        if self._client is not None:
            self._client.close()
        if self._threads:
            self._closing = True
            self.cancel_queued()
            for _ in self._threads:
                self._put(float("inf"), self._STOP, ())
            for thread in self._threads:
                thread.join()
            close_workers()
        return False

    def _put(self, rank, fn, args):
        self._seq += 1
        self._queue.put((rank, self._seq, fn, args))

    def _serve(self):
        if self.warm is not None:
            try:
                _worker_for(Path(self.warm[0]), tuple(self.warm[1]))
            except Exception:  # noqa: BLE001 - the first task starts it again and reports why
                pass
        handled = threading.Event()
        while True:
            _, _, fn, args = self._queue.get(threading.current_thread().name)
            if fn is self._STOP:
                return
            handled.clear()
            try:
                self._done.put((True, fn(*args), handled))
            except BaseException as err:  # noqa: BLE001 - raised in the thread that reads results
                self._done.put((False, err, handled))
            # the next task is taken once the reader has handled this result: a reference it queues, or
            # a stop it decides, comes before whatever waits (milliseconds, against seconds per task)
            while not handled.wait(0.5) and not self._closing:
                pass

    def submit(self, fn, *args, priority: int = 0):
        """Queue fn(*args); among waiting tasks, the highest priority starts first (then the oldest)."""
        if self._client is not None:
            self._seq += 1
            future = self._client.submit(fn, *args, pure=False, priority=priority,
                                         key=f"{fn.__name__}-{args[0]}-{time.time_ns()}-{self._seq}")
            self._futures.append(future)
            self._completed.add(future)
        else:
            self._pending += 1
            self._put(-priority, fn, args)

    def results(self):
        """Each task's result as it finishes, including tasks submitted while iterating."""
        if self._client is not None:
            for future in self._completed:
                if not future.cancelled():
                    yield future.result()
            return
        while self._pending > 0:
            ok, value, handled = self._done.get()
            self._pending -= 1
            try:
                if not ok:
                    raise value
                yield value
            finally:
                handled.set()

    def cancel_queued(self) -> int:
        """Drop the tasks that have not started (those running finish and are handed out); how many."""
        import queue
        if self._client is not None:
            running = {key for keys in self._client.processing().values() for key in keys}
            waiting = [f for f in self._futures if not f.done() and f.key not in running]
            self._client.cancel(waiting)
            return len(waiting)
        dropped, keep = 0, []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item[2] is self._STOP:
                keep.append(item)
            else:
                dropped += 1
        for item in keep:
            self._queue.put(item)
        self._pending -= dropped
        return dropped


def lost_a_part(work: Path, student: str, assignment: str) -> bool:
    """The report of this run scores some part `failed` (the student's fault, if the course is sound)."""
    try:
        report = json.loads((Path(work) / "reports" / assignment / f"{student}.json").read_text())
    except (OSError, ValueError):
        return False
    return any(p.get("status") == "failed" for p in report.get("parts", []))


def withdraw(work: Path, student: str, assignment: str):
    """Undo what this run scored for one submission: its report, manifest, feedback, nbgrader's
    autograded copy and its grades in the gradebook. A rerun then grades it again."""
    import shutil
    work = Path(work)
    (work / "manifest" / assignment / f"{student}.sha256").unlink(missing_ok=True)  # first: a rerun regrades
    (work / "reports" / assignment / f"{student}.json").unlink(missing_ok=True)
    for folder in (work / "feedback" / student / assignment, work / "autograded" / student / assignment):
        shutil.rmtree(folder, ignore_errors=True)
    db = work / "gradebook.db"
    if db.is_file():
        from nbgrader.api import Gradebook, MissingEntry
        with Gradebook(f"sqlite:///{db}", "training-neural-networks") as gb:
            try:
                gb.remove_submission(assignment, student)
            except MissingEntry:
                pass


class Outcome:
    """What a verified batch did: results of the grading tasks, the references verified (seconds of
    each, by assignment), how many submissions lost a part per assignment, and, when a reference did not
    earn full marks, the problems and the submissions withdrawn."""

    def __init__(self):
        self.results, self.verified, self.lost = [], {}, {}
        self.problems, self.refused, self.withdrawn = [], set(), []
        self.checked = []  # every reference graded: [assignment, earned full marks, seconds]

    def line(self) -> str:
        """One line: which references were verified, and why."""
        def lost(a):
            n = self.lost.get(a, 0)
            return f"{n} submission{'s' if n != 1 else ''} lost {'parts' if n != 1 else 'a part'}"
        if not self.lost:
            return "no submission lost a part: no reference needed"
        said = [f"reference of {a} verified: {lost(a)}" for a in sorted(self.verified)]
        said += [f"reference of {a} NOT verified: {lost(a)}" for a in sorted(set(self.lost) - set(self.verified))]
        return "; ".join(said) + (f" ({sum(self.verified.values()):.1f} s)" if self.verified else "")


def grade_verified(tasks, work: Path, pool: Pool, extra=(), verify=True, on_graded=None, digests=None,
                   grade=grade_task, check_reference=preflight_task) -> Outcome:
    """Grade every (student, assignment) of `tasks` on the pool, verifying references on demand.

    The invariant: no part is scored `failed` unless the reference solution of its assignment earned
    full marks in this run, in the same sandbox, with the same hidden checks. A course fault can remove
    the evidence of a correct function but never fake it, so a reference only matters for the parts a
    student lost: as soon as a report of assignment A scores a part `failed`, the reference of A is
    graded (once per run, on the same grading processes), ahead of every grading task still waiting. A
    batch in which nobody lost a part grades no reference.

    A submission's manifest (grader/batch.py is_done: "graded, skip it on a rerun") is written only once
    its report is final: no part failed, or its reference verified. A report waiting for its reference
    has none, so a run interrupted meanwhile grades it again. When a reference does not earn full marks,
    the tasks not started are dropped, the running ones finish, and withdrawn are: everything this run
    scored for that assignment, and every report still waiting for a verification. What is final of
    other assignments is kept (a rerun skips it).

    verify=False (`--no-preflight`): no reference is graded and every report is final as it is.
    digests: (student, assignment) -> the SHA-256 of the submitted file, written as its manifest."""
    work = Path(work)
    out, held, asked = Outcome(), {}, set()
    digests = digests or {}

    def final(student, a):
        if (student, a) in digests:
            manifest = work / "manifest" / a / f"{student}.sha256"
            manifest.parent.mkdir(parents=True, exist_ok=True)
            manifest.write_text(digests[(student, a)])

    for student, a in tasks:
        pool.submit(grade, student, a, str(work), tuple(extra))
    for result in pool.results():
        a = result["assignment"]
        if result.get("unreleased"):
            continue  # its assignment's release failed: not graded, nothing recorded (the caller reports it)
        if result.get("verify"):
            out.checked.append([a, bool(result["ok"]), round(result["seconds"], 3)])
            if result["ok"]:
                out.verified[a] = result["seconds"]
                for student in held.pop(a, []):
                    final(student, a)
            else:
                out.problems.append(result["log"].strip() or f"the reference solution of {a} could not be graded")
                if not out.refused:
                    pool.cancel_queued()
                out.refused.add(a)
            continue
        student = result["student"]
        out.results.append(result)
        if on_graded:
            on_graded(result)
        if not lost_a_part(work, student, a):
            final(student, a)
            continue
        out.lost[a] = out.lost.get(a, 0) + 1
        if not verify or a in out.verified:
            final(student, a)
            continue
        held.setdefault(a, []).append(student)
        if a not in asked and not out.refused:
            asked.add(a)
            pool.submit(check_reference, a, str(work), tuple(extra), priority=VERIFY_PRIORITY)
    if out.refused:
        graded_here = {(r["student"], r["assignment"]) for r in out.results}
        doomed = {(s, a) for s, a in graded_here if a in out.refused}
        doomed |= {(s, a) for a, students in held.items() for s in students}
        for student, a in sorted(doomed):
            withdraw(work, student, a)
        out.withdrawn = sorted(doomed)
    return out


def run_tasks(tasks, work: Path, workers: int, scheduler: str | None, extra=(), on_done=None, pool=None,
              verify=False, digests=None, grade=grade_task) -> Outcome:
    """grade_verified for every (student, assignment), with a progress bar and an ETA."""
    from tqdm import tqdm
    if pool is None:
        with Pool(workers, scheduler) as own:
            return run_tasks(tasks, work, workers, scheduler, extra, on_done, own, verify, digests, grade)
    bar = tqdm(total=len(tasks), unit="notebook", desc="grading", file=sys.stderr,
               disable=not tasks, dynamic_ncols=True)

    def collect(result):
        if on_done:
            on_done(result)
        bar.update(1)

    try:
        return grade_verified(tasks, work, pool, extra, verify=verify, on_graded=collect, digests=digests,
                              grade=grade)
    finally:
        bar.close()


def _reports_state(work: Path, assignment: str):
    """What an assignment's summary picture is drawn from: its reports' names, sizes and times."""
    return sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns)
                  for p in (work / "reports" / assignment).glob("*.json"))


class SummaryPlotter:
    """Draws each assignment's summary picture (`plot_summary`) in a background thread as soon as its
    last submission is graded, while the others are still being graded, instead of all of them after
    the grading. `finish` returns the pictures, redrawing any whose reports changed since it was drawn
    (a zero recorded afterwards, a renamed notebook noted); `discard` removes what it drew (a run
    refused after grading, whose scores were withdrawn). Only this thread draws until `finish`."""

    def __init__(self, work: Path, tasks):
        import queue
        self.work = Path(work)
        self.left = {}
        for _, assignment in tasks:
            self.left[assignment] = self.left.get(assignment, 0) + 1
        self.drawn = {}  # assignment -> (picture, the reports it was drawn from)
        self._queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="summary plots", daemon=True)
        self._thread.start()

    def graded(self, result):
        """A task's result: when it is the last of its assignment, draw that assignment's picture."""
        assignment = result["assignment"]
        if assignment in self.left:
            self.left[assignment] -= 1
            if self.left[assignment] == 0:
                self._queue.put(assignment)

    def _run(self):
        import matplotlib  # noqa: F401 - imported here, while the grading runs
        while True:
            assignment = self._queue.get()
            if assignment is None:
                return
            state = _reports_state(self.work, assignment)
            try:
                self.drawn[assignment] = (plot_summary(self.work, assignment), state)
            except Exception:  # noqa: BLE001 - drawn again by finish, where a failure is reported
                pass

    def _stop(self):
        self._queue.put(None)
        self._thread.join()

    def finish(self, assignments) -> list:
        self._stop()
        pictures = []
        for assignment in assignments:
            picture, state = self.drawn.get(assignment, (None, None))
            if state is None or state != _reports_state(self.work, assignment):
                picture = plot_summary(self.work, assignment)
            pictures.append(picture)
        return pictures

    def discard(self):
        self._stop()
        for picture, _ in self.drawn.values():
            if picture is not None:
                picture.unlink(missing_ok=True)


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
