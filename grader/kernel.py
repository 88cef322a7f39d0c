"""A student's kernel: execute their notebook's cells, then call their functions with plain data.

The kernel is an ordinary ipykernel started by jupyter_client in the submission's own folder, with a
scrubbed environment (nothing in it says that grading is under way). Everything that comes back is
text; `call` turns it into plain values through `grader.wire`, so nothing the student's code patched
inside the kernel (numpy, torch, builtins, IPython hooks) runs in the grader's process. A call's
request goes in as JSON text: in the source of the cell that runs it or, when long, in a comm message
sent just before that cell (see INLINE_MAX); nothing is read back from that message.
"""
from __future__ import annotations

import json
import os
import queue
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from . import wire
from .sandbox import Sandbox

_KERNEL_SIDE = (Path(__file__).with_name("kernel_side.py")).read_text()
# The calling code is defined once per kernel, in a dict under a random name, after the student's
# cells have run; each call is then a one-line cell (a few ms instead of compiling it every time).
_INSTALL_TEMPLATE = ('{name} = {{"__builtins__": __builtins__, "_ns": globals()}}\n'
                     'exec(compile({src!r}, "<course-call>", "exec"), {name})\n'
                     '{name}["_course_listen"]({name!r})')
_CALL_TEMPLATE = '{name}["_req"] = {req!r}; {name}["_course_call"]()'
# A request longer than INLINE_MAX characters does not travel in the cell's source: ipykernel hashes
# every cell's source in pure Python (murmur2, naming the cell's file for its debugger), IPython
# transforms it and the kernel echoes it on iopub, about 0.3 ms of kernel CPU per kB. It goes ahead of
# the cell as a comm message (bytes in a buffer, which the kernel does not parse) to the comm target
# that the calling code registered under its own random name; the shell channel delivers it before
# the cell, which names the request it runs by its nonce: `_SENT_CALL_TEMPLATE`. Below the threshold
# the extra message costs more than hashing the text.
INLINE_MAX = 4096
_SENT_CALL_TEMPLATE = '{name}["_course_call"]({nonce!r})'


class _Died(Exception):
    """Internal: the kernel process is gone."""


class KernelDied(RuntimeError):
    """The kernel exited (a crash, os._exit, a memory limit) or had to be killed."""


class CallTimeout(RuntimeError):
    """A student function did not return within the time limit; the kernel was killed."""


class StudentRaised(Exception):
    """The student's function raised; `type_name` and `message` are the student's own text."""

    def __init__(self, name, type_name, message):
        super().__init__(f"{name} raised {type_name}: {message}")
        self.name, self.type_name, self.message = name, type_name, message


class StudentMissing(Exception):
    """The student's namespace has no callable with the requested name."""


class KernelSession:
    """One kernel for one submission. Use as a context manager; it is always killed on exit."""

    def __init__(self, workdir, sandbox: Sandbox, cell_timeout=60.0, call_timeout=30.0,
                 notebook_timeout=600.0, max_output_bytes=50_000_000, forkserver=None):
        self.workdir = Path(workdir)
        self.sandbox = sandbox
        self.forkserver = forkserver  # a grader.forkserver.ForkServer that forks this kernel, or None
        self.cell_timeout = cell_timeout
        self.call_timeout = call_timeout
        self.notebook_timeout = notebook_timeout
        self.max_output_bytes = max_output_bytes
        self.km = None
        self.kc = None
        self.dead_reason = None
        self._deadline = None
        self._helper = None  # the name of the calling code's dict in the kernel, once defined
        self._comm_id = None  # the comm that carries long requests, once opened
        self.started = False

    # -- lifecycle ---------------------------------------------------------------------------
    def launch(self):
        """Start the kernel's process without waiting for it (`start` waits). Call it from a thread that
        outlives the kernel: bubblewrap's --die-with-parent kills the kernel when the thread that started
        it ends."""
        self.started = True
        self.km = (self.forkserver or self.sandbox).kernel_manager(self.workdir)
        self.km.start_kernel(**self.sandbox.start_kwargs(self.km, self.workdir))
        self.kc = self.km.client()
        # no heartbeat: liveness comes from the kernel manager (the process), and a heartbeat thread
        # still starting when a kernel launched ahead is discarded reported a spurious ZMQ error
        self.kc.start_channels(hb=False)
        return self

    def start(self):
        """Start the kernel (unless `launch` did) and wait until it answers (raises KernelDied when it
        does not); the notebook's time limit counts from then. `with` starts a session not started yet."""
        if not self.started:
            self.launch()
        if self.km is None:
            raise KernelDied(self.dead_reason or "the kernel is not running")
        try:
            self.kc.wait_for_ready(timeout=60)
        except RuntimeError as err:
            self.kill(f"the kernel did not start: {err}")
            raise KernelDied(self.dead_reason) from err
        self._deadline = time.monotonic() + self.notebook_timeout
        return self

    def __enter__(self):
        if self._deadline is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.kill(None)
        return False

    def kill(self, reason):
        if reason and not self.dead_reason:
            self.dead_reason = reason
        if self.kc is not None:
            try:
                self.kc.stop_channels()
            except Exception:  # noqa: BLE001 - best effort on a dying kernel
                pass
        if self.km is not None:
            try:
                if self.km.has_kernel:
                    self._kill_and_reap()
                    self.km.shutdown_kernel(now=True)  # (finds it dead) closes and cleans up
            except Exception:  # noqa: BLE001
                pass
            self.sandbox.cleanup(self.km)
        self.kc = self.km = None

    def _kill_and_reap(self):
        """SIGKILL to the kernel's process group, as jupyter_client's shutdown_kernel(now=True) sends, then
        a blocking wait for the process, which returns when it is gone: shutdown_kernel polls for that at
        0.1 s intervals, a tenth of a second on every graded notebook."""
        provisioner = self.km.provisioner
        process, pgid = getattr(provisioner, "process", None), getattr(provisioner, "pgid", None)
        if process is None:
            return
        try:
            if pgid:
                os.killpg(pgid, signal.SIGKILL)
            else:
                process.kill()
        except OSError:
            pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    @property
    def alive(self):
        return self.km is not None and self.dead_reason is None and self.km.is_alive()

    # -- running code ------------------------------------------------------------------------
    def _run(self, code, timeout, store_history, ahead=None):
        """Execute code, return (reply content, list of nbformat outputs). Raises on death/timeout.
        ahead: a call request sent as a comm message before the code (see INLINE_MAX); what the kernel
        prints while it receives that counts towards the output limit but is not among the outputs."""
        if not self.alive:
            raise KernelDied(self.dead_reason or "the kernel is not running")
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            self.kill(f"the notebook ran past its time limit of {self.notebook_timeout:.0f} s")
            raise CallTimeout(self.dead_reason)
        timeout = min(timeout, remaining)
        outputs, size = [], [0]

        def hook(msg, collect=True):
            kind = msg["msg_type"]
            if kind in ("stream", "display_data", "execute_result", "error"):
                size[0] += len(json.dumps(msg["content"]))
                if size[0] > self.max_output_bytes:
                    raise OverflowError
                if not collect:
                    return
                out = nbformat.v4.output_from_msg(msg)
                if kind == "stream" and outputs and outputs[-1].get("output_type") == "stream" \
                        and outputs[-1]["name"] == out["name"]:
                    outputs[-1]["text"] += out["text"]
                else:
                    outputs.append(out)
            elif kind == "clear_output" and collect:
                outputs.clear()

        try:
            reply = self._execute(code, timeout, hook, store_history, ahead)
        except TimeoutError:
            self.kill(f"the code ran past its time limit of {timeout:.0f} s")
            raise CallTimeout(self.dead_reason) from None
        except OverflowError:
            self.kill(f"the code printed more than {self.max_output_bytes // 1_000_000} MB")
            raise KernelDied(self.dead_reason) from None
        except _Died:
            self.kill("the kernel died (it exited, crashed or hit a memory limit)")
            raise KernelDied(self.dead_reason) from None
        return reply["content"], outputs

    def _execute(self, code, timeout, hook, store_history, ahead=None):
        """Send one execute request (after `ahead`'s comm messages) and collect its output until the
        kernel is idle again, checking between messages that the kernel is still alive (a dead kernel
        sends nothing)."""
        deadline = time.monotonic() + timeout
        sent_ahead = self._send_ahead(ahead) if ahead is not None else ()
        msg_id = self.kc.execute(code, store_history=store_history, allow_stdin=False, stop_on_error=False)
        idle = False
        while not idle:
            if time.monotonic() > deadline:
                raise TimeoutError
            try:
                msg = self.kc.get_iopub_msg(timeout=0.25)
            except queue.Empty:
                if not self.km.is_alive():
                    raise _Died from None
                continue
            parent = msg["parent_header"].get("msg_id")
            if parent in sent_ahead:
                hook(msg, collect=False)
            if parent != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
                idle = True
            else:
                hook(msg)
        while True:
            try:
                reply = self.kc.get_shell_msg(timeout=max(0.1, min(5.0, deadline - time.monotonic())))
            except queue.Empty:
                if not self.km.is_alive():
                    raise _Died from None
                raise TimeoutError from None
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply

    def _send_ahead(self, ahead):
        """Send a request (nonce, JSON text) to the calling code's comm target as one comm message, the
        text as bytes in its buffer; opens the comm first if needed. Returns the ids of the messages
        sent. Nothing comes back on this path: the cell that follows runs the request and prints the
        reply, as for a request in its source."""
        nonce, req = ahead
        ids = []
        if self._comm_id is None:
            self._comm_id = secrets.token_hex(16)
            ids.append(self._send_shell("comm_open", {"comm_id": self._comm_id, "target_name": self._helper,
                                                      "data": {}}))
        ids.append(self._send_shell("comm_msg", {"comm_id": self._comm_id, "data": {"nonce": nonce}},
                                    [req.encode()]))
        return ids

    def _send_shell(self, msg_type, content, buffers=None):
        msg = self.kc.session.msg(msg_type, content)
        self.kc.session.send(self.kc.shell_channel.socket, msg, buffers=buffers)
        return msg["header"]["msg_id"]

    def _call(self, nonce, req, timeout):
        """Run one request in the kernel: (whether the cell raised, what it printed to stdout)."""
        self._install()
        if len(req) > INLINE_MAX:
            code, ahead = _SENT_CALL_TEMPLATE.format(name=self._helper, nonce=nonce), (nonce, req)
        else:
            code, ahead = _CALL_TEMPLATE.format(name=self._helper, req=req), None
        content, outputs = self._run(code, timeout, store_history=False, ahead=ahead)
        text = "".join(o.get("text", "") for o in outputs
                       if o.get("output_type") == "stream" and o.get("name") == "stdout")
        return content.get("status") == "error", text

    def run_cell(self, source):
        """Run one notebook cell; returns (outputs, execution_count or None)."""
        content, outputs = self._run(source, self.cell_timeout, store_history=True)
        return outputs, content.get("execution_count")

    def call(self, name, *args, return_args=False, observe=False, fp_errors=False, **kwargs):
        """Call the student's `name(*args, **kwargs)`; returns the decoded plain value
        (and the arguments as they were after the call, when return_args; and what the kernel
        observed around the call, when observe: see `Observation`). fp_errors: numpy overflow and
        invalid-value warnings raise (FloatingPointError) during the call."""
        nonce, req = call_request(name, args, kwargs, return_args, observe, fp_errors)
        errored, text = self._call(nonce, req, self.call_timeout)
        return parse_reply(text, nonce, name, len(args), return_args, errored, observe)

    def call_many(self, name, calls, return_args=False, observe=False) -> list:
        """Call the student's `name` once per (args, kwargs) of `calls`, in order, in one round trip (each
        call on its own decoded copy of its arguments, exactly as separate calls would get them); returns
        parse_many's outcomes (each as `call` with the same flags would return it). The time limit is that
        of one call per call sent."""
        nonce, req = call_many_request(name, calls, return_args, observe)
        errored, text = self._call(nonce, req, self.call_timeout * max(1, len(calls)))
        return parse_many(text, nonce, name, calls, errored, return_args, observe)

    def _install(self):
        """Define the calling code in the kernel, once."""
        if self._helper is None:
            helper = "_course_" + secrets.token_hex(8)
            content, _ = self._run(_INSTALL_TEMPLATE.format(name=helper, src=_KERNEL_SIDE), self.call_timeout,
                                   store_history=False)
            if content.get("status") != "ok":
                raise wire.WireError("the call could not run in the kernel; did a cell change IPython or builtins?")
            self._helper = helper


def call_many_request(name, calls, return_args=False, observe=False):
    """A fresh nonce and the JSON request for several calls of one function: calls = [(args, kwargs)]."""
    nonce = secrets.token_hex(16)
    return nonce, json.dumps({"name": name, "nonce": nonce, "return_args": bool(return_args),
                              "observe": bool(observe), "fp_errors": False,
                              "many": [[[wire.encode(a) for a in args], {k: wire.encode(v) for k, v in kwargs.items()}]
                                       for args, kwargs in calls]})


def _reply_json(text, nonce, errored):
    """The JSON the kernel printed between two copies of the nonce, or the WireError saying why not."""
    parts = text.split(nonce)
    if len(parts) < 3:
        if errored:
            raise wire.WireError("the call could not run in the kernel; did a cell change IPython or builtins?")
        raise wire.WireError("the kernel sent no reply")
    try:
        return json.loads(parts[1])
    except (ValueError, RecursionError) as err:
        raise wire.WireError("the kernel's reply is not valid JSON") from err


def parse_many(text, nonce, name, calls, errored=False, return_args=False, observe=False) -> list:
    """The outcomes of a call_many request, in order: each a decoded value or the exception (StudentRaised,
    WireError) that a single call would have raised there; the list ends at the first exception."""
    reply = _reply_json(text, nonce, errored)
    if not isinstance(reply, dict):
        raise wire.WireError("malformed reply")
    if reply.get("status") in ("missing", "not_callable"):
        _outcome(reply, name, 0, False, False)  # raises StudentMissing, as the first single call would
    if reply.get("status") != "many":
        raise wire.WireError("malformed reply")
    replies = reply.get("replies")
    if not isinstance(replies, list) or not 0 < len(replies) <= len(calls):
        raise wire.WireError("malformed reply")
    outcomes = []
    for one, (args, _) in zip(replies, calls):
        try:
            outcomes.append(_outcome(one, name, len(args), return_args, observe))
        except (StudentRaised, wire.WireError) as err:
            outcomes.append(err)
            break
    else:
        last = outcomes[-1][0] if return_args or observe else outcomes[-1]
        if len(outcomes) < len(calls) and not wire.find_rejected(last):
            raise wire.WireError("malformed reply")
    return outcomes


def call_request(name, args, kwargs, return_args, observe=False, fp_errors=False):
    """A fresh nonce and the JSON request for one call."""
    nonce = secrets.token_hex(16)
    return nonce, json.dumps({"name": name, "nonce": nonce, "return_args": return_args,
                              "observe": bool(observe), "fp_errors": bool(fp_errors),
                              "args": [wire.encode(a) for a in args],
                              "kwargs": {k: wire.encode(v) for k, v in kwargs.items()}})


def parse_reply(text, nonce, name, nargs, return_args, errored=False, observe=False):
    """Turn the kernel's printed reply into plain values, or raise what went wrong."""
    reply = _reply_json(text, nonce, errored)
    return _outcome(reply, name, nargs, return_args, observe)


def _outcome(reply, name, nargs, return_args, observe):
    """One call's reply as its plain value(s), or the exception it means."""
    if not isinstance(reply, dict):
        raise wire.WireError("malformed reply")
    status = reply.get("status")
    if status == "missing":
        raise StudentMissing(f"`{name}` is not defined: did its cell run without error?")
    if status == "not_callable":
        raise StudentMissing(f"`{name}` is not a function")
    if status == "raised":
        raise StudentRaised(name, str(reply.get("type"))[:80], str(reply.get("message"))[:400])
    if status != "ok":
        raise wire.WireError("malformed reply")
    value = wire.decode(reply.get("value"))
    out = [value]
    if return_args:
        after = reply.get("args_after")
        if not isinstance(after, list) or len(after) != nargs:
            raise wire.WireError("malformed reply")
        out.append([wire.decode(a) for a in after])
    if observe:
        out.append(wire.decode_observation(reply.get("observed")))
    return out[0] if len(out) == 1 else tuple(out)


class InProcessSession:
    """Calls functions of a namespace in this process through the same request and reply path as a
    kernel. Only for the course's own tests (running the checks against the reference under many
    seeds quickly); never used to grade, since it runs the code in the grader's process."""

    _code = None  # the calling code, compiled once per process

    def __init__(self, namespace: dict):
        self.namespace = namespace
        if InProcessSession._code is None:
            InProcessSession._code = compile(_KERNEL_SIDE, "<course-call>", "exec")
        self._helper = {"__builtins__": __builtins__, "_ns": namespace}
        exec(InProcessSession._code, self._helper)  # noqa: S102 - defines _course_call, as in a kernel

    def call(self, name, *args, return_args=False, observe=False, fp_errors=False, **kwargs):
        import contextlib
        import io
        nonce, req = call_request(name, args, kwargs, return_args, observe, fp_errors)
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            self._helper["_req"] = req
            self._helper["_course_call"]()
        return parse_reply(buffer.getvalue(), nonce, name, len(args), return_args, observe=observe)

    def call_many(self, name, calls, return_args=False, observe=False) -> list:
        import contextlib
        import io
        nonce, req = call_many_request(name, calls, return_args, observe)
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            self._helper["_req"] = req
            self._helper["_course_call"]()
        return parse_many(buffer.getvalue(), nonce, name, calls, return_args=return_args, observe=observe)


def clean_env(home):
    """The kernel's environment: only what Python needs, nothing that reveals grading."""
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "TMPDIR": str(home),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
        "MKL_NUM_THREADS": os.environ.get("MKL_NUM_THREADS", "1"),
    }
    return env
