"""Grade one notebook: run the student's cells in a sandboxed kernel, then the hidden checks.

`grade_notebook` is the single scoring path. nbgrader's autograde (through the course config's
preprocessor), `python -m grader autograde` and `python -m grader check` all end here, so a
self-learner's score is the score an instructor would give.

Each graded part (an nbgrader test cell, by grade_id) ends as `passed` (full points), `failed` (0)
or `needs_review` (0, with a reason: a crash, a timeout, a missing or edited test cell, a course fault).

Course faults fail closed. A part is scored `failed` only when the student's own code is to blame.
A fault on the course's side makes every part it may have cost points `needs_review`, with the
reason, never `failed`:

- the grading environment (checked in this process before the kernel starts): the helper `coursekit`
  is not importable, or a file of the data folder the sandbox shows does not match data/SHA256SUMS;
- an error in a cell the student does not own: a code cell that is neither a solution cell nor a test
  cell and whose source is that of a code cell of the source notebook in solutions/ (compared line
  by line, ignoring trailing white space). A course cell the student edited is theirs: its errors are
  scored like those of any cell they wrote. A course cell may also fail *because* of the student's
  code above it (it calls their function); that too goes to review, not to `failed`;
- in any cell or in any call of a student function: the helper could not be imported (an
  ImportError naming coursekit) or the data failed its check (coursekit.data.DataError).

Which parts: every part whose test cell comes at or after the first failing course cell (the parts
before it ran their code before the fault), all parts for an environment fault, and the part of a
check that met the fault. A part whose checks all passed keeps its points: the checks compare the
student's results with the reference in this process, so a course fault can remove evidence of a
correct function but never fake it.
"""
from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from . import course, reference
from .harness import run_checks
from .kernel import CallTimeout, KernelDied, KernelSession
from .preflight import environment_problems
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
    course_faults: list = field(default_factory=list)  # faults on the course's side (see the module doc)
    manual: list = field(default_factory=list)  # [{"part", "points", "answered"}]: written answers to grade by hand

    @property
    def score(self):
        return sum(p.score for p in self.parts)

    @property
    def max_score(self):
        return sum(p.points for p in self.parts)

    @property
    def manual_points(self):
        return sum(m["points"] for m in self.manual)

    def to_json(self):
        data = asdict(self)
        data["score"], data["max_score"] = self.score, self.max_score
        data["manual_points"] = self.manual_points
        return json.dumps(data, indent=1)


def _cells_to_run(nb, run_experiments=False):
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and not course.is_test_cell(cell) \
                and (run_experiments or not course.is_experiment(cell)):
            yield index, cell


def _normalized(source) -> str:
    source = "".join(source) if isinstance(source, list) else str(source)
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def course_cell_sources(source_nb) -> set[str]:
    """The cells of the source notebook the student does not own: code cells that are neither
    solution cells nor test cells (the setup cell, given helpers), by normalized source."""
    return {_normalized(c.source) for c in source_nb.cells
            if c.cell_type == "code" and not course.is_test_cell(c) and not course.nbgrader_meta(c).get("solution")}


_FIX_HELPER = "a fault of the grading environment: fix it (`python -m grader check` names it) and regrade"
_FIX_GIVEN = ("if the student's own code above it made that cell fail, grade by hand; otherwise fix the "
              "course and regrade")
_RAISED = re.compile(r"^`[^`]*` raised (\w+): (.*)$", re.S)


def _helper_import_error(ename, text) -> bool:
    return ename in ("ModuleNotFoundError", "ImportError") and "coursekit" in text


def cell_fault(index, cell, outputs, course_sources) -> str:
    """Why an error in this cell is the course's fault, or "" when there is none or it is the student's."""
    err = next((o for o in outputs if o.get("output_type") == "error"), None)
    if err is None:
        return ""
    ename, evalue = str(err.get("ename", "")), str(err.get("evalue", ""))
    what = f"{ename}: {evalue[:300]}"
    given = not course.nbgrader_meta(cell).get("solution") and _normalized(cell.source) in course_sources
    whose = "given by the course" if given else "the student's own or a course cell they edited"
    if _helper_import_error(ename, evalue + "".join(map(str, err.get("traceback") or []))):
        fix = _FIX_HELPER if given or ename == "ModuleNotFoundError" else \
            "if the helper imports in `python -m grader check`, the student's edit is to blame: grade by hand"
        return f"course fault: cell {index + 1} ({whose}) could not import the course helper in the grading " \
               f"sandbox ({what}): {fix}"
    if ename == "DataError":
        return f"course fault: cell {index + 1} ({whose}): the course data failed its check ({what}): {_FIX_HELPER}"
    if given:
        return f"course fault: cell {index + 1}, given by the course (not the student's), raised {what}: {_FIX_GIVEN}"
    return ""


def check_fault(message) -> str:
    """Why a check's failure is the course's fault (a student function met the helper or data fault)."""
    match = _RAISED.match(message or "")
    if match and (match.group(1) == "DataError" or _helper_import_error(match.group(1), match.group(2))):
        return f"course fault: a check met it ({message[:300]}): {_FIX_HELPER}"
    return ""


def execute_student_cells(nb, session, report, run_experiments=False, course_sources=frozenset()):
    """Run every code cell except test cells and (unless asked) experiment cells, which only make
    plots: the hidden checks call the student's functions directly. Outputs are kept for feedback.
    Returns why grading stopped ("" if it did not) and the course faults met: [(cell index, reason)]."""
    faults = []
    for index, cell in _cells_to_run(nb, run_experiments):
        cell.outputs, cell.execution_count = [], None
        try:
            cell.outputs, cell.execution_count = session.run_cell(cell.source)
        except (KernelDied, CallTimeout) as err:
            report.notes.append(f"cell {index + 1}: {err}")
            cell.outputs = [nbformat.v4.new_output("error", ename=type(err).__name__, evalue=str(err), traceback=[])]
            return f"cell {index + 1} stopped the kernel: {err}", faults
        fault = cell_fault(index, cell, cell.outputs, course_sources)
        if fault:
            faults.append((index, fault))
    return "", faults


_loaders: dict = {}
_loaders_lock = threading.Lock()


def builds_torch_optimizers(assignment) -> bool:
    """Whether the checks or the reference of `assignment` build torch.optim optimizers (directly or
    through coursekit's toolbox): the first one imports torch._dynamo, about 1.2 s of CPU."""
    try:
        text = course.check_module(assignment).read_text() + course.source_notebook(assignment).read_text()
    except OSError:
        return False
    return "torch.optim" in text or "toolbox" in text


def _load_quietly(assignment):
    try:
        reference.load(assignment)
        if builds_torch_optimizers(assignment):
            # imported here, while this process waits for the kernel, rather than in the middle of the checks
            import torch._dynamo  # noqa: F401
    except Exception:  # noqa: BLE001 - loaded again, and the error reported, when grading asks for it
        pass


def start_loading_reference(assignment: str):
    """Load the reference solution of `assignment` (torch and the solution's cells: a second or more the
    first time in a process) in a background thread, so that it overlaps the kernel's start and the
    student's cells, during which this process only waits. `grade_notebook` joins it before the checks;
    a load that failed there is simply run again in the grading thread, which reports its error."""
    with _loaders_lock:
        loader = _loaders.get(assignment)
        if loader is None or not loader.is_alive():
            loader = _loaders[assignment] = threading.Thread(
                target=_load_quietly, args=(assignment,), name=f"reference-{assignment}", daemon=True)
            loader.start()
    return loader


_prestarted: dict = {}   # the submission's folder -> (KernelSession launched, when)
_prestart_lock = threading.Lock()


def prestart_kernel(workdir, sandbox, forkserver=False):
    """Launch the sandboxed kernel that will grade the notebook in `workdir` (which must exist) without
    waiting for it: nbgrader's autograde calls this (its pre-convert hook, set by `worker.make_api`)
    before it prepares the submission, so that the kernel's start (bubblewrap, Python, ipykernel) runs in
    its own process while this one opens the gradebook, copies the files and sanitizes the notebook.
    `grade_notebook` takes the kernel when it grades in that folder with the same sandbox and limits: it
    is the kernel it would have started itself (same folder, sandbox, limits and environment), fresh, no
    code run in it. Call from the thread that grades (bubblewrap's --die-with-parent is per thread); the
    caller discards kernels not taken (`discard_prestarted`). A launch that fails is left to grading.

    forkserver: the kernel is forked by the fork server of the student whose folder holds `workdir`
    (grader/forkserver.py), started now unless this process already runs it: a student's later
    notebooks then skip the imports every notebook begins with. The fork server of the previous
    student is closed; `close_forkserver` closes the last one."""
    server = _forkserver_for(Path(workdir).resolve().parent, sandbox) if forkserver else None
    session = KernelSession(workdir, sandbox, forkserver=server)
    try:
        session.launch()
    except Exception:  # noqa: BLE001 - grade_notebook starts its own kernel, and reports its failure
        session.kill(None)
        if server is not None:
            close_forkserver()  # not used again: the next notebook starts a new one
        return
    with _prestart_lock:
        old = _prestarted.pop(str(Path(workdir).resolve()), None)
        _prestarted[str(Path(workdir).resolve())] = (session, time.monotonic())
    if old is not None:
        old[0].kill(None)


_forkservers: list = []  # at most one: the fork server of the student graded last in this process


def _forkserver_for(root, sandbox):
    """The fork server for the student folder `root` (started if need be), or None where the sandbox
    has none or it cannot start."""
    from .forkserver import ForkServer, ForkServerError
    if not ForkServer.supports(sandbox):
        return None
    if _forkservers and _forkservers[0].serves(sandbox, root):
        return _forkservers[0]
    close_forkserver()
    try:
        _forkservers.append(ForkServer(sandbox, root))
    except ForkServerError:
        return None
    return _forkservers[0]


def start_forkserver(root, sandbox):
    """Start the fork server for the student folder `root` (created if need be) now, so that its imports
    run while this process waits for something else (its first notebook's release); True if it runs."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    return _forkserver_for(root, sandbox) is not None


def close_forkserver():
    """Close this process's fork server, if any (its kernels die with it)."""
    while _forkservers:
        _forkservers.pop().close()


def _take_prestarted(workdir, sandbox):
    """The kernel launched ahead for `workdir` with this sandbox and when it was launched, or (None, None)."""
    with _prestart_lock:
        session, since = _prestarted.pop(str(Path(workdir).resolve()), (None, None))
    if session is not None and (type(session.sandbox) is not type(sandbox) or session.sandbox.limits != sandbox.limits):
        session.kill(None)
        return None, None
    return session, since


def discard_prestarted():
    """Kill the kernels launched ahead and not taken (an autograde that failed before grading)."""
    with _prestart_lock:
        sessions = [session for session, _ in _prestarted.values()]
        _prestarted.clear()
    for session in sessions:
        session.kill(None)


def grade_notebook(nb, assignment: str, *, workdir, student="self", expected_parts=None,
                   flags=None, seed=None, sandbox=None, cell_timeout=60.0, call_timeout=30.0,
                   notebook_timeout=600.0, run_experiments=False) -> Report:
    """Grade `nb` (modified in place: cell outputs and test-cell feedback) and return its report.

    expected_parts: grade_id -> points, from the gradebook or the source notebook (authoritative);
    flags: grade_id -> reason for test cells found missing, duplicated or edited before grading.
    The report's seconds run from the kernel's start (its start ahead, when one was started for this
    folder: see `prestart_kernel`) to the report.
    """
    started = time.monotonic()
    # the reference loads (in this process, holding the interpreter's lock for most of a second or more
    # the first time) while this thread only waits: on the kernel's start, then on the student's cells
    loader = start_loading_reference(assignment)
    sandbox = sandbox or choose_sandbox()
    seed = secrets.randbits(31) if seed is None else int(seed)
    source = course.source_notebook(assignment)
    if expected_parts is None:
        expected_parts = course.graded_parts(course.read_notebook(source))
    flags = dict(flags or {})
    report = Report(assignment, Path(source).stem, student, seed, sandbox.name)
    present = course.graded_parts(nb)
    position = {}
    for index, cell in enumerate(nb.cells):
        if course.is_test_cell(cell):
            position.setdefault(course.nbgrader_meta(cell).get("grade_id"), index)
    for part_id in expected_parts:
        if part_id not in present and part_id not in flags:
            flags[part_id] = "its test cell is missing from the submission"
    parts = {pid: PartReport(pid, pts) for pid, pts in expected_parts.items()}

    stopped = ""
    run = None
    # course faults: (index of the first cell they can affect, reason); -1 = every part
    faults = [(-1, f"course fault: {problem}") for problem in environment_problems()]
    try:
        session, since = _take_prestarted(workdir, sandbox)
        if session is None:
            session = KernelSession(workdir, sandbox, cell_timeout=cell_timeout, call_timeout=call_timeout,
                                    notebook_timeout=notebook_timeout)
        else:
            started = min(started, since)
            session.cell_timeout, session.call_timeout = cell_timeout, call_timeout
            session.notebook_timeout = notebook_timeout
        with session:  # waits for the kernel (launched here or ahead) to answer
            stopped, cell_faults = execute_student_cells(
                nb, session, report, run_experiments, course_cell_sources(course.read_notebook(source)))
            faults += cell_faults
            if not stopped:
                module = course.check_module(assignment)
                if not module.is_file():
                    stopped = f"no hidden checks found for {assignment} (expected {module.name})"
                else:
                    try:
                        loader.join()
                        ref = reference.load(assignment)
                    except Exception as err:  # noqa: BLE001 - the course's own code: review, never failed
                        report.internal.append(f"the reference solution could not be loaded: {err!r}")
                        stopped = (f"course fault: the reference solution could not be loaded in the grader "
                                   f"({type(err).__name__}: {str(err)[:200]}); fix it and regrade")
                        ref = None
                    run = run_checks(module, session, ref, seed) if ref is not None else None
                    if run is not None and run.error:
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
        here = position.get(pid, len(nb.cells))
        fault = next((reason for index, reason in faults if index <= here), "") \
            or next((f for f in (check_fault(r.message) for r in results if not r.passed) if f), "")
        if pid in flags:
            pr.status, pr.reason = REVIEW, flags[pid]
        elif stopped:
            pr.status, pr.reason = REVIEW, stopped + (f"; before that, {fault}" if fault else "")
        elif not results:
            pr.status, pr.reason = REVIEW, "no hidden check is bound to this part"
        elif review:
            pr.status, pr.reason = REVIEW, review
        elif all(r.passed for r in results):
            pr.status, pr.score = PASSED, pr.points
        elif fault:
            pr.status, pr.reason = REVIEW, fault
        else:
            pr.status = FAILED
        if fault and fault not in report.course_faults:
            report.course_faults.append(fault)
    for _, reason in faults:
        if reason not in report.course_faults:
            report.course_faults.append(reason)
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
