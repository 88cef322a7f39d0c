# nbgrader configuration of the course. Every nbgrader command must be given this file:
#   nbgrader <command> --NbGrader.config_file=grader/nbgrader_config.py
# (`python -m grader ...` does so). Without it nbgrader falls back to its defaults and creates a
# stray gradebook.db in the current folder.
import os
import sys
from pathlib import Path

_here = Path(__file__).resolve().parent
_repo = _here.parent
if str(_repo) not in sys.path:
    sys.path.insert(0, str(_repo))

from grader import course  # noqa: E402

c = get_config()  # noqa: F821 - provided by traitlets when this file is loaded

c.CourseDirectory.root = str(_repo)
c.CourseDirectory.course_id = "training-neural-networks"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
course.WORK.mkdir(parents=True, exist_ok=True)
_work = os.path.relpath(course.WORK, _repo)
c.CourseDirectory.submitted_directory = f"{_work}/submitted"
c.CourseDirectory.autograded_directory = f"{_work}/autograded"
c.CourseDirectory.feedback_directory = f"{_work}/feedback"
c.CourseDirectory.solution_directory = f"{_work}/released_solutions"
# a long lock timeout: parallel graders take turns writing to the SQLite gradebook (WAL mode)
c.CourseDirectory.db_url = f"sqlite:///{course.WORK / 'gradebook.db'}?timeout=120"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "DESIGN.md"]  # DESIGN.md: notes for the course's developers

# Students' stubs: the signature, docstring and return line stay; the body is theirs.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.enforce_metadata = True
c.ClearOutput.enabled = True

# Autograde: flag tampered test cells first, then grade in a sandboxed kernel with the hidden checks
# (replacing nbgrader's Execute, which would let student code decide its own test results).
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties, CheckCellMetadata, ClearOutput, DeduplicateIds, IgnorePattern, LimitOutput,
    OverwriteCells, OverwriteKernelspec, SaveAutoGrades)

from grader.nbgrader_plugin import FlagEditedTestCells, GradeWithHiddenChecks  # noqa: E402

c.Autograde.sanitize_preprocessors = [
    ClearOutput, FlagEditedTestCells, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata]
c.Autograde.autograde_preprocessors = [
    GradeWithHiddenChecks, IgnorePattern, LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
c.Autograde.exclude_overwriting = {}
# A submission whose timestamp.txt is after the assignment's due date (set with
# `python -m grader autograde ... --due DATE`) scores zero and is listed for review.
c.LateSubmissionPlugin.penalty_method = "zero"
c.LimitOutput.max_lines = 400
c.LimitOutput.max_traceback = 60

# Feedback: per-student HTML of the autograded notebook (hidden checks are not in any cell).
c.GenerateFeedback.force = True
# ... rendered by nbconvert's HTML exporter without its reparse of the whole page, a no-op on these
# pages that took half a second each (grader/feedback_html.py)
c.GenerateFeedback.exporter_class = "grader.feedback_html.FeedbackHTMLExporter"
