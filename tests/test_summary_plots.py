"""Summary pictures drawn while the grading runs (grader/batch.py SummaryPlotter): each assignment's
picture is drawn once its last submission is graded, redrawn if its reports change afterwards, and
removed when the run is refused."""
import json
import os
import time

from grader.batch import SummaryPlotter


def _report(work, assignment, student, score):
    path = work / "reports" / assignment / f"{student}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"score": score, "max_score": 2, "parts": [
        {"part": "a", "status": "passed" if score else "failed"}, {"part": "b", "status": "passed"}]}))


def _wait(predicate, seconds=30):
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)
    return predicate()


def test_a_picture_is_drawn_when_its_assignment_is_graded_and_redrawn_when_its_reports_change(tmp_path):
    tasks = [("ann", "01_x"), ("bob", "01_x"), ("ann", "02_y")]
    plotter = SummaryPlotter(tmp_path, tasks)
    _report(tmp_path, "01_x", "ann", 2)
    plotter.graded({"student": "ann", "assignment": "01_x"})
    time.sleep(0.3)
    assert "01_x" not in plotter.drawn, "drawn before its last submission was graded"
    _report(tmp_path, "01_x", "bob", 1)
    plotter.graded({"student": "bob", "assignment": "01_x"})
    assert _wait(lambda: "01_x" in plotter.drawn)
    first = plotter.drawn["01_x"][0]
    drawn_at = first.stat().st_mtime_ns
    _report(tmp_path, "02_y", "ann", 2)
    plotter.graded({"student": "ann", "assignment": "02_y"})
    assert _wait(lambda: "02_y" in plotter.drawn)
    y_at = plotter.drawn["02_y"][0].stat().st_mtime_ns
    time.sleep(0.02)
    _report(tmp_path, "02_y", "cid", 0)  # a zero recorded after grading: 02_y's picture is out of date
    os.utime(tmp_path / "reports" / "02_y" / "cid.json")
    pictures = plotter.finish(["01_x", "02_y", "03_z"])
    assert pictures[0] == first and first.stat().st_mtime_ns == drawn_at, "01_x is redrawn for nothing"
    assert pictures[1].stat().st_mtime_ns > y_at, "02_y is not redrawn"
    assert pictures[2] is None  # no reports, no picture


def test_a_refused_run_leaves_no_picture_drawn_from_its_withdrawn_scores(tmp_path):
    plotter = SummaryPlotter(tmp_path, [("ann", "01_x")])
    _report(tmp_path, "01_x", "ann", 1)
    plotter.graded({"student": "ann", "assignment": "01_x"})
    assert _wait(lambda: "01_x" in plotter.drawn)
    picture = plotter.drawn["01_x"][0]
    assert picture.is_file()
    plotter.discard()
    assert not picture.exists()
