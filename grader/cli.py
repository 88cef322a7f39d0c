"""`python -m grader`: release, check, autograde and bench, built on nbgrader's own commands."""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import tempfile
import time
import types
from pathlib import Path

from . import course
from .nbgrader_run import NbgraderFailed, nbgrader
from .submissions import collect, unpack

STATUS_MARK = {"passed": "ok", "failed": "FAIL", "needs_review": "REVIEW"}


def _print_table(rows, headers):
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    fmt = "  ".join("{:<%d}" % w for w in widths)
    print(fmt.format(*headers))
    print(fmt.format(*("-" * w for w in widths)))
    for row in rows:
        print(fmt.format(*row))


# -- release ------------------------------------------------------------------------------------
def release(assignments=None, into: Path | None = None, work: Path | None = None) -> list[Path]:
    """Regenerate the student release from solutions/ with nbgrader generate_assignment."""
    out = []
    for a in assignments or course.assignments():
        args = ["generate_assignment", a, "--force"]
        if into is not None:
            args.append(f"--CourseDirectory.release_directory={into}")
        nbgrader(*args, work=work)
        out.append((into or course.NOTEBOOKS) / a / course.source_notebook(a).name)
    return out


def cmd_release(args):
    for path in release(args.assignment or None):
        print(f"released {path.relative_to(course.REPO) if path.is_relative_to(course.REPO) else path}")
    return 0


# -- check (self-grading through the same nbgrader autograde as the instructor's) ---------------
def assignment_of(path: Path) -> str:
    for a in course.assignments():
        if course.source_notebook(a).name == path.name:
            return a
    raise SystemExit(f"{path}: not a notebook of this course (expected one of: "
                     + ", ".join(course.source_notebook(a).name for a in course.assignments()) + ")")


def release_key(assignment: str) -> str:
    """What a released gradebook depends on: the source notebook, the course config, nbgrader's version."""
    import hashlib
    import nbgrader
    digest = hashlib.sha256(course.source_notebook(assignment).read_bytes())
    digest.update(course.CONFIG.read_bytes())
    digest.update(nbgrader.__version__.encode())
    return f"{assignment}-{digest.hexdigest()[:16]}"


def prepared_work(assignment: str, work: Path):
    """Put a gradebook that knows `assignment` into the fresh work folder `work`. nbgrader's
    generate_assignment takes seconds (a Python start, the gradebook's migrations, the release); its
    gradebook is kept in COURSE_WORK_DIR/check-cache and copied when the source has not changed."""
    cached = course.WORK / "check-cache" / release_key(assignment) / "gradebook.db"
    if cached.is_file():
        shutil.copy(cached, work / "gradebook.db")
        return
    release([assignment], into=work / "release", work=work)
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.tmp")
    shutil.copy(work / "gradebook.db", partial)
    os.replace(partial, cached)


def grade_one(path: Path, seed=None, extra=()) -> dict:
    """Autograde one notebook in a throwaway course work folder; return its report."""
    assignment = assignment_of(path)
    with tempfile.TemporaryDirectory(prefix="course-check-") as tmp:
        work = Path(tmp)
        prepared_work(assignment, work)
        dest = work / "submitted" / "self" / assignment
        dest.mkdir(parents=True)
        shutil.copy(path, dest / path.name)
        args = ["autograde", assignment, "--student=self", "--force", *extra]
        if seed is not None:
            args.append(f"--GradeWithHiddenChecks.seed={seed}")
        proc = nbgrader(*args, work=work, check=False)
        report_file = work / "reports" / assignment / "self.json"
        if not report_file.is_file():
            raise NbgraderFailed("autograde", proc)
        return json.loads(report_file.read_text())


def print_report(report, path):
    print(f"\n{path}  (assignment {report['assignment']}, seed {report['seed']}, "
          f"sandbox {report['sandbox']}, {report['seconds']:.1f} s)")
    if report["sandbox"] != "bubblewrap":
        print("WARNING: graded WITHOUT the bubblewrap sandbox (resource limits only). "
              "Install bubblewrap for the isolation instructors use: sudo apt-get install bubblewrap")
    rows = []
    for p in report["parts"]:
        failed = [c for c in p["checks"] if not c["passed"]]
        hint = p["reason"] or (failed[0]["message"] if failed else "")
        if p["status"] != "passed":
            hint = (hint + " -> run the visible checks of this part's test cell").strip()
        rows.append((p["part"], f"{p['score']:g}/{p['points']:g}", STATUS_MARK[p["status"]], hint[:140]))
    for m in report.get("manual", []):
        rows.append((m["part"], f"-/{m['points']:g}", "BY HAND",
                     "a written answer: your instructor grades it" if m["answered"]
                     else "a written answer, still empty: write it in its cell"))
    _print_table(rows, ("part", "points", "status", "hint"))
    manual = report.get("manual_points", 0)
    print(f"total: {report['score']:g} / {report['max_score']:g}"
          + (f" graded automatically, plus {manual:g} point(s) of written answers to grade by hand" if manual else ""))
    for fault in report.get("course_faults", []):
        print(f"COURSE FAULT (not your work's; the parts it may have cost are marked for review): {fault}")


def quick_preflight(require_sandbox=False) -> list[str]:
    """Before any grading: the helper and data check out here and inside the grading sandbox."""
    from .preflight import environment_problems, probe
    from .sandbox import choose_sandbox
    problems = environment_problems()
    if problems:
        return problems
    try:
        sandbox = choose_sandbox(require_sandbox)
    except RuntimeError as err:
        return [f"{err}. What to do: install bubblewrap (sudo apt-get install bubblewrap), or grade without "
                "--require-sandbox"]
    return probe(sandbox)


def format_refusal(problems, what) -> str:
    from .preflight import format_problems
    return (format_problems(problems, what) + "\n(Nothing was scored. `--no-preflight` grades anyway: every part "
            "a course fault may have cost points is then marked for review, never failed.)")


def cmd_check(args):
    paths = [Path(p) for p in args.notebooks] or [course.NOTEBOOKS / a / course.source_notebook(a).name
                                                  for a in course.assignments()]
    worst = 0
    if not args.no_preflight and any(p.is_file() for p in paths):
        trouble = quick_preflight()
        if trouble:
            print(format_refusal(trouble, "your grading"), file=sys.stderr)
            return 2
    for path in paths:
        if not path.is_file():
            print(f"{path}: no such notebook. Give the path of your .ipynb file.", file=sys.stderr)
            worst = 2
            continue
        try:
            report = grade_one(path, seed=args.seed)
        except NbgraderFailed as err:
            print(f"{path}: could not be graded.\n{err}", file=sys.stderr)
            worst = 2
            continue
        print_report(report, path)
        if report["score"] < report["max_score"]:
            worst = max(worst, 1)
    return worst


# -- autograde (the instructor's batch) ----------------------------------------------------------
def record_without_notebook(work: Path, assignment: str, student: str, reason: str):
    """A student with nothing gradable: a zero in the gradebook (nbgrader's own API) and a report."""
    from nbgrader.api import Gradebook
    from .grading import Report, PartReport, REVIEW
    parts = course.graded_parts(course.read_notebook(course.source_notebook(assignment)))
    with Gradebook(f"sqlite:///{work / 'gradebook.db'}", "training-neural-networks") as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score, grade.needs_manual_grade = 0, True
        gb.db.commit()
    report = Report(assignment, course.source_notebook(assignment).stem, student, 0, "none",
                    parts=[PartReport(p, pts, 0.0, REVIEW, reason) for p, pts in parts.items()])
    out = work / "reports" / assignment / f"{student}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report.to_json())


def cmd_autograde(args):
    from .batch import WorkerProcess
    src = Path(args.submissions)
    if not src.exists():
        print(f"{src}: no such folder or zip", file=sys.stderr)
        return 2
    if args.require_sandbox:
        from .sandbox import choose_sandbox
        try:
            choose_sandbox(require=True)
        except RuntimeError as err:
            print(f"refusing to grade: {err}", file=sys.stderr)
            return 2
    if not args.no_preflight:
        trouble = quick_preflight(args.require_sandbox)
        if trouble:
            print(format_refusal(trouble, "grading"), file=sys.stderr)
            return 2
    root, tmp = unpack(src)
    try:
        found, problems = collect(root, args.assignment or None)
        work = course.WORK
        work.mkdir(parents=True, exist_ok=True)
        for line in problems:
            print("PROBLEM " + line.line())
        assignments = sorted({a for _, a in found} | {p.assignment for p in problems if p.assignment})
        t0 = time.monotonic()
        # one nbgrader process releases what is needed before grading and writes feedback and CSV after
        finisher = WorkerProcess(work)
        try:
            return _autograde(args, work, found, problems, assignments, finisher, t0)
        finally:
            finisher.close()
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _autograde(args, work, found, problems, assignments, finisher, t0):
    """Release what is missing, grade the tasks, then feedback, the CSV, the summary and the plots."""
    from .batch import Pool, enable_wal, is_done, run_preflight, sha256
    for a in assignments:
        if not (work / "gradebook.db").exists() or args.release or not (work / "release" / a).is_dir():
            ok, log = finisher.request({"release": a, "into": str(work / "release")}, timeout=1800)
            if not ok:
                raise NbgraderFailed(f"generate_assignment {a}",
                                     types.SimpleNamespace(stdout=log, stderr="", returncode=1))
    if (work / "gradebook.db").exists():
        enable_wal(work / "gradebook.db")
    if args.due:
        from nbgrader.api import Gradebook
        with Gradebook(f"sqlite:///{work / 'gradebook.db'}", "training-neural-networks") as gb:
            for a in assignments:
                gb.update_or_create_assignment(a, duedate=args.due)
    todo, skipped = [], 0
    for (student, a), nb in sorted(found.items()):
        digest = sha256(nb)
        if not args.force and is_done(work, student, a, digest):
            skipped += 1
            continue
        todo.append((student, a, nb, digest))
    if skipped:
        print(f"{skipped} submission(s) already graded from the same file: skipped (--force regrades)")
    extra = ["--GradeWithHiddenChecks.require_sandbox=True"] if args.require_sandbox else []
    for name in ("cell_timeout", "call_timeout", "notebook_timeout"):
        if getattr(args, name):
            extra.append(f"--GradeWithHiddenChecks.{name}={getattr(args, name)}")
    workers = args.workers or os.cpu_count() or 1
    with Pool(workers, args.scheduler) as pool:
        graded = sorted({a for _, a, _, _ in todo})
        if graded and not args.no_preflight:
            t_pre = time.monotonic()
            trouble = run_preflight(graded, work, pool, extra)
            if trouble:
                print(format_refusal(trouble, "grading"), file=sys.stderr)
                return 2
            print(f"preflight: the helper and data check out and the reference solution of {len(graded)} "
                  f"assignment(s) earns full marks in the grading sandbox ({time.monotonic() - t_pre:.1f} s)")
        tasks, t_grading = _grade(args, work, todo, extra, workers, pool)
    return _finish(work, found, problems, assignments, finisher, t0, tasks, t_grading, workers)


def _grade(args, work, todo, extra, workers, pool):
    """Copy the submissions to grade into the work folder and grade them on the pool."""
    from .batch import run_tasks
    tasks = []
    for student, a, nb, digest in todo:
        dest = work / "submitted" / student / a
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        shutil.copy(nb, dest / nb.name)
        if (nb.parent / "timestamp.txt").is_file():
            shutil.copy(nb.parent / "timestamp.txt", dest / "timestamp.txt")
        (work / "reports" / a / f"{student}.json").unlink(missing_ok=True)
        manifest = work / "manifest" / a / f"{student}.sha256"
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(digest)
        tasks.append((student, a))

    def finished(result):
        if result["ok"]:
            return
        log = work / "logs" / f"{result['student']}-{result['assignment']}.log"
        log.parent.mkdir(exist_ok=True)
        log.write_text(result["log"])
        reason = f"nbgrader could not grade this notebook (log: {log})"
        print(f"PROBLEM {result['student']}: {result['assignment']}: {reason}", file=sys.stderr)
        record_without_notebook(work, result["assignment"], result["student"], reason)

    t_grading = time.monotonic()
    run_tasks(tasks, work, workers, args.scheduler, extra, on_done=finished, pool=pool)
    return tasks, time.monotonic() - t_grading


def _finish(work, found, problems, assignments, finisher, t0, tasks, t_grading, workers):
    """Zeros for what could not be graded, then feedback, the CSV, the summary and the plots."""
    from .batch import plot_summary
    for p in problems:
        targets = [p.assignment] if p.assignment else assignments
        for a in targets:
            if (p.student, a) not in found:
                record_without_notebook(work, a, p.student, p.reason)
    grades_csv = work / "grades.csv"
    for a in assignments:
        ok, log = finisher.request({"feedback": a}, timeout=1800)
        if not ok:
            print(f"PROBLEM feedback for {a} could not be generated:\n{log[-3000:]}", file=sys.stderr)
    ok, log = finisher.request({"export": str(grades_csv)}, timeout=600)
    if not ok:
        raise NbgraderFailed("export", types.SimpleNamespace(stdout=log, stderr="", returncode=1))
    summarize(work, assignments, problems)
    pictures = [plot_summary(work, a) for a in assignments]
    total = time.monotonic() - t0
    (work / "timings.json").write_text(json.dumps({"notebooks": len(tasks), "workers": workers,
                                                   "grading_s": t_grading, "total_s": total}))
    print(f"\ngraded {len(tasks)} notebook(s) in {total:.1f} s ({t_grading:.1f} s grading, "
          f"the rest release, feedback, export and plots)")
    print(f"grades:   {grades_csv}")
    print(f"feedback: {work / 'feedback'}/<student>/<assignment>/")
    print(f"reports:  {work / 'reports'}/<assignment>/<student>.json")
    for picture in filter(None, pictures):
        print(f"summary:  {picture}")
    return 0


def _short(text, width=160):
    return text if len(text) <= width else text[:width - 3] + "..."


def summarize(work: Path, assignments, problems):
    rows, review = [], []
    for a in assignments:
        for rf in sorted((work / "reports" / a).glob("*.json")):
            r = json.loads(rf.read_text())
            reasons = list(dict.fromkeys(p["reason"] for p in r["parts"] if p["status"] == "needs_review" and p["reason"]))
            # a course fault that cost no points (every part it could touch passed) is still listed
            unlisted = [f for f in r.get("course_faults", []) if not any(f in reason for reason in reasons)]
            rows.append((r["student"], a, f"{r['score']:g}/{r['max_score']:g}",
                         " ".join([f"{p['part']}:{STATUS_MARK[p['status']]}" for p in r["parts"]]
                                  + [f"{m['part']}:by-hand" for m in r.get("manual", [])]),
                         _short(" | ".join(reasons + unlisted))))
            review += [(r["student"], a, p["part"], p["reason"]) for p in r["parts"] if p["status"] == "needs_review"]
            review += [(r["student"], a, "-", f) for f in unlisted]
    if rows:
        print()
        _print_table(rows, ("student", "assignment", "score", "parts", "why review"))
    seen = {(r[0], r[1]) for r in review}
    review += [(p.student, p.assignment or "-", "-", p.reason) for p in problems if (p.student, p.assignment) not in seen]
    with open(work / "needs_review.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["student", "assignment", "part", "reason"])
        w.writerows(review)
    if review:
        print(f"\n{len(review)} item(s) need review: {work / 'needs_review.csv'}")


# -- bench ---------------------------------------------------------------------------------------
# Targets the bench prints its figures against (2 cores, no GPU).
COURSE_TARGET_S = 60.0        # every solution notebook executed, in total
CELL_TARGET_S = 5.0           # the slowest cell of any notebook
CHECK_OVERHEAD_TARGET_S = 3.0  # `grader check` wall time beyond the grading itself


def kernel_cpu_seconds(client):
    """CPU seconds (user + system, its threads and children included) the kernel process has used so far,
    read from /proc; None where that is not available."""
    try:
        pid = client.km.provisioner.process.pid
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    except (AttributeError, OSError, ValueError, IndexError):
        return None


def execute_timed(assignment):
    """Execute one solution notebook top to bottom in a fresh kernel (as a student's "Run All");
    returns (total seconds including the kernel start, [(seconds, cell index, first line)] per code cell,
    the kernel's CPU seconds for the cells or None)."""
    from nbclient import NotebookClient
    src = course.source_notebook(assignment)
    nb = course.read_notebook(src)
    cells = []
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(src, Path(tmp) / src.name)
        client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp}})
        t0 = time.perf_counter()
        with client.setup_kernel():
            cpu0 = kernel_cpu_seconds(client)
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                t = time.perf_counter()
                client.execute_cell(cell, index)
                first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
                cells.append((time.perf_counter() - t, index, first))
            cpu1 = kernel_cpu_seconds(client)
        cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
        return time.perf_counter() - t0, cells, cpu


def cmd_bench(args):
    """Per notebook: executing the solution (and its slowest cell) vs autograding it; the course total
    against its target; optionally a class of N copies graded with 1 and 2 workers and plain nbgrader."""
    assignments = args.assignment or course.assignments()
    rows, exec_total, slowest_cells, overheads = [], 0.0, [], []
    print(f"machine: {os.cpu_count()} cores; torch threads and BLAS as the notebooks set them\n", flush=True)
    cpu_total = 0.0
    for a in assignments:
        t_exec, cells, cpu = execute_timed(a)
        exec_total += t_exec
        cpu_total += cpu or 0.0
        worst = max(cells, default=(0.0, -1, ""))
        slowest_cells.append((a, *worst))
        row = [a, f"{t_exec:.1f}", "n/a" if cpu is None else f"{cpu:.1f}", f"{worst[0]:.1f}"]
        if not args.execute_only:
            t0 = time.perf_counter()
            report = grade_one(course.source_notebook(a))
            t_check = time.perf_counter() - t0
            overheads.append(t_check - report["seconds"])
            row += [f"{report['seconds']:.1f}", f"{t_check:.1f}", f"{t_check - report['seconds']:.1f}",
                    f"{report['seconds'] / t_exec:.2f}", f"{report['score']:g}/{report['max_score']:g}"]
        rows.append(tuple(row))
        print(f"  {a}: executed in {t_exec:.1f} s", file=sys.stderr, flush=True)
    print("Per notebook (seconds): executing the solution top to bottom in a fresh kernel, the kernel's CPU time "
          "for its cells (all its threads: it can exceed the wall time, and it changes with the load too, "
          "though less), and the slowest cell" + ("" if args.execute_only else "; grading it (kernel without the experiment cells, plus the "
                    "hidden checks); `check` end to end (nbgrader generate_assignment + autograde in a fresh "
                    "work folder) and its start-up (check minus grading)") + "\n")
    headers = ("notebook", "execute", "kernel CPU", "slowest cell")
    if not args.execute_only:
        headers += ("grade", "check total", "check start-up", "grade/execute", "score")
    _print_table(rows, headers)
    worst = max(slowest_cells, key=lambda r: r[1])
    if args.assignment:
        print(f"\nthe {len(assignments)} notebook{'s' if len(assignments) > 1 else ''} named, executed: {exec_total:.1f} s (the target of "
              f"{COURSE_TARGET_S:.0f} s is for the whole course: run without naming notebooks)")
    else:
        print(f"\nwhole course, executed: {exec_total:.1f} s (target <= {COURSE_TARGET_S:.0f} s: "
              f"{'met' if exec_total <= COURSE_TARGET_S else 'NOT met'}); kernel CPU {cpu_total:.1f} s")
    print(f"slowest cell: {worst[1]:.1f} s, {worst[0]} cell {worst[2]} `{worst[3][:60]}` "
          f"(target <= {CELL_TARGET_S:.0f} s: {'met' if worst[1] <= CELL_TARGET_S else 'NOT met'})")
    if overheads:
        print(f"check start-up (check wall time minus grading): median {sorted(overheads)[len(overheads) // 2]:.1f} s, "
              f"max {max(overheads):.1f} s (target <= {CHECK_OVERHEAD_TARGET_S:.0f} s: "
              f"{'met' if max(overheads) <= CHECK_OVERHEAD_TARGET_S else 'NOT met'})")
    if "10_deconvolution" in assignments and not args.execute_only:
        bench_convolution()
    if args.class_size:
        bench_class(assignments, args.class_size, exec_total)
    return 0


def bench_convolution(repeats=10):
    """The notebook's vectorized reference convolution against torch on a CIFAR-sized batch."""
    import numpy as np
    import torch
    from . import reference
    ref = reference.load("10_deconvolution")
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(64, 3, 32, 32)), rng.normal(size=(16, 3, 3, 3)), rng.normal(size=16)
    xt, wt, bt = (torch.from_numpy(a) for a in (x, w, b))
    torch.set_num_threads(1)

    def best(fn):
        fn()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)
    ours = best(lambda: ref.conv2d_forward(x, w, b, {"stride": 1, "pad": 1}))
    theirs = best(lambda: torch.nn.functional.conv2d(xt, wt, bt, stride=1, padding=1))
    print(f"\nconv2d forward, 64x3x32x32 batch, 16 filters 3x3, pad 1, float64, one thread: "
          f"reference {ours * 1e3:.1f} ms, torch {theirs * 1e3:.1f} ms, ratio {ours / theirs:.2f}")


def bench_class(assignments, n, exec_total):
    """A class of n complete submissions: our autograde with 1 and 2 workers, and nbgrader's stock
    autograde (Execute runs every cell) run sequentially, one process per assignment."""
    from .nbgrader_run import env_for
    import subprocess
    with tempfile.TemporaryDirectory(prefix="course-bench-") as tmp:
        subs = Path(tmp) / "subs"
        for i in range(n):
            for a in assignments:
                dest = subs / f"student{i:03d}" / a
                dest.mkdir(parents=True)
                shutil.copy(course.source_notebook(a), dest)
        timings = {}
        for label, extra in (("autograde, 1 worker", ["--workers", "1"]), ("autograde, 2 workers", ["--workers", "2"])):
            work = Path(tmp) / label.split()[-2]
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "grader", "autograde", str(subs), *extra], cwd=course.REPO,
                           env=env_for(work), capture_output=True, text=True, check=True)
            measured = json.loads((work / "timings.json").read_text())
            timings[label] = (measured["grading_s"], time.perf_counter() - t0)
        work = Path(tmp) / "stock"
        stock = course.CONFIG.parent / "stock_nbgrader_config.py"
        for a in assignments:
            nbgrader("generate_assignment", a, "--force", f"--CourseDirectory.release_directory={work / 'release'}",
                     work=work, config=stock)
            for i in range(n):
                dest = work / "submitted" / f"student{i:03d}" / a
                dest.mkdir(parents=True)
                shutil.copy(course.source_notebook(a), dest)
        t0 = time.perf_counter()
        for a in assignments:
            nbgrader("autograde", a, "--force", work=work, config=stock)
        seconds = time.perf_counter() - t0
        timings["stock nbgrader autograde, sequential"] = (seconds, seconds)
    total = n * len(assignments)
    rows = [(label, f"{grading:.1f}", f"{wall:.1f}", f"{grading / total:.2f}", f"{grading / (n * exec_total):.2f}")
            for label, (grading, wall) in timings.items()]
    one, two = timings["autograde, 1 worker"][0], timings["autograde, 2 workers"][0]
    print(f"\nA class of {n} complete submissions ({total} notebooks); bare execution of one complete "
          f"submission: {exec_total:.1f} s\n")
    _print_table(rows, ("mode", "grading s", "wall s", "grading s per notebook", "grading / bare execution"))
    print(f"\nparallel efficiency with 2 workers: {one / (2 * two):.2f} (1.00 = linear); "
          f"speed-up over stock nbgrader: {timings['stock nbgrader autograde, sequential'][0] / one:.2f}x (1 worker), "
          f"{timings['stock nbgrader autograde, sequential'][0] / two:.2f}x (2 workers)")
    print("(grading: the autograde step; wall: the whole command, with release into the gradebook, feedback "
          "HTML, the grades CSV and the summary plots. Stock nbgrader runs every cell, experiments included, "
          "in an unsandboxed kernel and lets the student's kernel judge its own tests.)")


# -- lab ---------------------------------------------------------------------------------------
def cmd_lab(args):
    """Open JupyterLab on the course, with nbgrader's extensions reading the course config."""
    import os
    from .nbgrader_run import env_for
    env = env_for()
    # nbgrader's server extensions (Validate, assignment list, formgrader) look for nbgrader_config.py
    # in Jupyter's config path: put grader/ there rather than a copy of the config at the root.
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join([str(course.CONFIG.parent), env.get("JUPYTER_CONFIG_PATH", "")])
    cmd = [sys.executable, "-m", "jupyterlab", "--ServerApp.default_url=/lab/tree/notebooks", *args.jupyter_args]
    if not any(a.startswith(("--ServerApp.root_dir", "--notebook-dir")) for a in args.jupyter_args):
        cmd.append(f"--ServerApp.root_dir={course.REPO}")
    if os.getuid() == 0:  # containers and fresh cloud machines often run as root
        cmd.append("--allow-root")
    os.chdir(course.REPO)
    os.execve(sys.executable, cmd, env)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", help="regenerate notebooks/ from solutions/ (nbgrader generate_assignment)")
    p.add_argument("assignment", nargs="*", help="assignment ids (default: all)")
    p.set_defaults(func=cmd_release)
    p = sub.add_parser("check", help="grade your own notebook(s) with the hidden checks")
    p.add_argument("notebooks", nargs="*", help="notebook files (default: every notebook in notebooks/)")
    p.add_argument("--seed", type=int, help="repeat a grading run with this seed")
    p.add_argument("--no-preflight", action="store_true",
                   help="grade even when the course helper or data fail their check (those parts: review)")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("autograde", help="grade a folder or zip of student submissions")
    p.add_argument("submissions", help="folder of <student>/<assignment>/<notebook>.ipynb, or a .zip of it")
    p.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
    p.add_argument("--release", action="store_true", help="re-register the assignments in the gradebook first")
    p.add_argument("--require-sandbox", action="store_true", help="refuse to grade without bubblewrap")
    p.add_argument("--workers", type=int, default=0, help="parallel gradings on this machine (default: cores)")
    p.add_argument("--scheduler", help="address of a Dask scheduler to grade on its workers instead")
    p.add_argument("--force", action="store_true", help="regrade submissions already graded from the same file")
    p.add_argument("--due", help="due date of the graded assignments (e.g. 2026-12-01T17:00:00+00:00); a "
                   "submission whose timestamp.txt is later scores zero and is listed for review")
    p.add_argument("--cell-timeout", type=float, help="seconds one student cell may run (default 60)")
    p.add_argument("--call-timeout", type=float, help="seconds one call of a student function may run (default 30)")
    p.add_argument("--notebook-timeout", type=float, help="seconds for a whole notebook (default 600)")
    p.add_argument("--no-preflight", action="store_true",
                   help="skip the check that the helper, the data and each reference solution grade correctly "
                        "here (course faults are then marked for review per part, never failed)")
    p.set_defaults(func=cmd_autograde)
    p = sub.add_parser("lab", help="open the course in JupyterLab (nbgrader's Validate and formgrader included)")
    p.epilog = "Any other arguments are passed to jupyter lab (e.g. --no-browser --port 8888)."
    p.set_defaults(func=cmd_lab)
    p = sub.add_parser("site", help="build a static HTML read-through of the executed solution notebooks")
    p.add_argument("assignment", nargs="*", help="assignment ids (default: all)")
    p.add_argument("--out", default=str(course.REPO / "site"), help="output folder (default: site/)")
    p.set_defaults(func=lambda a: __import__("grader.site", fromlist=["cmd_site"]).cmd_site(a))
    p = sub.add_parser("bench", help="time executing and autograding each solution notebook")
    p.add_argument("assignment", nargs="*")
    p.add_argument("--class-size", type=int, default=0,
                   help="also grade N copies of a complete submission with 1 and 2 workers and plain nbgrader")
    p.add_argument("--execute-only", action="store_true",
                   help="only execute the solution notebooks (the course's running time), no grading")
    p.set_defaults(func=cmd_bench)
    from .hub import add_parser as add_hub_parser
    add_hub_parser(sub)
    args, extra = parser.parse_known_args(argv)
    if args.command == "lab":
        args.jupyter_args = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return args.func(args)
    except NbgraderFailed as err:
        print(str(err), file=sys.stderr)
        return 2
