"""The class on one server, end to end in a browser: `python -m grader hub` starts JupyterHub on
loopback for a roster of an instructor and three students (real Unix accounts, PAM logins, each
server in its owner's account under prlimit), and Chromium, driven by Playwright, plays the term.

The instructor releases notebook 04 into nbgrader's exchange while the class logs in (all four at
once, as at the start of a session: the hub spawns the servers concurrently); each student fetches it
from the Assignments tab; student A's copy is correct, B's has a wrong He initializer, C never
submits; A and B submit from the Assignments tab; the instructor collects and autogrades with the
course's sandboxed grader and releases the feedback; A and B fetch it and read their score and what
failed (never the hidden checks). Between the steps, the isolation the hub promises is checked as
the students' own accounts: no reading another student's home, the exchange's inbound, the course's
solutions/ or grader/, or the instructor's formgrader.

The test runs the hub from a copy of the course (so locking solutions/ and grader/ never touches this
checkout), with accounts and a group named after the test's process, and removes all of them at the
end. It needs root, Node.js with configurable-http-proxy (`npm install --prefix .hub/node
configurable-http-proxy`) and Debian's chromium; without one of them it is skipped with the reason.
Screenshots go to $COURSE_ARTIFACTS (default tests/artifacts/)."""
import csv
import importlib.util
import json
import os
import pwd
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from conftest import REPO
from grader import course

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
A, NAME = "04_initialization", "initialization.ipynb"
ARTIFACTS = Path(os.environ.get("COURSE_ARTIFACTS") or REPO / "tests" / "artifacts")
TAG = f"h{os.getpid() % 100000}"
INSTRUCTOR, GOOD, PARTLY, ABSENT = f"{TAG}i", f"{TAG}a", f"{TAG}b", f"{TAG}c"
GROUP = f"{TAG}-instr"
TOOLS = ("useradd", "userdel", "groupadd", "groupdel", "usermod", "chpasswd", "runuser", "prlimit")


def _proxy():
    from grader.hub import find_proxy
    return find_proxy(REPO)


def _skip_reason():
    if os.geteuid() != 0:
        return "needs root: the hub creates Unix accounts and spawns each server in its owner's account"
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        return f"missing system tools: {', '.join(missing)}"
    if importlib.util.find_spec("jupyterhub") is None:
        return "jupyterhub is not installed (pip install -r requirements.txt)"
    if shutil.which("node") is None:
        return "Node.js is not installed (apt-get install nodejs npm): configurable-http-proxy needs it"
    if _proxy() is None:
        return "configurable-http-proxy is not installed (npm install --prefix .hub/node configurable-http-proxy)"
    if CHROMIUM is None:
        return "Debian's chromium is not installed (apt-get install chromium)"
    return ""


needs_a_server = pytest.mark.skipif(bool(_skip_reason()), reason=_skip_reason() or "-")


# -- the roster (no root needed) ------------------------------------------------------------------
@pytest.mark.parametrize("text, says", [
    ("id,name\nada,Ada\n", "the first line must be the header `id,name,role`"),
    ("id,name,role\nAda Lovelace,Ada,instructor\n", "line 2: 'Ada Lovelace' cannot be a Unix login"),
    ("id,name,role\nada,Ada,instructor\nbob,Bob,teacher\n", "line 3: role 'teacher' must be student or instructor"),
    ("id,name,role\nada,Ada,instructor\nada,Ada again,student\n", "line 3: ada appears twice"),
    ("id,name,role\nbob,Bob,student\n", "no line has the role instructor"),
    ("id,name,role\nada,Ada,instructor\nbob\n", "line 3: expected `id,name,role`"),
])
def test_a_bad_roster_is_refused_with_the_line_and_the_fix(tmp_path, text, says):
    from grader.hub import RosterError, read_roster
    roster = tmp_path / "roster.csv"
    roster.write_text(text)
    with pytest.raises(RosterError) as err:
        read_roster(roster)
    assert str(roster) in str(err.value) and says in str(err.value), str(err.value)


def test_a_good_roster_and_sizes(tmp_path):
    from grader.hub import Member, parse_size, read_roster
    roster = tmp_path / "roster.csv"
    roster.write_text("\ufeffid,name,role\nada,Ada Lovelace,Instructor\n\nalan_t,Alan Turing,student\n")
    assert read_roster(roster) == [Member("ada", "Ada Lovelace", "instructor"),
                                   Member("alan_t", "Alan Turing", "student")]
    assert parse_size("4G") == 4 * 1024 ** 3 and parse_size("512M") == 512 * 1024 ** 2
    assert parse_size("1000") == 1000
    with pytest.raises(ValueError):
        parse_size("four gigs")


def test_instructor_commands_without_a_hub_say_what_to_do(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "grader", "hub", "release", A, "--state", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "no hub settings here; start the hub first" in proc.stderr, proc.stderr


# -- helpers --------------------------------------------------------------------------------------
def free_port_block():
    """A public port whose next two (the hub's and the proxy's APIs) are free too."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port > 65000:
            continue
        try:
            for p in (port + 1, port + 2):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
            return port
        except OSError:
            continue
    raise RuntimeError("no free block of three ports")


def as_user(user, *cmd, cwd="/"):
    return subprocess.run(["runuser", "-u", user, "--", *cmd], cwd=cwd, capture_output=True, text=True)


def can_read(user, path) -> bool:
    """Whether `user` can read the file or list the folder at `path` (as that account, not as root)."""
    cmd = ["ls", path] if Path(path).is_dir() else ["head", "-c", "1", path]
    return as_user(user, *cmd).returncode == 0


class SearchGrant:
    """The course's Python may sit under a folder other accounts cannot search (here the venv was
    built from a Python under /root, mode 0700). The hub refuses to start then (test below); for the
    test's accounts only, a POSIX ACL grants search (x, not read) on those folders, and the folder's
    mode and ACL are restored at the end."""

    def __init__(self):
        chain = {*Path(sys.executable).parents, *Path(sys.executable).resolve().parents}
        self.blocked = sorted(p for p in chain if not os.stat(p).st_mode & 0o001)
        self.saved = {}

    def grant(self, uids):
        for path in self.blocked:
            st = os.stat(path)
            try:
                old = os.getxattr(path, "system.posix_acl_access")
            except OSError:
                old = None
            self.saved[path] = (st.st_mode & 0o7777, old)
            mode = st.st_mode
            entries = [(0x01, (mode >> 6) & 7, 0xFFFFFFFF)] + [(0x02, 1, uid) for uid in sorted(uids)]
            entries += [(0x04, (mode >> 3) & 7, 0xFFFFFFFF), (0x10, ((mode >> 3) & 7) | 1, 0xFFFFFFFF),
                        (0x20, mode & 7, 0xFFFFFFFF)]
            os.setxattr(path, "system.posix_acl_access",
                        struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries))

    def restore(self):
        for path, (mode, old) in self.saved.items():
            if old is None:
                try:
                    os.removexattr(path, "system.posix_acl_access")
                except OSError:
                    pass
            else:
                os.setxattr(path, "system.posix_acl_access", old)
            os.chmod(path, mode)


def server_process(user) -> Path:
    """/proc/PID of `user`'s single-user server."""
    uid = pwd.getpwnam(user).pw_uid
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and entry.stat().st_uid == uid and \
                    b"jupyterhub.singleuser" in (entry / "cmdline").read_bytes():
                return entry
        except OSError:
            continue
    raise AssertionError(f"no server process runs as {user}")


def server_limits(user) -> dict:
    """The soft limits of `user`'s single-user server process, from /proc/PID/limits."""
    lines = (server_process(user) / "limits").read_text().splitlines()[1:]
    return {line[:26].strip(): line[26:].split()[0] for line in lines}


def server_rss_mib(user) -> float:
    """Resident memory of `user`'s server (JupyterLab with nbgrader's extensions, no kernel)."""
    status = (server_process(user) / "status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def filled_notebook(released: Path, wrong_he: bool):
    """The fetched release with every stub and written answer filled from the reference solution;
    with wrong_he, He's variance forgets the factor 2 of ReLU (he_normal and he_uniform)."""
    nb = course.read_notebook(released)
    answers = {course.nbgrader_meta(c).get("grade_id"): c.source
               for c in course.read_notebook(course.source_notebook(A)).cells}
    for cell in nb.cells:
        gid = course.nbgrader_meta(cell).get("grade_id", "")
        if gid.endswith("_code") or course.is_manual_cell(cell):
            cell.source = answers[gid]
            if wrong_he and gid == "he_code":
                wrong = cell.source.replace("np.sqrt(2.0 / n)", "np.sqrt(1.0 / n)").replace(
                    "np.sqrt(6.0 / n)", "np.sqrt(3.0 / n)")
                assert wrong != cell.source, "the He solution changed: update the partly wrong answer"
                cell.source = wrong
    return nb


def write_as(user, path: Path, nb):
    """Save a notebook into a student's home as that student would (owned by them, mode 0600)."""
    nbformat.write(nb, str(path))
    pw = pwd.getpwnam(user)
    os.chown(path, pw.pw_uid, pw.pw_gid)
    os.chmod(path, 0o600)


def hub_cli(user, *args, state, copy, timeout=900):
    env_path = f"{Path(sys.executable).parent}:/usr/bin:/bin"
    proc = subprocess.run(["runuser", "-u", user, "--", "env", f"PATH={env_path}", f"COURSE_HUB_STATE={state}",
                           f"HOME={pwd.getpwnam(user).pw_dir}", sys.executable, "-m", "grader", "hub", *args],
                          cwd=copy, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"hub {' '.join(args)} as {user} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


# -- the hub ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hub():
    base = Path(tempfile.mkdtemp(prefix="hubtest-"))
    os.chmod(base, 0o755)
    copy = base / "course"
    shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".grader-work", ".hub", "site", ".site-build", "tests", "__pycache__", "*.egg-info",
        ".pytest_cache", ".ipynb_checkpoints"))
    state, exchange = base / "state", base / "exchange"
    roster = base / "roster.csv"
    roster.write_text("id,name,role\n"
                      f"{INSTRUCTOR},Ada Instructor,instructor\n{GOOD},Grace Correct,student\n"
                      f"{PARTLY},Alan Partly,student\n{ABSENT},Kurt Absent,student\n")
    port = free_port_block()
    common = [str(roster), "--state", str(state), "--exchange", str(exchange), "--group", GROUP,
              "--port", str(port), "--proxy", _proxy()]
    grant, proc = SearchGrant(), None
    log = open(base / "hub.log", "w")
    try:
        out = subprocess.run([sys.executable, "-m", "grader", "hub", "setup", *common], cwd=copy,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
        users = [INSTRUCTOR, GOOD, PARTLY, ABSENT]
        if grant.blocked:  # the refusal is the product's behaviour; then the test grants search
            refused = subprocess.run([sys.executable, "-m", "grader", "hub", "start", *common], cwd=copy,
                                     capture_output=True, text=True, timeout=120)
            assert refused.returncode == 2 and "cannot run the course's Python" in refused.stderr \
                and str(grant.blocked[0]) in refused.stderr, refused.stdout + refused.stderr
            try:
                grant.grant([pwd.getpwnam(u).pw_uid for u in users])
            except OSError as err:  # a file system without POSIX ACLs: the accounts cannot reach Python
                pytest.skip(f"the course's Python sits under {grant.blocked[0]}, which the students' accounts "
                            f"cannot search, and this file system refuses a POSIX ACL ({err.strerror}); build "
                            "the venv where every account can reach it to run this test")
        proc = subprocess.Popen([sys.executable, "-m", "grader", "hub", "start", *common], cwd=copy,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{url}/hub/health", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
                assert proc.poll() is None, (base / "hub.log").read_text()[-3000:]
        else:
            pytest.fail("JupyterHub did not answer: " + (base / "hub.log").read_text()[-3000:])
        with open(state / "initial-passwords.csv") as f:
            passwords = {r["id"]: r["initial_password"] for r in csv.DictReader(f)}
        yield dict(url=url, base=base, copy=copy, state=state, exchange=exchange, passwords=passwords,
                   work=state / "work", log=base / "hub.log")
    finally:
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)  # the hub stops every user's server and the proxy
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(base / "hub.log", ARTIFACTS / "hub.log")  # the hub's and the servers' log
        for user in (INSTRUCTOR, GOOD, PARTLY, ABSENT):
            try:
                uid = pwd.getpwnam(user).pw_uid
            except KeyError:
                continue
            for entry in Path("/proc").iterdir():  # anything left running in the test's accounts
                try:
                    if entry.name.isdigit() and entry.stat().st_uid == uid:
                        os.kill(int(entry.name), signal.SIGKILL)
                except OSError:
                    pass
        subprocess.run([sys.executable, "-m", "grader", "hub", "remove-users", "--state", str(state)],
                       cwd=copy, capture_output=True)
        for user in (INSTRUCTOR, GOOD, PARTLY, ABSENT):  # in case setup failed half-way
            subprocess.run(["userdel", "--remove", user], capture_output=True)
        subprocess.run(["groupdel", GROUP], capture_output=True)
        grant.restore()
        shutil.rmtree(base, ignore_errors=True)


# -- the browser ----------------------------------------------------------------------------------
def start_login(browser, hub, user):
    """Log in on the hub's page with the account's password; the hub starts the user's server."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{hub['url']}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", hub["passwords"][user])
    page.click("#login_submit")
    return page


def wait_for_lab(page, user):
    """Wait until the page shows the user's own JupyterLab with nbgrader's menu."""
    page.wait_for_url(re.compile(rf".*/user/{user}/lab.*"), timeout=240_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.wait_for(timeout=240_000)
    return page


def assignment_list(page):
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Assignment List").first.click()
    return page


def press(page, label, done_text, timeout=120):
    """Press the Assignments tab's button `label` on the row of A, then wait for `done_text` there."""
    row = page.locator(".list_item", has_text=A)
    try:
        row.get_by_role("button", name=label, exact=True).first.click(timeout=timeout * 1000)
    except Exception as err:  # playwright's TimeoutError: say what the row showed instead
        raise AssertionError(f"no {label!r} button for {A}: {row.all_inner_texts()}") from err
    try:
        row.filter(has_text=done_text).first.wait_for(timeout=timeout * 1000)
    except Exception as err:
        raise AssertionError(f"after {label!r}, expected {done_text!r}: {row.all_inner_texts()}") from err


@pytest.mark.slow
@needs_a_server
def test_the_term_on_the_hub(hub):
    playwright = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    state, copy = hub["state"], hub["copy"]
    timings = {}
    t0 = time.monotonic()

    # the instructor releases the assignment into the exchange (as themself), while the class logs in:
    # the four logins at once, as at the start of a lab session (the hub spawns the servers concurrently)
    releasing = ThreadPoolExecutor(max_workers=1).submit(hub_cli, INSTRUCTOR, "release", A, state=state, copy=copy)

    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        users = (INSTRUCTOR, GOOD, PARTLY, ABSENT)
        pages = {user: start_login(browser, hub, user) for user in users}
        for user in users:
            wait_for_lab(pages[user], user)
        timings["4 logins, at once"] = time.monotonic() - t0
        out = releasing.result(timeout=900)
        assert f"released {A}" in out, out
        timings["release (during the logins)"] = time.monotonic() - t0
        # the instructor's server (with the formgrader) lists the released assignment
        formgrader = f"{hub['url']}/user/{INSTRUCTOR}/formgrader"
        listed = pages[INSTRUCTOR].request.get(f"{formgrader}/api/assignments")
        assert listed.ok, (listed.status, listed.text()[:2000])
        assert A in [x["name"] for x in listed.json()], listed.text()[:2000]
        # each student fetches the assignment from the Assignments tab
        for user in (GOOD, PARTLY, ABSENT):
            t = time.monotonic()
            page = pages[user]
            assignment_list(page)
            press(page, "Fetch", "Submit")
            home = Path(pwd.getpwnam(user).pw_dir)
            assert (home / A / NAME).is_file(), f"{user}: the fetched notebook is not in the home folder"
            timings[f"fetch {user}"] = time.monotonic() - t
        pages[GOOD].screenshot(path=str(ARTIFACTS / "hub-fetched.png"))
        # each server runs in its owner's account, under the limits prlimit set before it started
        for user in (GOOD, INSTRUCTOR):
            limits = server_limits(user)
            assert limits["Max address space"] == str(4 * 1024 ** 3), limits
            assert limits["Max processes"] == "256" and limits["Max open files"] == "1024", limits
        timings["idle server RSS MiB"] = server_rss_mib(GOOD)

        # A is correct; B first submits the notebook as fetched (no stub done), then resubmits it
        # with everything done but a wrong He initializer; C never submits
        inbound = hub["exchange"] / "training-neural-networks" / "inbound"

        def submit(user):
            before = len(list(inbound.glob(f"{user}+*")))
            page = pages[user]
            page.reload()
            page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.wait_for(timeout=120_000)
            assignment_list(page)
            press(page, "Submit", A)
            deadline = time.time() + 120
            while time.time() < deadline and len(list(inbound.glob(f"{user}+*"))) == before:
                time.sleep(0.1)
            assert len(list(inbound.glob(f"{user}+*"))) == before + 1, f"{user}: Submit made no submission"

        submit(PARTLY)
        first = time.time()
        for user, wrong in ((GOOD, False), (PARTLY, True)):
            home = Path(pwd.getpwnam(user).pw_dir)
            write_as(user, home / A / NAME, filled_notebook(home / A / NAME, wrong))
            # nbgrader's collect keeps the submission with the latest timestamp: B's second one must be
            # stamped later than the first (A's submission in between takes seconds; wait only if not)
            time.sleep(max(0.0, first + 1.5 - time.time()))
            submit(user)
        pages[PARTLY].screenshot(path=str(ARTIFACTS / "hub-submitted.png"))
        submitted = sorted(p.name.split("+")[0] for p in inbound.iterdir())
        assert submitted == sorted([GOOD, PARTLY, PARTLY]), submitted

        # isolation, as the students' own accounts
        good_home = Path(pwd.getpwnam(GOOD).pw_dir)
        assert oct(os.stat(good_home).st_mode & 0o777) == "0o700"
        assert not can_read(PARTLY, str(good_home)), "a student lists another's home"
        assert not can_read(PARTLY, str(good_home / A / NAME)), "a student reads another's notebook"
        assert not can_read(PARTLY, str(inbound)), "a student lists the exchange's inbound submissions"
        assert can_read(INSTRUCTOR, str(inbound))
        for secret in (copy / "solutions" / A / NAME, copy / "grader" / "checks" / f"test_{A}.py",
                       copy / "solutions", copy / "grader", state / "work", state / "initial-passwords.csv",
                       state / "hub" / "jupyterhub.sqlite", state / "hub"):
            assert secret.exists(), secret
            assert not can_read(PARTLY, str(secret)), f"a student can read {secret}"
        assert can_read(INSTRUCTOR, str(copy / "solutions" / A / NAME))
        assert can_read(PARTLY, str(copy / "coursekit" / "__init__.py")), "students need the course helper"
        # the formgrader: the instructor's (running) server refuses a student; the student's has none
        page = pages[PARTLY]
        response = page.goto(f"{hub['url']}/user/{INSTRUCTOR}/formgrader")
        assert response.status == 403, (response.status, page.url)
        assert "Manage Assignments" not in page.content()
        response = page.goto(f"{hub['url']}/user/{PARTLY}/formgrader")
        assert response.status == 404, response.status
        page.goto(f"{hub['url']}/user/{PARTLY}/lab")
        page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click()
        labels = page.locator(".lm-Menu-itemLabel").all_inner_texts()
        assert "Assignment List" in labels and "Formgrader" not in labels, labels
        page.keyboard.press("Escape")

        # the instructor collects and autogrades (the course's sandboxed grader), then hands back feedback
        t = time.monotonic()
        out = hub_cli(INSTRUCTOR, "collect", A, state=state, copy=copy)
        timings["collect+autograde"] = time.monotonic() - t
        assert "collected 2 submission(s)" in out and f"no submission of {A} from: {ABSENT}" in out, out
        reports = {u: json.loads((hub["work"] / "reports" / A / f"{u}.json").read_text()) for u in (GOOD, PARTLY)}
        assert reports[GOOD]["score"] == reports[GOOD]["max_score"] == 6, reports[GOOD]
        if shutil.which("bwrap") and as_user(INSTRUCTOR, "bwrap", "--unshare-all", "--ro-bind", "/", "/",
                                             "--proc", "/proc", "--dev", "/dev", "true").returncode == 0:
            # where the instructor's account can sandbox, the class was graded in the sandbox
            assert {reports[u]["sandbox"] for u in reports} == {"bubblewrap"}, [r["sandbox"] for r in reports.values()]
        parts = {p["part"]: p for p in reports[PARTLY]["parts"]}
        assert reports[PARTLY]["score"] == 4 and parts["he"]["status"] == "failed", reports[PARTLY]
        assert all(parts[x]["status"] == "passed" for x in ("symmetry", "xavier")), parts
        with open(hub["work"] / "grades.csv") as f:
            grades = {(r["assignment"], r["student_id"]): float(r["score"]) for r in csv.DictReader(f)}
        assert grades[(A, GOOD)] == 6 and grades[(A, PARTLY)] == 4 and grades[(A, ABSENT)] == 0, grades
        out = hub_cli(INSTRUCTOR, "feedback", A, state=state, copy=copy)
        assert "released the feedback of 2 submission(s)" in out, out

        # the instructor sees the class in the formgrader (their own server, the course's config)
        page = pages[INSTRUCTOR]
        listed = page.request.get(f"{formgrader}/api/submissions/{A}")
        assert listed.ok, (listed.status, listed.text()[:2000])
        scores = {x["student"]: x["score"] for x in listed.json()}
        assert scores.get(GOOD) == 6 and scores.get(PARTLY) == 4, listed.text()[:3000]
        page.goto(f"{formgrader}/manage_submissions/{A}")
        row = page.locator("tr", has_text=PARTLY)
        row.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "hub-formgrader.png"))
        assert re.search(r"\b4(\.0+)? / 8", row.inner_text()), row.inner_text()

        # students fetch their feedback and read their score and what failed, never the hidden checks
        for user, score in ((GOOD, "6"), (PARTLY, "4")):
            page = pages[user]
            page.goto(f"{hub['url']}/user/{user}/lab")
            page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.wait_for(timeout=120_000)
            assignment_list(page)
            press(page, "Fetch Feedback", "view feedback")
            home = Path(pwd.getpwnam(user).pw_dir)
            found = sorted((home / A / "feedback").glob(f"*/{NAME[:-6]}.html"))
            assert found, f"{user}: no feedback file after Fetch Feedback"
            rel = found[-1].relative_to(home)
            page.goto(f"{hub['url']}/user/{user}/files/{rel}")
            text = page.inner_text("body")
            page.screenshot(path=str(ARTIFACTS / f"hub-feedback-{'correct' if user == GOOD else 'partly'}.png"))
            assert re.search(rf"Score:\s*{score}(\.0)?\s*/\s*8", text) or re.search(rf"{score}(\.0)? / 8", text), \
                text[:1500]
            for part in ("symmetry", "xavier"):
                assert f"Part {part}: 2 / 2 points" in text, text[:3000]
            he = "2 / 2" if user == GOOD else "0 / 2"
            assert f"Part he: {he} points" in text, text[:3000]
            # no name the hidden checks define, beyond what the release itself says, reaches a student
            hidden = (REPO / "grader" / "checks" / f"test_{A}.py").read_text()
            release = (REPO / "notebooks" / A / NAME).read_text()
            private = {n for n in re.findall(r"^\s*def (\w+)", hidden, flags=re.M) if "_" in n and n not in release}
            assert private and not [n for n in private if n in text], "feedback shows the hidden checks"
            assert "grader/checks" not in text and "@part(" not in text
            # a student cannot read another's feedback either
            other = GOOD if user == PARTLY else PARTLY
            assert not can_read(other, str(found[-1]))
        browser.close()
    print("timings (s):", {k: round(v, 1) for k, v in timings.items()}, "total", round(time.monotonic() - t0, 1))
