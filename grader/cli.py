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
from .submissions import unpack

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
    """Regenerate the student release from solutions/ with nbgrader's generate_assignment (its API with
    the course config, in this process: one nbgrader start for all the assignments, not one each)."""
    from nbgrader.utils import temp_attrs

    from .nbgrader_run import with_python_bin
    from .worker import make_api
    # nbgrader runs `alembic` from PATH when it creates a gradebook: this Python's, as for its child processes
    if str(Path(sys.executable).parent) not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = with_python_bin(os.environ.get("PATH", ""))
    api = make_api([], work=work)
    out = []
    for a in assignments or course.assignments():
        with temp_attrs(api.coursedir, release_directory=str(into or api.coursedir.release_directory)):
            result = api.generate_assignment(a, force=True, create=True)
        if not result.get("success"):
            raise NbgraderFailed(f"generate_assignment {a}", types.SimpleNamespace(
                stdout=result.get("log", ""), stderr=result.get("error", ""), returncode=1))
        out.append((into or course.NOTEBOOKS) / a / course.source_notebook(a).name)
    return out


def cmd_release(args):
    for path in release(args.assignment or None):
        print(f"released {path.relative_to(course.REPO) if path.is_relative_to(course.REPO) else path}")
    return 0


# -- check (self-grading through the same nbgrader autograde as the instructor's) ---------------
def assignment_of(path: Path) -> str:
    """The assignment of a notebook: by its name, else (a renamed copy) by its graded cells."""
    from .submissions import check_notebook, identify
    for a in course.assignments():
        if course.source_notebook(a).name == path.name:
            return a
    assignment, why = identify(path)
    if assignment is None:
        raise SystemExit(f"{path}: {check_notebook(path) or why}. Expected a notebook of this course: "
                         + ", ".join(course.source_notebook(a).name for a in course.assignments()))
    return assignment


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
    """Autograde one notebook in a throwaway course work folder; return its report.

    nbgrader's own autograde (NbGraderAPI.autograde, as the formgrader and the grading workers run it)
    with the course config, in this process: the same preprocessors, sandbox, hidden checks and
    scores as `nbgrader autograde`, without a second Python importing nbgrader, torch and the checks
    (seconds of start-up per check). The sandboxed kernel starts as soon as nbgrader has made the
    submission's folder, while nbgrader prepares the submission; the reference solution loads once
    nbgrader is done, while the kernel starts and the student's cells run."""
    import contextlib
    import io
    import warnings
    from . import grading
    from .worker import make_api
    assignment = assignment_of(path)
    with tempfile.TemporaryDirectory(prefix="course-check-") as tmp:
        work = Path(tmp)
        prepared_work(assignment, work)
        dest = work / "submitted" / "self" / assignment
        dest.mkdir(parents=True)
        shutil.copy(path, dest / course.source_notebook(assignment).name)
        argv = list(extra)
        if seed is not None:
            argv.append(f"--GradeWithHiddenChecks.seed={seed}")
        noise = io.StringIO()
        with warnings.catch_warnings(), contextlib.redirect_stderr(noise):
            warnings.simplefilter("ignore")  # nbgrader's SQLAlchemy warnings, as a quiet `nbgrader autograde` shows none
            api = make_api(argv, work=work, prestart=True)
            try:
                result = api.autograde(assignment, "self", force=True, create=True)
            finally:
                grading.discard_prestarted()
        report_file = work / "reports" / assignment / "self.json"
        if not report_file.is_file():
            raise NbgraderFailed("autograde", types.SimpleNamespace(
                stdout=result.get("log", "") + noise.getvalue(), stderr=result.get("error", ""), returncode=1))
        report = json.loads(report_file.read_text())
        if path.name != course.source_notebook(assignment).name:
            report["submitted_as"] = path.name
        return report


def print_report(report, path):
    print(f"\n{path}  (assignment {report['assignment']}, seed {report['seed']}, "
          f"sandbox {report['sandbox']}, {report['seconds']:.1f} s)")
    if report.get("submitted_as"):
        print(f"renamed: {report['submitted_as']} is not the course's name for this notebook; recognised by its "
              f"graded cells as {course.source_notebook(report['assignment']).name} and graded as that notebook")
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


def format_refusal(problems, what, stopped=None) -> str:
    """The refusal: what failed and what to do. stopped: a batch's Outcome (grader/batch.py) stopped
    because a reference solution did not earn full marks; what this run scored for it was withdrawn."""
    from .preflight import format_problems
    if stopped is None:
        return (format_problems(problems, what) + "\n(Nothing was scored. `--no-preflight` grades anyway: every "
                "part a course fault may have cost points is then marked for review, never failed.)")
    refused = ", ".join(sorted(stopped.refused))
    kept = len(stopped.results) - len(stopped.withdrawn)
    return (format_problems(problems, what, stopped=True) + f"\n(Nothing was scored for {refused}: "
            f"{len(stopped.withdrawn)} report(s) withdrawn, with their feedback and gradebook entries (every one this "
            f"run wrote for {refused}, and any lost part of another assignment whose reference had not earned full "
            "marks yet); no grades CSV was written. "
            + (f"The {kept} other notebook(s) graded in this run are final (no part failed, or their reference "
               "earned full marks) and kept: a rerun after the fix skips them and grades the rest. " if kept else
               "A rerun after the fix grades them again. ")
            + "No part is scored `failed` unless the reference solution of its assignment earned full marks in "
            "this run, in the same sandbox, with the same hidden checks. `--no-preflight` grades anyway: every "
            "part a course fault may have cost points is then marked for review, never failed.)")


def cmd_check(args):
    paths = [Path(p) for p in args.notebooks] or [course.NOTEBOOKS / a / course.source_notebook(a).name
                                                  for a in course.assignments()]
    worst = 0
    preflight = None
    if not args.no_preflight and any(p.is_file() for p in paths):
        # The preflight's kernel (the helper and data inside the sandbox) runs while the first notebook
        # is graded; no score is shown before it has passed, and none at all when it fails.
        from concurrent.futures import ThreadPoolExecutor
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="preflight")
        preflight = pool.submit(quick_preflight)
        pool.shutdown(wait=False)

    def refused():
        nonlocal preflight
        if preflight is None:
            return False
        trouble, preflight = preflight.result(), None
        if trouble:
            print(format_refusal(trouble, "your grading"), file=sys.stderr)
            return True
        return False

    for path in paths:
        if not path.is_file():
            print(f"{path}: no such notebook. Give the path of your .ipynb file.", file=sys.stderr)
            worst = 2
            continue
        try:
            report = grade_one(path, seed=args.seed)
        except NbgraderFailed as err:
            if refused():
                return 2
            print(f"{path}: could not be graded.\n{err}", file=sys.stderr)
            worst = 2
            continue
        if refused():
            return 2
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
    from . import lms
    try:
        roster = lms.read_roster(args.roster) if args.roster else None
    except lms.RosterError as err:
        print(err, file=sys.stderr)
        return 2
    root, tmp = unpack(src)
    staged = None
    try:
        found, problems, files_seen, staged, canvas_ids = lms.gather(root, args.assignment or None, roster, args.due)
        work = course.WORK
        work.mkdir(parents=True, exist_ok=True)
        for line in problems:
            print(("NOTE " if line.note else "PROBLEM ") + line.line())
        if not found:
            print(f"nothing graded: {src} holds {files_seen} file(s) but no notebook to grade"
                  + (" for " + ", ".join(args.assignment) if args.assignment else "")
                  + (" (see the PROBLEM lines above)" if problems else " (it is empty)"), file=sys.stderr)
            return 1
        assignments = sorted({a for _, a in found} | {p.assignment for p in problems if p.assignment})
        t0 = time.monotonic()
        # one nbgrader process releases what is needed before grading and writes feedback and CSV after
        finisher = WorkerProcess(work)
        try:
            rc = _autograde(args, work, found, problems, assignments, finisher, t0)
        finally:
            finisher.close()
        if rc == 0 and (work / "grades.csv").is_file():
            for path in lms.write_exports(work / "grades.csv", roster, lms.remember_canvas_ids(work, canvas_ids)):
                print(f"LMS:      {path}")
        return rc
    finally:
        for folder in (tmp, staged):
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)


_phase_s: dict = {}  # seconds of each phase of the last autograde, written to timings.json for bench


def _autograde(args, work, found, problems, assignments, finisher, t0):
    """Release what is missing, grade the tasks, then feedback, the CSV, the summary and the plots.

    Before grading, the cheap layers of the preflight (grader/preflight.py: the helper and the data, in
    this process and in a kernel of the grading sandbox) run while the finisher process releases the
    assignments into the gradebook and the grading processes start. The reference solutions are not
    graded up front: grader/batch.py grade_verified verifies the reference of an assignment as soon as a
    submission of it loses a part, so that no part is scored `failed` unless the reference solution of
    its assignment earned full marks in this run, in the same sandbox, with the same hidden checks."""
    from .batch import Pool, SummaryPlotter, enable_wal, is_done, sha256
    import threading
    _phase_s.clear()
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
    released, probed = {"ok": set()}, {}
    # One event per assignment, set once it is in the gradebook (with its due date): on local threads, a
    # submission is graded as soon as its own assignment is released, while the next ones are released.
    ready = {a: threading.Event() for a in assignments}

    def release_all():
        t_release = time.monotonic()
        wal = False
        try:
            for a in assignments:
                if not (work / "gradebook.db").exists() or args.release or not (work / "release" / a).is_dir():
                    ok, log = finisher.request({"release": a, "into": str(work / "release")}, timeout=1800)
                    if not ok:
                        released["failed"] = (a, log)
                        return
                if not wal and (work / "gradebook.db").exists():
                    enable_wal(work / "gradebook.db")  # before any grading process writes beside the release
                    wal = True
                if args.due:
                    from nbgrader.api import Gradebook
                    with Gradebook(f"sqlite:///{work / 'gradebook.db'}", "training-neural-networks") as gb:
                        gb.update_or_create_assignment(a, duedate=args.due)
                released["ok"].add(a)
                ready[a].set()
        except Exception as err:  # noqa: BLE001 - raised in the main thread below
            released["failed"] = ("", f"{type(err).__name__}: {err}")
        finally:
            _phase_s["release_s"] = time.monotonic() - t_release
            for event in ready.values():
                event.set()  # a failed release wakes every waiting task, which then grades nothing

    def probe():
        t_probe = time.monotonic()
        try:
            probed["trouble"] = quick_preflight(args.require_sandbox)
        except Exception as err:  # noqa: BLE001 - a probe that cannot run refuses, as one that fails
            probed["trouble"] = [f"the preflight could not run: {type(err).__name__}: {err}"]
        finally:
            _phase_s["probe_s"] = time.monotonic() - t_probe

    releaser = threading.Thread(target=release_all, name="release", daemon=True)
    releaser.start()
    prober = None
    if not args.no_preflight:
        prober = threading.Thread(target=probe, name="probe", daemon=True)
        prober.start()

    def wait_for_release():
        releaser.join()
        if "failed" in released:
            a, log = released["failed"]
            raise NbgraderFailed(f"generate_assignment {a}", types.SimpleNamespace(stdout=log, stderr="", returncode=1))

    def gated_grade(student, a, *rest):
        """grade_task once `a` is in the gradebook; nothing graded when its release failed."""
        from .batch import _worker_for, grade_task
        if not ready[a].is_set():
            # meanwhile this thread's grading process starts the student's fork server (its imports)
            _worker_for(Path(rest[0]), tuple(rest[1])).request({"forkserver": student}, timeout=120)
        ready[a].wait()
        if a not in released["ok"]:
            return {"student": student, "assignment": a, "ok": False, "seconds": 0.0, "unreleased": True,
                    "log": "its assignment could not be released"}
        return grade_task(student, a, *rest)
    workers = args.workers or os.cpu_count() or 1
    # local grading processes start now (nbgrader and torch load during the release and the probe)
    warm = (str(work), tuple(extra)) if todo and not args.scheduler else None
    with Pool(workers, args.scheduler, warm=warm) as pool:
        if prober is not None:
            prober.join()
            if probed["trouble"]:
                releaser.join()
                print(format_refusal(probed["trouble"], "grading"), file=sys.stderr)
                return 2
            print(f"preflight: the helper and data check out in the grading sandbox ({_phase_s['probe_s']:.1f} s); "
                  "a reference solution is graded when a submission of its assignment loses a part")
        # each assignment's summary picture is drawn as soon as its last notebook is graded
        plotter = SummaryPlotter(work, [(student, a) for student, a, *_ in todo])
        try:
            if args.scheduler:
                wait_for_release()  # Dask workers elsewhere: everything is released first
                outcome, t_grading = _grade(args, work, todo, extra, workers, pool, plotter=plotter)
            else:
                outcome, t_grading = _grade(args, work, todo, extra, workers, pool, grade=gated_grade,
                                            plotter=plotter)
                wait_for_release()  # a release that failed stops the command here, as before grading
        except BaseException:
            plotter.discard()
            raise
    _phase_s["verify_s"] = sum(outcome.verified.values())
    _phase_s["verified"] = {a: round(s, 3) for a, s in outcome.verified.items()}
    _phase_s["verifications"] = outcome.checked  # every reference graded in this run: [assignment, ok, seconds]
    if args.no_preflight:
        print("references not verified (--no-preflight): a part a course fault may have cost is marked for "
              "review, but a `failed` part is not checked against the reference")
    else:
        print(outcome.line())
    if outcome.refused:
        plotter.discard()  # drawn from scores the refusal withdrew
        print(format_refusal(outcome.problems, "grading", stopped=outcome), file=sys.stderr)
        return 2
    tasks = [(r["student"], r["assignment"]) for r in outcome.results]
    return _finish(work, found, problems, assignments, finisher, t0, tasks, t_grading, workers, plotter)


def _grade(args, work, todo, extra, workers, pool, grade=None, plotter=None):
    """Copy the submissions to grade into the work folder and grade them on the pool, verifying
    references on demand (unless --no-preflight); the outcome and the grading seconds."""
    from .batch import run_tasks
    tasks, digests = [], {}
    for student, a, nb, digest in todo:
        dest = work / "submitted" / student / a
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        shutil.copy(nb, dest / course.source_notebook(a).name)
        if (nb.parent / "timestamp.txt").is_file():
            shutil.copy(nb.parent / "timestamp.txt", dest / "timestamp.txt")
        (work / "reports" / a / f"{student}.json").unlink(missing_ok=True)
        # the manifest (skip it on a rerun) is written once its report is final (grader/batch.py)
        (work / "manifest" / a / f"{student}.sha256").unlink(missing_ok=True)
        digests[(student, a)] = digest
        tasks.append((student, a))

    def finished(result):
        if plotter is not None:
            plotter.graded(result)
        if result["ok"]:
            return
        log = work / "logs" / f"{result['student']}-{result['assignment']}.log"
        log.parent.mkdir(exist_ok=True)
        log.write_text(result["log"])
        reason = f"nbgrader could not grade this notebook (log: {log})"
        print(f"PROBLEM {result['student']}: {result['assignment']}: {reason}", file=sys.stderr)
        record_without_notebook(work, result["assignment"], result["student"], reason)

    t_grading = time.monotonic()
    outcome = run_tasks(tasks, work, workers, args.scheduler, extra, on_done=finished, pool=pool,
                        verify=not args.no_preflight, digests=digests, **({"grade": grade} if grade else {}))
    per_task = _phase_s.setdefault("task_s", {})  # seconds per graded notebook, by assignment (for bench)
    for result in outcome.results:
        per_task.setdefault(result["assignment"], []).append(round(result["seconds"], 3))
    return outcome, time.monotonic() - t_grading


def _finish(work, found, problems, assignments, finisher, t0, tasks, t_grading, workers, plotter=None):
    """Zeros for what could not be graded, then feedback, the CSV, the summary and the plots."""
    from .batch import plot_summary
    for p in problems:
        if p.note or not p.student or (not p.assignment and any(s == p.student for s, _ in found)):
            continue  # a note, a file of no student, or a stray file of a student whose notebooks are graded
        targets = [p.assignment] if p.assignment else assignments
        for a in targets:
            if (p.student, a) not in found:
                record_without_notebook(work, a, p.student, p.reason)
    grades_csv = work / "grades.csv"
    t_feedback = time.monotonic()
    # each worker wrote the feedback of what it graded; whatever is missing is written here, per assignment
    missing = sorted({a for (student, a), nb in found.items() if (work / "reports" / a / f"{student}.json").is_file()
                      and not (work / "feedback" / student / a / f"{course.source_notebook(a).stem}.html").is_file()})
    for a in missing:
        ok, log = finisher.request({"feedback": a}, timeout=1800)
        if not ok:
            print(f"PROBLEM feedback for {a} could not be generated:\n{log[-3000:]}", file=sys.stderr)
    _phase_s["feedback_s"] = time.monotonic() - t_feedback
    t_export = time.monotonic()
    ok, log = finisher.request({"export": str(grades_csv)}, timeout=600)
    if not ok:
        raise NbgraderFailed("export", types.SimpleNamespace(stdout=log, stderr="", returncode=1))
    _phase_s["export_s"] = time.monotonic() - t_export
    for (student, a), nb in found.items():  # a renamed notebook: say so in its report
        report = work / "reports" / a / f"{student}.json"
        if nb.name != course.source_notebook(a).name and report.is_file():
            report.write_text(json.dumps(dict(json.loads(report.read_text()), submitted_as=nb.name), indent=1))
    summarize(work, assignments, problems)
    pictures = plotter.finish(assignments) if plotter is not None else [plot_summary(work, a) for a in assignments]
    total = time.monotonic() - t0
    (work / "timings.json").write_text(json.dumps({"notebooks": len(tasks), "workers": workers,
                                                   "grading_s": t_grading, "total_s": total, **_phase_s}))
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
                         _short(" | ".join(reasons + unlisted
                                           + ([f"renamed from {r['submitted_as']}"] if r.get("submitted_as") else [])))))
            review += [(r["student"], a, p["part"], p["reason"]) for p in r["parts"] if p["status"] == "needs_review"]
            review += [(r["student"], a, "-", f) for f in unlisted]
    if rows:
        print()
        _print_table(rows, ("student", "assignment", "score", "parts", "why review"))
    seen = {(r[0], r[1]) for r in review}
    review += [(p.student or "-", p.assignment or "-", "-", f"{p.path}: {p.reason}")
               for p in problems if not p.note and (p.student, p.assignment) not in seen]
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
SERVER_MIB = 150               # an idle JupyterLab server with nbgrader's extensions (tests/test_hub.py)
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


def kernel_peak_mib(client):
    """The kernel process's peak resident memory so far (VmHWM in /proc, MiB); None where not available."""
    try:
        pid = client.km.provisioner.process.pid
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (AttributeError, OSError, ValueError, IndexError):
        pass
    return None


# What the bench runs in the kernel before the notebook's first cell (its own globals, no name left in the
# notebook's namespace; nothing printed, no cell numbered): it times, inside the kernel, the rendering of
# figures (every FigureCanvasBase.print_figure: the inline backend's display and Figure.savefig both end
# there) and the import of torch._dynamo, wall and CPU, each second charged to the innermost of the two
# running. It hooks the two modules' imports rather than importing them, so the notebook's first cell
# still imports numpy after setting its thread variables.
PROFILE_PROBE = r'''
import importlib.abc, sys, time, types

state = types.ModuleType("_course_bench_profile")
state.spent = {"drawing": [0.0, 0.0], "torch._dynamo": [0.0, 0.0]}
state.stack = []


def _now():
    return time.perf_counter(), time.process_time()


def _charge(part, since, now):
    state.spent[part][0] += now[0] - since[0]
    state.spent[part][1] += now[1] - since[1]


def enter(part):
    now = _now()
    if state.stack:
        outer = state.stack[-1]
        _charge(outer[0], outer[1], now)
    state.stack.append([part, now])


def leave():
    now = _now()
    part, since = state.stack.pop()
    _charge(part, since, now)
    if state.stack:
        state.stack[-1][1] = now


def timed(part, fn):
    def wrapper(*args, **kwargs):
        enter(part)
        try:
            return fn(*args, **kwargs)
        finally:
            leave()
    wrapper.__wrapped__ = fn
    return wrapper


def patch_drawing(backend_bases):
    canvas = backend_bases.FigureCanvasBase
    if not hasattr(canvas.print_figure, "__wrapped__"):
        canvas.print_figure = timed("drawing", canvas.print_figure)


class Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in ("torch._dynamo", "matplotlib.backend_bases"):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        run = spec.loader.exec_module
        state.imported.add(name)
        if name == "torch._dynamo":
            spec.loader.exec_module = timed("torch._dynamo", run)
        else:
            def exec_module(module):
                run(module)
                patch_drawing(module)
            spec.loader.exec_module = exec_module
        return spec


state.first = None  # what was spent when the notebook's first cell had run (its figures drawn)


def after_cell(result):
    if state.first is None and result.info.store_history:
        state.first = {part: list(spent) for part, spent in state.spent.items()}


state.report = lambda: {"spent": state.spent, "first": state.first, "dynamo": "torch._dynamo" in state.imported}
state.imported = set()
get_ipython().events.register("post_run_cell", after_cell)
if "matplotlib.backend_bases" in sys.modules:
    patch_drawing(sys.modules["matplotlib.backend_bases"])
sys.meta_path.insert(0, Finder())
sys.modules[state.__name__] = state
'''
PROFILE_READ = "print(__import__('json').dumps(__import__('sys').modules['_course_bench_profile'].report()))"
PROFILE_PARTS = ("kernel start", "imports", "drawing", "torch._dynamo", "rest", "kernel stop")


def execute_timed(assignment):
    """Execute one solution notebook top to bottom in a fresh kernel (as a student's "Run All");
    returns (total seconds from the kernel's launch to its shutdown, [(seconds, cell index, first line)]
    per code cell, the kernel's CPU seconds for the cells or None, the kernel's peak resident memory in
    MiB or None, the profile: split_profile)."""
    return execute_profiled(course.source_notebook(assignment))[:5]


def execute_profiled(src: Path):
    """execute_timed for the notebook file `src`, with the executed notebook last. The bench's own two
    requests to the kernel (PROFILE_PROBE before the first cell, the read-back after the last) are not
    counted in any of the figures, and leave the notebook's outputs and execution counts as without them."""
    import nbformat
    from nbclient import NotebookClient
    nb = course.read_notebook(src)
    cells, first_cpu = [], None
    probe = nbformat.v4.new_code_cell(
        f"exec({PROFILE_PROBE!r}, {{'__name__': '_course_bench_profile', 'get_ipython': get_ipython}})")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(src, Path(tmp) / src.name)
        client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp}})
        t0 = time.perf_counter()
        with client.setup_kernel():
            started = time.perf_counter() - t0
            start_cpu = kernel_cpu_seconds(client)
            t = time.perf_counter()
            _execute_aside(client, nb, probe)
            probes = time.perf_counter() - t
            cpu0 = kernel_cpu_seconds(client)
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or not cell.source.strip():
                    continue  # nbclient does not send an empty cell to the kernel
                t = time.perf_counter()
                client.execute_cell(cell, index)
                cells.append((time.perf_counter() - t, index, cell.source.strip().splitlines()[0]))
                if len(cells) == 1:
                    first_cpu = kernel_cpu_seconds(client)
            cpu1 = kernel_cpu_seconds(client)
            peak = kernel_peak_mib(client)
            t = time.perf_counter()
            read = nbformat.v4.new_code_cell(PROFILE_READ)
            _execute_aside(client, nb, read)
            t_stop = time.perf_counter()
            probes += t_stop - t
        stopped = time.perf_counter() - t_stop
        total = time.perf_counter() - t0 - probes
    cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
    printed = "".join(o.get("text", "") for o in read.outputs if o.get("name") == "stdout")
    measured = json.loads(printed.strip().splitlines()[-1])
    kernel = {"start": (started, start_cpu), "stop": (stopped, None), "cells": cells, "cpu": (cpu0, first_cpu, cpu1)}
    return total, cells, cpu, peak, split_profile(total, kernel, measured), nb


def _execute_aside(client, nb, cell):
    """Run `cell` in the client's kernel without numbering it (store_history=False), as a cell appended to
    the notebook for the time of its execution: nbclient writes the executed cell back at its index."""
    nb.cells.append(cell)
    try:
        client.execute_cell(cell, len(nb.cells) - 1, store_history=False)
    finally:
        nb.cells.pop()


def split_profile(total, kernel, measured):
    """{part: (wall seconds, kernel CPU seconds or None)} for PROFILE_PARTS, the parts summing to `total`
    (wall) and to the kernel's CPU from its launch to its last cell: the kernel's start (launch to ready;
    CPU: the kernel process's until then), its first code cell (the imports) less any drawing or import of
    torch._dynamo in it, the rendering of figures, torch._dynamo's import (None where the notebook did not
    import it), the rest (the other cells: experiments and checks), and the kernel's shutdown (no CPU: the
    process is gone). `kernel` is what the client measured: start and stop (wall, CPU), the cells'
    [(seconds, index, first line)], the kernel's CPU before the first cell, after it and after the last
    (/proc; None where not available); `measured` is PROFILE_READ's answer from inside the kernel (its
    process_time for CPU). The rest is what is left of the total, so the bench's own bookkeeping between
    cells (milliseconds) counts there."""
    spent, first = measured["spent"], measured["first"] or {part: [0.0, 0.0] for part in measured["spent"]}
    first_wall = kernel["cells"][0][0] if kernel["cells"] else 0.0
    cpu0, first_cpu, cpu1 = kernel["cpu"]
    profile = {"kernel start": kernel["start"], "kernel stop": kernel["stop"],
               "drawing": tuple(spent["drawing"]),
               "torch._dynamo": tuple(spent["torch._dynamo"]) if measured["dynamo"] else None}
    in_first = [first["drawing"][i] + first["torch._dynamo"][i] for i in (0, 1)]
    imports_cpu = first_cpu - cpu0 - in_first[1] if None not in (cpu0, first_cpu) else None
    profile["imports"] = (first_wall - in_first[0], imports_cpu)
    counted = [profile[part] for part in ("kernel start", "imports", "drawing", "torch._dynamo", "kernel stop")
               if profile[part] is not None]
    rest_wall = total - sum(wall for wall, _ in counted)
    rest_cpu = None
    if None not in (cpu0, cpu1, kernel["start"][1]):
        rest_cpu = kernel["start"][1] + cpu1 - cpu0 - sum(cpu for _, cpu in counted if cpu is not None)
    profile["rest"] = (rest_wall, rest_cpu)
    return {part: profile[part] for part in PROFILE_PARTS}


def print_profile(profiles, named):
    """The profile of each executed notebook (execute_timed), wall and kernel CPU, with a total row, and the
    floor: the kernel starts and imports summed over the notebooks, against the course's target."""
    def cell(value, i):
        return "-" if value is None else "n/a" if value[i] is None else f"{value[i]:.1f}"

    def total(part, i):
        values = [p[part][i] for _, p in profiles if p[part] is not None]
        return None if any(v is None for v in values) else sum(values)

    def total_cell(part, i):  # "-" where no notebook has the part (torch._dynamo not imported)
        return cell(None if all(p[part] is None for _, p in profiles) else (total(part, i),), 0)
    print("\nWhere the execution time goes (seconds, wall): the kernel's start (launch to ready), its first code "
          "cell (the imports: torch, numpy, matplotlib, coursekit; less any drawing or torch._dynamo in it), the "
          "rendering of figures (matplotlib's print_figure: the inline backend's display and savefig), "
          "torch._dynamo's import (the first torch.optim optimizer loads it; -: not imported), the rest "
          "(experiments and checks), and the kernel's shutdown; the parts add up to the execute column\n")
    parts = PROFILE_PARTS
    rows = [(a, *(cell(p[part], 0) for part in parts), f"{sum(p[part][0] for part in parts if p[part]):.1f}")
            for a, p in profiles]
    rows.append(("total", *(total_cell(part, 0) for part in parts),
                 f"{sum(total(part, 0) or 0.0 for part in parts):.1f}"))
    _print_table(rows, ("notebook", *parts, "execute"))
    cpu_parts = parts[:-1]
    print("\nThe same parts in the kernel's CPU seconds (all its threads; the shutdown is not measured; the "
          "total is the kernel CPU column above plus the start): the load of other programs changes them less "
          "than the wall times\n")

    def cpu_sum(values):
        return "n/a" if any(v is None for v in values) else f"{sum(values):.1f}"
    rows = [(a, *(cell(p[part], 1) for part in cpu_parts), cpu_sum([p[part][1] for part in cpu_parts if p[part]]))
            for a, p in profiles]
    rows.append(("total", *(total_cell(part, 1) for part in cpu_parts),
                 cpu_sum([total(part, 1) for part in cpu_parts])))
    _print_table(rows, ("notebook", *cpu_parts, "CPU total"))
    floor = total("kernel start", 0) + total("imports", 0)
    floor_cpu = None if None in (total("kernel start", 1), total("imports", 1)) else \
        total("kernel start", 1) + total("imports", 1)
    n = len(profiles)
    dynamo = [a for a, p in profiles if p["torch._dynamo"] is not None]
    print(f"\nfloor (kernel start + imports, summed over the {n} notebook{'s' if n > 1 else ''}"
          f"{' named' if named else ''}): {floor:.1f} s"
          + ("" if floor_cpu is None else f" ({floor_cpu:.1f} s of kernel CPU)")
          + f", {floor / COURSE_TARGET_S:.0%} of the target of {COURSE_TARGET_S:.0f} s for the whole course"
          + (" (run without naming notebooks for the course's floor)" if named else "")
          + f"; beyond it: drawing {total('drawing', 0):.1f} s, torch._dynamo's import "
          f"{total('torch._dynamo', 0) or 0.0:.1f} s (in {len(dynamo)} notebook{'' if len(dynamo) == 1 else 's'}), "
          f"the rest {total('rest', 0):.1f} s, the kernels' shutdown {total('kernel stop', 0):.1f} s (executed "
          f"without it, as a student waits: {sum(total(part, 0) or 0.0 for part in parts[:-1]):.1f} s)")


def cmd_bench(args):
    """Per notebook: executing the solution (and its slowest cell) vs autograding it; the course total
    against its target; optionally a class of N copies graded with 1 and 2 workers and plain nbgrader."""
    assignments = args.assignment or course.assignments()
    rows, exec_total, run_total, slowest_cells, overheads = [], 0.0, 0.0, [], []
    print(f"machine: {os.cpu_count()} cores; torch threads and BLAS as the notebooks set them\n", flush=True)
    cpu_total, peaks, profiles = 0.0, [], []
    for a in assignments:
        t_exec, cells, cpu, peak, profile = execute_timed(a)
        profiles.append((a, profile))
        if peak is not None:
            peaks.append((peak, a))
        exec_total += t_exec
        run_total += t_exec - profile["kernel stop"][0]  # what a student waits for: up to the last cell
        cpu_total += cpu or 0.0
        worst = max(cells, default=(0.0, -1, ""))
        slowest_cells.append((a, *worst))
        row = [a, f"{t_exec:.1f}", "n/a" if cpu is None else f"{cpu:.1f}", f"{worst[0]:.1f}",
               "n/a" if peak is None else f"{peak:.0f}"]
        if not args.execute_only:
            t_check, seconds, score = timed_check(a)
            overheads.append(t_check - seconds)
            row += [f"{seconds:.1f}", f"{t_check:.1f}", f"{t_check - seconds:.1f}", f"{seconds / t_exec:.2f}", score,
                    "met" if t_check - seconds <= CHECK_OVERHEAD_TARGET_S else "NOT met"]
        rows.append(tuple(row))
        print(f"  {a}: executed in {t_exec:.1f} s", file=sys.stderr, flush=True)
    print("Per notebook (seconds): executing the solution top to bottom in a fresh kernel, the kernel's CPU time "
          "for its cells (all its threads: it can exceed the wall time, and it changes with the load too, "
          "though less), the slowest cell, and the kernel's peak resident memory (MiB)" + ("" if args.execute_only else "; grading it (kernel without the experiment cells, plus the "
                    "hidden checks; timed from the kernel's launch, which nbgrader's set-up of the submission overlaps); the command `python -m grader check NOTEBOOK` end to end, in a fresh process "
                    "(with its gradebook cached, as every check after the first), and its start-up (check minus "
                    f"grading; target <= {CHECK_OVERHEAD_TARGET_S:g} s)") + "\n")
    headers = ("notebook", "execute", "kernel CPU", "slowest cell", "peak MiB")
    if not args.execute_only:
        headers += ("grade", "check total", "check start-up", "grade/execute", "score", "start-up target")
    _print_table(rows, headers)
    worst = max(slowest_cells, key=lambda r: r[1])
    # The course's time is from each kernel's launch to the end of its last cell, as a student waits for
    # "Run All"; the execute column also counts the kernel's graceful shutdown (about a second each,
    # which nobody waits for), printed beside it.
    stops = f"{exec_total:.1f} s with the kernels' shutdown, as in the execute column"
    if args.assignment:
        print(f"\nthe {len(assignments)} notebook{'s' if len(assignments) > 1 else ''} named, executed: {run_total:.1f} s from "
              f"launch to last cell ({stops}; the target of {COURSE_TARGET_S:.0f} s is for the whole course: run "
              "without naming notebooks)")
    else:
        print(f"\nwhole course, executed: {run_total:.1f} s from each kernel's launch to its last cell (target <= "
              f"{COURSE_TARGET_S:.0f} s: {'met' if run_total <= COURSE_TARGET_S else 'NOT met'}); {stops}; "
              f"kernel CPU {cpu_total:.1f} s")
    print(f"slowest cell: {worst[1]:.1f} s, {worst[0]} cell {worst[2]} `{worst[3][:60]}` "
          f"(target <= {CELL_TARGET_S:.0f} s: {'met' if worst[1] <= CELL_TARGET_S else 'NOT met'})")
    if peaks:
        peak, where = max(peaks)
        per_student = SERVER_MIB + peak
        print(f"largest kernel peak: {peak:.0f} MiB ({where}); a student with that notebook open needs about "
              f"{per_student:.0f} MiB with their JupyterLab server (~{SERVER_MIB} MiB, measured in the hub test): "
              f"about {int(16 * 1024 // per_student)} students per 16 GiB node by memory, all running it at once")
    if overheads:
        print(f"check start-up (check wall time minus grading): median {sorted(overheads)[len(overheads) // 2]:.1f} s, "
              f"max {max(overheads):.1f} s (target <= {CHECK_OVERHEAD_TARGET_S:.0f} s: "
              f"{'met' if max(overheads) <= CHECK_OVERHEAD_TARGET_S else 'NOT met'})")
    print_profile(profiles, bool(args.assignment))
    if "10_deconvolution" in assignments and not args.execute_only:
        bench_convolution()
    if args.class_size:
        bench_class(assignments, args.class_size, run_total, cpu_total or None)
    return 0


def timed_check(assignment):
    """`python -m grader check` on the solution notebook of `assignment`, as a self-learner runs it (a new
    process, the gradebook release already cached): (wall seconds, grading seconds, score)."""
    import re
    import subprocess
    from .nbgrader_run import env_for
    with tempfile.TemporaryDirectory(prefix="course-bench-check-") as tmp:
        prepared_work(assignment, Path(tmp))  # the release, cached in COURSE_WORK_DIR/check-cache
    path = course.source_notebook(assignment)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "grader", "check", str(path)], cwd=course.REPO,
                          env=env_for(course.WORK), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    head = re.search(r"seed \d+, sandbox [\w-]+, ([\d.]+) s\)", proc.stdout)
    total = re.search(r"total: ([\d.]+) / ([\d.]+)", proc.stdout)
    if proc.returncode not in (0, 1) or not head or not total:
        raise NbgraderFailed(f"check {path.name}", proc)
    return wall, float(head.group(1)), f"{float(total.group(1)):g}/{float(total.group(2)):g}"


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


GRADE_RATIO_TARGET = 0.5      # the whole autograde command, 1 worker, against bare execution
EFFICIENCY_TARGET = 0.9       # parallel efficiency at 2 workers
PROJECTED_CLASS = 500         # students in the projection of a large class
PROJECTED_WORKERS = (2, 16, 64)


def makespan(costs, workers):
    """Seconds until `workers` workers, each taking the next task as it frees up, finish tasks of the given
    costs (longest first, as a scheduler with a queue of known sizes can)."""
    import heapq
    free = [0.0] * max(1, workers)
    for cost in sorted(costs, reverse=True):
        heapq.heappush(free, heapq.heappop(free) + cost)
    return max(free)


def project_class(measured, assignments, students=PROJECTED_CLASS, workers=PROJECTED_WORKERS):
    """Projected seconds per phase for `students` x the assignments at each worker count, from one
    measured run's timings.json (its per-notebook grading seconds and its phases).

    Grading is spread over the workers (one task per notebook, as on the Dask path; a notebook's
    seconds include its feedback HTML, which the worker that graded it writes). In a large class some
    submission of every assignment loses a part, so every assignment's reference is assumed verified
    once: one task per assignment, costing what was measured for it, else what grading a complete
    submission of it costs (the reference is one), added in full (an upper bound: those tasks run
    ahead of the waiting notebooks, on the same workers). The release into the gradebook runs once,
    in one process, with the probe of the sandbox during it; what is left of feedback and the grades
    export run in one process at the end, scaled with the class.
    Rows: (workers, release, verification, grading, end, total) in seconds."""
    per_nb = {a: sorted(measured["task_s"][a])[len(measured["task_s"][a]) // 2] for a in assignments}
    verify = {a: measured.get("verified", {}).get(a, per_nb[a]) for a in assignments}
    n_students = max(1, measured["notebooks"] // max(1, len(assignments)))
    rows = []
    for w in workers:
        grading = makespan([per_nb[a] for a in assignments for _ in range(students)], w)
        verification = makespan(list(verify.values()), w)
        release = max(measured.get("release_s", 0.0), measured.get("probe_s", 0.0))
        rest = (measured.get("feedback_s", 0.0) + measured.get("export_s", 0.0)) * students / n_students
        rows.append((w, release, verification, grading, rest, release + verification + grading + rest))
    return rows


def _command_cpu():
    """CPU seconds used so far by finished children of this process and those they waited for (workers,
    nbgrader): not the sandboxed kernels, whose sandboxes are killed rather than waited for."""
    import resource
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_class(assignments, n, exec_total, exec_cpu=None):
    """A class of n complete submissions: our autograde with 1 and 2 workers, and nbgrader's stock
    autograde (Execute runs every cell) run sequentially, one process per assignment; then the
    projected time of a large class on more workers, from the per-notebook costs measured here."""
    from .nbgrader_run import env_for
    import subprocess
    measured_one = None
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
            t0, cpu0 = time.perf_counter(), _command_cpu()
            subprocess.run([sys.executable, "-m", "grader", "autograde", str(subs), *extra], cwd=course.REPO,
                           env=env_for(work), capture_output=True, text=True, check=True)
            measured = json.loads((work / "timings.json").read_text())
            timings[label] = (measured["grading_s"], time.perf_counter() - t0, _command_cpu() - cpu0)
            if measured_one is None:
                measured_one = measured
        # stock nbgrader: one course folder per assignment, its gradebook the release `check` caches (the
        # stock config changes only autograde's preprocessors, not generate_assignment's), set up untimed
        stock = course.CONFIG.parent / "stock_nbgrader_config.py"
        for a in assignments:
            work = Path(tmp) / "stock" / a
            work.mkdir(parents=True)
            prepared_work(a, work)
            for i in range(n):
                dest = work / "submitted" / f"student{i:03d}" / a
                dest.mkdir(parents=True)
                shutil.copy(course.source_notebook(a), dest)
        t0, cpu0 = time.perf_counter(), _command_cpu()
        for a in assignments:
            nbgrader("autograde", a, "--force", work=Path(tmp) / "stock" / a, config=stock)
        seconds = time.perf_counter() - t0
        timings["stock nbgrader autograde, sequential"] = (seconds, seconds, _command_cpu() - cpu0)
    total = n * len(assignments)
    bare = n * exec_total
    rows = [(label, f"{grading:.1f}", f"{wall:.1f}", f"{cpu:.1f}", f"{grading / total:.2f}", f"{grading / bare:.2f}",
             f"{wall / bare:.2f}") for label, (grading, wall, cpu) in timings.items()]
    one, two = timings["autograde, 1 worker"][0], timings["autograde, 2 workers"][0]
    print(f"\nA class of {n} complete submission{'s' if n > 1 else ''} ({total} notebooks); bare execution of one "
          f"complete submission (each kernel's launch to its last cell): {exec_total:.1f} s" + (f" (kernel CPU {exec_cpu:.1f} s)" if exec_cpu else "") + "\n")
    _print_table(rows, ("mode", "grading s", "whole command s", "command CPU s", "grading s per notebook",
                        "grading / bare", "whole command / bare"))
    ratio = timings["autograde, 1 worker"][1] / bare
    print(f"\nthe whole `autograde --workers 1` command against bare execution: {ratio:.2f} (target <= "
          f"{GRADE_RATIO_TARGET:g}: {'met' if ratio <= GRADE_RATIO_TARGET else 'NOT met'})")
    phases = {k[:-2]: measured_one.get(k, 0.0)
              for k in ("release_s", "probe_s", "verify_s", "grading_s", "feedback_s", "export_s")}
    # local workers: the release overlaps the grading (a notebook waits only for its own assignment's release)
    accounted = phases["probe"] + phases["grading"] + phases["feedback"] + phases["export"]
    verified = ", ".join(sorted(measured_one.get("verified", {}))) or "none: no submission lost a part"
    print("  its phases (s): " + ", ".join(f"{k.replace('verify', 'verification')} {v:.1f}" for k, v in phases.items())
          + f" (the probe of the sandbox runs during the release, and so does grading once the probe is done: each "
          f"notebook waits only for its own assignment's release; verification, within grading: the references "
          f"graded because a submission lost a part, {verified}), other {measured_one['total_s'] - accounted:.1f} "
          "(start-up, copying, the summary and plots)")
    efficiency = one / (2 * two)
    print(f"parallel efficiency with 2 workers: {efficiency:.2f} (1.00 = linear; target >= {EFFICIENCY_TARGET:g}: "
          f"{'met' if efficiency >= EFFICIENCY_TARGET else 'NOT met'}); "
          f"speed-up over stock nbgrader: {timings['stock nbgrader autograde, sequential'][0] / one:.2f}x (1 worker), "
          f"{timings['stock nbgrader autograde, sequential'][0] / two:.2f}x (2 workers)")
    print("(grading: the autograde step, with any reference verified on demand; whole command: with the probe "
          "of the sandbox, the release into the gradebook, "
          "feedback HTML, the grades CSV and the summary plots; command CPU: user + system seconds of the command's "
          "own processes (nbgrader, the checks, the comparisons), which other load on the machine changes less than "
          "the wall time; the sandboxed kernels' CPU is not in it: a sandbox ends without its processes being "
          "waited for. Stock nbgrader "
          "runs every cell, experiments included, in an unsandboxed kernel and lets the student's kernel judge its "
          "own tests.)")
    cores = os.cpu_count() or 1
    print(f"\nProjected: {PROJECTED_CLASS} students x {len(assignments)} notebooks "
          f"({PROJECTED_CLASS * len(assignments)} gradings) on the Dask path, from the per-notebook costs measured "
          f"above with 1 worker (median per notebook) and assuming one core per worker; this machine has {cores} "
          f"core{'s' if cores > 1 else ''}, so beyond {cores} workers it means a cluster\n")
    _print_table([(w, f"{rel / 60:.1f}", f"{pre / 60:.1f}", f"{grading / 60:.1f}", f"{end / 60:.1f}",
                   f"{whole / 60:.1f}", f"{whole / 3600:.2f}")
                  for w, rel, pre, grading, end, whole in project_class(measured_one, assignments)],
                 ("workers", "release min", "verification min", "grading + feedback min", "end min", "total min",
                  "total h"))
    print("(release: once, in one process, the probe of the sandbox during it; verification: assumed for every "
          "assignment, as in a large class some submission of each loses a part: each reference graded once, "
          "costing a complete submission's grading, spread over the workers and counted in full (an upper bound: "
          "it runs ahead of the waiting notebooks); grading: every notebook graded and its feedback HTML written "
          "by the worker that graded it, longest first; end: the rest of the feedback and the grades CSV, in one "
          "process)")


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
    p.add_argument("submissions", help="folder of <student>/<assignment>/<notebook>.ipynb, or a .zip of it, or a "
                   "Canvas, Moodle, Blackboard or GitHub Classroom download")
    p.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
    p.add_argument("--release", action="store_true", help="re-register the assignments in the gradebook first")
    p.add_argument("--require-sandbox", action="store_true", help="refuse to grade without bubblewrap")
    p.add_argument("--workers", type=int, default=0, help="parallel gradings on this machine (default: cores)")
    p.add_argument("--scheduler", help="address of a Dask scheduler to grade on its workers instead")
    p.add_argument("--force", action="store_true", help="regrade submissions already graded from the same file")
    p.add_argument("--roster", help="CSV with columns id,name,lms_id,email,github: maps LMS ids, names and GitHub "
                   "users to student ids, and fills the LMS grade files")
    p.add_argument("--due", help="due date of the graded assignments (e.g. 2026-12-01T17:00:00+00:00); a "
                   "submission whose timestamp.txt is later scores zero and is listed for review")
    p.add_argument("--cell-timeout", type=float, help="seconds one student cell may run (default 60)")
    p.add_argument("--call-timeout", type=float, help="seconds one call of a student function may run (default 30)")
    p.add_argument("--notebook-timeout", type=float, help="seconds for a whole notebook (default 600)")
    p.add_argument("--no-preflight", action="store_true",
                   help="skip the check that the helper and the data work in the grading sandbox, and the grading "
                        "of a reference solution when a submission of its assignment loses a part (course faults "
                        "are then marked for review per part, never failed)")
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
