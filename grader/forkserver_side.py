# This file is NOT imported by the grader. Its text is the program of a fork server that runs inside
# one student's sandbox (bubblewrap, resource limits, scrubbed environment), started by
# grader/forkserver.py. It imports what every graded notebook imports first (numpy, torch, matplotlib,
# ipykernel), once, and then forks one fresh kernel per notebook of that student: each child starts
# ipykernel exactly as `python -m ipykernel_launcher -f <connection file> ...` would, in the notebook's
# folder, but without paying those imports again.
#
# It decides nothing: the grader finds the kernel it asked for among the sandbox's own processes and
# talks to it only through the kernel's ZMQ sockets, as to any kernel. A student's kernel can reach
# this process (same sandbox, same user); tampering with it can only break that student's own later
# kernels, which then fail closed like any kernel that misbehaves.
#
# Protocol, over the socket whose file descriptor is argv[1] (one end of a socket pair the grader
# made; no file anywhere names it): one JSON line per kernel,
#   {"argv": [...ipykernel arguments...], "cwd": "<folder inside the sandbox>"}
# answered by {"pid": <the kernel's pid in the sandbox>} once the kernel is its own session leader.
import json
import os
import signal
import socket
import sys

# As ipykernel_launcher: the current folder is not on the import path while loading (the kernel's
# InteractiveShellApp.init_path puts it back, in the child, where it is the notebook's folder)
if sys.path and sys.path[0] == "":
    del sys.path[0]
# What the first cell of every notebook imports (its `%matplotlib inline` included). Threads: none
# start here (torch starts its pools on the first parallel operation, in the child), so forking is safe.
os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # as ipykernel sets it
import numpy  # noqa: E402
import torch  # noqa: E402,F401
import matplotlib.pyplot  # noqa: E402,F401
import ipykernel.kernelapp  # noqa: E402,F401
import importlib.util  # noqa: E402

LAUNCHER = importlib.util.find_spec("ipykernel_launcher").origin  # a kernel's sys.argv[0]


def _kernel(request, channel, ready):
    """In the child: become a fresh kernel's process, then run ipykernel; never returns."""
    status = 1
    try:
        channel.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()  # its own session and process group: the grader kills the group
        os.write(ready, b"k")
        os.close(ready)
        os.chdir(request["cwd"])
        sys.argv = [LAUNCHER, *request["argv"]]
        numpy.random.seed()  # a fresh process seeds numpy's global generator from the OS: so does this
        ipykernel.kernelapp.launch_new_instance()
        status = 0
    finally:
        os._exit(status)


def main(fd):
    channel = socket.socket(fileno=fd)  # one end of a socket pair; the grader holds the other
    requests = channel.makefile("rb")
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # finished kernels are reaped by the system
    warmed = False
    for line in requests:
        try:
            request = json.loads(line)
            ready_r, ready_w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(ready_r)
                requests.close()
                _kernel(request, channel, ready_w)
            os.close(ready_w)
            os.read(ready_r, 1)
            os.close(ready_r)
            answer = {"pid": pid}
        except Exception as err:  # noqa: BLE001 - said to the grader, which starts a plain kernel instead
            answer = {"error": f"{type(err).__name__}: {err}"}
        channel.sendall((json.dumps(answer) + "\n").encode())
        if not warmed:
            # while the first kernel is graded: what some notebooks' code imports later, on the first
            # torch.optim optimizer it builds (torch._dynamo, about a second), for the next kernels
            # (its import names a default cache folder in the environment: taken out again, so that a
            # kernel's environment is a fresh kernel's; inductor computes the same default when needed)
            warmed = True
            environment = dict(os.environ)
            try:
                import torch._dynamo  # noqa: F401
            except Exception:  # noqa: BLE001 - then each kernel imports it itself, if it needs it
                pass
            os.environ.clear()
            os.environ.update(environment)


main(int(sys.argv[1]))
