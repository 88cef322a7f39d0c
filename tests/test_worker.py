"""The long-lived grading process: a task it cannot finish (it died, it hung) is reported as failed,
with the reason, and the next task gets a fresh process."""
import sys

from grader import batch

# closes its stdout a moment before it exits, as a crashing process may: the end of file comes first
DIES = [sys.executable, "-c", "import os, sys, time; sys.stdin.readline(); print('dying', file=sys.stderr); "
        "sys.stderr.flush(); os.close(1); time.sleep(0.5); os._exit(3)"]
HANGS = [sys.executable, "-c", "import sys, time; sys.stdin.readline(); time.sleep(60)"]
ECHO = [sys.executable, "-c", "import sys, json\nfor line in sys.stdin:\n    t = json.loads(line)\n"
        "    print(json.dumps({'ok': t['student'] != 'bad', 'log': 'graded ' + t['student']}), flush=True)"]


def test_a_process_that_dies_fails_its_task_with_the_reason(tmp_path):
    worker = batch.WorkerProcess(tmp_path, command=DIES)
    ok, log = worker.grade("alice", "01_multinomial_regression", timeout=30)
    assert not ok and "exited with code 3" in log and "dying" in log
    assert not worker.alive()


def test_a_process_that_hangs_is_killed_after_the_timeout(tmp_path):
    worker = batch.WorkerProcess(tmp_path, command=HANGS)
    ok, log = worker.grade("alice", "01_multinomial_regression", timeout=1)
    assert not ok and "did not answer within 1 s" in log
    assert worker.proc.poll() is not None


def test_one_process_answers_many_tasks_in_order(tmp_path):
    worker = batch.WorkerProcess(tmp_path, command=ECHO)
    replies = [worker.grade(s, "a", timeout=30) for s in ("alice", "bad", "carol")]
    assert replies == [(True, "graded alice"), (False, "graded bad"), (True, "graded carol")]
    worker.close()
    assert worker.proc.returncode == 0


def test_the_thread_gets_a_fresh_process_after_a_death(tmp_path, monkeypatch):
    started = []

    class Recording(batch.WorkerProcess):
        def __init__(self, work, extra=()):
            super().__init__(work, extra, command=DIES if not started else ECHO)
            started.append(self)

    monkeypatch.setattr(batch, "WorkerProcess", Recording)
    monkeypatch.setattr(batch._local, "workers", {}, raising=False)
    first = batch.grade_task("alice", "a", str(tmp_path))
    second = batch.grade_task("bob", "a", str(tmp_path))
    assert not first["ok"] and "exited with code 3" in first["log"]
    assert second["log"] == "graded bob" and len(started) == 2
    batch.close_workers()
