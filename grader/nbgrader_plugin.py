"""The course's two nbgrader preprocessors, enabled by grader/nbgrader_config.py.

nbgrader's autograde runs a sanitize pass and then an autograde pass over each submitted notebook.
The course config puts `FlagEditedTestCells` at the head of the sanitize pass (before nbgrader
restores cells from the gradebook, so it still sees what the student submitted) and replaces
nbgrader's `Execute` in the autograde pass with `GradeWithHiddenChecks`. Because they live in the
config, every way of starting autograde uses them: `python -m grader autograde`, plain
`nbgrader autograde --NbGrader.config_file=grader/nbgrader_config.py`, and the formgrader's button.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Float, Unicode

from . import course
from .grading import grade_notebook

FLAGS_KEY = "course_grader_flags"


def autograded_cells(source_notebook) -> dict:
    """grade_id -> GradeCell of a gradebook notebook's test cells (graded code cells, not answers)."""
    answers = {c.name for c in source_notebook.solution_cells}
    return {c.name: c for c in source_notebook.grade_cells if c.cell_type == "code" and c.name not in answers}


class FlagEditedTestCells(NbGraderPreprocessor):
    """Record test cells that were duplicated, converted or edited, before nbgrader repairs them.

    nbgrader silently restores such cells from the gradebook and grades them; the course gives a
    tampered part no points and marks it for review instead. The findings travel to the autograde
    pass in the notebook's metadata (any value the student put there is discarded first).
    """

    def preprocess(self, nb, resources):
        nb.metadata.pop(FLAGS_KEY, None)
        flags = {}
        nbr = resources["nbgrader"]
        with Gradebook(nbr["db_url"]) as gb:
            try:
                source = gb.find_notebook(nbr["notebook"], nbr["assignment"])
            except MissingEntry:
                return nb, resources
            test_cells = autograded_cells(source)
            sources = {c.name: c for c in source.source_cells}
            ids = Counter(course.nbgrader_meta(c).get("grade_id") for c in nb.cells)
            for cell in nb.cells:
                gid = course.nbgrader_meta(cell).get("grade_id")
                if gid not in test_cells:
                    continue
                if ids[gid] > 1:
                    flags[gid] = f"its test cell appears {ids[gid]} times in the submission"
                elif cell.cell_type != "code":
                    flags[gid] = f"its test cell was converted to {cell.cell_type}"
                elif not course.is_test_cell(cell) or not utils.is_locked(cell):
                    flags[gid] = "its test cell's nbgrader metadata was changed"
                elif utils.compute_checksum(cell) != sources[gid].checksum:
                    flags[gid] = "its test cell was edited"
        # nbgrader's DeduplicateIds would leave an empty nbgrader entry on the earlier copies of a
        # duplicated cell, which CheckCellMetadata then rejects, failing the whole notebook. Keep the
        # last copy (as nbgrader does) and drop the nbgrader entry of the others outright.
        seen = set()
        for cell in reversed(nb.cells):
            gid = course.nbgrader_meta(cell).get("grade_id")
            if gid is not None and ids[gid] > 1:
                if gid in seen:
                    cell.metadata.pop("nbgrader", None)
                    cell.metadata.pop("editable", None)
                    cell.metadata.pop("deletable", None)
                seen.add(gid)
        if flags:
            self.log.warning("%s/%s: test cells flagged for review: %s",
                             nbr.get("student"), nbr["notebook"], ", ".join(sorted(flags)))
        nb.metadata[FLAGS_KEY] = flags
        return nb, resources


class GradeWithHiddenChecks(NbGraderPreprocessor):
    """Replace nbgrader's Execute: run the student's cells in a sandboxed kernel, call their functions
    from the hidden checks in grader/checks/, score in this process, write feedback into test cells."""

    cell_timeout = Float(60.0, help="Wall-clock seconds one student cell may run.").tag(config=True)
    call_timeout = Float(30.0, help="Wall-clock seconds one call of a student function may run.").tag(config=True)
    notebook_timeout = Float(600.0, help="Wall-clock seconds for a whole notebook, cells and checks.").tag(config=True)
    report_dir = Unicode(str(course.WORK / "reports"), help="Where per-submission JSON reports go.").tag(config=True)
    seed = Unicode("", help="Fix the checks' random seed (default: a fresh one per submission).").tag(config=True)
    require_sandbox = Bool(False, help="Refuse to grade when bubblewrap isolation is unavailable.").tag(config=True)

    def preprocess(self, nb, resources):
        from .sandbox import choose_sandbox
        nbr = resources["nbgrader"]
        flags = nb.metadata.pop(FLAGS_KEY, None)
        if flags is None:
            raise RuntimeError("FlagEditedTestCells did not run: autograde must use grader/nbgrader_config.py")
        with Gradebook(nbr["db_url"]) as gb:
            source = gb.find_notebook(nbr["notebook"], nbr["assignment"])
            expected = {name: float(c.max_score) for name, c in autograded_cells(source).items()}
            answers = {c.name for c in source.solution_cells}
            by_hand = {c.name: float(c.max_score) for c in source.grade_cells if c.name in answers}
            try:
                late = float(gb.find_submission(nbr["assignment"], nbr["student"]).total_seconds_late)
            except MissingEntry:
                late = 0.0
        workdir = resources.get("metadata", {}).get("path") or "."
        report = grade_notebook(
            nb, nbr["assignment"], workdir=workdir, student=nbr["student"], expected_parts=expected,
            flags=flags, seed=int(self.seed) if self.seed else None,
            sandbox=choose_sandbox(self.require_sandbox, self.log),
            cell_timeout=self.cell_timeout, call_timeout=self.call_timeout,
            notebook_timeout=self.notebook_timeout)
        # Written answers: nbgrader leaves them to the formgrader; the report lists them as such, never failed.
        submitted = {course.nbgrader_meta(c).get("grade_id"): c for c in nb.cells}
        report.manual = [{"part": name, "points": points,
                          "answered": name in submitted and course.answered(submitted[name])}
                         for name, points in by_hand.items()]
        if late > 0:  # nbgrader's late policy (zero, in the course config) applies after this step
            reason = f"submitted {late / 3600:.1f} h after the due date: zero under the late policy"
            report.notes.append(reason)
            for part in report.parts:
                if part.status == "passed":
                    part.status, part.reason, part.score = "needs_review", reason + " (the work passed)", 0.0
        out = Path(self.report_dir) / nbr["assignment"] / f"{nbr['student']}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report.to_json())
        for fault in report.course_faults:
            self.log.error("%s/%s: %s", nbr["student"], nbr["notebook"], fault)
        for p in report.parts:
            if p.status != "passed":
                self.log.warning("%s/%s part %s: %s%s", nbr["student"], nbr["notebook"], p.part,
                                 p.status, f" ({p.reason})" if p.reason else "")
        self.log.info("%s/%s: %g / %g points in %.1f s (seed %d)", nbr["student"], nbr["notebook"],
                      report.score, report.max_score, report.seconds, report.seed)
        resources["course_report"] = json.loads(report.to_json())
        return nb, resources
