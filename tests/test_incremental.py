"""A build kept up to date (`kg build --watch`): after files come, change or go, its outputs are
those of a new build of the same files, and only the files that changed are read again."""
from __future__ import annotations

import json
import random
import shutil
import threading
import time
from pathlib import Path

import pytest

import kg.build
import kg.cache
import kg.watch
from kg.build import Builder, build
from kg.cli import main
from kg.digest import digest
from kg.incremental import LiveCorpus
from kg.ingest import read_document
from kg.passes import run_passes
from kg.rdf import corpus_part
from kg.resolve import merge
from kg.watch import watch

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = sorted((ROOT / "seeds").glob("*.txt")) + sorted((ROOT / "tests" / "dev" / "articles").glob("*.txt"))
VOLATILE = ("seconds", "timings", "cache")


@pytest.fixture(scope="module")
def digests() -> list:
    return [digest(run_passes(read_document(p))) for p in ARTICLES]


def same_as_merge(live: LiveCorpus, digests: list) -> None:
    resolved, corpus = live.update(digests)
    whole = merge(digests)
    assert corpus == corpus_part(whole)
    assert list(resolved.entities) == list(whole.entities)          # same order too
    assert resolved.entities == whole.entities
    assert list(resolved.relations) == list(whole.relations)
    assert resolved.relations == whole.relations
    assert resolved.statistics == whole.statistics
    assert resolved.documents == whole.documents


def test_a_live_corpus_gives_what_a_whole_merge_gives_after_every_change(digests):
    live = LiveCorpus()
    rng = random.Random(8)
    current = digests[:8]
    same_as_merge(live, current)
    for _ in range(12):
        change = rng.choice(["add", "remove", "add", "swap"])
        rest = [d for d in digests if d not in current]
        if change == "add" and rest:             # anywhere: before, between or after the others
            current.insert(rng.randrange(len(current) + 1), rng.choice(rest))
        elif change == "remove" and len(current) > 1:
            current.pop(rng.randrange(len(current)))
        elif change == "swap" and rest:          # an edited file: another text at its place
            current[rng.randrange(len(current))] = rng.choice(rest)
        same_as_merge(live, current)
    rng.shuffle(current)                         # the same documents in another order
    same_as_merge(live, current)
    same_as_merge(live, current[:1])
    same_as_merge(live, digests)


def test_a_live_corpus_redoes_only_the_entities_of_the_new_document(digests, monkeypatch):
    live = LiveCorpus()
    live.update(digests[:-1])
    written = []
    real = LiveCorpus._write_block
    monkeypatch.setattr(LiveCorpus, "_write_block",
                        lambda self, iri, e, order: written.append(iri) or real(self, iri, e, order))
    live.update(digests)
    assert sorted(written) == sorted(row[0] for row in digests[-1].entities)
    assert len(written) < len(live.entities)


def outputs(out: Path) -> tuple[bytes, dict]:
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return (out / "graph.ttl").read_bytes(), {k: v for k, v in report.items() if k not in VOLATILE}


def test_a_live_build_writes_what_a_new_build_writes_and_reads_only_what_changed(tmp_path, counted):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for p in ARTICLES[:4]:
        shutil.copy(p, corpus / p.name)
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    builder = Builder([str(corpus)], out, quiet=True, jobs=1, cache=False, live=True)

    def check(read: list[str]) -> None:
        counted.clear()
        result = builder.run()
        assert sorted(counted) == sorted(read) and result.read == len(read)
        build([str(corpus)], fresh, quiet=True, jobs=1, cache=False)
        assert outputs(out) == outputs(fresh)
        assert (out / "graph.html").read_bytes() == (fresh / "graph.html").read_bytes()
        assert not builder.changed()

    try:
        check([p.name for p in ARTICLES[:4]])
        check([])                                            # nothing changed, nothing read
        shutil.copy(ARTICLES[6], corpus / ("0" + ARTICLES[6].name))   # first in input order
        assert builder.changed()
        check(["0" + ARTICLES[6].name])
        (corpus / ARTICLES[1].name).write_bytes(ARTICLES[7].read_bytes())     # edited
        check([ARTICLES[1].name])
        (corpus / ARTICLES[2].name).unlink()                 # removed
        check([])
        shutil.copy(ARTICLES[0], corpus / "zz-copy.txt")     # the same text again: counted once
        check(["zz-copy.txt"])
        kept = [d for d in outputs(out)[1]["per_document"] if d["path"].endswith(ARTICLES[0].name)]
        assert kept[0]["paths"][1].endswith("zz-copy.txt")
        (corpus / ARTICLES[0].name).unlink()                 # now the copy is the one kept
        check([])
    finally:
        builder.close()
    assert not list(out.glob(".kg-build-*"))


def test_a_run_that_fails_before_writing_is_run_again_at_the_next_look(tmp_path, monkeypatch, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(ARTICLES[0], corpus / ARTICLES[0].name)
    out = tmp_path / "out"
    (corpus / "broken.txt").write_bytes(b"")       # an empty file: an error, read once
    builder = Builder([str(corpus)], out, quiet=True, render=False, jobs=1, live=True)
    try:
        builder.run()
        cache = json.loads((out / "report.json").read_text())["cache"]
        assert (cache["hits"], cache["misses"], cache["unchanged"]) == (0, 1, 0)
        shutil.copy(ARTICLES[1], corpus / ARTICLES[1].name)
        real = kg.build.write_outputs

        def full_disk(*args, **kwargs):
            raise OSError(28, "No space left on device")
        monkeypatch.setattr(kg.build, "write_outputs", full_disk)
        assert kg.watch._run(builder, first=False, scan=builder.changed()) is None
        assert "No space left on device" in capsys.readouterr().err
        assert json.loads((out / "report.json").read_text())["documents"] == 1   # as it was
        monkeypatch.setattr(kg.build, "write_outputs", real)
        scan = builder.changed()
        assert scan is not None                 # no file changed since, but the outputs are behind
        assert kg.watch._run(builder, first=False, scan=scan).documents == 2
        assert builder.changed() is None
        cache = json.loads((out / "report.json").read_text())["cache"]
        assert (cache["hits"], cache["misses"], cache["unchanged"]) == (0, 0, 3)   # none read again
    finally:
        builder.close()
    build([str(corpus)], tmp_path / "fresh", quiet=True, render=False, jobs=1, cache=False)
    assert outputs(out) == outputs(tmp_path / "fresh")


def test_a_change_in_the_same_clock_tick_as_the_read_is_still_seen(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for p in ARTICLES[:2]:
        shutil.copy(p, corpus / p.name)
    target = corpus / ARTICLES[0].name
    out = tmp_path / "out"
    monkeypatch.setattr(kg.cache, "RACY_NS", 10**15)        # every file read is "just changed"
    builder = Builder([str(corpus)], out, quiet=True, render=False, jobs=1, cache=False, live=True)
    try:
        builder.run()
        # The file changes again, with the same size, and its stat does not show it (as when
        # both changes fall within one tick of the clock that stamps files).
        frozen = {p: kg.build.file_stat(p) for p in corpus.iterdir()}
        monkeypatch.setattr(kg.build, "file_stat", lambda p: frozen.get(Path(p)))
        data = target.read_bytes()
        target.write_bytes(data.replace("国家移民管理局".encode(), "国家移民管理處".encode(), 1))
        assert len(target.read_bytes()) == len(data)
        assert builder.changed() is None                    # still within that tick: wait
        monkeypatch.setattr(kg.cache, "RACY_NS", 0)          # the tick is over
        scan = builder.changed()
        assert scan is not None and scan[-1] == {target}     # hashed once more: it differs
        assert builder.run(scan).read == 1
        assert builder.changed() is None                     # and it is settled now
    finally:
        builder.close()
    build([str(corpus)], tmp_path / "fresh", quiet=True, render=False, jobs=1, cache=False)
    assert outputs(out) == outputs(tmp_path / "fresh")


def test_watch_rebuilds_when_a_file_comes_and_stops_when_asked(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(ARTICLES[0], corpus / ARTICLES[0].name)
    out = tmp_path / "out"
    stop = threading.Event()
    thread = threading.Thread(target=watch, args=([str(corpus)], out),
                              kwargs=dict(interval=0.05, quiet=True, stop=stop, render=False, jobs=1))
    thread.start()
    try:
        documents = wait_for(lambda: json.loads((out / "report.json").read_text())["documents"])
        assert documents == 1
        shutil.copy(ARTICLES[3], corpus / ARTICLES[3].name)
        assert wait_for(lambda: json.loads((out / "report.json").read_text())["documents"] == 2 or None)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert not list(out.glob(".kg-build-*"))            # its staging folders are gone


def wait_for(probe, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = probe()
        except (OSError, ValueError):
            value = None
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.mark.parametrize("options, says", [(["--watch", "--store"], "--watch"),
                                           (["--interval", "1"], "--interval needs --watch"),
                                           (["--watch", "--interval", "0"], "--interval must be above 0")])
def test_watch_options_that_do_not_go_together_are_refused(tmp_path, capsys, options, says):
    assert main(["build", str(ROOT / "seeds"), "--out", str(tmp_path), *options]) == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "graph.ttl").exists()
