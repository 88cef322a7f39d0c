"""Grade one notebook: run the student's cells in a sandboxed kernel, then the hidden checks.

`grade_notebook` is the single scoring path. nbgrader's autograde (through the course config's
preprocessor), `python -m grader autograde` and `python -m grader check` all end here, so a
self-learner's score is the score an instructor would give.

Each graded part (an nbgrader test cell, by grade_id) ends as `passed` (full points), `failed` (0)
or `needs_review` (0, with a reason: a crash, a timeout, a missing or edited test cell).
"""
from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from . import course, reference
from .harness import run_checks
from .kernel import CallTimeout, KernelDied, KernelSession
from .sandbox import choose_sandbox

PASSED, FAILED, REVIEW = "passed", "failed", "needs_review"


@dataclass
class PartReport:
    part: str
    points: float
    score: float = 0.0
    status: str = FAILED
    reason: str = ""
    checks: list = field(default_factory=list)   # [{"name", "passed", "message"}]


@dataclass
class Report:
    assignment: str
    notebook: str
    student: str
    seed: int
    sandbox: str
    parts: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    seconds: float = 0.0
    internal: list = field(default_factory=list)  # instructor-only details (pytest reports)

    @property
    def score(self):
        return sum(p.score for p in self.parts)

    @property
    def max_score(self):
        return sum(p.points for p in self.parts)

    def to_json(self):
        data = asdict(self)
        data["score"], data["max_score"] = self.score, self.max_score
        return json.dumps(data, indent=1)


def _cells_to_run(nb, run_experiments=False):
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and not course.is_test_cell(cell) \
                and (run_experiments or not course.is_experiment(cell)):
            yield index, cell


def execute_student_cells(nb, session, report, run_experiments=False):
    """Run every code cell except test cells and (unless asked) experiment cells, which only make
    plots: the hidden checks call the student's functions directly. Outputs are kept for feedback."""
    for index, cell in _cells_to_run(nb, run_experiments):
        cell.outputs, cell.execution_count = [], None
        try:
            cell.outputs, cell.execution_count = session.run_cell(cell.source)
        except (KernelDied, CallTimeout) as err:
            report.notes.append(f"cell {index + 1}: {err}")
            cell.outputs = [nbformat.v4.new_output("error", ename=type(err).__name__, evalue=str(err), traceback=[])]
            return f"cell {index + 1} stopped the kernel: {err}"
    return ""


def grade_notebook(nb, assignment: str, *, workdir, student="self", expected_parts=None,
                   flags=None, seed=None, sandbox=None, cell_timeout=60.0, call_timeout=30.0,
                   notebook_timeout=600.0, run_experiments=False) -> Report:
    """Grade `nb` (modified in place: cell outputs and test-cell feedback) and return its report.

    expected_parts: grade_id -> points, from the gradebook or the source notebook (authoritative);
    flags: grade_id -> reason for test cells found missing, duplicated or edited before grading.
    """
    started = time.monotonic()
    sandbox = sandbox or choose_sandbox()
    seed = secrets.randbits(31) if seed is None else int(seed)
    source = course.source_notebook(assignment)
    if expected_parts is None:
        expected_parts = course.graded_parts(course.read_notebook(source))
    flags = dict(flags or {})
    report = Report(assignment, Path(source).stem, student, seed, sandbox.name)
    present = course.graded_parts(nb)
    for part_id in expected_parts:
        if part_id not in present and part_id not in flags:
            flags[part_id] = "its test cell is missing from the submission"
    parts = {pid: PartReport(pid, pts) for pid, pts in expected_parts.items()}

    stopped = ""
    run = None
    try:
        with KernelSession(workdir, sandbox, cell_timeout=cell_timeout, call_timeout=call_timeout,
                           notebook_timeout=notebook_timeout) as session:
            stopped = execute_student_cells(nb, session, report, run_experiments)
            if not stopped:
                module = course.check_module(assignment)
                if not module.is_file():
                    stopped = f"no hidden checks found for {assignment} (expected {module.name})"
                else:
                    run = run_checks(module, session, reference.load(assignment), seed)
                    if run.error:
                        report.internal.append(run.error)
                        stopped = "the hidden checks could not run; the instructor has been told"
    except KernelDied as err:
        stopped = f"the kernel could not run: {err}"

    by_part = {}
    for result in (run.results if run else []):
        by_part.setdefault(result.part, []).append(result)
        if result.internal:
            report.internal.append(f"{result.part} / {result.name}:\n{result.internal}")
    for pid, pr in parts.items():
        results = by_part.get(pid, [])
        pr.checks = [{"name": r.name, "passed": r.passed, "message": r.message, "seconds": r.seconds}
                     for r in results]
        review = next((r.review for r in results if r.review), "")
        if pid in flags:
            pr.status, pr.reason = REVIEW, flags[pid]
        elif stopped:
            pr.status, pr.reason = REVIEW, stopped
        elif not results:
            pr.status, pr.reason = REVIEW, "no hidden check is bound to this part"
        elif review:
            pr.status, pr.reason = REVIEW, review
        elif all(r.passed for r in results):
            pr.status, pr.score = PASSED, pr.points
        else:
            pr.status = FAILED
    report.parts = list(parts.values())
    for pid in by_part:
        if pid not in parts:
            report.internal.append(f"checks bound to unknown part {pid!r}")
    write_feedback(nb, report)
    report.seconds = round(time.monotonic() - started, 3)
    return report


def feedback_text(pr: PartReport, report: Report) -> str:
    lines = [f"Part {pr.part}: {pr.score:g} / {pr.points:g} points ({pr.status.replace('_', ' ')})"]
    if pr.reason:
        lines.append(f"  {pr.reason}")
    for check in pr.checks:
        mark = "ok  " if check["passed"] else "FAIL"
        lines.append(f"  [{mark}] {check['name']}")
        if check["message"]:
            lines.append(f"         {check['message']}")
    if pr.status != PASSED:
        lines.append("  To reproduce: run the visible checks in this cell, then call your function on inputs "
                     "like the ones named above (other shapes, one example, huge values).")
        lines.append(f"  This grade used seed {report.seed}: `python -m grader check <your notebook> "
                     f"--seed {report.seed}` repeats it.")
    return "\n".join(lines) + "\n"


def write_feedback(nb, report: Report):
    """Replace each test cell's outputs with its part's result. nbgrader scores a test cell from its
    outputs: an `error` output means 0 points, none means full points."""
    parts = {p.part: p for p in report.parts}
    for cell in nb.cells:
        if not course.is_test_cell(cell):
            continue
        pr = parts.get(course.nbgrader_meta(cell).get("grade_id"))
        if pr is None:
            continue
        text = feedback_text(pr, report)
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        if pr.status != PASSED:
            cell.outputs.append(nbformat.v4.new_output(
                "error", ename="PartNotPassed", evalue=f"{pr.part}: {pr.status.replace('_', ' ')}",
                traceback=[f"PartNotPassed: {pr.part} earned 0 of {pr.points:g} points"]))
