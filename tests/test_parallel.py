"""--jobs N and --engine dask give exactly what one process gives."""
from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import time
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from kg.build import build
from kg.cli import main
from kg.parallel import default_jobs, map_ordered

ROOT = Path(__file__).resolve().parent.parent
VOLATILE = ("seconds", "timings", "cache")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Seeds and dev articles (Simplified and Traditional), a duplicate and two bad files."""
    folder = tmp_path_factory.mktemp("corpus")
    for p in sorted((ROOT / "seeds").glob("*.txt")) + sorted((ROOT / "tests/dev/articles").glob("*.txt")):
        shutil.copy(p, folder / p.name)
    shutil.copy(ROOT / "seeds" / "000_4cdc6849661e5039.txt", folder / "zz_same_as_000.txt")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 40)
    return folder


@pytest.fixture(scope="module")
def one_process(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("jobs1")
    build([str(corpus)], out, quiet=True, render=False, jobs=1, cache=False)
    return out


def outputs(out: Path) -> tuple[bytes, dict]:
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return (out / "graph.ttl").read_bytes(), {k: v for k, v in report.items() if k not in VOLATILE}


def test_two_processes_give_the_same_graph_and_report(corpus, one_process, tmp_path):
    result = build([str(corpus)], tmp_path, quiet=True, render=False, jobs=2, cache=False)
    graph, report = outputs(tmp_path)
    assert (graph, report) == outputs(one_process)
    assert result.documents == 16
    assert len(report["errors"]) == 2 and any("same text" in w for w in report["warnings"])
    timings = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["timings"]
    assert {"ingest", "passes", "extract", "resolve", "rdf_serialize"} <= set(timings)


def test_workers_fill_the_cache_and_leave_no_part_files(corpus, one_process, tmp_path):
    # Worker processes store their digests in the cache and keep their Turtle parts in files
    # of their own until graph.ttl is written; then those files are gone.
    cache = tmp_path / "cache"
    build([str(corpus)], tmp_path / "out", quiet=True, render=False, jobs=2, cache=cache)
    assert outputs(tmp_path / "out") == outputs(one_process)
    assert not list((tmp_path / "out").glob(".kg-build-*"))
    again = build([str(corpus)], tmp_path / "again", quiet=True, render=False, jobs=1, cache=cache)
    report = json.loads((tmp_path / "again" / "report.json").read_text(encoding="utf-8"))
    assert report["cache"]["hits"] == 17        # 16 documents and the copy of one (bad files: no entry)
    assert again.documents == 16 and outputs(tmp_path / "again") == outputs(one_process)


def test_order_is_kept_whatever_finishes_first():
    items = list(range(300, 0, -1))
    assert list(map_ordered(str, items, jobs=2)) == [str(i) for i in items]
    assert list(map_ordered(str, [], jobs=2)) == []
    assert default_jobs() >= 1
    with pytest.raises(ValueError):
        list(map_ordered(str, items, jobs=0))
    with pytest.raises(ValueError):
        list(map_ordered(str, items, engine="spark"))


def _slow_first(i: int) -> int:
    time.sleep(0.003 if i < 30 else 0)      # the first chunks finish last
    return i * 2


def _fails_on_57(i: int) -> int:
    if i == 57:
        raise ValueError(f"bad item {i}")
    return i


def _dies_on_57(i: int) -> int:
    if i == 57:
        os._exit(3)                          # as a worker killed by the kernel would
    return i


def _new_children(before: set) -> list:
    return [p for p in multiprocessing.active_children() if p.pid not in before]


def test_worker_pool_keeps_order_and_reaps_its_workers():
    before = {p.pid for p in multiprocessing.active_children()}
    results = map_ordered(_slow_first, range(200), jobs=3)
    assert [next(results) for _ in range(200)] == [i * 2 for i in range(200)]
    # the last result is out: every worker has exited, though the consumer never asked for more
    assert _new_children(before) == []


def test_worker_pool_stops_its_workers_when_the_consumer_stops():
    before = {p.pid for p in multiprocessing.active_children()}
    results = map_ordered(_slow_first, range(2000), jobs=2)
    assert next(results) == 0 and _new_children(before)
    results.close()
    assert _new_children(before) == []


class _Unpicklable(Exception):
    def __reduce__(self):
        raise TypeError("not picklable")


def _fails_unpicklably_on_57(i: int) -> int:
    if i == 57:
        raise _Unpicklable("bad item 57")
    return i


@pytest.mark.parametrize("fn, error, message, cause", [
    # what the worker raised, with the worker's traceback as its cause: where it was raised
    (_fails_on_57, ValueError, "bad item 57", "in _fails_on_57"),
    # an exception that cannot be pickled: said so, the original in the traceback
    (_fails_unpicklably_on_57, RuntimeError, "could not be sent back: TypeError", "_Unpicklable: bad item 57"),
])
def test_worker_pool_raises_what_a_worker_raised(fn, error, message, cause):
    before = {p.pid for p in multiprocessing.active_children()}
    with pytest.raises(error, match=message) as raised:
        list(map_ordered(fn, range(200), jobs=2))
    assert _new_children(before) == []
    assert cause in str(raised.value.__cause__)


def test_a_worker_left_without_work_is_told_to_stop_once(monkeypatch):
    # Two files on two workers: both go to the first, and the second is told to stop before it
    # gets any. Telling it twice wrote to a pipe it may already have closed: a rare "worker
    # process ended" error. The parent's pause after each stop makes the worker exit first.
    import multiprocessing.connection
    real_send = multiprocessing.connection.Connection.send

    def send_then_pause(self, obj):
        real_send(self, obj)
        if obj is None:
            time.sleep(0.3)

    monkeypatch.setattr(multiprocessing.connection.Connection, "send", send_then_pause)
    assert list(map_ordered(_fails_on_57, [1, 2], jobs=2)) == [1, 2]


def test_worker_pool_fails_instead_of_waiting_for_a_dead_worker():
    before = {p.pid for p in multiprocessing.active_children()}
    with pytest.raises(RuntimeError, match="worker process ended"):
        list(map_ordered(_dies_on_57, range(200), jobs=2))
    assert _new_children(before) == []


ORPHAN_SCRIPT = """
import multiprocessing, os, time
from kg.parallel import map_ordered
def slow(i):
    time.sleep(0.05)
    return i
results = map_ordered(slow, range(1000), jobs=2)
next(results)
print(*(p.pid for p in multiprocessing.active_children()), flush=True)
os.kill(os.getpid(), 9)
"""


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"      # a zombie has exited (and this container's init may not reap it)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_workers_do_not_outlive_a_killed_parent():
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-c", ORPHAN_SCRIPT], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    pids = [int(p) for p in proc.stdout.split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 10
    while any(map(_running, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(_running, pids))


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_sigterm_stops_a_build_as_ctrl_c_does(tmp_path):
    # `kill` (or a service manager) ends a --jobs build the way Ctrl-C does: one line, exit 143,
    # its workers and staging folder gone, the last good outputs untouched.
    import signal
    import subprocess
    import sys
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    corpus.mkdir()
    out.mkdir()
    seeds = sorted((ROOT / "seeds").glob("*.txt"))
    for i in range(400):          # distinct texts: minutes of work, stopped in the first seconds
        text = seeds[i % len(seeds)].read_text(encoding="utf-8")
        (corpus / f"{i:03}.txt").write_text(f"{text}\n第{i}号。\n", encoding="utf-8")
    (out / "graph.ttl").write_bytes(b"# the last good graph\n")
    proc = subprocess.Popen([sys.executable, "-m", "kg", "build", str(corpus), "--out", str(out),
                             "-q", "--no-html", "--no-cache", "--jobs", "2"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    workers: list[int] = []
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline and not (
            len(workers) == 2 and any(p.name.endswith("-parts") for p in out.iterdir())):
        workers = [int(p) for p in children.read_text().split()] if children.exists() else []
        time.sleep(0.02)
    assert proc.poll() is None, "the build ended before it could be stopped"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143
    assert err.strip().splitlines()[-1] == "kg: terminated"
    assert sorted(p.name for p in out.iterdir()) == ["graph.ttl"]      # no staging folder left
    assert (out / "graph.ttl").read_bytes() == b"# the last good graph\n"
    deadline = time.monotonic() + 10
    while any(map(_running, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert workers and not any(map(_running, workers))


def test_cli_refuses_bad_parallel_options(corpus, tmp_path, capsys):
    assert main(["build", str(corpus), "--out", str(tmp_path), "--jobs", "0"]) == 2
    assert main(["build", str(corpus), "--out", str(tmp_path), "--scheduler", "tcp://x:8786"]) == 2
    assert "--engine dask" in capsys.readouterr().err


def test_dask_local_cluster_builds_the_same_graph(corpus, one_process, tmp_path):
    pytest.importorskip("distributed", reason="Dask is not installed (pip install 'zh-policy-kg[dask]')")
    build([str(corpus)], tmp_path, quiet=True, render=False, jobs=2, engine="dask", cache=False)
    graph, report = outputs(tmp_path)
    assert report == outputs(one_process)[1]
    assert isomorphic(Graph().parse(data=graph.decode("utf-8"), format="turtle"),
                      Graph().parse(one_process / "graph.ttl", format="turtle"))
    assert graph == outputs(one_process)[0]               # and even the same bytes
