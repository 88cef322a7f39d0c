"""`python -m grader hub`: the class on one server, with JupyterHub and nbgrader's exchange.

    python -m grader hub start ROSTER.csv     (root) accounts from the roster, exchange, JupyterHub
    python -m grader hub release ASSIGNMENT   (an instructor) generate and put it in the exchange
    python -m grader hub collect ASSIGNMENT   (an instructor) collect the submissions and autograde them
    python -m grader hub feedback ASSIGNMENT  (an instructor) hand the feedback back through the exchange
    python -m grader hub remove-users         (root) delete the accounts `start` created

The roster is a CSV with the header `id,name,role`; id is the Unix login (lower-case letters, digits,
`_` and `-`, starting with a letter or `_`), role is `student` or `instructor`. One Unix account per
line is created (home 0700); new accounts get a random initial password, written for the instructor to
`STATE/initial-passwords.csv` (mode 0600, root only). JupyterHub logs them in with PAM (the accounts'
own passwords), and spawns each server in its owner's account (LocalProcessSpawner as root) under
`prlimit` limits. The course checkout this runs from is locked: solutions/, grader/, .git and the
work folder become readable by root and the instructors' group only.
"""
from __future__ import annotations

import csv
import grp
import json
import os
import pwd
import re
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from . import course

COURSE_ID = "training-neural-networks"
DEFAULT_STATE = Path("/srv/nn-course-hub")
SETTINGS = "hub.json"
HUB_CONFIG = Path(__file__).resolve().parent / "jupyterhub_config.py"
_LOGIN = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
ROLES = ("student", "instructor")
# what students must not read: the reference solutions, the hidden checks, the history, grading work
LOCKED = ("solutions", "grader", ".git", ".grader-work", ".site-build", "tests")


class RosterError(ValueError):
    pass


@dataclass
class Member:
    id: str
    name: str
    role: str


def read_roster(path: Path) -> list[Member]:
    """Members of a roster CSV (`id,name,role`); a RosterError names the file, the line and the fix."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as err:
        raise RosterError(f"{path}: cannot be read ({err.strerror}); give the path of the class's roster CSV")
    rows = list(csv.reader(text.splitlines()))
    if not rows or [h.strip().lower() for h in rows[0][:3]] != ["id", "name", "role"]:
        raise RosterError(f"{path}: the first line must be the header `id,name,role` "
                          "(one line per student or instructor after it)")
    members, seen = [], set()
    for n, row in enumerate(rows[1:], start=2):
        if not any(x.strip() for x in row):
            continue
        if len(row) < 3:
            raise RosterError(f"{path}, line {n}: expected `id,name,role`, got {','.join(row)!r}")
        uid, name, role = row[0].strip(), row[1].strip(), row[2].strip().lower()
        if not _LOGIN.match(uid):
            raise RosterError(f"{path}, line {n}: {uid!r} cannot be a Unix login (use lower-case letters, "
                              "digits, _ and -, starting with a letter or _, at most 32 characters)")
        if role not in ROLES:
            raise RosterError(f"{path}, line {n}: role {role!r} must be student or instructor")
        if uid in seen:
            raise RosterError(f"{path}, line {n}: {uid} appears twice")
        if ":" in name or "\n" in name:
            raise RosterError(f"{path}, line {n}: the name may not contain ':'")
        seen.add(uid)
        members.append(Member(uid, name, role))
    if not any(m.role == "instructor" for m in members):
        raise RosterError(f"{path}: no line has the role instructor; the class needs one to release and grade")
    return members


def _run(*cmd, **kw):
    proc = subprocess.run(list(cmd), text=True, capture_output=True, **kw)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return proc


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
        return True
    except KeyError:
        return False


def ensure_accounts(members, group: str, state: Path) -> list[tuple[str, str]]:
    """Create missing accounts (home 0700, private group) and the instructors' group; return
    [(id, initial password)] for the accounts created now. Created accounts are listed in
    STATE/created-users.txt so that `remove-users` deletes those and no other."""
    try:
        grp.getgrnam(group)
    except KeyError:
        _run("groupadd", "--system", group)
    created, passwords = state / "created-users.txt", []
    for m in members:
        if not _exists(m.id):
            _run("useradd", "--create-home", "--shell", "/bin/bash", "--comment", m.name, "--user-group", m.id)
            password = secrets.token_urlsafe(12)
            _run("chpasswd", input=f"{m.id}:{password}\n")
            passwords.append((m.id, password))
            with open(created, "a") as f:
                f.write(m.id + "\n")
        os.chmod(pwd.getpwnam(m.id).pw_dir, 0o700)
        if m.role == "instructor":
            _run("usermod", "--append", "--groups", group, m.id)
    return passwords


def python_unusable(user: str) -> str:
    """'' when the class's accounts can run the course's Python with JupyterHub, nbgrader and the
    course helper, else what is wrong and what to do."""
    probe = "import jupyterhub.singleuser, nbgrader, coursekit"
    proc = subprocess.run(["runuser", "-u", user, "--", sys.executable, "-c", probe], cwd="/",
                          capture_output=True, text=True)
    if proc.returncode == 0:
        return ""
    chain = {*Path(sys.executable).parents, *Path(sys.executable).resolve().parents}
    blocked = sorted(str(p) for p in chain if p.exists() and not os.stat(p).st_mode & 0o001)
    why = f" (not searchable by other accounts: {', '.join(blocked)})" if blocked else ""
    return (f"the account {user} cannot run the course's Python {sys.executable}{why}: "
            f"{(proc.stderr.strip().splitlines() or ['no output'])[-1]}. Every student server runs this "
            "Python: build the course's venv from a Python that all accounts can run (for example "
            "/usr/bin/python3 -m venv .venv) in a folder they can reach")


def write_passwords(state: Path, passwords):
    """Append new initial passwords to STATE/initial-passwords.csv, readable by root only."""
    path = state / "initial-passwords.csv"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "a") as f:
        if f.tell() == 0:
            f.write("id,initial_password\n")
        for uid, pw in passwords:
            f.write(f"{uid},{pw}\n")
    return path


def lock_course(repo: Path, group: str, work: Path):
    """Only root and the instructors read solutions/, grader/, the history and the grading work; the
    rest (the release, coursekit/, data/) stays readable, since student kernels import coursekit."""
    gid = grp.getgrnam(group).gr_gid
    for name in LOCKED:
        p = repo / name
        if p.exists():
            os.chown(p, -1, gid)
            os.chmod(p, 0o750)
    work.mkdir(parents=True, exist_ok=True)
    os.chown(work, 0, gid)
    os.chmod(work, 0o2770)  # setgid: what one instructor writes, the others can read


def prepare_exchange(exchange: Path, instructor: str, group: str):
    """nbgrader's exchange: the root world-writable with the sticky bit (nbgrader checks 0777), the
    course folder made now and owned by the instructor, so no student can create or rename it."""
    exchange.mkdir(parents=True, exist_ok=True)
    os.chmod(exchange, 0o1777)
    course_dir = exchange / COURSE_ID
    course_dir.mkdir(exist_ok=True)
    pw = pwd.getpwnam(instructor)
    os.chown(course_dir, pw.pw_uid, grp.getgrnam(group).gr_gid)
    os.chmod(course_dir, 0o755)


def jupyter_configs(state: Path, repo: Path, exchange: Path):
    """The Jupyter config folder of each role (JUPYTER_CONFIG_PATH of its servers)."""
    common = (f"c = get_config()  # noqa: F821\n"
              f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
              f"c.Exchange.root = {str(exchange)!r}\n")
    student = state / "jupyter" / "student"
    (student / "labconfig").mkdir(parents=True, exist_ok=True)
    (student / "nbgrader_config.py").write_text("# written by `python -m grader hub start`\n" + common)
    # students get the Assignments tab and Validate, not the formgrader nor the create-assignment toolbar
    (student / "jupyter_server_config.json").write_text(json.dumps({"ServerApp": {"jpserver_extensions": {
        "nbgrader.server_extensions.formgrader": False,
        "nbgrader.server_extensions.assignment_list": True,
        "nbgrader.server_extensions.course_list": False,
        "nbgrader.server_extensions.validate_assignment": True}}}, indent=1))
    (student / "labconfig" / "page_config.json").write_text(json.dumps({"disabledExtensions": {
        "@jupyter/nbgrader:formgrader": True, "@jupyter/nbgrader:create-assignment": True,
        "@jupyter/nbgrader:course-list": True}}, indent=1))
    instructor = state / "jupyter" / "instructor"
    instructor.mkdir(parents=True, exist_ok=True)
    # the course's own config (sandboxed autograde with the hidden checks), then the exchange
    (instructor / "nbgrader_config.py").write_text(
        "# written by `python -m grader hub start`: the course config, then the hub's exchange\n"
        f"load_subconfig({str(repo / 'grader' / 'nbgrader_config.py')!r})  # noqa: F821\n" + common)
    for p in (state / "jupyter", student, student / "labconfig", instructor):
        os.chmod(p, 0o755)
    for p in (*student.rglob("*.json"), *student.rglob("*.py"), instructor / "nbgrader_config.py"):
        os.chmod(p, 0o644)


def find_proxy(repo: Path) -> str | None:
    local = repo / ".hub" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
    if local.exists():
        return str(local)
    return shutil.which("configurable-http-proxy")


def parse_size(text: str) -> int:
    """'4G', '512M', '1.5G' or a number of bytes -> bytes (prlimit itself takes only bytes)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", str(text), re.IGNORECASE)
    if not m:
        raise ValueError(f"{text!r} is not a size (e.g. 4G, 512M)")
    return int(float(m.group(1)) * 1024 ** " KMGT".index(m.group(2).upper() or " "))


def load_settings(state: Path | None = None) -> dict:
    state = Path(state or os.environ.get("COURSE_HUB_STATE") or DEFAULT_STATE)
    path = state / SETTINGS
    try:
        settings = json.loads(path.read_text())
    except OSError:
        raise SystemExit(f"{path}: no hub settings here; start the hub first (`python -m grader hub start "
                         "ROSTER.csv`, as root) or point COURSE_HUB_STATE at its state folder")
    os.environ["COURSE_WORK_DIR"] = settings["work"]  # the hub's grading work folder, for this process
    course.WORK = Path(settings["work"])
    return settings


def setup(args):
    """Accounts, the instructors' group, the locked course, the exchange and each role's Jupyter
    config, from the roster; returns the settings (also written to STATE/hub.json) or an error line."""
    if os.geteuid() != 0:
        return ("python -m grader hub must run as root to set up the class: it creates the class's Unix "
                "accounts and spawns each server in its owner's account (sudo .venv/bin/python -m grader hub ...)")
    try:
        members = read_roster(Path(args.roster))
    except RosterError as err:
        return str(err)
    proxy = args.proxy or find_proxy(course.REPO)
    if not proxy:
        return ("configurable-http-proxy not found: install it with `npm install --prefix .hub/node "
                "configurable-http-proxy` in the course folder (Node.js 18 or later), or pass --proxy PATH")
    try:
        mem_limit = parse_size(args.mem_limit)
    except ValueError as err:
        return f"--mem-limit: {err}"
    state = Path(args.state).resolve()
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o755)  # the role configs inside are read by every server; secrets are 0600
    (state / "hub").mkdir(exist_ok=True)
    os.chmod(state / "hub", 0o700)  # the hub's database and cookie secret
    exchange = Path(args.exchange).resolve()
    work = Path(args.work).resolve() if args.work else state / "work"
    instructors = [m.id for m in members if m.role == "instructor"]
    passwords = ensure_accounts(members, args.group, state)
    if passwords:
        print(f"initial passwords of {len(passwords)} new account(s): {write_passwords(state, passwords)} "
              "(root only; hand each one to its owner, who changes it with `passwd` in a terminal)")
    lock_course(course.REPO, args.group, work)
    prepare_exchange(exchange, instructors[0], args.group)
    jupyter_configs(state, course.REPO, exchange)
    settings = {
        "repo": str(course.REPO), "python": sys.executable, "state": str(state), "work": str(work),
        "exchange": str(exchange), "course_id": COURSE_ID, "ip": args.ip, "port": args.port,
        "proxy": proxy, "group": args.group, "auth": args.auth,
        "students": [m.id for m in members if m.role == "student"], "instructors": instructors,
        "mem_limit": mem_limit, "nproc": args.nproc, "nofile": args.nofile,
        "ssl_cert": args.ssl_cert, "ssl_key": args.ssl_key,
    }
    (state / SETTINGS).write_text(json.dumps(settings, indent=1))
    os.chmod(state / SETTINGS, 0o644)
    print(f"set up {len(members)} account(s) ({len(instructors)} instructor(s)); exchange {exchange}; "
          f"state {state}; grading work folder {work}")
    return settings


def cmd_setup(args) -> int:
    settings = setup(args)
    if isinstance(settings, str):
        print(settings, file=sys.stderr)
        return 2
    return 0


def cmd_start(args) -> int:
    settings = setup(args)
    if isinstance(settings, str):
        print(settings, file=sys.stderr)
        return 2
    trouble = python_unusable((settings["students"] or settings["instructors"])[-1])
    if trouble:
        print(trouble, file=sys.stderr)
        return 2
    if args.ip not in ("127.0.0.1", "localhost", "::1") and not args.ssl_cert:
        print(f"WARNING: listening on {args.ip} without HTTPS: passwords cross the network in clear text; "
              "pass --ssl-cert and --ssl-key, or put the hub behind a TLS proxy", file=sys.stderr)
    print(f"JupyterHub on {'https' if args.ssl_cert else 'http'}://{args.ip}:{args.port}/ "
          "(Ctrl-C stops the hub and every server)")
    sys.stdout.flush()
    state = settings["state"]
    env = dict(os.environ, COURSE_HUB_STATE=state,
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    os.chdir(state)
    os.execve(sys.executable, [sys.executable, "-m", "jupyterhub", "-f", str(HUB_CONFIG)], env)


def _nbgrader(settings, *args):
    """An nbgrader exchange command with the course config and the hub's exchange."""
    from .nbgrader_run import nbgrader
    return nbgrader(*args, f"--Exchange.root={settings['exchange']}",
                    f"--CourseDirectory.course_id={settings['course_id']}", work=Path(settings["work"]))


def _check_instructor(settings):
    user = pwd.getpwuid(os.getuid()).pw_name
    if user not in settings["instructors"] and os.getuid() != 0:
        raise SystemExit(f"{user} is not an instructor of this hub (the roster's instructors: "
                         f"{', '.join(settings['instructors'])})")
    if os.getuid() == 0:
        raise SystemExit("run this as an instructor (from a terminal in the instructor's JupyterLab, or "
                         "`runuser -u INSTRUCTOR -- .venv/bin/python -m grader hub ...`), not as root: the "
                         "exchange's course folder belongs to the instructor")


def cmd_release(args) -> int:
    settings = load_settings(args.state)
    _check_instructor(settings)
    from .cli import release
    work = Path(settings["work"])
    release([args.assignment], into=work / "release", work=work)
    _nbgrader(settings, "release_assignment", args.assignment, "--force",
              f"--CourseDirectory.release_directory={work / 'release'}")
    print(f"released {args.assignment}: students see it in their Assignments tab (course {settings['course_id']})")
    return 0


def cmd_collect(args) -> int:
    """nbgrader collect into WORK/collected (the latest submission of each student, its timestamp.txt
    kept), then the course's autograde on that folder: sandboxed, parallel, with feedback and reports."""
    settings = load_settings(args.state)
    _check_instructor(settings)
    work = Path(settings["work"])
    collected = work / "collected"
    _nbgrader(settings, "collect", args.assignment, "--update",
              f"--CourseDirectory.submitted_directory={collected}")
    folders = sorted(p.name for p in collected.iterdir() if (p / args.assignment).is_dir()) \
        if collected.is_dir() else []
    print(f"collected {len(folders)} submission(s) of {args.assignment}: {', '.join(folders) or 'none'}")
    if not folders:
        return 1
    # every student of the roster is in the gradebook, so one who never submitted exports a zero
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{work / 'gradebook.db'}", settings["course_id"]) as gb:
        for student in settings["students"]:
            gb.update_or_create_student(student)
    missing = [s for s in settings["students"] if s not in folders]
    if missing:
        print(f"no submission of {args.assignment} from: {', '.join(missing)} (zero in the grade export)")
    from .cli import main as grader_main
    argv = ["autograde", str(collected), "--assignment", args.assignment]
    if args.workers:
        argv += ["--workers", str(args.workers)]
    if args.due:
        argv += ["--due", args.due]
    return grader_main(argv)


def _without_secret(work: Path, assignment: str) -> list[str]:
    return sorted(h.parent.parent.name for h in (work / "feedback").glob(f"*/{assignment}/*.html")
                  if not (h.parent / "submission_secret.txt").is_file())


def cmd_feedback(args) -> int:
    settings = load_settings(args.state)
    _check_instructor(settings)
    work = Path(settings["work"])
    # nbgrader finds each student's feedback in the exchange by a hash keyed with the secret that
    # their submit wrote beside the notebook; the course's autograde copies only the notebook and
    # its timestamp, so the secret of the graded (collected) submission is put beside the feedback
    for html in sorted((work / "feedback").glob(f"*/{args.assignment}/*.html")):
        secret = work / "collected" / html.parent.parent.name / args.assignment / "submission_secret.txt"
        if secret.is_file():
            shutil.copy(secret, html.parent / "submission_secret.txt")
        else:
            print(f"PROBLEM {html.parent.parent.name}: no submission through the exchange (no "
                  f"{secret.name} in {secret.parent}); their feedback stays in {html.parent}", file=sys.stderr)
    missing = _without_secret(work, args.assignment)
    extra = [f"--CourseDirectory.student_id_exclude={','.join(missing)}"] if missing else []
    _nbgrader(settings, "release_feedback", args.assignment, *extra)
    feedback = Path(settings["work"]) / "feedback"
    n = len([h for h in feedback.glob(f"*/{args.assignment}/*.html")
             if (h.parent / "submission_secret.txt").is_file()])
    print(f"released the feedback of {n} submission(s) of {args.assignment}; students press "
          "'Fetch Feedback' in their Assignments tab")
    return 0


def cmd_remove_users(args) -> int:
    if os.geteuid() != 0:
        print("remove-users must run as root", file=sys.stderr)
        return 2
    state = Path(args.state)
    listed = state / "created-users.txt"
    users = listed.read_text().split() if listed.is_file() else []
    for user in users:
        if _exists(user):
            subprocess.run(["userdel", "--remove", user], capture_output=True)
            print(f"deleted {user}")
    listed.unlink(missing_ok=True)
    return 0


def _start_options(s):
    s.add_argument("roster", help="CSV with the header id,name,role (role: student or instructor)")
    s.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=int, default=8000,
                   help="public port (default 8000); the hub's API and the proxy's API use the next two, on loopback")
    s.add_argument("--state", default=str(DEFAULT_STATE), help=f"hub state folder (default {DEFAULT_STATE})")
    s.add_argument("--exchange", default="/srv/nbgrader/exchange", help="nbgrader exchange root")
    s.add_argument("--work", help="grading work folder (default STATE/work)")
    s.add_argument("--group", default="nn-instructors", help="Unix group of the instructors")
    s.add_argument("--auth", choices=["pam"], default="pam",
                   help="pam: the accounts' Unix passwords (see README for LTI 1.3 and OAuth)")
    s.add_argument("--mem-limit", default="4G", help="address-space limit of each server process (prlimit --as)")
    s.add_argument("--nproc", type=int, default=256, help="processes per account (prlimit --nproc)")
    s.add_argument("--nofile", type=int, default=1024, help="open files per server process")
    s.add_argument("--proxy", help="path of configurable-http-proxy (default: .hub/node, then PATH)")
    s.add_argument("--ssl-cert", help="certificate for HTTPS (with --ssl-key)")
    s.add_argument("--ssl-key")


def add_parser(sub):
    p = sub.add_parser("hub", help="run the class on this server: JupyterHub, Unix accounts, nbgrader exchange")
    hs = p.add_subparsers(dest="hub_command", required=True)
    for name, fn, text in (("setup", cmd_setup, "(root) accounts from the roster, the exchange, the locks"),
                           ("start", cmd_start, "(root) setup, then JupyterHub for the class")):
        s = hs.add_parser(name, help=text)
        _start_options(s)
        s.set_defaults(func=fn)
    for name, fn, text in (("release", cmd_release, "(instructor) generate an assignment and release it"),
                           ("collect", cmd_collect, "(instructor) collect submissions and autograde them"),
                           ("feedback", cmd_feedback, "(instructor) release the feedback to the students")):
        s = hs.add_parser(name, help=text)
        s.add_argument("assignment")
        s.add_argument("--state", help="hub state folder (default $COURSE_HUB_STATE, else /srv/nn-course-hub)")
        if name == "collect":
            s.add_argument("--workers", type=int, default=0)
            s.add_argument("--due", help="due date; later submissions score zero (nbgrader's late policy)")
        s.set_defaults(func=fn)
    s = hs.add_parser("remove-users", help="(root) delete the accounts that `setup` created, with their homes")
    s.add_argument("--state", default=str(DEFAULT_STATE))
    s.set_defaults(func=cmd_remove_users)
