"""A long-lived nbgrader autograde process: one per grading worker, many submissions each.

Starting nbgrader (and torch, and loading the reference solutions) costs seconds, more than grading
one notebook, so `python -m grader autograde` does not pay it per notebook. Each worker thread (or
Dask worker) keeps one of these processes and sends it one task per line on stdin:

    {"student": "...", "assignment": "..."}

and reads one line back: {"ok": true|false, "log": "..."}; a graded submission's feedback HTML is
written right after it, by the same worker. After grading, one such process writes any feedback still
missing ({"feedback": "<assignment>"}) and the grades CSV ({"export": "<path>"}); before
grading, it releases assignments into the gradebook ({"release": "<assignment>", "into": "<folder>"}).
A grading process waiting for a student's first notebook to be released starts that student's fork
server ({"forkserver": "<student>"}, see grader/forkserver.py) meanwhile.
A grading process also grades an assignment's reference solution, which must earn full marks
({"preflight": "<assignment>"}, grader/preflight.py), when a submission of that assignment has lost
a part (verification on demand, grader/batch.py). It runs nbgrader's own autograde (NbGraderAPI.autograde, the formgrader's
code path) with the course config, so the gradebook, the preprocessors and the scores are exactly
those of `nbgrader autograde`.

Student code never runs here (it runs in the sandboxed kernel that GradeWithHiddenChecks starts),
so one submission cannot corrupt this process for the next. If the process dies anyway, the task
it was on is reported as failed and the caller starts a fresh process for the next task.

    python -m grader.worker [--Class.trait=value ...]    (run with COURSE_WORK_DIR set)
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def _prestart_hook(holder, forkserver=False):
    """nbgrader's pre-convert hook for autograde: start the submission's sandboxed kernel ahead
    (grading.prestart_kernel) in the folder nbgrader is about to fill, with the sandbox the course's
    preprocessor will choose. The preprocessor takes that kernel; a kernel not taken is discarded by the
    caller of autograde (grading.discard_prestarted)."""
    def hook(assignment, student, notebooks):
        api = holder[0]
        if len(notebooks) != 1 or any(c in f"{assignment}{student}" for c in "*?[]"):
            return  # one notebook of one student: the course's assignments and how they are graded
        from .grading import prestart_kernel
        from .nbgrader_plugin import GradeWithHiddenChecks
        from .sandbox import choose_sandbox
        try:
            sandbox = choose_sandbox(GradeWithHiddenChecks(config=api.config).require_sandbox)
        except RuntimeError:
            return  # the preprocessor refuses to grade, with its message
        dest = Path(api.coursedir.format_path(api.coursedir.autograded_directory, student, assignment))
        dest.mkdir(parents=True, exist_ok=True)  # nbgrader has removed any old copy by now (--force)
        prestart_kernel(dest, sandbox, forkserver=forkserver)
    return hook


def make_api(argv, work=None, prestart=False, forkserver=False):
    """nbgrader's API with the course config (and `argv`'s --Class.trait=value settings). work: a work
    folder other than this process's COURSE_WORK_DIR (`grader check`'s throwaway one): the config's
    paths are computed for it, exactly as in a process started with COURSE_WORK_DIR=work.
    prestart: autograde starts each submission's kernel while it prepares the submission (see
    `_prestart_hook`); the caller then calls grading.discard_prestarted() after each autograde.
    forkserver: with prestart, each student's kernels are forked by one fork server per student
    (grader/forkserver.py); the caller closes the last one (grading.close_forkserver)."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config
    from traitlets.config.loader import KVArgParseConfigLoader, PyFileConfigLoader

    from . import course
    config = Config()
    if work is None:
        config.merge(PyFileConfigLoader(course.CONFIG.name, path=str(course.CONFIG.parent)).load_config())
    else:
        saved, course.WORK = course.WORK, Path(work)
        try:  # the config file derives every work path from course.WORK when it is loaded
            config.merge(PyFileConfigLoader(course.CONFIG.name, path=str(course.CONFIG.parent)).load_config())
        finally:
            course.WORK = saved
        config.GradeWithHiddenChecks.report_dir = str(Path(work) / "reports")  # its default: course.WORK's
    if argv:
        config.merge(KVArgParseConfigLoader(argv=list(argv)).load_config())
    holder = []
    if prestart:
        config.Autograde.pre_convert_hook = _prestart_hook(holder, forkserver)
    holder.append(NbGraderAPI(CourseDirectory(config=config), config=config))
    return holder[0]


def export(api, path):
    """nbgrader export's CSV plugin, on the course gradebook."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        CsvExportPlugin(parent=api, to=str(path)).export(gb)
    return {"success": True}


def start_forkserver(api, student):
    """Start the fork server of `student` now (see grading.prestart_kernel): the caller is waiting for
    the student's first assignment to be released, and the server's imports run meanwhile."""
    from .grading import start_forkserver as start
    from .nbgrader_plugin import GradeWithHiddenChecks
    from .sandbox import choose_sandbox
    if any(c in student for c in "*?[]"):
        return {"success": False, "log": "not one student"}
    try:
        sandbox = choose_sandbox(GradeWithHiddenChecks(config=api.config).require_sandbox)
    except RuntimeError as err:
        return {"success": False, "log": str(err)}
    root = Path(api.coursedir.format_path(api.coursedir.autograded_directory, student, "-")).parent
    return {"success": start(root, sandbox)}


def preflight(api, assignment):
    """The course can grade `assignment` here: the helper and data check out and its reference
    solution earns full marks, graded with this process's settings (sandbox, timeouts)."""
    from .nbgrader_plugin import GradeWithHiddenChecks
    from .preflight import environment_problems, reference_problems
    from .sandbox import choose_sandbox
    opts = GradeWithHiddenChecks(config=api.config)
    try:
        sandbox = choose_sandbox(opts.require_sandbox)
    except RuntimeError as err:
        return {"success": False, "log": f"{err}. What to do: install bubblewrap, or grade without --require-sandbox"}
    problems = environment_problems() or reference_problems(
        assignment, sandbox, cell_timeout=opts.cell_timeout, call_timeout=opts.call_timeout,
        notebook_timeout=opts.notebook_timeout)
    return {"success": not problems, "log": "\n".join(problems)}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    # The protocol owns the real stdout; anything printed while grading goes to stderr.
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    # a grading process grades one task after another, a student's notebooks in a row (the tasks come
    # sorted by student): one fork server per student starts their kernels
    api = make_api(argv, prestart=True, forkserver=True)
    from .grading import close_forkserver, discard_prestarted
    try:
        _serve(api, protocol, discard_prestarted)
    finally:
        close_forkserver()
    return 0


def _serve(api, protocol, discard_prestarted):
    for line in sys.stdin:
        if not line.strip():
            continue
        task = json.loads(line)
        try:
            if "release" in task:
                from nbgrader.utils import temp_attrs
                with temp_attrs(api.coursedir, release_directory=task["into"]):
                    result = api.generate_assignment(task["release"], force=True, create=True)
            elif "feedback" in task:
                result = api.generate_feedback(task["feedback"], force=True)
            elif "export" in task:
                result = export(api, task["export"])
            elif "forkserver" in task:
                result = start_forkserver(api, task["forkserver"])
            elif "preflight" in task:
                result = preflight(api, task["preflight"])
            else:
                result = api.autograde(task["assignment"], task["student"], force=True, create=True)
                if result.get("success"):
                    # its feedback HTML at once, in this worker: a large class's feedback is then written
                    # in parallel rather than by one process at the end (a missing one is made there)
                    feedback = api.generate_feedback(task["assignment"], task["student"], force=True)
                    if not feedback.get("success"):
                        result = dict(result, log=result.get("log", "") + "\nfeedback could not be generated:\n"
                                      + feedback.get("log", "") + feedback.get("error", ""))
            reply = {"ok": bool(result.get("success")),
                     "log": (result.get("log", "") + result.get("error", ""))[-20000:]}
        except Exception as err:  # noqa: BLE001 - reported to the caller, which records the failure
            reply = {"ok": False, "log": f"{type(err).__name__}: {err}"}
        finally:
            discard_prestarted()
        protocol.write(json.dumps(reply) + "\n")
        protocol.flush()


if __name__ == "__main__":
    sys.exit(main())
