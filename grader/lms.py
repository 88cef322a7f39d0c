"""Submissions downloaded from a learning management system, a roster that maps them to student ids,
and grade files the LMS imports.

`python -m grader autograde` accepts, besides nbgrader's own layout (one folder per student id, see
`submissions.py`), the bulk downloads below, loose at the top of the folder or zip, or inside one
folder there. What each looks like is what the LMSs' documentation and tools that parse them describe;
where a detail could not be checked it is stated as an assumption.

Canvas ("Download Submissions"): loose files `<name>_<userid>_<attachmentid>_<file>`, with `LATE_`
    before the user id when Canvas marks the submission late (`doejohn_LATE_12345_678901_x.ipynb`).
    `<name>` is the sortable name in lower case without spaces or punctuation. Canvas appends `-N`
    before the extension when a file of the same name was uploaded before (a resubmission).
    Student: the roster row whose lms_id is the user id (else whose name is `<name>`), else the Canvas
    user id. Latest copy: the highest attachment id, then the highest `-N` (assumed: attachment ids
    grow with every upload). Late: a LATE file gets a timestamp one second after `--due`, so the late
    policy applies; without `--due` it is listed for review and graded as on time.
Moodle (assignment, "Download all submissions"): a folder `<Full Name>_<id>_assignsubmission_file_`
    per student holding the uploaded files (or, with "Download submissions in folders" off, loose files
    `<Full Name>_<id>_assignsubmission_file_<file>`). `<id>` is the participant id (Moodle's user id
    unless blind marking is on). Student: the roster row whose lms_id is `<id>` (else whose name is
    `<Full Name>`), else `<id>`. Moodle's download carries no submission time: apply lateness in Moodle.
Blackboard (Grade Center, "Download Assignment"): loose files
    `<Assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file>` and, per attempt, a
    `<Assignment>_<username>_attempt_<date>.txt` with `Name: Full Name (username)`, `Date Submitted:`
    and `Original filename:` lines. Student: the roster row whose lms_id, id or e-mail's local part is
    the username, else the username. Latest attempt: the latest date. Timestamp: the attempt's date, in
    the time zone the .txt names (`... 10:00:00 AM CET`); a zone it does not name is taken as UTC and
    said so.
GitHub Classroom: one repository per student, `<assignment-prefix>-<githubuser>/`, recognised as a
    clone (it holds `.git`, as GitHub Classroom Assistant and `gh classroom clone student-repos` make
    them) or, with a roster, by a name ending in `-<github>` of a roster row. Every notebook in it is
    a candidate. Student: the roster row of that GitHub user, else the GitHub user (the part after the
    prefix that all the repositories share). No timestamp: use the classroom's deadline on commits.

Every file that no layout explains gets a problem line; nothing is ignored silently.

Checked against: Moodle's file names as the open-source parsers of its downloads split them
(https://github.com/gondree/canvas-offline-grading, moodle_submissions.py); Canvas's gradebook import
columns as the Ohio State University's guide lists them (Student name or ID or SIS User ID, SIS Login
ID, Section, one column per assignment; a column of a new name creates a new assignment:
https://teaching.resources.osu.edu/toolsets/carmencanvas/guides/calculating-final-grades/import-csv-file-carmen-grades);
Moodle's CSV grade import, where the teacher maps the identifying column ("Map from" / "Map to",
e.g. e-mail address) and each grade column (https://github.com/aaronsamuel137/moodle-autograder).
Canvas's `LATE_` and `-N` and Blackboard's attempt files and their .txt fields follow the issue's
description and common knowledge of these downloads; no live LMS was at hand to download from, so
they remain assumptions.

The roster (`--roster FILE`) is a CSV with a header; `id` (the login nbgrader uses) is required,
`name`, `lms_id` (the LMS's own user id or username), `email` and `github` are optional.
"""
from __future__ import annotations

import csv
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from . import course
from .submissions import _ID, Problem, collect, identify

ROSTER_COLUMNS = ("id", "name", "lms_id", "email", "github")

CANVAS = re.compile(r"^(?P<name>[^\W_]+)_(?P<late>LATE_)?(?P<uid>\d+)_(?P<att>\d+)_(?P<file>.+)$")
CANVAS_COPY = re.compile(r"^(?P<stem>.+)-(?P<n>\d+)$")
MOODLE_DIR = re.compile(r"^(?P<name>.+)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_$")
MOODLE_FILE = re.compile(r"^(?P<name>.+)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.+)$")
BLACKBOARD = re.compile(r"^(?P<assignment>.+)_(?P<user>[^_]+)_attempt_"
                        r"(?P<date>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)(?:_(?P<file>.+))?$")
# time zone abbreviations Blackboard writes after "Date Submitted:" (hours from UTC)
ZONES = {"UTC": 0, "GMT": 0, "WET": 0, "WEST": 1, "BST": 1, "CET": 1, "CEST": 2, "EET": 2, "EEST": 3,
         "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
         "AKST": -9, "AKDT": -8, "HST": -10, "AEST": 10, "AEDT": 11, "NZST": 12, "NZDT": 13, "JST": 9}


class RosterError(ValueError):
    pass


def _squash(text: str) -> str:
    """A name as Canvas writes it in file names: lower case, letters and digits only."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


@dataclass
class Roster:
    path: Path
    rows: list[dict] = field(default_factory=list)

    def find(self, *keys) -> str | None:
        """The id of the first row matching one of the (column, value) keys, tried in order."""
        for column, value in keys:
            if not value:
                continue
            for row in self.rows:
                if column == "name":
                    names = {_squash(row["name"])}
                    if "," in row["name"]:  # "Doe, John": Canvas's sortable name is doejohn
                        names.add(_squash(row["name"]))
                    else:                   # "John Doe": either order
                        parts = row["name"].split()
                        names.add(_squash(" ".join(parts[-1:] + parts[:-1])))
                    if _squash(value) in names - {""}:
                        return row["id"]
                elif column == "email_user":
                    if row["email"] and row["email"].split("@")[0].lower() == value.lower():
                        return row["id"]
                elif row.get(column) and row[column].lower() == value.lower():
                    return row["id"]
        return None

    def row(self, student: str) -> dict:
        return next((r for r in self.rows if r["id"] == student), {})


def read_roster(path) -> Roster:
    """Read and check a roster CSV; a RosterError says what is wrong and what to do."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise RosterError(f"{path}: cannot read the roster ({err}). Give a UTF-8 CSV file with a header "
                          f"row: {','.join(ROSTER_COLUMNS)} (only id is required)") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if "id" not in header:
        raise RosterError(f"{path}: the roster has no 'id' column (its header is: {', '.join(header) or 'empty'}). "
                          f"Its first row must name the columns, e.g. {','.join(ROSTER_COLUMNS)}")
    roster, seen = Roster(path), {}
    for line, raw in enumerate(reader, start=2):
        row = {c: "" for c in ROSTER_COLUMNS}
        row.update({(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k})
        if not any(row.values()):
            continue
        if not _ID.match(row["id"]):
            raise RosterError(f"{path}, line {line}: id {row['id']!r} is not usable as a student id (letters, "
                              "digits, _ . @ -, starting with a letter or digit); fix that row")
        for column in ("id", "lms_id", "github", "email"):
            if row[column] and (column, row[column].lower()) in seen:
                raise RosterError(f"{path}, line {line}: {column} {row[column]!r} is also on line "
                                  f"{seen[(column, row[column].lower())]}; each must be unique")
            if row[column]:
                seen[(column, row[column].lower())] = line
        roster.rows.append(row)
    if not roster.rows:
        raise RosterError(f"{path}: the roster has a header but no students")
    return roster


@dataclass
class Entry:
    """One notebook (or other file) a student handed in through an LMS."""
    student: str
    path: Path
    name: str            # the file name the student gave it, without the LMS's additions
    origin: str          # where it is in the download, for messages
    layout: str
    order: tuple = ()    # larger is later, among copies of the same student and assignment
    timestamp: datetime | None = None
    late_mark: bool = False
    lms_id: str = ""     # the LMS's own id of the student (Canvas: the user id)


def _student(roster, keys, fallback, origin, layout, problems):
    if roster is None:
        return fallback
    found = roster.find(*keys)
    if found is None:
        reason = (f"{layout}: not in the roster {roster.path.name} (looked up " + ", ".join(f"{c}={v}" for c, v in keys if v)
                  + f"); graded as {fallback}. Add the student to the roster to grade them under their login")
        if not any(p.student == fallback and p.reason == reason for p in problems):  # once per student
            problems.append(Problem(fallback, origin, reason))
        return fallback
    return found


def _blackboard_meta(txt: Path) -> dict:
    meta = {}
    for line in txt.read_text(encoding="utf-8", errors="replace").splitlines():
        key, _, value = line.strip().partition(":")
        if value and key in ("Name", "Date Submitted", "Original filename") and key not in meta:
            meta[key] = value.strip()
    return meta


def _blackboard_time(date: str, meta: dict, origin: str, problems, student):
    stamp = datetime.strptime(date, "%Y-%m-%d-%H-%M-%S")
    zone = (meta.get("Date Submitted", "").split() or [""])[-1]
    if zone.upper() in ZONES:
        return stamp.replace(tzinfo=timezone(timedelta(hours=ZONES[zone.upper()])))
    problems.append(Problem(student, origin, f"Blackboard: the time zone of the attempt's date is not known "
                            f"({zone or 'no Date Submitted line in its .txt'}); taken as UTC", note=True))
    return stamp.replace(tzinfo=timezone.utc)


def _is_lms_name(name: str) -> bool:
    return bool(CANVAS.match(name) or MOODLE_DIR.match(name) or MOODLE_FILE.match(name) or BLACKBOARD.match(name))


def _descend(root: Path) -> Path:
    """A download zipped inside one folder: use that folder."""
    while True:
        entries = [p for p in root.iterdir() if not p.name.startswith((".", "__MACOSX"))]
        if len(entries) == 1 and entries[0].is_dir() and not MOODLE_DIR.match(entries[0].name) \
                and not (entries[0] / ".git").exists() \
                and any(_is_lms_name(p.name) for p in entries[0].iterdir()):
            root = entries[0]
        else:
            return root


def scan(root: Path, roster: Roster | None = None):
    """Sort the top of a download into LMS entries, folders in nbgrader's layout, and problems."""
    entries, plain, problems = [], [], []
    top = sorted(p for p in root.iterdir() if not p.name.startswith((".", "__MACOSX")))
    repos = [p for p in top if p.is_dir() and (p / ".git").exists()]
    if roster is not None:
        repos += [p for p in top if p.is_dir() and p not in repos and not MOODLE_DIR.match(p.name)
                  and any(r["github"] and p.name.lower().endswith("-" + r["github"].lower()) for r in roster.rows)]
    prefix = ""
    if len(repos) > 1:
        names = [p.name for p in repos]
        common = names[0]
        for n in names[1:]:
            while not n.startswith(common):
                common = common[:-1]
        prefix = common[:common.rfind("-") + 1]
    txts = {}
    for p in top:
        m = BLACKBOARD.match(p.stem) if p.suffix == ".txt" else None
        if p.is_file() and m and not m["file"]:
            txts[(m["user"], m["date"])] = p
    used_txt = set()
    for p in top:
        rel = p.relative_to(root).as_posix()
        if p.is_dir():
            m = MOODLE_DIR.match(p.name)
            if m:
                student = _student(roster, [("lms_id", m["id"]), ("name", m["name"])], m["id"], rel, "Moodle", problems)
                files = sorted(f for f in p.rglob("*") if f.is_file() and ".ipynb_checkpoints" not in f.parts)
                if m["plugin"] != "file" or not files:
                    what = "no file" if not files else f"a {m['plugin']} submission"
                    problems.append(Problem(student, rel, f"Moodle: {what}, no notebook to grade: zero points"))
                    continue
                for f in files:
                    entries.append(Entry(student, f, f.name, f.relative_to(root).as_posix(), "Moodle"))
            elif p in repos:
                user = p.name[len(prefix):] if prefix else p.name
                github = None
                if roster is not None:
                    github = next((r["github"] for r in roster.rows if r["github"]
                                   and p.name.lower().endswith("-" + r["github"].lower())), None)
                if github:
                    user = github
                elif not prefix:
                    problems.append(Problem(user, rel, "GitHub Classroom: one repository alone, so its GitHub user "
                                            "cannot be told from the assignment's prefix; graded under the folder "
                                            "name (give --roster with a github column to map it)", note=True))
                student = _student(roster, [("github", user)], user, rel, "GitHub Classroom", problems)
                files = sorted(f for f in p.rglob("*.ipynb")
                               if ".git" not in f.relative_to(p).parts and ".ipynb_checkpoints" not in f.parts)
                if not files:
                    problems.append(Problem(student, rel, "GitHub Classroom: the repository holds no notebook: "
                                            "zero points"))
                for f in files:
                    entries.append(Entry(student, f, f.name, f.relative_to(root).as_posix(), "GitHub Classroom"))
            else:
                plain.append(p)
            continue
        m = CANVAS.match(p.name)
        if m:
            student = _student(roster, [("lms_id", m["uid"]), ("name", m["name"])], m["uid"], rel, "Canvas", problems)
            stem, dot, ext = m["file"].rpartition(".")
            copy = CANVAS_COPY.match(stem) if dot else None
            name = f"{copy['stem']}.{ext}" if copy else m["file"]
            entries.append(Entry(student, p, name, rel, "Canvas", order=(int(m["att"]), int(copy["n"]) if copy else 0),
                                 late_mark=bool(m["late"]), lms_id=m["uid"]))
            continue
        m = MOODLE_FILE.match(p.name)
        if m:
            student = _student(roster, [("lms_id", m["id"]), ("name", m["name"])], m["id"], rel, "Moodle", problems)
            entries.append(Entry(student, p, m["file"], rel, "Moodle"))
            continue
        m = BLACKBOARD.match(p.stem if p.suffix == ".txt" else p.name)
        if m and p in txts.values():
            continue  # an attempt's record; read with its files
        if m:
            txt = txts.get((m["user"], m["date"]))
            meta = _blackboard_meta(txt) if txt else {}
            used_txt.add(txt)
            user = m["user"]
            named = re.search(r"\(([^()]+)\)\s*$", meta.get("Name", ""))
            if named and f"_{named.group(1)}_attempt_" in p.name:
                user = named.group(1)  # a username with "_" in it, as the .txt spells it
            full_name = meta.get("Name", "").rsplit("(", 1)[0].strip()
            student = _student(roster, [("lms_id", user), ("id", user), ("email_user", user), ("name", full_name)],
                               user, rel, "Blackboard", problems)
            name = m["file"] or meta.get("Original filename") or p.name
            entries.append(Entry(student, p, name, rel, "Blackboard", order=(m["date"],),
                                 timestamp=_blackboard_time(m["date"], meta, rel, problems, student)))
            continue
        if p.suffix == ".ipynb":
            reason = ("a notebook loose at the top, in no layout this grader knows: it names no student. Put it in a "
                      "folder named by the student id (<student>/<notebook>.ipynb)")
        else:
            reason = ("not explained by any layout (nbgrader's <student>/ folders, or the Canvas, Moodle, "
                      "Blackboard or GitHub Classroom downloads); it is not graded")
        problems.append(Problem("", rel, reason))
    for (user, date), txt in txts.items():
        if txt not in used_txt:
            problems.append(Problem(user, txt.relative_to(root).as_posix(), "Blackboard: this attempt's record has "
                                    "no file beside it: nothing to grade"))
    return entries, plain, problems


def _utc(stamp: datetime) -> str:
    return stamp.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def stage(root: Path, roster=None, due: datetime | None = None):
    """Lay a download out as nbgrader's <student>/<assignment>/<notebook> in a temporary folder.

    Returns (folder, problems, origin, files_seen, temporary, canvas_ids): `origin` maps each staged file
    to where it came from; `folder` is the download itself (and `temporary` None) when it holds nothing
    but nbgrader's layout, else the temporary folder the caller removes; `canvas_ids` maps a student id
    to the Canvas user id of their files."""
    root = _descend(root)
    entries, plain, problems = scan(root, roster)
    files_seen = sum(1 for p in root.rglob("*") if p.is_file() and ".git" not in p.relative_to(root).parts)
    if not entries and not problems:
        return root, [], {}, files_seen, None, {}
    out = Path(tempfile.mkdtemp(prefix="lms-"))
    origin = {}
    for folder in plain:
        shutil.copytree(folder, out / folder.name, dirs_exist_ok=True)
        for f in folder.rglob("*"):
            origin[str(out / f.relative_to(root))] = f.relative_to(root).as_posix()
    latest = {}
    for e in entries:
        if not e.path.name.endswith(".ipynb"):
            problems.append(Problem(e.student, e.origin, f"{e.layout}: not a notebook (.ipynb); not graded"))
            continue
        assignment, _ = identify(e.path)
        key = (e.student, assignment or e.origin)
        if key in latest:
            kept, dropped = sorted([latest[key], e], key=lambda x: x.order)[::-1]
            if not kept.order or kept.order == dropped.order:
                problems.append(Problem(e.student, dropped.origin, f"{e.layout}: a second copy of {kept.origin} "
                                        "with nothing to say which is later; only that one is graded",
                                        assignment or ""))
            else:
                problems.append(Problem(e.student, dropped.origin, f"{e.layout}: an earlier submission, dropped: "
                                        f"the latest, {kept.origin}, is graded", assignment or "", note=True))
            latest[key] = kept
        else:
            latest[key] = e
    for (student, assignment), e in latest.items():
        folder = out / student / (assignment if assignment in course.assignments() else "_unrecognised")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / e.name
        if target.exists():  # two different files under one name: keep both visible to collect
            target = folder / f"{len(list(folder.iterdir()))}-{e.name}"
        shutil.copy(e.path, target)
        origin[str(target)] = e.origin
        stamp = e.timestamp
        if e.late_mark:
            if due is None:
                problems.append(Problem(student, e.origin, "Canvas marks this submission LATE, but no --due was "
                                        "given, so the late policy cannot apply: graded as on time",
                                        assignment or ""))
            else:
                stamp = due + timedelta(seconds=1)
                problems.append(Problem(student, e.origin, "Canvas marks it LATE: timestamp set to 1 s after the "
                                        "due date, so the late policy applies", assignment or "", note=True))
        if stamp is not None and assignment:
            (folder / "timestamp.txt").write_text(_utc(stamp))
    canvas_ids = {e.student: e.lms_id for e in entries if e.layout == "Canvas"}
    return out, problems, origin, files_seen, out, canvas_ids


def parse_due(text: str | None) -> datetime | None:
    if not text:
        return None
    stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def gather(root: Path, assignments=None, roster=None, due=None):
    """Every submission in `root` (nbgrader's layout or an LMS download): ({(student, assignment):
    notebook}, [Problem], files seen, a temporary folder to remove or None, {student: Canvas user id})."""
    staged, problems, origin, files_seen, temporary, canvas_ids = stage(root, roster, parse_due(due))
    found, more = collect(staged, assignments, origin=origin)
    return found, problems + more, files_seen, temporary, canvas_ids


def remember_canvas_ids(work: Path, canvas_ids: dict) -> dict:
    """Keep the Canvas user ids met in downloads (work/canvas_ids.json), for the Canvas grade file."""
    import json
    path = work / "canvas_ids.json"
    known = json.loads(path.read_text()) if path.is_file() else {}
    if canvas_ids:
        known.update(canvas_ids)
        path.write_text(json.dumps(known, indent=1, sort_keys=True))
    return known


# -- grades for the LMS ----------------------------------------------------------------------------
def write_exports(grades_csv: Path, roster: Roster | None = None, canvas_ids: dict | None = None) -> list[Path]:
    """From nbgrader's grades.csv, write beside it grades_canvas.csv (Canvas's gradebook import: Student,
    ID, SIS User ID, SIS Login ID, Section, one column per assignment, a "Points Possible" row) and
    grades_moodle.csv (Moodle's CSV grade import: an identifier column, username and e-mail address,
    then one column per grade item; Moodle asks which column identifies the user and which item each
    column fills). The Canvas ID column is the roster's lms_id, else the Canvas user id the student's
    files carried in a Canvas download (`canvas_ids`), else empty (Canvas then matches the SIS Login ID)."""
    with open(grades_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assignments = sorted({r["assignment"] for r in rows})
    students = sorted({r["student_id"] for r in rows})
    score = {(r["student_id"], r["assignment"]): r["score"] for r in rows}
    points = {r["assignment"]: r["max_score"] for r in rows}
    people = {r["student_id"]: r for r in rows}

    def fmt(value):
        return "" if value in (None, "") else f"{float(value):g}"

    def name(student):
        info = roster.row(student) if roster else {}
        if info.get("name"):
            return info["name"]
        last, first = people[student].get("last_name") or "", people[student].get("first_name") or ""
        return f"{last}, {first}" if last and first else (last or first or student)

    canvas = grades_csv.with_name("grades_canvas.csv")
    with open(canvas, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *assignments])
        w.writerow(["Points Possible", "", "", "", "", *(fmt(points[a]) for a in assignments)])
        for s in students:
            info = roster.row(s) if roster else {}
            canvas_id = info.get("lms_id") or (canvas_ids or {}).get(s, "")
            w.writerow([name(s), canvas_id if canvas_id.isdigit() else "", "", s, "",
                        *(fmt(score.get((s, a))) for a in assignments)])
    moodle = grades_csv.with_name("grades_moodle.csv")
    with open(moodle, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Username", "Email address", *assignments])
        for s in students:
            info = roster.row(s) if roster else {}
            email = info.get("email") or people[s].get("email") or ""
            w.writerow([s, email, *(fmt(score.get((s, a))) for a in assignments)])
    return [canvas, moodle]
