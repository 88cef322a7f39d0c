"""The student's kernel: plain data back, limits enforced, and (with bubblewrap) nothing to see."""
import os
import textwrap
import time

import numpy as np
import pytest

from grader import course, wire
from grader.bwrap import BubblewrapSandbox
from grader.kernel import CallTimeout, KernelDied, KernelSession, StudentMissing, StudentRaised
from grader.sandbox import Limits, Sandbox, _pids_cgroup_root, choose_sandbox

HAS_BWRAP = not BubblewrapSandbox.unavailable_reason()
needs_bwrap = pytest.mark.skipif(not HAS_BWRAP, reason=f"bubblewrap unavailable: {BubblewrapSandbox.unavailable_reason()}")


def session(tmp_path, sandbox=None, **kw):
    wd = tmp_path / "submission"
    wd.mkdir(exist_ok=True)
    return KernelSession(wd, sandbox or choose_sandbox(), **kw)


def run(ks, code):
    outputs, _ = ks.run_cell(textwrap.dedent(code))
    return "".join(o.get("text", "") for o in outputs), outputs


def isolation_probe(others=()):
    """Code for a kernel that prints whether it sees the course's private folders (and `others`), whether
    it reaches the network, whether the data folder is writable, its folder, and the data through
    coursekit; it writes mine.txt in its folder. (Also used by tests/test_forkserver.py.)"""
    hidden = [str(course.SOLUTIONS), str(course.CHECKS), str(course.CONFIG), str(course.WORK), *map(str, others)]
    return f"""
        import os, socket
        for p in {hidden!r}:
            print(p, os.path.exists(p))
        try:
            socket.create_connection(("127.0.0.1", 22), timeout=2)
            print("network: open")
        except OSError:
            print("network: blocked")
        try:
            open({str(course.REPO / 'data' / 'planted.txt')!r}, "w")
            print("data: writable")
        except OSError:
            print("data: read-only")
        open("mine.txt", "w").write("ok")
        print("cwd:", os.getcwd())
        import coursekit
        X, y, _ = coursekit.load_dataset("iris")
        print("data:", X.shape)
    """


def test_values_come_back_as_fresh_plain_data(tmp_path):
    with session(tmp_path) as ks:
        run(ks, """
            import numpy as np, torch
            class Sub(np.ndarray):
                def __eq__(self, other): return True
            class Liar:
                def __eq__(self, other): return True
                def __array__(self, dtype=None, copy=None): return np.zeros(3)
            class TSub(torch.Tensor): pass
            def sub(x): return x.view(Sub)
            def liar(x): return Liar()
            def objarr(x): return np.array([Liar()], dtype=object)
            def tsub(x): return torch.zeros(3).as_subclass(TSub)
            def tensor(x): return torch.as_tensor(x) * 2
            def scalar(x): return np.float64(x.sum())
            def raises(x): raise KeyError("nope")
            def exits(x): raise SystemExit(0)
            not_a_function = 3
        """)
        x = np.arange(3.0)
        for name in ("sub", "liar", "objarr", "tsub"):
            got = ks.call(name, x)
            assert isinstance(got, wire.Rejected), name
        t = ks.call("tensor", x)
        assert isinstance(t, wire.FromTensor) and np.array_equal(t.array, 2 * x)
        s = ks.call("scalar", x)
        assert type(s) is np.float64 and s == 3.0
        with pytest.raises(StudentRaised, match="KeyError"):
            ks.call("raises", x)
        with pytest.raises(StudentRaised, match="SystemExit"):
            ks.call("exits", x)
        with pytest.raises(StudentMissing):
            ks.call("undefined_function", x)
        with pytest.raises(StudentMissing):
            ks.call("not_a_function", x)
        assert ks.alive


def test_inputs_are_copies_and_mutation_is_visible(tmp_path):
    with session(tmp_path) as ks:
        run(ks, "def scale(x):\n    x *= 2\n    return x\n")
        x = np.ones(4)
        value, after = ks.call("scale", x, return_args=True)
        assert np.array_equal(x, np.ones(4))          # the grader's own array is untouched
        assert np.array_equal(after[0], 2 * np.ones(4))


def test_a_loop_that_ignores_interrupts_is_killed_with_its_process_group(tmp_path):
    with session(tmp_path, call_timeout=3) as ks:
        run(ks, """
            import signal, subprocess, os
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            child = subprocess.Popen(["sleep", "300"])
            open("child.pid", "w").write(str(child.pid))
            def spin(x):
                while True:
                    pass
        """)
        t0 = time.monotonic()
        with pytest.raises(CallTimeout):
            ks.call("spin", 1)
        assert time.monotonic() - t0 < 15
        assert not ks.alive
        with pytest.raises(KernelDied):
            ks.call("spin", 1)


@pytest.mark.parametrize("code", ["import os; os._exit(3)", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"])
def test_kernel_death_is_reported(tmp_path, code):
    with session(tmp_path) as ks:
        with pytest.raises(KernelDied):
            ks.run_cell(code)
        assert not ks.alive


def test_gigabytes_of_output_are_cut_off(tmp_path):
    with session(tmp_path, max_output_bytes=2_000_000) as ks:
        with pytest.raises(KernelDied, match="printed more than"):
            ks.run_cell("while True:\n    print('x' * 100000)")


def test_memory_is_limited(tmp_path):
    limits = Limits(memory_bytes=3 * 2**30)
    sandbox = BubblewrapSandbox(limits) if HAS_BWRAP else Sandbox(limits)
    with session(tmp_path, sandbox) as ks:
        text, outputs = run(ks, "try:\n    big = bytearray(8 * 2**30)\nexcept MemoryError:\n    print('MemoryError')\n")
        assert "MemoryError" in text
        assert ks.alive


def test_nothing_in_the_environment_says_grading(tmp_path, monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.setenv("COURSE_WORK_DIR", str(tmp_path))
    with session(tmp_path) as ks:
        text, _ = run(ks, "import os\nprint(sorted(os.environ))")
    assert "NBGRADER" not in text and "COURSE" not in text and "GRADE" not in text.upper()


@needs_bwrap
def test_the_sandbox_hides_the_course_and_the_network(tmp_path):
    other = course.WORK / "autograded"
    with session(tmp_path, BubblewrapSandbox()) as ks:
        text, _ = run(ks, isolation_probe([other]))
    assert "True" not in text, text
    assert "network: blocked" in text and "data: read-only" in text and "data: (150, 4)" in text
    assert "cwd: /home/student/submission" in text
    assert (tmp_path / "submission" / "mine.txt").read_text() == "ok"
    assert not (course.REPO / "data" / "planted.txt").exists()


@pytest.mark.skipif(_pids_cgroup_root() is None and os.getuid() == 0,
                    reason="no writable pids cgroup, and RLIMIT_NPROC never applies to root")
def test_a_fork_bomb_is_bounded(tmp_path):
    sandbox = BubblewrapSandbox(Limits(processes=32)) if HAS_BWRAP else Sandbox(Limits(processes=32))
    with session(tmp_path, sandbox, cell_timeout=60) as ks:
        text, _ = run(ks, """
            import os, time
            pids, refused = [], 0
            for _ in range(200):
                try:
                    pid = os.fork()
                except OSError:
                    refused += 1
                    continue
                if pid == 0:
                    time.sleep(30)
                    os._exit(0)
                pids.append(pid)
            print("forked", len(pids), "refused", refused)
        """)
    forked = int(text.split()[1])
    assert forked <= 40, text


def test_many_calls_in_one_round_trip_behave_as_separate_calls(tmp_path):
    """call_many: each call gets its own copy of its arguments, in order; the list stops at the first call
    that raises or returns what is not plain data, as a check calling them one by one would stop there."""
    from grader.harness import CheckFailure, StudentProxy
    with session(tmp_path) as ks:
        run(ks, """
            import numpy as np
            seen = []
            def scaled(d, t):
                seen.append(t)
                if t == 3:
                    raise ValueError("three")
                value = d["lr"] * t + len(d)
                d["touched"] = True          # a copy per call: the next call never sees this key
                return value
            def odd(t):
                seen.append(t)
                return np.arange(2.0).view(np.matrix) if t == 1 else float(t)
        """)
        out = ks.call_many("scaled", [(({"lr": 0.5}, t), {}) for t in range(6)])
        assert out[:3] == [1.0, 1.5, 2.0] and len(out) == 4
        assert isinstance(out[3], StudentRaised) and "three" in str(out[3])
        assert run(ks, "print(seen)")[0].strip() == "[0, 1, 2, 3]"  # nothing ran after the raise
        student = StudentProxy(ks)
        values = student.call_each("odd", [(0,), (1,), (2,)])
        assert next(values) == 0.0
        with pytest.raises(CheckFailure, match="subclass of numpy.ndarray"):
            next(values)
        assert run(ks, "print(seen[4:])")[0].strip() == "[0, 1]"
        with pytest.raises(StudentMissing):
            ks.call_many("nowhere", [((1,), {})])
        same = [ks.call("scaled", {"lr": 0.25}, t) for t in (1, 2)]
        assert list(student.call_each("scaled", [({"lr": 0.25}, 1), ({"lr": 0.25}, 2)])) == same


def test_long_requests_travel_outside_the_cell_source(tmp_path):
    """A request longer than INLINE_MAX goes ahead of its cell as a comm message: the cells the kernel runs
    stay short whatever the arguments weigh, the values arrive and come back exactly, and requests
    below the threshold still travel in the cell (no comm is opened for them)."""
    from grader import kernel
    with session(tmp_path) as ks:
        run(ks, """
            import numpy as np
            cell_sizes = []
            get_ipython().events.register("pre_run_cell", lambda info: cell_sizes.append(len(info.raw_cell)))
            def same(x, scale=1.0):
                return x * scale
            def bump(x):
                x += 1
                return float(x.sum())
            def tag(x, name):
                return name + str(x.shape)
        """)
        small = np.arange(4.0)
        assert np.array_equal(ks.call("same", small), small)
        assert ks._comm_id is None
        rng = np.random.default_rng(0)
        big = rng.normal(size=(300, 1000))  # 2.4 MB, about 3.2 MB in the request
        assert np.array_equal(ks.call("same", big, scale=2.0), 2.0 * big)
        value, after = ks.call("bump", big.copy(), return_args=True)
        assert value == (big + 1).sum() and np.array_equal(after[0], big + 1)
        assert ks.call("tag", big, "café ☃") == "café ☃(300, 1000)"
        out = ks.call_many("same", [((big[:150],), {}), ((big[150:],), {"scale": -1.0})])
        assert np.array_equal(out[0], big[:150]) and np.array_equal(out[1], -big[150:])
        near = [rng.normal(size=n) for n in range(kernel.INLINE_MAX // 12, kernel.INLINE_MAX // 4)
                if abs(len(kernel.call_request("same", (np.zeros(n),), {}, False)[1]) - kernel.INLINE_MAX) < 40]
        for x in near:  # requests either side of the threshold
            assert np.array_equal(ks.call("same", x), x)
        sizes = eval(run(ks, "print(cell_sizes)")[0])
        install, calls = sizes[0], sizes[1:-1]  # the calling code's definition; the calls; this cell
        assert install > len(kernel._KERNEL_SIDE) and len(calls) == 5 + len(near) and len(near) >= 2, sizes
        assert max(calls) < kernel.INLINE_MAX + 100 and calls[5] > kernel.INLINE_MAX - 100, sizes
        assert max(calls[1:5] + calls[-1:]) < 100, sizes  # the long requests: only the call by its nonce
        assert ks.alive


TAMPERED = {  # a student's cell that changes how the kernel receives comm messages, and what the call must raise
    "drops the requests": ("mgr.register_target = lambda name, f: None", wire.WireError),
    "forges a reply while receiving": ("""
        def register(name, f):
            def opened(comm, msg):
                def forged(m):
                    nonce = m["content"]["data"]["nonce"]
                    print(nonce + '{"status": "ok", "value": 42}' + nonce)
                comm.on_msg(forged)
            original(name, opened)
        mgr.register_target = register
        """, wire.WireError),
    "changes the request": ("""
        def register(name, f):
            def opened(comm, msg):
                f(comm, msg)
                keep = comm._msg_callback
                def swapped(m):
                    m["buffers"] = [m["buffers"][0].tobytes().replace(m["content"]["data"]["nonce"].encode(), b"0" * 32)]
                    keep(m)
                comm.on_msg(swapped)
            original(name, opened)
        mgr.register_target = register
        """, wire.WireError),
    "floods the output": ("""
        def register(name, f):
            def opened(comm, msg):
                def flood(m):
                    while True:
                        print("x" * 100000)
                comm.on_msg(flood)
            original(name, opened)
        mgr.register_target = register
        """, KernelDied),
    "hangs": ("""
        def register(name, f):
            def opened(comm, msg):
                def hang(m):
                    while True:
                        pass
                comm.on_msg(hang)
            original(name, opened)
        mgr.register_target = register
        """, CallTimeout),
}


@pytest.mark.parametrize("how", sorted(TAMPERED))
def test_a_kernel_that_tampers_with_long_requests_fails_its_own_call(tmp_path, how):
    """Whatever the student's code does to the comm that carries long requests, the call fails (never a
    forged value), within the call's time limit and the output limit, and calls with short requests made
    before are unaffected."""
    code, error = TAMPERED[how]
    with session(tmp_path, call_timeout=5, max_output_bytes=2_000_000) as ks:
        run(ks, "import comm, numpy as np\nmgr = comm.get_comm_manager()\noriginal = mgr.register_target\n"
                "def same(x):\n    return x\n")
        run(ks, code)
        assert np.array_equal(ks.call("same", np.ones(3)), np.ones(3))
        t0 = time.monotonic()
        with pytest.raises(error):
            ks.call("same", np.ones(100_000))
        assert time.monotonic() - t0 < 20
