"""A class batch through the real nbgrader autograde (python -m grader autograde): honest students
get exactly what they earned, cheaters and broken submissions get nothing they did not earn, a
submission after the due date (nbgrader's timestamp.txt) scores zero and says why, every problem is
named, and the batch always finishes. The class is graded in one run with the attacks of
test_adversarial_batch.py (the `class_batch` fixture of conftest.py)."""
import csv
import json

import pytest

import submissions as S
from conftest import REPO, full_scores
from grader.bwrap import BubblewrapSandbox

FULL = full_scores(S.A)
TOTAL = sum(FULL.values())
ISOLATED = not BubblewrapSandbox.unavailable_reason()


DUE = "2026-12-01T17:00:00+00:00"


def build_batch(root):
    path = S.write(root, "alice", S.solution())                       # honest, complete, on time
    (path.parent / "timestamp.txt").write_text("2026-11-30 12:00:00.000000 UTC")
    path = S.write(root, "laura", S.solution())                       # complete, but after the due date
    (path.parent / "timestamp.txt").write_text("2026-12-02 09:30:00.000000 UTC")
    S.write(root, "bob", S.release())                                 # honest, nothing done
    S.write(root, "carol", S.with_cell(S.wrong_but_running(S.release()), """
import numpy as np, numpy.testing, torch, builtins
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
numpy.testing.assert_allclose = lambda *a, **k: None
torch.allclose = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
builtins.abs = lambda x: 0
builtins.isinstance = lambda *a: True
"""))
    S.write(root, "dave", S.with_cell(S.wrong_but_running(S.release()), """
ip = get_ipython()
ip.input_transformers_cleanup.append(lambda lines: ["pass\\n"])
ip.events.register("post_run_cell", lambda result: setattr(result, "error_in_exec", None))
ip.showtraceback = lambda *a, **k: None
ip.set_custom_exc((BaseException,), lambda *a, **k: None)
"""))
    S.write(root, "erin", S.with_cell(S.release(), f"""
import json, glob
for path in glob.glob({str(REPO / 'solutions' / '*' / '*.ipynb')!r}) + glob.glob('../../../../solutions/*/*.ipynb'):
    for cell in json.load(open(path))['cells']:
        if cell['cell_type'] == 'code' and 'experiment' not in cell['metadata'].get('tags', []):
            try:
                exec(''.join(cell['source']), globals())
            except Exception:
                pass
""", at=1000))
    S.write(root, "frank", None, raw=b'{"cells": [ this is not json')
    nb = S.solution(); del nb.cells[S.cell_index(nb, "softmax")]
    S.write(root, "grace", nb)                                        # deleted a test cell
    nb = S.solution(); nb.cells[S.cell_index(nb, "cross_entropy")].source = "print('all good')"
    S.write(root, "heidi", nb)                                        # edited a test cell
    S.write(root, "ivan", S.solution(), name="my_multinomial_regression.ipynb")  # renamed: graded all the same
    nb = S.solution(); i = S.cell_index(nb, "binary_logistic"); dup = S.copy.deepcopy(nb.cells[i]); dup["id"] = "dup-cell"
    nb.cells.insert(i + 1, dup)
    S.write(root, "judy", nb)                                         # duplicated a test cell
    nb = S.solution(); i = S.cell_index(nb, "standardize")
    cell = nb.cells[i]; nb.cells[i] = S.nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)
    S.write(root, "mallory", nb)                                      # converted a test cell to markdown
    S.write(root, "oscar", S.with_cell(S.solution(), "import os\nos._exit(1)", at=3))  # kills its kernel
    S.write(root, "peggy", S.with_cell(S.solution(), """
import os, glob
for p in glob.glob('../../*/*/*.ipynb') + glob.glob('../../../gradebook.db'):
    try:
        open(p, 'w').write('{}')
    except OSError:
        pass
""", at=2))                                                           # tries to vandalize others
    (root / "walter").mkdir()                                         # empty submission folder


@pytest.fixture(scope="module")
def batch(class_batch):
    """The class graded once with the attacks of test_adversarial_batch.py (conftest.py's class_batch)."""
    return class_batch.proc, class_batch.work, class_batch.grades, class_batch.reports


def part_scores(report):
    return {p["part"]: p["score"] for p in report["parts"]}


def test_the_batch_finishes_and_names_every_problem(batch):
    proc, work, grades, reports = batch
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "PROBLEM frank" in out and "not valid JSON" in out
    assert "NOTE ivan" in out and "renamed from my_multinomial_regression.ipynb" in out
    assert "PROBLEM walter" in out and "empty" in out


def test_honest_students_get_what_they_earned(batch):
    _, _, grades, reports = batch
    assert grades["alice"] == TOTAL and part_scores(reports["alice"]) == FULL
    assert grades["ivan"] == TOTAL and reports["ivan"]["submitted_as"] == "my_multinomial_regression.ipynb"
    assert grades["bob"] == 0


def test_a_late_submission_scores_zero_with_a_reason(batch):
    _, work, _, reports = batch
    with open(work / "grades.csv") as fh:                # the score after nbgrader's late policy
        final = {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh)}
    assert final["alice"] == TOTAL                       # stamped before the due date: on time
    assert final["laura"] == 0                           # the same work, stamped after it
    assert reports["laura"]["score"] == 0 and all("due date" in p["reason"] for p in reports["laura"]["parts"])
    assert "laura" in (work / "needs_review.csv").read_text()


@pytest.mark.parametrize("student", ["carol", "dave", "erin"])
def test_cheaters_earn_nothing(batch, student):
    _, _, grades, reports = batch
    if student == "erin" and not ISOLATED:
        pytest.skip("reading solutions/ is only prevented by the bubblewrap sandbox, unavailable here")
    assert grades[student] == 0, json.dumps(reports.get(student), indent=1)


def test_broken_submissions_earn_nothing_they_did_not_earn(batch):
    _, _, grades, reports = batch
    assert grades.get("frank", 0) == 0
    for student, part in [("grace", "softmax"), ("heidi", "cross_entropy"), ("judy", "binary_logistic"),
                          ("mallory", "standardize")]:
        got = part_scores(reports[student])
        assert got[part] == 0, (student, got)
        status = {p["part"]: p["status"] for p in reports[student]["parts"]}
        assert status[part] == "needs_review"
        assert {k: v for k, v in got.items() if k != part} == {k: v for k, v in FULL.items() if k != part}
        assert grades[student] == TOTAL - FULL[part]
    assert grades["oscar"] == 0
    assert all(p["status"] == "needs_review" for p in reports["oscar"]["parts"])


def test_vandalism_changes_nobody_else(batch):
    _, work, grades, reports = batch
    if ISOLATED:
        assert grades["peggy"] == TOTAL
    assert grades["alice"] == TOTAL and (work / "gradebook.db").stat().st_size > 1000


def test_review_list_and_feedback(batch):
    _, work, grades, reports = batch
    review = (work / "needs_review.csv").read_text()
    for student in ("frank", "grace", "heidi", "judy", "mallory", "oscar", "walter"):
        assert student in review
    html = (work / "feedback" / "alice" / S.A / "multinomial_regression.html").read_text()
    assert "Part softmax: 2 / 2 points" in html
    bob = (work / "feedback" / "bob" / S.A / "multinomial_regression.html").read_text()
    assert "NotImplementedError" in bob and "run the visible checks" in bob
    checks = (REPO / "grader" / "checks" / f"test_{S.A}.py").read_text()
    for needle in ("def torch_ce", "regression_problem", "RTOL_GRAD"):
        assert needle in checks and needle not in bob  # hidden check code never reaches students
