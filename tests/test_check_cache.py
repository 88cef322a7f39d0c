"""`grader check` keeps the gradebook nbgrader's generate_assignment made for an assignment and reuses it
while the source notebook, the config and nbgrader are unchanged (the release is seconds of start-up)."""
import pytest

from grader import cli, course

A = "04_initialization"


@pytest.mark.slow
def test_check_releases_once_and_reuses_the_gradebook(tmp_path, monkeypatch):
    monkeypatch.setattr(course, "WORK", tmp_path / "work")
    calls = []
    real = cli.release
    monkeypatch.setattr(cli, "release", lambda *a, **k: calls.append(a) or real(*a, **k))
    for i in range(2):
        work = tmp_path / f"check{i}"
        work.mkdir()
        cli.prepared_work(A, work)
        assert (work / "gradebook.db").stat().st_size > 1000
    assert len(calls) == 1, "the second check released again"
    assert (tmp_path / "work" / "check-cache" / cli.release_key(A) / "gradebook.db").is_file()


def test_the_cache_key_follows_the_source(tmp_path, monkeypatch):
    before = cli.release_key(A)
    copy = tmp_path / "solutions" / A
    copy.mkdir(parents=True)
    text = course.source_notebook(A).read_text()
    (copy / course.source_notebook(A).name).write_text(text.replace("Weight initialization", "Weight init", 1))
    monkeypatch.setattr(course, "SOLUTIONS", tmp_path / "solutions")
    assert cli.release_key(A) != before
