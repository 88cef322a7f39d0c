"""The fork server (grader/forkserver.py): one sandbox per student whose kernels are forked after the
imports every notebook begins with. Each forked kernel must be what a plain kernel is to grading (the
same folder, import path, environment, limits and isolation; a fresh random state), die as a plain
kernel dies (time limits, its process group, the server's end), and a server that breaks must cost
nothing but speed: the next notebook gets a plain kernel, and is graded in full."""
import os
import textwrap
import time

import pytest

from grader import course, forkserver, grading
from grader.bwrap import BubblewrapSandbox
from grader.kernel import CallTimeout, KernelDied, KernelSession
from grader.sandbox import Limits
from test_kernel import isolation_probe

pytestmark = pytest.mark.skipif(bool(BubblewrapSandbox.unavailable_reason()),
                                reason=f"bubblewrap unavailable: {BubblewrapSandbox.unavailable_reason()}")

A, B = "04_initialization", "09_pooling"


@pytest.fixture
def student(tmp_path):
    """autograded/alice with two notebook folders, and another student's folder beside it."""
    root = tmp_path / "autograded" / "alice"
    for name in (A, B):
        (root / name).mkdir(parents=True)
    (tmp_path / "autograded" / "bob" / A).mkdir(parents=True)
    (tmp_path / "autograded" / "bob" / A / "secret.txt").write_text("bob's")
    return root


@pytest.fixture
def server(student):
    srv = forkserver.ForkServer(BubblewrapSandbox(), student)
    yield srv
    srv.close()


def run(ks, code):
    outputs, _ = ks.run_cell(textwrap.dedent(code))
    return "".join(o.get("text", "") for o in outputs)


def _gone(pid, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if forkserver._alive_since(pid) is None:
            return True
        time.sleep(0.05)
    return False


def _group_of(pid):
    try:
        return os.getpgid(pid)
    except OSError:
        return None


PORTRAIT = """
    import os, sys, random, numpy, torch
    %matplotlib inline
    import matplotlib.pyplot as plt
    print(repr({"cwd": os.getcwd(), "path": sys.path, "argv0": os.path.basename(sys.argv[0]),
                "env": sorted(os.environ), "threads": torch.get_num_threads(),
                "backend": plt.get_backend(), "main": __name__}))
    print(numpy.random.rand(), random.random())
"""


def _portrait(ks):
    lines = run(ks, PORTRAIT).strip().splitlines()
    return eval(lines[0]), lines[1]  # noqa: S307 - our own kernel's repr of plain values


def test_a_forked_kernel_starts_as_a_plain_kernel_with_its_own_random_state(student, server):
    sandbox = server.sandbox
    with KernelSession(student / A, sandbox) as plain:
        expected, _ = _portrait(plain)
    seen = []
    for name in (A, B, A):
        with KernelSession(student / name, sandbox, forkserver=server) as ks:
            assert isinstance(ks.km.provisioner.process, forkserver.ForkedKernel)
            portrait, draws = _portrait(ks)
            seen.append(draws)
        want = dict(expected, cwd=f"/home/student/{name}")
        assert portrait == want
    assert len(set(seen)) == 3, f"forked kernels drew the same random numbers: {seen}"


def test_the_sandbox_of_a_fork_server_shows_one_student_and_nothing_of_the_course(student, server):
    with KernelSession(student / A, server.sandbox, forkserver=server) as ks:
        text = run(ks, isolation_probe([student.parent / "bob", student]))
        text += run(ks, 'print("home:", sorted(os.listdir("/home/student")), sorted(os.listdir("/home")))')
    assert "True" not in text, text
    assert f"home: {sorted([A, B])} ['student']" in text
    assert "network: blocked" in text and "data: read-only" in text and "data: (150, 4)" in text
    assert f"cwd: /home/student/{A}" in text
    assert (student / A / "mine.txt").read_text() == "ok"
    assert not (course.REPO / "data" / "planted.txt").exists()


def test_a_forked_kernel_is_killed_with_its_process_group_and_the_next_one_starts(student, server):
    with KernelSession(student / A, server.sandbox, forkserver=server, call_timeout=3) as ks:
        run(ks, """
            import signal, subprocess
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            child = subprocess.Popen(["sleep", "300"])
            def spin(x):
                while True:
                    pass
        """)
        kernel = ks.km.provisioner.process.pid
        group = [int(p) for p in os.listdir("/proc") if p.isdigit() and _group_of(int(p)) == kernel]
        assert len(group) >= 2, "the kernel and its `sleep` share the kernel's process group"
        t0 = time.monotonic()
        with pytest.raises(CallTimeout):
            ks.call("spin", 1)
        assert time.monotonic() - t0 < 15 and not ks.alive
    assert all(_gone(pid) for pid in group)
    with KernelSession(student / B, server.sandbox, forkserver=server) as ks:
        assert run(ks, "print(6 * 7)").strip() == "42"


def test_limits_hold_in_forked_kernels(student):
    srv = forkserver.ForkServer(BubblewrapSandbox(Limits(memory_bytes=3 * 2**30, processes=32)), student)
    try:
        with KernelSession(student / A, srv.sandbox, forkserver=srv) as ks:
            text = run(ks, "try:\n    big = bytearray(8 * 2**30)\nexcept MemoryError:\n    print('MemoryError')\n")
            assert "MemoryError" in text and ks.alive
        with KernelSession(student / B, srv.sandbox, forkserver=srv, cell_timeout=60) as ks:
            text = run(ks, """
                import os, time
                pids = []
                for _ in range(200):
                    try:
                        pid = os.fork()
                    except OSError:
                        continue
                    if pid == 0:
                        time.sleep(30)
                        os._exit(0)
                    pids.append(pid)
                print(len(pids))
            """)
            assert int(text.split()[0]) <= 32, text
    finally:
        srv.close()


def test_closing_the_server_kills_its_kernels(student, server):
    ks = KernelSession(student / A, server.sandbox, forkserver=server).start()
    pid = ks.km.provisioner.process.pid
    server.close()
    assert _gone(pid) and server.proc.poll() is not None
    with pytest.raises(KernelDied):
        ks.run_cell("print(1)")
    ks.kill(None)


def _grade(folder, sandbox):
    nb = course.read_notebook(course.source_notebook(folder.name))
    return grading.grade_notebook(nb, folder.name, workdir=folder, sandbox=sandbox, seed=3)


def test_grading_a_students_notebooks_in_a_row_forks_them_from_one_server(student, tmp_path):
    sandbox = BubblewrapSandbox()
    servers = []
    try:
        for name in (A, B):
            grading.prestart_kernel(student / name, sandbox, forkserver=True)
            servers.append(grading._forkservers[0])
            session, _ = grading._prestarted[str((student / name).resolve())]
            assert session.forkserver is servers[0]
            report = _grade(student / name, sandbox)
            assert report.score == report.max_score > 0, [p.__dict__ for p in report.parts]
            assert grading._prestarted == {}, "grading took the forked kernel"
        assert servers[0] is servers[1]
        # the next student: a new server, and the last one is closed
        other = tmp_path / "autograded" / "bob" / A
        grading.prestart_kernel(other, sandbox, forkserver=True)
        assert grading._forkservers[0] is not servers[0] and servers[0].proc.poll() is not None
        grading.discard_prestarted()
    finally:
        grading.close_forkserver()
    assert grading._forkservers == []


def test_a_kernel_that_kills_its_server_fails_closed_and_the_next_notebook_gets_a_new_one(student):
    sandbox = BubblewrapSandbox()
    try:
        grading.prestart_kernel(student / A, sandbox, forkserver=True)
        first = grading._forkservers[0]
        session, _ = grading._take_prestarted(student / A, sandbox)
        with session, pytest.raises(KernelDied):
            session.run_cell("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nimport time; time.sleep(30)")
        assert first.proc.wait(timeout=10) is not None
        grading.prestart_kernel(student / A, sandbox, forkserver=True)
        assert grading._forkservers[0] is not first
        report = _grade(student / A, sandbox)
        assert report.score == report.max_score > 0
    finally:
        grading.discard_prestarted()
        grading.close_forkserver()


def test_a_server_that_cannot_fork_costs_only_speed(student, monkeypatch):
    monkeypatch.setattr(forkserver, "_SERVER", "import sys; sys.exit(3)")
    sandbox = BubblewrapSandbox()
    launched = []
    real = KernelSession.launch
    monkeypatch.setattr(KernelSession, "launch", lambda self: launched.append(self) or real(self))
    try:
        grading.prestart_kernel(student / A, sandbox, forkserver=True)
        assert grading._prestarted == {} and grading._forkservers == [], "the broken server is closed"
        report = _grade(student / A, sandbox)
        assert report.score == report.max_score > 0
        assert [s.forkserver for s in launched][-1] is None, "graded in a plain kernel"
    finally:
        grading.close_forkserver()


def test_nothing_a_kernel_left_running_outlives_it_into_the_next_kernel(student, server):
    def sleepers():
        return [pid for pid in server._descendants()
                if open(f"/proc/{pid}/comm").read().strip() == "sleep"]
    with KernelSession(student / A, server.sandbox, forkserver=server) as ks:
        run(ks, """
            import subprocess
            subprocess.Popen(["sleep", "300"], start_new_session=True)  # leaves the kernel's process group
        """)
        assert len(sleepers()) == 1
    escaped = sleepers()
    assert escaped, "the process left the kernel's group: killing the group does not reach it"
    with KernelSession(student / B, server.sandbox, forkserver=server) as ks:
        assert all(_gone(pid) for pid in escaped), "still running beside the next notebook's kernel"
        assert run(ks, "print(6 * 7)").strip() == "42"


def test_a_server_started_ahead_for_a_student_forks_their_first_kernel(tmp_path):
    sandbox = BubblewrapSandbox()
    root = tmp_path / "autograded" / "carol"  # not there yet: the release of her first notebook is running
    try:
        assert grading.start_forkserver(root, sandbox)
        ahead = grading._forkservers[0]
        (root / A).mkdir()
        grading.prestart_kernel(root / A, sandbox, forkserver=True)
        session, _ = grading._take_prestarted(root / A, sandbox)
        assert session.forkserver is ahead
        with session:
            assert run(session, "import os; print(os.getcwd())").strip() == f"/home/student/{A}"
    finally:
        grading.discard_prestarted()
        grading.close_forkserver()
