"""The reference solution is verified on demand: no part is scored `failed` unless the reference
solution of its assignment earned full marks in this run, in the same sandbox, with the same hidden
checks. A batch in which nobody lost a part grades no reference; the first lost part of an assignment
grades its reference once, ahead of the waiting notebooks; a reference that does not earn full marks
stops the batch (exit 2) and withdraws what the run scored for that assignment.

The first tests drive the pool and the bookkeeping with plain functions (fast); the slow ones run
`python -m grader autograde` on real submissions, and on a copy of the course whose reference solution
of 01 carries a mutant (the repository itself is never touched)."""
import csv
import json
import os
import shutil
import subprocess
import sys
import threading

import pytest

import submissions as S
from conftest import REPO, full_scores
from grader import batch, course
from test_mutants import load_mutants, mutate

B = "04_initialization"   # a second assignment, graded alongside 01 (S.A)


# -- the pool: a priority queue in front of the grading threads --------------------------------------
def started(pool):
    """Until the pool's thread has taken the task submitted (the queue is empty)."""
    for _ in range(2000):
        if pool._queue.empty():
            return
        threading.Event().wait(0.005)
    raise AssertionError("the task never started")


def test_a_task_of_higher_priority_runs_before_the_waiting_ones():
    order, gate = [], threading.Event()

    def task(name):
        if name == "first":
            gate.wait(10)
        order.append(name)
        return name

    with batch.Pool(1) as pool:
        pool.submit(task, "first")
        started(pool)
        for name in ("a", "b", "c"):
            pool.submit(task, name)
        pool.submit(task, "urgent", priority=batch.VERIFY_PRIORITY)
        gate.set()
        got = list(pool.results())
    assert order == ["first", "urgent", "a", "b", "c"]
    assert sorted(got) == sorted(order)


def test_cancel_queued_drops_what_has_not_started():
    gate = threading.Event()

    def task(name):
        if name == "running":
            gate.wait(10)
        return name

    with batch.Pool(1) as pool:
        pool.submit(task, "running")
        started(pool)
        for name in ("x", "y", "z"):
            pool.submit(task, name)
        assert pool.cancel_queued() == 3
        gate.set()
        assert list(pool.results()) == ["running"]


def test_an_error_in_a_task_reaches_the_caller():
    def task(_):
        raise ValueError("boom")
    with batch.Pool(1) as pool:
        pool.submit(task, "x")
        with pytest.raises(ValueError, match="boom"):
            list(pool.results())


# -- the bookkeeping, with stand-ins for grading and for the reference ---------------------------------
class Course:
    """Stand-ins for grade_task and preflight_task: a report per (student, assignment) with the given
    statuses, and a reference that earns full marks unless named broken. Every call is logged in order."""

    def __init__(self, work, statuses, broken=()):
        self.work, self.statuses, self.broken, self.log = work, statuses, set(broken), []

    def grade(self, student, a, work, extra):
        self.log.append((student, a))
        report = self.work / "reports" / a / f"{student}.json"
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps({"parts": [{"part": f"p{i}", "status": s}
                                                for i, s in enumerate(self.statuses[(student, a)])]}))
        feedback = self.work / "feedback" / student / a
        feedback.mkdir(parents=True, exist_ok=True)
        (feedback / "nb.html").write_text("feedback")
        return {"student": student, "assignment": a, "ok": True, "seconds": 0.1, "log": ""}

    def reference(self, a, work, extra):
        self.log.append(("reference", a))
        ok = a not in self.broken
        return {"assignment": a, "ok": ok, "verify": True, "seconds": 0.5,
                "log": "" if ok else f"the reference solution of {a} earns 2/3"}

    def run(self, tasks, verify=True, pool=None):
        with pool or batch.Pool(1) as pool:
            return batch.grade_verified(tasks, self.work, pool, verify=verify, grade=self.grade,
                                        check_reference=self.reference,
                                        digests={t: f"digest-{t[0]}-{t[1]}" for t in tasks})

    def done(self, student, a):
        return batch.is_done(self.work, student, a, f"digest-{student}-{a}")


PASS, FAIL, REVIEW = "passed", "failed", "needs_review"


def test_nobody_lost_a_part_so_no_reference_is_graded(tmp_path):
    c = Course(tmp_path, {("amy", "A"): [PASS, PASS], ("amy", "B"): [PASS, REVIEW], ("bob", "A"): [PASS]})
    out = c.run(sorted(c.statuses))
    assert c.log == sorted(c.statuses) and out.checked == [] and not out.refused
    assert out.line() == "no submission lost a part: no reference needed"
    assert all(c.done(s, a) for s, a in c.statuses)


def test_the_first_lost_part_verifies_its_reference_once_ahead_of_the_class(tmp_path):
    statuses = {("amy", "A"): [PASS, FAIL], ("amy", "B"): [PASS], ("bob", "A"): [FAIL, FAIL],
                ("bob", "B"): [PASS], ("cat", "A"): [PASS, PASS], ("cat", "B"): [PASS]}
    c = Course(tmp_path, statuses)
    out = c.run(sorted(statuses))
    # the reference runs right after the notebook that lost a part, before the five still waiting, and
    # once although bob lost parts too
    assert c.log == [("amy", "A"), ("reference", "A"), ("amy", "B"), ("bob", "A"), ("bob", "B"), ("cat", "A"),
                     ("cat", "B")]
    assert out.checked == [["A", True, 0.5]] and out.lost == {"A": 2} and out.verified == {"A": 0.5}
    assert out.line() == "reference of A verified: 2 submissions lost parts (0.5 s)"
    assert all(c.done(s, a) for s, a in statuses)
    c = Course(tmp_path, statuses)
    out = c.run(sorted(statuses), verify=False)                       # --no-preflight
    assert ("reference", "A") not in c.log and out.checked == [] and not out.refused
    assert all(c.done(s, a) for s, a in statuses)


def test_a_report_waits_for_its_reference_before_it_counts_as_graded(tmp_path):
    """Interrupted between a lost part and its verification: no manifest, so a rerun grades it again."""
    c = Course(tmp_path, {("amy", "A"): [FAIL], ("bob", "B"): [PASS]})
    seen = []

    def reference(a, work, extra):
        seen.append(c.done("amy", "A"))
        return c.reference(a, work, extra)
    with batch.Pool(1) as pool:
        out = batch.grade_verified([("amy", "A"), ("bob", "B")], tmp_path, pool, grade=c.grade,
                                   check_reference=reference,
                                   digests={("amy", "A"): "digest-amy-A", ("bob", "B"): "digest-bob-B"})
    assert seen == [False] and c.done("amy", "A") and c.done("bob", "B") and out.verified == {"A": 0.5}


def test_a_reference_without_full_marks_stops_the_batch_and_withdraws_its_assignment(tmp_path):
    statuses = {("amy", "A"): [PASS, PASS], ("amy", "B"): [PASS], ("bob", "B"): [FAIL],
                ("cat", "A"): [FAIL, PASS], ("dan", "A"): [PASS, PASS], ("dan", "B"): [PASS]}
    c = Course(tmp_path, statuses, broken={"A"})
    out = c.run(sorted(statuses))
    # bob lost a part of B: B's reference earns full marks and his report is kept; cat lost one of A:
    # A's reference does not, so dan is never graded and everything of A this run scored is withdrawn
    assert c.log == [("amy", "A"), ("amy", "B"), ("bob", "B"), ("reference", "B"), ("cat", "A"), ("reference", "A")]
    assert out.refused == {"A"} and out.problems == ["the reference solution of A earns 2/3"]
    assert out.withdrawn == [("amy", "A"), ("cat", "A")]
    for student in ("amy", "cat"):
        assert not (tmp_path / "reports" / "A" / f"{student}.json").exists()
        assert not (tmp_path / "feedback" / student / "A").exists()
        assert not c.done(student, "A")
    assert c.done("amy", "B") and c.done("bob", "B") and not c.done("dan", "B")
    assert out.line() == ("reference of B verified: 1 submission lost a part; "
                          "reference of A NOT verified: 1 submission lost a part (0.5 s)")


class FifoPool:
    """A pool that runs tasks one at a time in the order submitted, priorities ignored (as a cluster
    whose workers took the queued tasks before the reference was submitted)."""

    def __init__(self):
        self.queue = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def submit(self, fn, *args, priority=0):
        self.queue.append((fn, args))

    def results(self):
        while self.queue:
            fn, args = self.queue.pop(0)
            yield fn(*args)

    def cancel_queued(self):
        dropped, self.queue = len(self.queue), []
        return dropped


def test_a_report_still_waiting_for_its_reference_is_withdrawn_too(tmp_path):
    """When a reference is refused, the lost parts of other assignments whose reference has not earned
    full marks yet are withdrawn too (that reference, still queued, is dropped); what is final is kept."""
    statuses = {("amy", "A"): [FAIL], ("amy", "B"): [FAIL], ("bob", "B"): [PASS], ("cat", "B"): [PASS]}
    c = Course(tmp_path, statuses, broken={"A"})
    out = c.run(sorted(statuses), pool=FifoPool())
    assert c.log == [("amy", "A"), ("amy", "B"), ("bob", "B"), ("cat", "B"), ("reference", "A")]
    assert out.withdrawn == [("amy", "A"), ("amy", "B")] and out.checked == [["A", False, 0.5]]
    assert not (tmp_path / "reports" / "B" / "amy.json").exists() and not c.done("amy", "B")
    assert c.done("bob", "B") and c.done("cat", "B")


# -- the real command ------------------------------------------------------------------------------
def write(root, student, a, nb):
    folder = root / student / a
    folder.mkdir(parents=True, exist_ok=True)
    course.nbformat.write(nb, str(folder / course.source_notebook(a).name))


def solution(a):
    return course.read_notebook(course.source_notebook(a))


def softmax_mutant():
    mutants, _ = load_mutants(S.A)
    return mutate(S.A, "softmax", next(iter(mutants["softmax"].values())))


def autograde(root, work, *extra, cwd=REPO):
    proc = subprocess.run([sys.executable, "-m", "grader", "autograde", str(root), "--workers", "1", *extra],
                          cwd=cwd, env=dict(os.environ, COURSE_WORK_DIR=str(work)), capture_output=True,
                          text=True, timeout=1800)
    return proc


def grades(work):
    with open(work / "grades.csv") as fh:
        return {(r["student_id"], r["assignment"]): float(r["raw_score"]) for r in csv.DictReader(fh)}


@pytest.mark.slow
def test_autograde_verifies_a_reference_only_when_a_part_is_lost(tmp_path):
    root, work = tmp_path / "subs", tmp_path / "work"
    write(root, "amy", S.A, solution(S.A))
    write(root, "amy", B, solution(B))
    proc = autograde(root, work)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "no submission lost a part: no reference needed" in proc.stdout
    timings = json.loads((work / "timings.json").read_text())
    assert timings["verifications"] == [] and timings["verify_s"] == 0
    # two students lose softmax in 01; amy is skipped (graded from the same file)
    write(root, "yan", S.A, softmax_mutant())
    write(root, "zed", S.A, softmax_mutant())
    proc = autograde(root, work)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "2 submission(s) already graded" in proc.stdout
    assert f"reference of {S.A} verified: 2 submissions lost parts" in proc.stdout
    timings = json.loads((work / "timings.json").read_text())
    assert [(a, ok) for a, ok, _ in timings["verifications"]] == [(S.A, True)]   # once, and not 04's
    full = sum(full_scores(S.A).values())
    lost = full_scores(S.A)["softmax"]
    assert grades(work) == {("amy", S.A): full, ("amy", B): sum(full_scores(B).values()), ("yan", B): 0.0,
                            ("zed", B): 0.0, ("yan", S.A): full - lost, ("zed", S.A): full - lost}


@pytest.mark.slow
def test_a_reference_without_full_marks_stops_the_batch_and_a_rerun_after_the_fix_grades(tmp_path):
    """A copy of the course whose reference solution of 01 carries a softmax mutant (the hidden checks
    compare softmax with torch too, so the reference loses that part): the batch refuses after the
    first lost part, keeps nothing of 01, keeps 04's final report; the fixed copy then grades the rest."""
    copied = tmp_path / "course"
    shutil.copytree(REPO, copied, ignore=shutil.ignore_patterns(
        ".venv", ".git", ".grader-work", "site", "__pycache__", ".pytest_cache", "*.egg-info"))
    source = copied / course.source_notebook(S.A).relative_to(REPO)
    course.nbformat.write(softmax_mutant(), str(source))
    root, work = tmp_path / "subs", tmp_path / "work"
    write(root, "amy", S.A, solution(S.A))          # graded first: full marks, then withdrawn with 01
    write(root, "amy", B, solution(B))              # final (nothing lost): kept
    write(root, "zed", S.A, softmax_mutant())       # loses softmax: 01's reference is graded
    write(root, "zoe", S.A, solution(S.A))          # never graded: the batch stops before her
    proc = autograde(root, work, cwd=copied)
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-3000:]
    err = proc.stderr
    assert "PREFLIGHT FAILED" in err and "so grading stopped" in err and "Traceback" not in err
    assert f"the reference solution of {S.A}" in err and "softmax failed" in err and "What to do" in err
    assert f"Nothing was scored for {S.A}" in err and "no grades CSV was written" in err
    assert f"reference of {S.A} NOT verified: 1 submission lost a part" in proc.stdout
    assert not list((work / "reports" / S.A).glob("*.json"))
    assert not list((work / "manifest" / S.A).glob("*"))
    assert not (work / "feedback" / "amy" / S.A).exists()
    assert not (work / "grades.csv").exists() and not (work / "timings.json").exists()
    assert (work / "reports" / B / "amy.json").is_file()
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{work / 'gradebook.db'}", "training-neural-networks") as gb:
        assert [s.student_id for s in gb.assignment_submissions(S.A)] == []
    # the fix: the reference restored; the rerun skips amy's 04 and grades 01
    shutil.copy(course.source_notebook(S.A), source)
    proc = autograde(root, work, cwd=copied)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "1 submission(s) already graded" in proc.stdout
    assert f"reference of {S.A} verified: 1 submission lost a part" in proc.stdout
    full = sum(full_scores(S.A).values())
    assert grades(work) == {("amy", S.A): full, ("amy", B): sum(full_scores(B).values()), ("zed", B): 0.0,
                            ("zoe", B): 0.0, ("zed", S.A): full - full_scores(S.A)["softmax"], ("zoe", S.A): full}
