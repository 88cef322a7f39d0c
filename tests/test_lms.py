"""Submissions downloaded from an LMS (Canvas, Moodle, Blackboard, GitHub Classroom): each layout is
built here as the LMS lays it out, mapped to student ids (with and without a roster), the latest
resubmission kept, the LMS's late mark carried into nbgrader's timestamp, and every file the layout
does not explain named. Most of it runs in-process on the collecting layer; one Canvas zip goes through
the real `python -m grader autograde`."""
import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import submissions as S
from conftest import REPO, full_scores
from grader import course, lms
from grader.submissions import collect

NAME = S.NAME                     # multinomial_regression.ipynb
OPT = "optimizers.ipynb"
OPT_A = "06_optimizers"
DUE = "2026-12-01T17:00:00+00:00"


def release_of(assignment):
    return course.NOTEBOOKS / assignment / course.source_notebook(assignment).name


def put(folder: Path, name: str, source: Path | None = None, text: str | None = None) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if text is not None:
        path.write_text(text)
    else:
        shutil.copy(source or release_of(S.A), path)
    return path


def gather(root, roster=None, due=None, assignments=None):
    found, problems, seen, temporary, _ = lms.gather(root, assignments, roster, due)
    lines = [("NOTE " if p.note else "PROBLEM ") + p.line() for p in problems]
    return found, problems, lines, temporary


def stamp_of(nb: Path):
    stamp = nb.parent / "timestamp.txt"
    return stamp.read_text() if stamp.is_file() else None


def write_roster(path, rows, header="id,name,lms_id,email,github"):
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return lms.read_roster(path)


# -- Canvas ------------------------------------------------------------------------------------------
def canvas_download(root):
    put(root, "doejohn_12345_678901_" + NAME)                                          # first try
    put(root, "doejohn_12345_678950_multinomial_regression-1.ipynb", course.source_notebook(S.A))  # resubmitted
    put(root, "roeanna_LATE_222_333_" + NAME, course.source_notebook(S.A))
    put(root, "smithjo_444_555_" + NAME)
    put(root, "smithjo_444_556_essay.pdf", text="%PDF")
    put(root, "readme.txt", text="downloaded from Canvas")


def test_canvas_without_roster_uses_the_canvas_user_id(tmp_path):
    canvas_download(tmp_path)
    found, problems, lines, _ = gather(tmp_path, due=DUE)
    assert sorted(found) == [("12345", S.A), ("222", S.A), ("444", S.A)]
    assert lms.gather(tmp_path, None, None, DUE)[4] == {"12345": "12345", "222": "222", "444": "444"}
    # the latest resubmission is graded, the earlier one is named as dropped
    assert found[("12345", S.A)].read_bytes() == course.source_notebook(S.A).read_bytes()
    assert any(line.startswith("NOTE 12345: doejohn_12345_678901_") and "dropped" in line
               and "678950_multinomial_regression-1.ipynb, is graded" in line for line in lines)
    # the LMS's file name additions are gone: the staged notebook has the course's name
    assert found[("12345", S.A)].name == NAME


def test_canvas_late_mark_becomes_a_timestamp_after_the_due_date(tmp_path):
    canvas_download(tmp_path)
    found, _, lines, _ = gather(tmp_path, due=DUE)
    late = stamp_of(found[("222", S.A)])
    assert late == "2026-12-01 17:00:01.000000 UTC"
    assert stamp_of(found[("12345", S.A)]) is None and stamp_of(found[("444", S.A)]) is None
    assert any("NOTE 222" in line and "LATE" in line for line in lines)


def test_canvas_late_mark_without_due_is_listed_for_review(tmp_path):
    canvas_download(tmp_path)
    found, problems, _, _ = gather(tmp_path)
    assert stamp_of(found[("222", S.A)]) is None
    late = [p for p in problems if p.student == "222"]
    assert len(late) == 1 and not late[0].note and "no --due" in late[0].reason


def test_every_unexplained_file_gets_a_problem_line(tmp_path):
    canvas_download(tmp_path)
    _, problems, lines, _ = gather(tmp_path, due=DUE)
    assert any(line.startswith("PROBLEM 444: smithjo_444_556_essay.pdf: Canvas: not a notebook") for line in lines)
    assert any(line.startswith("PROBLEM -: readme.txt: not explained by any layout") for line in lines)
    put(tmp_path, "loose.ipynb")
    _, _, lines, _ = gather(tmp_path, due=DUE)
    assert any(line.startswith("PROBLEM -: loose.ipynb:") and "names no student" in line for line in lines)


def test_canvas_with_roster_maps_ids_and_names_to_logins(tmp_path):
    canvas_download(tmp_path / "dl")
    roster = write_roster(tmp_path / "roster.csv", ["jdoe,John Doe,12345,jdoe@uni.example,",
                                                    "aroe,\"Roe, Anna\",,aroe@uni.example,"])
    found, problems, lines, _ = gather(tmp_path / "dl", roster=roster, due=DUE)
    # 12345 by its Canvas id, roeanna by the sortable name, smithjo is not on the roster
    assert sorted(found) == [("444", S.A), ("aroe", S.A), ("jdoe", S.A)]
    missing = [p for p in problems if p.student == "444" and "not in the roster" in p.reason]
    assert missing and "graded as 444" in missing[0].reason


# -- Moodle ------------------------------------------------------------------------------------------
def test_moodle_folders_and_loose_files(tmp_path):
    put(tmp_path, f"John Doe_1001_assignsubmission_file_/{NAME}", course.source_notebook(S.A))
    put(tmp_path, f"Anna Roe_1002_assignsubmission_file_{NAME}")
    put(tmp_path, "Jo Smith_1003_assignsubmission_onlinetext_/onlinetext.html", text="<p>see attached</p>")
    roster = write_roster(tmp_path.parent / "roster.csv", ["jdoe,John Doe,1001,,", "aroe,Anna Roe,,,"])
    found, problems, lines, _ = gather(tmp_path, roster=roster)
    assert sorted(found) == [("aroe", S.A), ("jdoe", S.A)]
    assert any(line.startswith("PROBLEM 1003: Jo Smith_1003_assignsubmission_onlinetext_:")
               and "no notebook" in line for line in lines)
    found, _, _, _ = gather(tmp_path)  # no roster: Moodle's own id
    assert sorted(found) == [("1001", S.A), ("1002", S.A)]


# -- Blackboard --------------------------------------------------------------------------------------
def blackboard_attempt(root, user, date, zone="CET", file=NAME, source=None, name="John Doe"):
    base = f"Homework 1_{user}_attempt_{date}"
    put(root, f"{base}_{file}", source)
    put(root, base + ".txt", text=f"Name: {name} ({user})\nAssignment: Homework 1\n"
        f"Date Submitted: Monday, November 30, 2026 10:00:00 AM {zone}\nCurrent Grade: Needs Grading\n\n"
        f"Files:\n\tOriginal filename: {file}\n\tFilename: {base}_{file}\n")


def test_blackboard_latest_attempt_and_its_date(tmp_path):
    blackboard_attempt(tmp_path, "jdoe", "2026-11-29-08-00-00")
    blackboard_attempt(tmp_path, "jdoe", "2026-11-30-10-00-00", source=course.source_notebook(S.A))
    blackboard_attempt(tmp_path, "aroe", "2026-12-02-09-30-00", zone="XYZT", name="Anna Roe")
    put(tmp_path, "Homework 1_ghost_attempt_2026-11-30-11-00-00.txt", text="Name: Ghost (ghost)\n")
    found, problems, lines, _ = gather(tmp_path)
    assert sorted(found) == [("aroe", S.A), ("jdoe", S.A)]
    assert found[("jdoe", S.A)].read_bytes() == course.source_notebook(S.A).read_bytes()
    assert stamp_of(found[("jdoe", S.A)]) == "2026-11-30 09:00:00.000000 UTC"  # 10:00 CET
    assert stamp_of(found[("aroe", S.A)]) == "2026-12-02 09:30:00.000000 UTC"  # unknown zone: UTC, said so
    assert any(line.startswith("NOTE aroe") and "time zone" in line for line in lines)
    assert any(line.startswith("NOTE jdoe") and "2026-11-29-08-00-00" in line and "dropped" in line for line in lines)
    assert any(line.startswith("PROBLEM ghost") and "no file" in line for line in lines)


def test_blackboard_username_through_the_roster(tmp_path):
    blackboard_attempt(tmp_path / "dl", "u1234567", "2026-11-30-10-00-00")
    roster = write_roster(tmp_path / "roster.csv", ["jdoe,John Doe,u1234567,jdoe@uni.example,"])
    found, _, _, _ = gather(tmp_path / "dl", roster=roster)
    assert list(found) == [("jdoe", S.A)]


def test_blackboard_username_with_an_underscore_as_its_record_spells_it(tmp_path):
    blackboard_attempt(tmp_path, "j_doe", "2026-11-30-10-00-00", zone="UTC")
    found, problems, _, _ = gather(tmp_path)
    assert list(found) == [("j_doe", S.A)] and not problems


def test_a_moodle_zip_as_moodle_makes_it(tmp_path):
    from grader.submissions import unpack
    with zipfile.ZipFile(tmp_path / "moodle.zip", "w") as zf:
        zf.write(release_of(S.A), f"John Doe_1001_assignsubmission_file_/{NAME}")
        zf.write(release_of(OPT_A), f"John Doe_1001_assignsubmission_file_/{OPT}")
        zf.writestr("Anna Roe_1002_assignsubmission_file_/essay.pdf", "%PDF")
    root, tmp = unpack(tmp_path / "moodle.zip")
    try:
        found, problems, lines, _ = gather(root)
    finally:
        shutil.rmtree(tmp)
    assert sorted(found) == [("1001", S.A), ("1001", OPT_A)]
    assert any(line.startswith("PROBLEM 1002: Anna Roe_1002_assignsubmission_file_/essay.pdf: Moodle: not a notebook")
               for line in lines)


# -- GitHub Classroom ----------------------------------------------------------------------------------
def test_github_classroom_clones_and_roster(tmp_path):
    for user in ("octocat", "mona-lisa"):
        repo = tmp_path / "dl" / f"hw1-softmax-{user}"
        (repo / ".git").mkdir(parents=True)
        put(repo, "README.md", text="# hw1")
        put(repo, f"notebooks/{NAME}")
    found, problems, lines, _ = gather(tmp_path / "dl")
    assert sorted(found) == [("mona-lisa", S.A), ("octocat", S.A)]
    assert not [p for p in problems if not p.note]
    # without .git (a zip of the repositories), the roster's github column recognises them
    for repo in (tmp_path / "dl").iterdir():
        shutil.rmtree(repo / ".git")
    roster = write_roster(tmp_path / "roster.csv", ["mlisa,Mona Lisa,,,mona-lisa", "ocat,Octo Cat,,,octocat"])
    found, problems, _, _ = gather(tmp_path / "dl", roster=roster)
    assert sorted(found) == [("mlisa", S.A), ("ocat", S.A)]


# -- nbgrader's own layout is unchanged ----------------------------------------------------------------
def test_nbgrader_layout_is_used_as_it_is(tmp_path):
    S.write(tmp_path, "alice", S.solution())
    (tmp_path / "bob").mkdir()
    put(tmp_path / "bob", NAME)
    found, problems, _, temporary = gather(tmp_path)
    assert temporary is None  # nothing laid out anew
    assert found == collect(tmp_path)[0] and sorted(found) == [("alice", S.A), ("bob", S.A)]


def test_a_download_zipped_inside_one_folder(tmp_path):
    canvas_download(tmp_path / "submissions")
    found, _, _, _ = gather(tmp_path, due=DUE)
    assert sorted(found) == [("12345", S.A), ("222", S.A), ("444", S.A)]


# -- the roster: bad input gets a clear message ----------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("name,email\nJohn,j@x\n", "has no 'id' column"),
    ("id,lms_id\njdoe,1\naroe,1\n", "lms_id '1' is also on line 2"),
    ("id\njohn doe\n", "is not usable as a student id"),
    ("id,name\n", "no students"),
])
def test_roster_errors_name_the_file_and_the_fix(tmp_path, text, expected):
    path = tmp_path / "class.csv"
    path.write_text(text)
    with pytest.raises(lms.RosterError) as err:
        lms.read_roster(path)
    assert str(err.value).startswith(str(path)) and expected in str(err.value)


def test_roster_error_through_the_cli(tmp_path):
    (tmp_path / "subs").mkdir()
    (tmp_path / "class.csv").write_text("name\nJohn\n")
    proc = subprocess.run([sys.executable, "-m", "grader", "autograde", str(tmp_path / "subs"), "--no-preflight",
                           "--roster", str(tmp_path / "class.csv")], cwd=REPO, capture_output=True, text=True,
                          env=dict(os.environ, COURSE_WORK_DIR=str(tmp_path / "work")), timeout=300)
    assert proc.returncode == 2 and "class.csv: the roster has no 'id' column" in proc.stderr
    assert "Traceback" not in proc.stderr


# -- nothing graded is never silent --------------------------------------------------------------------
def test_input_without_a_gradable_notebook_exits_non_zero_saying_why(tmp_path):
    put(tmp_path / "dl", "smithjo_444_556_essay.pdf", text="%PDF")
    put(tmp_path / "dl", "notes.txt", text="hello")
    with zipfile.ZipFile(tmp_path / "dl.zip", "w") as zf:
        for f in (tmp_path / "dl").iterdir():
            zf.write(f, f.name)
    proc = subprocess.run([sys.executable, "-m", "grader", "autograde", str(tmp_path / "dl.zip"), "--no-preflight"],
                          cwd=REPO, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, COURSE_WORK_DIR=str(tmp_path / "work")))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "PROBLEM 444: smithjo_444_556_essay.pdf: Canvas: not a notebook" in proc.stdout
    assert "PROBLEM -: notes.txt: not explained by any layout" in proc.stdout
    assert "nothing graded" in proc.stderr and "2 file(s)" in proc.stderr
    assert not (tmp_path / "work" / "gradebook.db").exists()


# -- grades for the LMS ------------------------------------------------------------------------------------
def test_lms_grade_files(tmp_path):
    grades = tmp_path / "grades.csv"
    with open(grades, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                    "raw_score", "late_submission_penalty", "score", "max_score"])
        w.writerow([S.A, "", "", "jdoe", "", "", "", "12.0", "0.0", "12.0", "14.0"])
        w.writerow([S.A, "", "", "444", "", "", "", "3.5", "0.0", "3.5", "14.0"])
        w.writerow(["06_optimizers", "", "", "jdoe", "", "", "", "0.0", "0.0", "0.0", "20.0"])
    roster = write_roster(tmp_path / "roster.csv", ["jdoe,John Doe,12345,jdoe@uni.example,"])
    canvas, moodle = lms.write_exports(grades, roster)
    with open(canvas, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", S.A, "06_optimizers"]
    assert rows[1] == ["Points Possible", "", "", "", "", "14", "20"]
    assert rows[2:] == [["444", "", "", "444", "", "3.5", ""], ["John Doe", "12345", "", "jdoe", "", "12", "0"]]
    with open(moodle, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows == [["Username", "Email address", S.A, "06_optimizers"], ["444", "", "3.5", ""],
                    ["jdoe", "jdoe@uni.example", "12", "0"]]
    # a numeric login is not taken for a Canvas id; a Canvas download's user id is
    lms.write_exports(grades, None, {"444": "444"})
    with open(canvas, newline="") as fh:
        assert [r[:4] for r in csv.reader(fh)][2:] == [["444", "444", "", "444"], ["jdoe", "", "", "jdoe"]]


# -- one Canvas zip through the real autograde ------------------------------------------------------------
@pytest.mark.slow
def test_a_canvas_zip_is_graded_end_to_end(tmp_path):
    dl = tmp_path / "dl"
    put(dl, "doejohn_12345_678901_" + NAME)                                                  # unsolved first try
    put(dl, "doejohn_12345_678950_multinomial_regression-1.ipynb", course.source_notebook(S.A))  # solved later
    put(dl, "roeanna_LATE_222_333_" + NAME, course.source_notebook(S.A))                   # solved, but late
    put(dl, "catcopy_777_888_multinomial_regression (1).ipynb", course.source_notebook(S.A))  # renamed, solved
    put(dl, "catcopy_777_889_notes.docx", text="not a notebook")
    with zipfile.ZipFile(tmp_path / "submissions.zip", "w") as zf:
        for f in sorted(dl.iterdir()):
            zf.write(f, f.name)
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,lms_id,email\njdoe,John Doe,12345,jdoe@uni.example\naroe,Anna Roe,222,\n")
    work = tmp_path / "work"
    proc = subprocess.run([sys.executable, "-m", "grader", "autograde", str(tmp_path / "submissions.zip"),
                           "--roster", str(roster), "--due", DUE], cwd=REPO, capture_output=True, text=True,
                          env=dict(os.environ, COURSE_WORK_DIR=str(work)), timeout=1800)
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    total = sum(full_scores(S.A).values())
    with open(work / "grades.csv") as fh:
        grades = {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh)}
    assert grades == {"jdoe": total, "aroe": 0.0, "777": total}
    assert "NOTE jdoe: doejohn_12345_678901_multinomial_regression.ipynb" in out and "dropped" in out
    about_renamed = [line for line in out.splitlines() if "catcopy_777_888" in line]
    assert len(about_renamed) == 2, about_renamed  # renamed (a note), and once: not on the roster
    assert "NOTE 777: catcopy_777_888_multinomial_regression (1).ipynb: renamed from" in about_renamed[1]
    assert "not in the roster" in about_renamed[0] and "graded as 777" in about_renamed[0]
    assert "PROBLEM 777: catcopy_777_889_notes.docx: Canvas: not a notebook" in out
    assert "graded 3 notebook(s)" in out
    late = json.loads((work / "reports" / S.A / "aroe.json").read_text())
    assert all("due date" in p["reason"] for p in late["parts"])
    renamed = json.loads((work / "reports" / S.A / "777.json").read_text())
    assert renamed["submitted_as"] == "multinomial_regression (1).ipynb"
    assert "renamed from multinomial_regression (1).ipynb" in out  # in the table
    review = (work / "needs_review.csv").read_text()
    assert "aroe" in review and "notes.docx" in review and "jdoe" not in review
    with open(work / "grades_canvas.csv", newline="") as fh:
        canvas = list(csv.DictReader(fh))
    with open(work / "grades.csv") as fh:
        possible = {float(r["max_score"]) for r in csv.DictReader(fh)}  # written answers included
    assert canvas[0]["Student"] == "Points Possible" and {float(canvas[0][S.A])} == possible
    assert {r["SIS Login ID"]: (r["ID"], float(r[S.A])) for r in canvas[1:]} == {
        "jdoe": ("12345", total), "aroe": ("222", 0.0), "777": ("777", total)}  # 777: from the download
    with open(work / "grades_moodle.csv", newline="") as fh:
        moodle = {r["Username"]: r for r in csv.DictReader(fh)}
    assert moodle["jdoe"]["Email address"] == "jdoe@uni.example" and float(moodle["jdoe"][S.A]) == total
