"""Grading many submissions: one nbgrader autograde process per (student, assignment), run by a
local pool of workers or by a Dask cluster, results written as each finishes, resumable.

Why one process per submission: nbgrader grades a batch sequentially in one process, and one
submission can still crash that process; separate processes keep every other student safe and let
the work spread over cores or machines. The gradebook is SQLite in WAL mode with a long lock
timeout, so concurrent processes take turns writing their grades (each write is milliseconds; the
minutes go to the kernels, which hold no lock).
"""
from __future__ import annotations

import hashlib
import sqlite3
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path



def enable_wal(db: Path) -> None:
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA journal_mode=WAL")


def grade_task(student: str, assignment: str, work: str, extra: tuple = ()) -> dict:
    """Autograde one submission already in <work>/submitted/. Runs on a local thread or a Dask worker
    (which must see the same repository and work folder, e.g. on a shared filesystem)."""
    from .nbgrader_run import nbgrader
    t0 = time.monotonic()
    proc = nbgrader("autograde", assignment, f"--student={student}", "--force", *extra,
                    work=Path(work), check=False)
    report = Path(work) / "reports" / assignment / f"{student}.json"
    return {"student": student, "assignment": assignment, "ok": report.is_file(),
            "returncode": proc.returncode, "seconds": time.monotonic() - t0,
            "log": (proc.stdout + proc.stderr)[-20000:]}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_done(work: Path, student: str, assignment: str, digest: str) -> bool:
    """Graded before, from the same file: an interrupted run started again skips it."""
    report = work / "reports" / assignment / f"{student}.json"
    manifest = work / "manifest" / assignment / f"{student}.sha256"
    return report.is_file() and manifest.is_file() and manifest.read_text().strip() == digest


def run_tasks(tasks, work: Path, workers: int, scheduler: str | None, extra=(), on_done=None):
    """Run grade_task for every (student, assignment) with a progress bar and an ETA."""
    from tqdm import tqdm
    results = []
    bar = tqdm(total=len(tasks), unit="notebook", desc="grading", file=sys.stderr,
               disable=not tasks, dynamic_ncols=True)

    def collect(finished_futures):
        for future in finished_futures:
            result = future.result()
            results.append(result)
            if on_done:
                on_done(result)
            bar.update(1)

    if scheduler:
        from distributed import Client, as_completed as dask_completed
        with Client(scheduler, timeout="30s") as client:
            collect(dask_completed([client.submit(grade_task, s, a, str(work), tuple(extra), pure=False,
                                                  key=f"grade-{a}-{s}-{time.time_ns()}") for s, a in tasks]))
    else:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            collect(as_completed([pool.submit(grade_task, s, a, str(work), tuple(extra)) for s, a in tasks]))
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
