"""Digests cached per file: a rebuild extracts only what changed, and stale entries are never used."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import kg.build
import kg.cache
import kg.config
from kg.build import build
from kg.cache import DigestCache, dumps, loads
from kg.digest import digest
from kg.ingest import read_document
from kg.passes import run_passes

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "tests" / "dev" / "articles"
VOLATILE = ("seconds", "timings", "cache")     # report keys that differ between equal builds


@pytest.fixture
def corpus(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for p in sorted(DEV.glob("*.txt"))[:3]:
        shutil.copy(p, folder / p.name)
    return folder


def run(corpus, out, **options):
    result = build([str(corpus)], out, quiet=True, render=False, jobs=1, **options)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return result, report


def stable(report: dict) -> dict:
    return {k: v for k, v in report.items() if k not in VOLATILE}


def test_a_rebuild_takes_every_file_from_the_cache_and_gives_the_same_outputs(corpus, tmp_path, counted):
    out = tmp_path / "out"
    _, first = run(corpus, out)
    graph = (out / "graph.ttl").read_bytes()
    assert first["cache"]["misses"] == 3 and first["cache"]["hits"] == 0 and len(counted) == 3
    _, second = run(corpus, out)
    assert second["cache"]["hits"] == 3 and second["cache"]["misses"] == 0
    assert len(counted) == 3                               # nothing extracted the second time
    assert (out / "graph.ttl").read_bytes() == graph
    assert stable(second) == stable(first)


def test_adding_one_article_extracts_that_one_only(corpus, tmp_path, counted):
    out = tmp_path / "out"
    run(corpus, out)
    new = sorted(DEV.glob("*.txt"))[5]
    shutil.copy(new, corpus / new.name)
    counted.clear()
    result, report = run(corpus, out)
    assert counted == [new.name]
    assert report["cache"] == {"folder": str(out / ".cache"), "hits": 3, "misses": 1}
    assert result.documents == 4
    fresh = tmp_path / "fresh"
    run(corpus, fresh, cache=False)
    assert not (fresh / ".cache").exists()
    assert (out / "graph.ttl").read_bytes() == (fresh / "graph.ttl").read_bytes()


def test_an_edited_file_is_extracted_again(corpus, tmp_path, counted):
    out = tmp_path / "out"
    _, before = run(corpus, out)
    target = sorted(corpus.glob("*.txt"))[1]
    target.write_text(target.read_text(encoding="utf-8") + "\n国家移民管理局开展专项行动。\n",
                      encoding="utf-8")
    counted.clear()
    _, after = run(corpus, out)
    assert counted == [target.name]
    chars = [{d["path"]: d["characters"] for d in r["per_document"]} for r in (before, after)]
    grown = {p for p in chars[0] if chars[1][p] != chars[0][p]}
    assert grown == {str(target)} and chars[1][str(target)] > chars[0][str(target)]


@pytest.fixture
def hashed(monkeypatch) -> list:
    """Every file the cache reads to hash it; files count as settled at once (RACY_NS 0)."""
    monkeypatch.setattr(kg.cache, "RACY_NS", 0)
    seen = []
    real = open

    def spy(path, *args, **kwargs):
        seen.append(Path(path).name)
        return real(path, *args, **kwargs)
    monkeypatch.setattr(kg.cache, "open", spy, raising=False)
    return seen


def test_a_rebuild_hashes_only_the_files_whose_stat_changed(corpus, tmp_path, hashed, counted):
    out = tmp_path / "out"
    _, first = run(corpus, out)
    assert len(hashed) == 3
    hashed.clear()
    _, again = run(corpus, out)
    assert hashed == [] and again["cache"]["hits"] == 3            # no file read to be hashed
    target = sorted(corpus.glob("*.txt"))[0]
    st = target.stat()
    data = target.read_bytes()
    target.write_bytes(data[:-3] + bytes(reversed(data[-3:])))     # same size,
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))          # same modification time
    hashed.clear()
    counted.clear()
    _, edited = run(corpus, out)
    assert hashed == [target.name] and counted == [target.name]    # its change time tells
    (out / ".cache" / kg.cache.INDEX).write_bytes(b"not a pickle")
    hashed.clear()
    _, damaged = run(corpus, out)
    assert sorted(hashed) == sorted(p.name for p in corpus.glob("*.txt"))
    assert damaged["cache"]["hits"] == 3 and stable(damaged) == stable(edited)


def test_a_file_changed_in_the_last_seconds_is_hashed_again_next_time(corpus, tmp_path):
    cache = DigestCache(tmp_path / "cache")
    fresh = sorted(corpus.glob("*.txt"))[0]                         # copied just now
    cache.key(fresh)
    assert str(fresh) not in cache._seen       # a change in the same clock tick would not show


@pytest.fixture
def knowledge(tmp_path, monkeypatch) -> Path:
    """A copy of ontology/ that the cache keys are made from (extraction still reads the real one)."""
    copy = tmp_path / "ontology"
    shutil.copytree(kg.config.ONTOLOGY_DIR, copy)
    monkeypatch.setattr(kg.config, "ONTOLOGY_DIR", copy)
    return copy


def test_changing_a_lexicon_invalidates_every_document(corpus, tmp_path, knowledge, counted):
    out = tmp_path / "out"
    run(corpus, out)
    old = DigestCache(out / ".cache").generation
    assert run(corpus, out)[1]["cache"]["hits"] == 3
    with open(knowledge / "lexicons" / "campaigns.tsv", "a", encoding="utf-8") as f:
        f.write("净边2099行动\tCampaign\t净边2099\t\n")
    counted.clear()
    _, report = run(corpus, out)
    assert report["cache"]["hits"] == 0 and sorted(counted) == sorted(p.name for p in corpus.glob("*.txt"))
    assert DigestCache(out / ".cache").generation != old
    assert not (out / ".cache" / old).exists()              # the stale generation is removed


@pytest.mark.parametrize("edit, invalidates", [
    ("patterns.yaml", True), ("surnames.txt", True), ("kgo.ttl", True),
    ("lexicons/tools/cn_counties.txt", False),              # generator input, not read by a build
])
def test_which_knowledge_files_count(knowledge, tmp_path, edit, invalidates):
    before = DigestCache(tmp_path / "c").generation
    with open(knowledge / edit, "a", encoding="utf-8") as f:
        f.write("\n# an edit\n")
    assert (DigestCache(tmp_path / "c").generation != before) is invalidates


def test_changing_pipeline_code_invalidates(tmp_path, monkeypatch):
    before = DigestCache(tmp_path / "c").generation
    code = tmp_path / "kg"
    shutil.copytree(kg.cache.PACKAGE_DIR, code, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(kg.cache, "PACKAGE_DIR", code)
    assert DigestCache(tmp_path / "c").generation == before
    (code / "render.py").write_text("# the page only\n", encoding="utf-8")    # not per-document code
    assert DigestCache(tmp_path / "c").generation == before
    with open(code / "passes" / "statistics.py", "a", encoding="utf-8") as f:
        f.write("\n# a change\n")
    assert DigestCache(tmp_path / "c").generation != before


def test_a_damaged_entry_is_a_miss_not_a_failure(corpus, tmp_path, counted):
    out = tmp_path / "out"
    run(corpus, out)
    graph = (out / "graph.ttl").read_bytes()
    entries = sorted((out / ".cache").rglob("*.pickle"))
    assert len(entries) == 3
    entries[0].write_bytes(b"not a pickle")
    entries[1].write_bytes(entries[1].read_bytes()[:100])    # cut short
    counted.clear()
    run(corpus, out)
    assert len(counted) == 2
    assert (out / "graph.ttl").read_bytes() == graph


def test_a_cache_folder_of_ones_own(corpus, tmp_path):
    shared = tmp_path / "shared-cache"
    run(corpus, tmp_path / "a", cache=shared)
    _, report = run(corpus, tmp_path / "b", cache=shared)
    assert report["cache"]["hits"] == 3
    assert not (tmp_path / "a" / ".cache").exists()


def test_digests_survive_the_round_trip_and_hold_no_text():
    doc = read_document(sorted(DEV.glob("*.txt"))[4])                 # a Traditional article
    d = digest(run_passes(doc))
    back = loads(dumps(d))
    assert back == d
    assert back.doc.raw == back.doc.text == "" and back.doc.offsets == []   # the text stays behind
    assert back.doc.meta == doc.meta and back.doc.script == "Hant"
    assert back.part[0] > 0 and back.entities
    with pytest.raises(TypeError):
        loads(dumps(doc))                                              # not a digest


def test_a_file_that_changes_while_read_is_not_cached_under_its_old_bytes(corpus, tmp_path, monkeypatch):
    target = sorted(corpus.glob("*.txt"))[0]
    real = kg.build._extract_file

    def edit_then_extract(path, **kwargs):
        if Path(path) == target:                 # after its key was made from the old bytes
            target.write_text(target.read_text(encoding="utf-8") + "\n边检站开展检查。\n", encoding="utf-8")
        return real(path, **kwargs)
    monkeypatch.setattr(kg.build, "_extract_file", edit_then_extract)
    run(corpus, tmp_path / "out")
    assert len(list((tmp_path / "out" / ".cache").rglob("*.pickle"))) == 2


def test_a_confidence_option_has_entries_of_its_own(corpus, tmp_path, counted):
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    run(corpus, out)
    run(corpus, out, min_confidence=0.8)
    assert len(counted) == 6                                       # the digests differ
    run(corpus, fresh, min_confidence=0.8, cache=False)
    assert (out / "graph.ttl").read_bytes() == (fresh / "graph.ttl").read_bytes()
    assert len(list((out / ".cache").rglob("*.pickle"))) == 3     # the other option's are pruned


def test_changing_graph_code_invalidates_too(tmp_path, monkeypatch):
    before = DigestCache(tmp_path / "c").generation
    code = tmp_path / "kg"
    shutil.copytree(kg.cache.PACKAGE_DIR, code, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(kg.cache, "PACKAGE_DIR", code)
    with open(code / "rdf.py", "a", encoding="utf-8") as f:
        f.write("\n# a change\n")
    assert DigestCache(tmp_path / "c").generation != before


def test_parts_wait_in_a_spool_file_not_in_memory(tmp_path):
    from kg.build import PartSpool
    digests = [digest(run_passes(read_document(p))) for p in sorted(DEV.glob("*.txt"))[:3]]
    bodies = [d.part for d in digests]
    spool = PartSpool(tmp_path / "out")
    for d in digests:
        spool.keep(d)
    assert all(d.part[1] == b"" for d in digests)                  # memory holds counts only
    assert [(d.part[0], spool.read(d)) for d in reversed(digests)] == bodies[::-1]
    assert list((tmp_path / "out").iterdir()) == []                 # an unnamed file: nothing to clean up
    spool.close()
