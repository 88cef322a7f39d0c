"""The local pool gives a worker the notebooks of the student it is on while it can (so that one fork
server per student starts their kernels), and a worker with nothing of its own takes a student nobody
is on before sharing one. (Priorities and cancelling: tests/test_verify_on_demand.py.)"""
import threading
import time
from collections import defaultdict

from grader.batch import Pool


def _run(tasks, workers=2, during=None):
    order = []

    def task(key, item, *rest):
        order.append((threading.current_thread().name, key, item))
        if during is not None:
            during(key, item)
        time.sleep(0.02)
        return key, item

    with Pool(workers) as pool:
        for key, item, priority in tasks:
            pool.submit(task, key, item, priority=priority)
        results = list(pool.results())
    return order, results


def test_each_worker_keeps_to_one_student_and_they_share_the_last_one():
    order, results = _run([(s, a, 0) for s in ("ann", "bob", "cid") for a in range(6)])
    assert len(results) == 18
    by_worker = defaultdict(list)
    for worker, student, _ in order:
        by_worker[worker].append(student)
    firsts = sorted(students[0] for students in by_worker.values())
    assert firsts == ["ann", "bob"], by_worker  # the second worker starts a student of its own
    for students in by_worker.values():
        # one student, then the last one (shared): never back and forth
        assert students == sorted(students, key=["ann", "bob", "cid"].index), by_worker
        assert len(set(students)) <= 2
