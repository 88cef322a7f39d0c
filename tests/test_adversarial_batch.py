"""Adversarial submissions next to honest ones, through the real nbgrader: each earns nothing it did
not solve, changes nobody else's grade, and does not stop the batch. They are graded in one run with
the class of test_autograde_batch.py (the `class_batch` fixture of conftest.py)."""
import contextlib
import json
import socket
import threading

import pytest

import submissions as S
from conftest import full_scores
from grader.bwrap import BubblewrapSandbox

TOTAL = sum(full_scores(S.A).values())
ISOLATED = not BubblewrapSandbox.unavailable_reason()

FAKES = '''
import numpy as np, torch
class AlwaysEqual:
    def __eq__(self, other): return True
    def __array_function__(self, *a, **k): return True
    def __array__(self, dtype=None, copy=None): return np.zeros(1)
class Sub(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(other), dtype=bool)
class TSub(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None): return True
def softmax(logits): return AlwaysEqual()
def cross_entropy(logits, y): return AlwaysEqual(), np.zeros(np.shape(logits)).view(Sub)
def softmax_regression_loss(W, b, X, y, reg=0.0):
    return 1.0, torch.zeros(np.shape(W)).as_subclass(TSub), np.array([object()] * len(b), dtype=object)
def binary_logistic_loss(w, b, X, y): return float("nan"), np.full(np.shape(w), np.nan), float("nan")
def fit_standardizer(X): return np.zeros((1, np.shape(X)[1])), np.ones((1, np.shape(X)[1]))  # broadcastable
def standardize(X, mean, std): return np.asarray(X)[None]
'''

SNOOP = '''
import gc, inspect, sys, numpy as np
def _loot(shape):
    """Look for an array of the wanted shape anywhere: caller frames, the stack, the garbage collector."""
    frame = sys._getframe(1)
    while frame is not None:
        for value in list(frame.f_locals.values()):
            if isinstance(value, np.ndarray) and value.shape == tuple(shape):
                return value
        frame = frame.f_back
    for obj in gc.get_objects():
        if isinstance(obj, np.ndarray) and obj.shape == tuple(shape):
            return obj
    return np.zeros(shape)
def softmax(logits): return _loot(np.shape(logits))
def cross_entropy(logits, y): return 1.0, _loot(np.shape(logits))
def softmax_regression_loss(W, b, X, y, reg=0.0): return 1.0, _loot(np.shape(W)), _loot(np.shape(b))
def binary_logistic_loss(w, b, X, y): return 1.0, _loot(np.shape(w)), 0.0
def fit_standardizer(X): return _loot((np.shape(X)[1],)), _loot((np.shape(X)[1],))
def standardize(X, mean, std): return _loot(np.shape(X))
'''

DETECT = '''
import os
_signals = [k for k in os.environ if "GRADE" in k.upper() or "COURSE" in k.upper()]
_signals += [p for p in ("autograded", "submitted", ".grader-work") if p in os.getcwd()]
if _signals:
    raise SystemExit("grading detected: " + ", ".join(_signals))
'''


def build(root, port):
    """The attacks; the honest alice (complete) and bob (nothing done) are test_autograde_batch's."""
    S.write(root, "fakes", S.with_cell(S.release(), FAKES, at=1000))
    S.write(root, "snoop", S.with_cell(S.release(), SNOOP, at=1000))
    # solution code that would sabotage itself (raise in every function) if it could tell it is graded
    nb = S.solution()
    nb = S.with_cell(nb, DETECT + "\n_real = {k: globals()[k] for k in ('softmax', 'cross_entropy', "
                     "'softmax_regression_loss', 'binary_logistic_loss', 'fit_standardizer', 'standardize')}\n"
                     "if _signals:\n    for _k in _real: globals()[_k] = None\n", at=1000)
    S.write(root, "detector", nb)
    S.write(root, "exiter", S.with_cell(S.wrong_but_running(S.release()), "import sys\nsys.exit(0)", at=2))
    S.write(root, "spinner", S.with_cell(S.solution(), "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                                       "while True:\n    pass", at=2))
    S.write(root, "hog", S.with_cell(S.wrong_but_running(S.release()), "hog = [bytearray(2**30) for _ in range(64)]", at=2))
    S.write(root, "forker", S.with_cell(S.wrong_but_running(S.release()), """
import os, time
for _ in range(500):
    try:
        if os.fork() == 0:
            time.sleep(60); os._exit(0)
    except OSError:
        break
""", at=2))
    S.write(root, "talker", S.with_cell(S.wrong_but_running(S.release()), "while True:\n    print('x' * 1_000_000)", at=2))
    S.write(root, "netcat", S.with_cell(S.wrong_but_running(S.release()), f"""
import socket
for host in ("127.0.0.1", "localhost"):
    try:
        socket.create_connection((host, {port}), timeout=3).sendall(b"leak")
    except OSError:
        pass
""", at=2))


@contextlib.contextmanager
def loopback_server():
    """A server listening on loopback while the class is graded; yields its port and the connections
    it accepted."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.5)
    connections = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                connections.append(server.accept())
            except OSError:
                pass
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], connections
    finally:
        stop.set()
        thread.join()
        server.close()


@pytest.fixture(scope="module")
def batch(class_batch):
    """The attacks graded once with the class of test_autograde_batch.py (conftest.py's class_batch), on
    2 workers with 20 s per cell, so each attack is graded beside honest students."""
    return class_batch.proc, class_batch.grades, class_batch.reports, class_batch.connections


def test_batch_finishes_and_honest_students_are_unaffected(batch):
    proc, grades, reports, _ = batch
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert grades["alice"] == TOTAL and grades["bob"] == 0


@pytest.mark.parametrize("student", ["fakes", "snoop", "exiter", "hog", "forker", "talker", "netcat"])
def test_attack_earns_nothing(batch, student):
    _, grades, reports, _ = batch
    assert grades[student] == 0, json.dumps(reports[student]["parts"], indent=1)


def test_a_hung_kernel_is_killed_and_marked_for_review(batch):
    _, grades, reports, _ = batch
    assert grades["spinner"] == 0
    assert all(p["status"] == "needs_review" and "time limit" in p["reason"] for p in reports["spinner"]["parts"])


def test_nothing_reveals_grading(batch):
    _, grades, reports, _ = batch
    if not ISOLATED:
        pytest.skip("without bubblewrap the submission's folder path shows it is being graded")
    assert grades["detector"] == TOTAL


def test_no_connection_reached_the_loopback_server(batch):
    _, _, _, connections = batch
    if not ISOLATED:
        pytest.skip("the network is only unshared under bubblewrap")
    assert connections == []
