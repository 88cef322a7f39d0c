"""One sandbox per student, one fresh kernel per notebook, without paying the imports twelve times.

A graded notebook's kernel spends most of its start importing what every notebook imports first
(torch, numpy, matplotlib, ipykernel): about two seconds of the three or four it takes to grade one.
When `grader autograde` grades a student's notebooks one after the other, a `ForkServer` starts once
for that student, inside a bubblewrap sandbox built exactly as a kernel's (same limits, scrubbed
environment, read-only system, no network, its own PID namespace), that shows the student's folder of
submissions (autograded/<student>/) where the student's notebook folders are seen (`/home/student`).
It runs grader/forkserver_side.py: those imports, once, then a fork per notebook. Each child is a
fresh ipykernel in its notebook's folder, with its own connection file, sockets and session (process
group); no student code has run in the process it was forked from.

What the grader relies on is unchanged: it talks to each kernel only through the kernel's sockets,
compares in its own process, and kills the kernel's process group when grading ends or a limit is hit.
It never trusts what the fork server says: the kernel's process is found among the sandbox's own
processes (`/proc`), so a fork server a student's kernel has tampered with can at worst give that same
student's later kernels a broken start, which fails closed like any kernel that misbehaves (or makes
the grader start a plain kernel, `grading.prestart_kernel`). Only the bubblewrap sandbox has a fork
server; without it, every notebook gets a plain kernel, as before.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import types
from pathlib import Path

from jupyter_client.manager import KernelManager

_SERVER = Path(__file__).with_name("forkserver_side.py").read_text()


class ForkServerError(RuntimeError):
    """The fork server could not start a kernel (the caller starts a plain one)."""


def _stat(pid):
    """(state, parent pid, start time) of a process, from /proc; None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[0], int(fields[1]), int(fields[19])
    except (OSError, ValueError, IndexError):
        return None


def _alive_since(pid):
    """The start time of `pid` if it is running (not a zombie), else None."""
    stat = _stat(pid)
    return None if stat is None or stat[0] in ("Z", "X") else stat[2]


class ForkedKernel:
    """What jupyter_client's provisioner needs of a kernel process (a subset of subprocess.Popen) for a
    kernel that is the fork server's child, not ours: alive while its /proc entry is the same process
    and not a zombie (the fork server reaps its children). Its exit status is the fork server's to read,
    so a kernel that has ended reports -SIGKILL."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, start: int):
        self.pid, self._start, self.returncode = pid, start, None

    def poll(self):
        if self.returncode is None and _alive_since(self.pid) != self._start:
            self.returncode = -signal.SIGKILL
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("kernel", timeout)
            time.sleep(0.005)
        return self.returncode

    def send_signal(self, signum):
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


class ForkServer:
    """The fork server of one student's sandbox (see the module's docstring). `root`: the folder whose
    subfolders are that student's notebook folders. Start it, take a `kernel_manager` per notebook,
    `close` it when the student is done (it is also killed with the thread that started it)."""

    def __init__(self, sandbox, root):
        from .kernel import clean_env
        from .sandbox import course_helper
        if not self.supports(sandbox):
            raise ForkServerError(f"no fork server with the {sandbox.name} sandbox")
        self.sandbox, self.root = sandbox, Path(root).resolve()
        self.home = Path(tempfile.mkdtemp(prefix="jupyter-fs-"))
        self.cgroup = sandbox.make_cgroup()
        self._lock = threading.Lock()
        self._count = 0
        self._closed = False
        self._server = None  # the fork server's pid, as this machine sees it, once known
        env = clean_env(self.home)
        env.update(sandbox.helper_env(course_helper()))
        ours, theirs = socket.socketpair()
        cmd = sandbox.wrap([sys.executable, "-c", _SERVER, str(theirs.fileno())], self.root, self.home,
                           self.cgroup, seen_as=sandbox.STUDENT_HOME)
        try:
            self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         start_new_session=True, pass_fds=[theirs.fileno()])
        except OSError as err:
            ours.close()
            self._cleanup()
            raise ForkServerError(f"the fork server could not start: {err}") from err
        finally:
            theirs.close()
        self._channel = ours
        self._replies = ours.makefile("rb")

    @staticmethod
    def supports(sandbox) -> bool:
        return hasattr(sandbox, "STUDENT_HOME")

    def serves(self, sandbox, root) -> bool:
        """This server can start kernels for notebooks in `root` with `sandbox`: the same folder, the
        same kind of sandbox with the same limits, and it is still running."""
        return (self.root == Path(root).resolve() and type(sandbox) is type(self.sandbox)
                and sandbox.limits == self.sandbox.limits and self.proc.poll() is None)

    def fork(self, argv: list[str], cwd: str, timeout=60.0) -> ForkedKernel:
        """A new kernel started with ipykernel's arguments `argv` in `cwd` (a folder as the sandbox shows
        it); waits for the server's imports the first time. Raises ForkServerError."""
        with self._lock:
            if self.proc.poll() is not None:
                raise ForkServerError("the fork server has exited")
            self._sweep()
            self._channel.settimeout(timeout)
            try:
                self._channel.sendall(json.dumps({"argv": argv, "cwd": cwd}).encode() + b"\n")
                line = self._replies.readline(4096)
            except OSError as err:  # a timeout included
                self.close()
                raise ForkServerError(f"the fork server did not answer: {err}") from err
        try:
            inner = json.loads(line)["pid"]
            if not isinstance(inner, int):
                raise TypeError(inner)
        except (ValueError, KeyError, TypeError) as err:
            self.close()
            raise ForkServerError(f"the fork server answered {line[:200]!r}") from err
        pid = self._find(inner)
        stat = _stat(pid) if pid is not None else None
        if stat is None or stat[0] in ("Z", "X"):
            raise ForkServerError(f"the kernel the fork server started (pid {inner} in the sandbox) is not running")
        if self._server is None:
            self._server = stat[1]  # the first kernel's parent: the fork server, as this machine sees it
        return ForkedKernel(pid, stat[2])

    def _descendants(self):
        """{pid: parent pid} of every process under the sandbox's bubblewrap, as this machine sees them."""
        parent, children = {}, {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                stat = _stat(entry.name)
                if stat is not None:
                    parent[int(entry.name)] = stat[1]
                    children.setdefault(stat[1], []).append(int(entry.name))
        found, todo = {}, list(children.get(self.proc.pid, []))
        while todo:
            pid = todo.pop()
            found[pid] = parent[pid]
            todo += children.get(pid, [])
        return found

    def _sweep(self):
        """Before a kernel is forked: kill every process of the sandbox but the fork server (and the
        sandbox's own init above it), so that nothing a student's earlier kernel left running (a
        process that left the kernel's process group, say) outlives that kernel, as with a plain kernel,
        whose whole sandbox ends with it."""
        if self._server is None:
            return  # no kernel has run yet
        processes = self._descendants()
        keep, pid = set(), self._server
        while pid in processes:
            keep.add(pid)
            pid = processes[pid]
        for pid in processes:
            if pid not in keep:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def _find(self, inner: int):
        """The pid, as this machine sees it, of the sandbox's process that is `inner` in the sandbox:
        looked for only among the fork server's own descendants."""
        for pid in self._descendants():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("NSpid:"):
                        ids = line.split()[1:]
                        if len(ids) > 1 and ids[-1] == str(inner):
                            return pid
            except OSError:
                continue
        return None

    def kernel_manager(self, workdir) -> KernelManager:
        """A kernel manager whose kernel is forked by this server in `workdir` (a subfolder of the root),
        with its own scratch folder for its connection file and sockets."""
        with self._lock:
            self._count += 1
            home = self.home / f"kernel-{self._count}"
        home.mkdir()
        server, cwd = self, self.sandbox.inside(Path(workdir))

        class _Forked(KernelManager):
            async def _async_launch_kernel(self, kernel_cmd, **kw):
                # the kernel spec's command, e.g. [python, -m, ipykernel_launcher, -f, <file>, ...]
                if "ipykernel_launcher" not in kernel_cmd:
                    raise ForkServerError(f"not an ipykernel command: {kernel_cmd[:3]}")
                child = server.fork(kernel_cmd[kernel_cmd.index("ipykernel_launcher") + 1:], cwd)
                provisioner = self.provisioner
                provisioner.process, provisioner.pid, provisioner.pgid = child, child.pid, child.pid
                provisioner.cwd = cwd
                self._reconcile_connection_info(provisioner.connection_info)

        km = _Forked(kernel_name="python3", transport="ipc", ip=str(home / "kernel"))
        km.connection_file = str(home / "kernel.json")
        km.course_home, km.course_cgroup = home, None  # the server's pids group holds its kernels
        return km

    def close(self):
        """Kill the fork server's sandbox (its kernels die with its PID namespace) and remove its files."""
        if self._closed:
            return
        self._closed = True
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for handle in (self._replies, self._channel):
            try:
                handle.close()
            except OSError:
                pass
        self._cleanup()

    def _cleanup(self):
        # (the sandbox's cleanup of a kernel: its scratch home and its pids group)
        self.sandbox.cleanup(types.SimpleNamespace(course_home=self.home, course_cgroup=self.cgroup))
