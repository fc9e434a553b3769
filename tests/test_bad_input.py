"""Bad input (issue 7): every kind of messy file a real folder holds, each with its outcome.

One messy folder is built once with the real command line; each test then checks one kind of
input in what `kg build` printed and wrote. Behaviours that need a fake (an unreadable file when
the tests run as root, a file that hangs, a crash inside a pass) are checked in-process.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import opencc
import pytest
from rdflib import Graph, Literal
from rdflib.namespace import SKOS

from kg.build import BuildError, build
from kg.ingest import IngestError, collect_paths, read_document
from kg.ontology import KGO
from tests.conftest import ROOT, make_doc
from tests.test_ingest import check_offsets

S2T = opencc.OpenCC("s2t")
P1 = "国家移民管理局近日出台系列措施进一步强化口岸边境管控，精准做好今冬明春疫情防控工作。"
P2 = "公安部部署开展打击偷渡专项行动，上海边检总站查获偷渡人员十二名。"


def article(n: int) -> str:
    """A small article; n makes its text unique (the same text twice is one document)."""
    return f"第{n}号材料\n\n{P1}\n\n{P2}\n"


def kg(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kg", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout)


# ---------------------------------------------------------------- the messy folder
HUGE = 50 * 2**20 + 1          # one byte over 50 MB

# file -> words its one error line must hold (the file is skipped, the others go on)
REFUSED = {
    "empty.txt": "empty file",
    "blank.txt": "only whitespace",
    "photo.txt": "binary file (PNG image)",
    "archive.txt": "binary file (ZIP archive",
    "scan.txt": "binary file (PDF file: extract its text first",
    "english.txt": "no Chinese text left after cleaning",
    "numbers.txt": "no Chinese text left after cleaning",
    "huge.txt": "file too large (50 MB; the limit is 10 MB, see --max-file-mb)",
    "dangling.txt": "broken symbolic link (no such file or directory)",
    "loop-a.txt": "broken symbolic link (too many levels of symbolic links)",
    "loop-b.txt": "broken symbolic link (too many levels of symbolic links)",
}
# file -> (encoding, format, words of its one warning line or None)
BUILT = {
    "gbk.txt": ("gb18030", "text", None),
    "gb18030.txt": ("gb18030", "text", None),
    "big5.txt": ("big5", "text", None),
    "utf16-bom.txt": ("utf-16-le", "text", None),
    "utf8-bom.txt": ("utf-8-sig", "text", None),
    "mixed.txt": ("utf-8+gb18030", "text", "mixed encodings: 1 line(s) read as gb18030"),
    "truncated.html": ("utf-8", "html", "unfinished or malformed HTML markup dropped"),
    "malformed.html": ("utf-8", "html", None),
    "nested.html": ("utf-8", "html", None),
    "bad-yaml.md": ("utf-8", "markdown", "front matter is not valid YAML"),
    "name with spaces.txt": ("utf-8", "text", None),
    "中文 文件名.txt": ("utf-8", "text", None),
    "sub/deeper.txt": ("utf-8", "text", None),
    "dup-a.txt": ("utf-8", "text", None),
}


def make_messy(root: Path) -> None:
    root.mkdir()
    (root / "sub").mkdir()
    w = lambda name, data: (root / name).write_bytes(data.encode() if isinstance(data, str) else data)  # noqa: E731
    w("empty.txt", b"")
    w("blank.txt", " \n\t\r\n\u3000\n")
    w("photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    w("archive.txt", b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)))
    w("scan.txt", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    w("english.txt", "The National Immigration Administration announced new measures today.\n")
    w("numbers.txt", "2023 1.68 3,000,000\n12 % 45.6\n2023-12-31\n")
    with open(root / "huge.txt", "wb") as f:        # a real 50 MB file of Chinese text
        chunk = (article(0) * 2000).encode()
        for _ in range(HUGE // len(chunk) + 1):
            f.write(chunk)
        f.truncate(HUGE)
    os.symlink(root / "nowhere.txt", root / "dangling.txt")
    os.symlink(root / "loop-b.txt", root / "loop-a.txt")
    os.symlink(root / "loop-a.txt", root / "loop-b.txt")
    os.symlink(root, root / "sub" / "loop")          # a folder that holds itself
    w("gbk.txt", article(1).encode("gbk"))
    w("gb18030.txt", (article(2) + "𠮷野家。\n").encode("gb18030"))   # 𠮷 is not in GBK
    w("big5.txt", S2T.convert(article(3)).encode("big5"))
    w("utf16-bom.txt", article(4).encode("utf-16"))                  # with its BOM
    w("utf8-bom.txt", article(5).encode("utf-8-sig"))
    w("mixed.txt", f"{P1}\n".encode() + f"第6号材料用国标码写成。{P2}\n".encode("gbk") + f"{P1}\n".encode())
    w("truncated.html", f"<html><body><p>第7号材料</p><p>{P1}</p><p>{P2}</p><div class=\"ar")
    w("malformed.html", f"<html><body><p>第8号<b>材料</p></b><td>{P1}</tr></p></body><p>{P2}</html>")
    w("nested.html", "<html><body>" + "<div><span>" * 5000 + f"<p>第9号材料。{P1}</p>" +
      "</b>" * 5000 + "</span></div>" * 5000 + "</body></html>")
    w("bad-yaml.md", f"---\ntitle: [not closed\ndate: 2023-05-06\n---\n\n第10号材料。{P1}\n")
    w("name with spaces.txt", article(11))
    w("中文 文件名.txt", article(12))
    w("sub/deeper.txt", article(13))
    w("dup-a.txt", article(14))
    w("dup-b.txt", article(14))                       # the same article under another name
    w("line\nbreak.txt", b"")                        # a name with a newline: still one line


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    """The messy folder built with `kg build FOLDER MISSING --out OUT` (HTML skipped: faster)."""
    base = tmp_path_factory.mktemp("messy")
    root = base / "in"
    make_messy(root)
    out = base / "out"
    run = kg("build", str(root), str(base / "missing.txt"), "--out", str(out), "--no-html")
    report = json.loads((out / "report.json").read_text(encoding="utf-8")) if run.returncode == 0 else {}
    docs = {str(Path(d["path"]).relative_to(root)): d for d in report.get("per_document", [])}
    return {"root": root, "out": out, "run": run, "report": report, "docs": docs, "base": base}


def lines_about(stderr: str, kind: str, path: Path) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"{kind}: {path}:")]


def test_messy_folder_builds_with_exit_0_and_no_traceback(messy):
    run = messy["run"]
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert re.search(r"^built .*; \d+ skipped, \d+ warnings \(listed in report.json\)$", run.stderr, re.M)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_each_refused_file_has_one_error_line_and_is_skipped(messy, name):
    path = messy["root"] / name
    lines = lines_about(messy["run"].stderr, "error", path)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {path}: {REFUSED[name]}") and lines[0].endswith("; skipped")
    assert [e for e in messy["report"]["errors"] if e.startswith(f"{path}:")] == [lines[0][len("error: "):]]
    assert name not in messy["docs"]


def test_a_path_that_does_not_exist_is_one_error_line(messy):
    missing = messy["base"] / "missing.txt"
    assert lines_about(messy["run"].stderr, "error", missing) == \
        [f"error: {missing}: no such file or directory; skipped"]


def test_a_file_name_with_a_newline_stays_on_one_line(messy):
    line = f"error: {messy['root']}/line\\nbreak.txt: empty file; skipped"
    assert line in messy["run"].stderr.splitlines()


@pytest.mark.parametrize("name", sorted(BUILT))
def test_each_readable_file_is_built_with_its_encoding_and_format(messy, name):
    encoding, fmt, warning = BUILT[name]
    doc = messy["docs"][name]
    assert (doc["encoding"], doc["format"]) == (encoding, fmt)
    assert doc["mentions"].get("Agency", 0) >= 1          # the text was really read
    warned = lines_about(messy["run"].stderr, "warning", messy["root"] / name)
    if warning:
        assert len(warned) == 1 and warning in warned[0], warned
    else:
        assert warned == []


def test_every_file_is_either_built_or_reported(messy):
    reported = {Path(e.split(": ")[0]).name for e in messy["report"]["errors"]}
    assert {Path(n).name for n in REFUSED} <= reported
    assert set(messy["docs"]) == set(BUILT)                 # the loop added nothing twice
    assert messy["report"]["documents"] == len(BUILT)


def test_same_article_twice_is_one_document_with_both_paths(messy):
    root, doc = messy["root"], messy["docs"]["dup-a.txt"]
    assert doc["paths"] == [str(root / "dup-a.txt"), str(root / "dup-b.txt")]
    assert lines_about(messy["run"].stderr, "warning", root / "dup-b.txt") == \
        [f"warning: {root / 'dup-b.txt'}: same text as {root / 'dup-a.txt'}; counted once"]
    g = Graph().parse(messy["out"] / "graph.ttl", format="turtle")
    nodes = set(g.subjects(KGO.sourcePath, Literal(str(root / "dup-a.txt"))))
    assert len(nodes) == 1
    assert set(g.objects(nodes.pop(), KGO.sourcePath)) == \
        {Literal(str(root / "dup-a.txt")), Literal(str(root / "dup-b.txt"))}
    # every built file names 国家移民管理局: the duplicate did not count as one more document
    nia = next(g.subjects(SKOS.prefLabel, Literal("国家移民管理局", lang="zh")))
    assert g.value(nia, KGO.documentCount).toPython() == len(BUILT) == messy["report"]["documents"]


def test_file_names_with_spaces_and_chinese_keep_their_path(messy):
    g = Graph().parse(messy["out"] / "graph.ttl", format="turtle")
    for name in ("name with spaces.txt", "中文 文件名.txt"):
        path = str(messy["root"] / name)
        assert len(set(g.subjects(KGO.sourcePath, Literal(path)))) == 1
        assert re.fullmatch(r"[A-Za-z0-9_-]+_[0-9a-f]{8}", messy["docs"][name]["doc_id"])


def test_messy_graph_parses_in_rdflib_and_oxigraph_and_conforms(messy):
    import pyoxigraph
    from kg.ontology import validate
    g = Graph().parse(messy["out"] / "graph.ttl", format="turtle")
    store = pyoxigraph.Store()
    store.load(path=str(messy["out"] / "graph.ttl"), format=pyoxigraph.RdfFormat.TURTLE)
    assert len(store) == len(g)
    conforms, text = validate(g)
    assert conforms, text


# ---------------------------------------------------------------- the 50 MB file and the size option
def test_a_50_mb_file_is_refused_before_it_is_read(messy):
    huge = messy["root"] / "huge.txt"
    assert huge.stat().st_size == HUGE
    tracemalloc.start()
    try:
        with pytest.raises(IngestError, match=r"file too large \(50 MB; the limit is 10 MB, see --max-file-mb\)"):
            read_document(huge)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20                               # refused on its size: nothing read


def test_max_file_mb_option_lowers_and_raises_the_limit(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("".join(article(i) for i in range(1500)), encoding="utf-8")   # ~240 KB
    small = tmp_path / "small.txt"
    small.write_text(article(0), encoding="utf-8")
    run = kg("build", str(big), str(small), "--out", str(tmp_path / "out"), "--no-html", "-q",
             "--max-file-mb", "0.1")
    assert run.returncode == 0, run.stderr
    assert f"error: {big}: file too large (" in run.stderr
    assert "the limit is 102.4 KB, see --max-file-mb); skipped" in run.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert [d["path"] for d in report["per_document"]] == [str(small)]
    assert report["limits"]["max_file_mb"] == 0.1
    # with the limit above its size the same file is read (the passes are not needed to show it)
    assert read_document(big, max_bytes=1 << 20).text.count(P2) == 1500


def test_bad_option_values_exit_2(tmp_path):
    for args in (["--max-file-mb", "0"], ["--max-file-mb", "nan"], ["--max-file-mb", "x"],
                 ["--file-timeout", "-1"], ["--min-confidence", "2"]):
        run = kg("build", str(tmp_path), "--out", str(tmp_path / "out"), *args)
        assert run.returncode == 2, (args, run.stderr)
        assert "Traceback" not in run.stderr
        assert run.stderr.strip().splitlines()[-1].startswith("kg build: ")   # usage, then one line
    assert kg().returncode == 2                          # no command
    assert kg("build").returncode == 2                   # no inputs
    assert kg("frobnicate").returncode == 2


def test_nothing_usable_exits_1_with_one_line_per_file_and_debug_shows_the_traceback(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"")
    (folder / "b.txt").write_text("English only.", encoding="utf-8")
    args = ["build", str(folder), "--out", str(tmp_path / "out")]
    run = kg(*args)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert f"error: {folder / 'a.txt'}: empty file; skipped" in run.stderr.splitlines()
    assert f"error: {folder / 'b.txt'}: no Chinese text left after cleaning; skipped" in run.stderr.splitlines()
    assert run.stderr.strip().splitlines()[-1] == f"kg build: no usable document in {folder} (2 failed)"
    assert not (tmp_path / "out" / "graph.ttl").exists()
    for debug in (["--debug", *args], [*args, "--debug"]):
        run = kg(*debug)
        assert run.returncode == 1 and "Traceback (most recent call last)" in run.stderr
        assert "BuildError" in run.stderr


# ---------------------------------------------------------------- faults that need a fake
def test_unreadable_file_is_skipped_and_the_others_built(tmp_path, monkeypatch):
    # The tests may run as root, for whom chmod 000 changes nothing: the refusal the operating
    # system would give is simulated where ingest opens the file.
    import kg.ingest
    locked, ok = tmp_path / "locked.txt", tmp_path / "ok.txt"
    locked.write_text(article(1), encoding="utf-8")
    ok.write_text(article(2), encoding="utf-8")
    real_open = open

    def fake_open(path, *args, **kwargs):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(kg.ingest, "open", fake_open, raising=False)
    result = build([str(tmp_path)], tmp_path / "out", quiet=True, render=False, jobs=1, cache=False)
    assert result.errors == [f"{locked}: permission denied; skipped"]
    assert result.documents == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_for_real(tmp_path):
    locked = tmp_path / "locked.txt"
    locked.write_text(article(1), encoding="utf-8")
    locked.chmod(0)
    try:
        with pytest.raises(IngestError, match="permission denied"):
            read_document(locked)
    finally:
        locked.chmod(0o644)


def _slow_passes(monkeypatch, swallow: bool = False):
    """run_passes that never ends for files named slow*: a pass stuck on pathological text."""
    import kg.build
    real = kg.build.run_passes

    def run_passes(doc):
        if Path(doc.path).name.startswith("slow"):
            end = time.monotonic() + 5
            while time.monotonic() < end:
                try:
                    while time.monotonic() < end:
                        pass
                except Exception:      # a pass that swallows errors must not swallow the limit
                    if not swallow:
                        raise
        return real(doc)               # (reached only when the limit did not stop it)

    monkeypatch.setattr(kg.build, "run_passes", run_passes)


@pytest.mark.parametrize("swallow, jobs", [(False, 1), (True, 1), (False, 2)])   # 2: in worker processes
def test_a_file_past_the_time_limit_is_skipped_and_the_others_built(tmp_path, monkeypatch, swallow, jobs):
    import signal
    _slow_passes(monkeypatch, swallow)
    (tmp_path / "slow.txt").write_text(article(1), encoding="utf-8")
    (tmp_path / "ok.txt").write_text(article(2), encoding="utf-8")
    handler = signal.getsignal(signal.SIGALRM)
    started = time.monotonic()
    result = build([str(tmp_path)], tmp_path / "out", quiet=True, render=False, file_timeout=0.3,
                   jobs=jobs, cache=False)
    assert time.monotonic() - started < 4.5          # the slow file would take 5 s
    assert result.errors == [f"{tmp_path / 'slow.txt'}: took longer than 0.3 s (--file-timeout); skipped"]
    assert result.documents == 1
    assert signal.getsignal(signal.SIGALRM) == handler            # left as it was found
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_crash_on_one_file_is_one_line_and_debug_prints_its_traceback(tmp_path, monkeypatch, capsys):
    import kg.build
    real = kg.build.run_passes

    def run_passes(doc):
        if Path(doc.path).name == "boom.txt":
            raise RuntimeError("pass fell over\non two lines")
        return real(doc)

    monkeypatch.setattr(kg.build, "run_passes", run_passes)
    (tmp_path / "boom.txt").write_text(article(1), encoding="utf-8")
    (tmp_path / "ok.txt").write_text(article(2), encoding="utf-8")
    result = build([str(tmp_path)], tmp_path / "out", quiet=True, render=False, jobs=1, cache=False)
    assert result.errors == [f"{tmp_path / 'boom.txt'}: failed (RuntimeError: pass fell over\\non two lines); skipped"]
    assert result.documents == 1
    assert "Traceback" not in capsys.readouterr().err
    build([str(tmp_path)], tmp_path / "out", quiet=True, render=False, debug=True, jobs=1, cache=False)
    assert "Traceback (most recent call last)" in capsys.readouterr().err


def test_nothing_usable_raises_build_error_with_each_files_reason(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(BuildError) as info:
        build([str(tmp_path / "a.txt"), str(tmp_path / "nope")], tmp_path / "out", quiet=True, jobs=1, cache=False)
    assert info.value.errors == [f"{tmp_path / 'nope'}: no such file or directory; skipped",
                                 f"{tmp_path / 'a.txt'}: binary file (PNG image); skipped"]


# ---------------------------------------------------------------- names and text from strangers
def test_file_name_that_is_not_utf8(tmp_path):
    name = os.fsdecode(b"gbk-\xd6\xd0\xce\xc4.txt")          # 中文 in GBK: not UTF-8
    try:
        (tmp_path / name).write_text(article(1), encoding="utf-8")
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    result = build([str(tmp_path)], tmp_path / "out", quiet=True, render=False, jobs=1, cache=False)
    assert result.documents == 1 and not result.errors
    shown = f"{tmp_path}/gbk-\\xd6\\xd0\\xce\\xc4.txt"
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["per_document"][0]["path"] == shown
    g = Graph().parse(tmp_path / "out" / "graph.ttl", format="turtle")
    assert (None, KGO.sourcePath, Literal(shown)) in g


def test_front_matter_text_that_cannot_be_written_is_cleaned(tmp_path):
    src = ('---\ntitle: "标题\\x01里有\\u200b控制\\ud800字符\\n和换行"\nauthor: "\\udcff"\n'
           'tags: [a, "b\\x00"]\nscore: .nan\n---\n\n' + article(1))
    (tmp_path / "fm.md").write_text(src, encoding="utf-8")
    doc = read_document(tmp_path / "fm.md")
    assert doc.meta["title"] == "标题里有控制\ufffd字符 和换行"
    assert doc.meta["author"] == "\ufffd" and doc.meta["tags"] == ["a", "b"] and doc.meta["score"] == "nan"
    result = build([str(tmp_path)], tmp_path / "out", quiet=True, render=False, jobs=1, cache=False)   # writes: no crash
    assert result.documents == 1
    g = Graph().parse(tmp_path / "out" / "graph.ttl", format="turtle")
    assert Literal("标题里有控制\ufffd字符 和换行", lang="zh") in set(g.objects())


@pytest.mark.parametrize("fm, warning", [
    ("a: " + "[" * 3000 + "]" * 3000, "front matter nested too deeply"),
    ("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
     "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]", "front matter holds more than 10000 values"),
    ("a: &a [*a]", "front matter holds more than 10000 values"),   # a list that holds itself
])
def test_hostile_front_matter_is_ignored_with_a_warning(tmp_path, fm, warning):
    (tmp_path / "fm.md").write_text(f"---\n{fm}\n---\n\n{article(1)}", encoding="utf-8")
    started = time.monotonic()
    doc = read_document(tmp_path / "fm.md")
    assert time.monotonic() - started < 5
    assert P1 in doc.text
    if warning:
        assert any(warning in w for w in doc.warnings), doc.warnings
    json.dumps(doc.meta, ensure_ascii=False)            # whatever is kept can be written


def test_front_matter_with_an_unquoted_colon_is_read_line_by_line(tmp_path):
    src = "---\ntitle: 通知: 关于口岸通关\ndate: 2023-05-06\nnote: see: here\n---\n\n" + article(1)
    (tmp_path / "fm.md").write_text(src, encoding="utf-8")
    doc = read_document(tmp_path / "fm.md")
    assert doc.meta["title"] == "通知: 关于口岸通关" and doc.meta["date"] == "2023-05-06"
    assert doc.warnings == ["front matter is not valid YAML (mapping values are not allowed here); "
                            "read line by line as key: value"]
    assert doc.text.startswith("第1号材料")


# ---------------------------------------------------------------- encodings
def test_mixed_encodings_are_read_line_by_line_with_a_warning(tmp_path):
    data = (f"{P1}\n".encode() + f"{P2}\n".encode("gbk") + "第三行。\n".encode())
    (tmp_path / "m.txt").write_bytes(data)
    doc = read_document(tmp_path / "m.txt")
    assert doc.encoding == "utf-8+gb18030"
    assert doc.text == f"{P1}\n{P2}\n第三行。"
    assert doc.warnings == ["mixed encodings: 1 line(s) read as gb18030, the others as utf-8"]
    check_offsets(doc)


def test_gbk_file_with_utf8_lines_and_crlf(tmp_path):
    data = f"{P1}\r\n{P2}\r\n".encode("gbk") + f"{P2.replace('上海', '广州')}\r\n".encode()
    (tmp_path / "m.txt").write_bytes(data)
    doc = read_document(tmp_path / "m.txt")
    assert doc.encoding == "utf-8+gb18030"
    assert doc.text.split("\n") == [P1, P2, P2.replace("上海", "广州")]


def test_utf8_and_big5_lines(tmp_path):
    trad = S2T.convert(P2)
    (tmp_path / "m.txt").write_bytes(f"{P1}\n".encode() + f"{trad}\n".encode("big5"))
    doc = read_document(tmp_path / "m.txt")
    assert doc.encoding == "utf-8+big5" and doc.original.split("\n") == [P1, trad]


def test_a_cut_utf8_character_is_not_mistaken_for_a_mixed_file(tmp_path):
    data = (P1 + "\n").encode() * 3 + P2.encode()
    cut = len((P1 + "\n").encode()) * 2 + 4                  # inside the 2nd character of line 3
    (tmp_path / "c.txt").write_bytes(data[:cut] + data[cut + 1:])
    doc = read_document(tmp_path / "c.txt")
    assert doc.encoding == "utf-8"
    assert doc.warnings == ["1 undecodable byte sequence(s) replaced by U+FFFD (read as utf-8)"]
    assert doc.text.count("\ufffd") == 1 and doc.text.endswith(P2)


def test_utf8_bom_with_a_broken_byte_is_read_with_a_warning(tmp_path):
    data = "\ufeff".encode() + P1.encode() + b"\xff" + P2.encode()
    (tmp_path / "b.txt").write_bytes(data)
    doc = read_document(tmp_path / "b.txt")
    assert doc.encoding == "utf-8-sig" and doc.text == P1 + "\ufffd" + P2
    assert doc.warnings == ["1 undecodable byte sequence(s) replaced by U+FFFD (read as utf-8-sig)"]


# ---------------------------------------------------------------- HTML
@pytest.mark.parametrize("tail", ['<div class="a', "<di", "<!-- 注释没有结束 ", "</p", "<![CDATA[ x",
                                  "<script>var a = '脚本'; ", "<p title='a>b"])
def test_truncated_html_keeps_the_text_before_the_cut_and_no_markup(tmp_path, tail):
    src = f"<html><head><title>标题文字在此</title></head><body><p>{P1}</p><p>{P2}</p>{tail}"
    (tmp_path / "t.html").write_text(src, encoding="utf-8")
    doc = read_document(tmp_path / "t.html")
    assert doc.text.split("\n")[:2] == [P1, P2]
    assert "<" not in doc.text and "注释" not in doc.text and "脚本" not in doc.text
    check_offsets(doc)


def test_malformed_html_keeps_its_text(tmp_path):
    # Mis-nested and stray tags are ignored; a tag with an unclosed quote is dropped up to the
    # next ">" and the text after it kept (a browser would hide the rest of the page).
    src = (f"<html><body><p>第一段<b>加粗</p></b><td>表格<<<>>></tr></p></body><p>{P1}</html>"
           f"<p class=\"unclosed>留下的文字</p><p>{P2}</p>")
    (tmp_path / "m.html").write_text(src, encoding="utf-8")
    doc = read_document(tmp_path / "m.html")
    assert doc.text.split("\n") == ["第一段加粗", "表格<<<>>>", P1, "留下的文字", P2]
    assert any("unfinished or malformed HTML markup dropped" in w for w in doc.warnings)
    check_offsets(doc)


def test_deeply_nested_html_and_stray_end_tags_are_fast(tmp_path):
    depth = 100_000
    src = ("<html><body>" + "<div>" * depth + f"<p>{P1}</p>" + "</span>" * depth +
           "</div>" * depth + f"<p>{P2}</p></body></html>")
    (tmp_path / "n.html").write_text(src, encoding="utf-8")
    started = time.monotonic()
    doc = read_document(tmp_path / "n.html")            # no RecursionError, no quadratic scan
    assert time.monotonic() - started < 10
    assert doc.text == f"{P1}\n{P2}"


# ---------------------------------------------------------------- folders
def test_broken_links_and_link_loops_inside_a_folder_are_reported(tmp_path):
    (tmp_path / "a.txt").write_text(article(1), encoding="utf-8")
    os.symlink(tmp_path / "gone.txt", tmp_path / "b.txt")
    os.symlink(tmp_path / "c.txt", tmp_path / "c.txt")     # a link to itself
    os.symlink(tmp_path, tmp_path / "again")               # a folder loop: followed once, silently
    paths, problems = collect_paths([str(tmp_path)])
    assert paths == [tmp_path / "a.txt"]
    assert problems == [f"{tmp_path / 'b.txt'}: broken symbolic link (no such file or directory)",
                        f"{tmp_path / 'c.txt'}: broken symbolic link (too many levels of symbolic links)"]
    paths, problems = collect_paths([str(tmp_path / "c.txt")])
    assert problems == [f"{tmp_path / 'c.txt'}: broken symbolic link (too many levels of symbolic links)"]


# ---------------------------------------------------------------- one pathological line
LINE_PROBE = r"""
import json, resource, sys, time
from kg.ingest import read_document
from kg.segment import cut_words, split_sentences
cut_words("国家移民管理局")         # the word dictionary, loaded before the measure
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.monotonic()
doc = read_document(sys.argv[1])
sentences = split_sentences(doc.text)
cut_words(doc.text)           # the whole line at once: the worst case
print(json.dumps({"grew_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before,
                  "seconds": time.monotonic() - started, "characters": len(doc.text),
                  "longest": max(s.end - s.start for s in sentences), "warnings": doc.warnings}))
"""


def one_line(n_bytes: int, sentence_ends: bool = False) -> str:
    """Chinese text with no newline: clauses separated by commas only (one endless sentence)."""
    clause = [P1[:-1], P2[:-1], "全年查验出入境人员1.68亿人次", "同比增长12.5%", "缴获毒品5.17吨"]
    text = ("。" if sentence_ends else "，").join(clause * (n_bytes // 150 + 1))
    return text.encode()[:n_bytes].decode("utf-8", "ignore")


def test_a_one_megabyte_line_is_read_and_segmented_in_bounded_memory(tmp_path):
    path = tmp_path / "line.txt"
    path.write_text(one_line(1 << 20), encoding="utf-8")
    run = subprocess.run([sys.executable, "-c", LINE_PROBE, str(path)], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    probe = json.loads(run.stdout)
    assert probe["characters"] > 300_000
    assert probe["grew_kb"] < 400 * 1024          # measured ~60 MB: about 60x the file, not its square
    assert probe["seconds"] < 30                   # measured ~1.5 s
    assert probe["longest"] <= 1001                # the run-on line was broken into sentences
    assert probe["warnings"] == ["1 paragraph(s) ran on for more than 1000 characters without a "
                                 "sentence end; broken after commas"]


def test_passes_on_a_long_line_in_bounded_memory(tmp_path):
    from kg.passes import run_passes
    path = tmp_path / "line.txt"
    path.write_text(one_line(64 << 10), encoding="utf-8")
    doc = read_document(path)
    run_passes(make_doc("国家移民管理局发布公告。"))       # warm: dictionaries and lexicons
    tracemalloc.start()
    try:
        found = run_passes(doc)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 << 20                                 # measured ~2 MB
    assert len(found.sentences) > 10 and max(s.end - s.start for s in found.sentences) <= 1001


# ---------------------------------------------------------------- atomic outputs
OUTPUTS = ("graph.ttl", "graph.html", "report.json")


def snapshot(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in OUTPUTS}


def check_complete(out: Path, before: dict[str, bytes]) -> None:
    """The previous outputs, unchanged and usable."""
    import pyoxigraph
    assert snapshot(out) == before
    g = Graph().parse(out / "graph.ttl", format="turtle")
    store = pyoxigraph.Store()
    store.load(path=str(out / "graph.ttl"), format=pyoxigraph.RdfFormat.TURTLE)
    assert len(g) == len(store) > 1000
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["documents"] == 5
    assert "</html>" in (out / "graph.html").read_text(encoding="utf-8")


def visible(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if not p.name.startswith("."))


def big_corpus(folder: Path, copies: int = 200) -> int:
    """The seeds copied `copies` times, each copy a little different (a line at the end)."""
    folder.mkdir()
    seeds = sorted((ROOT / "seeds").glob("*.txt"))
    for i in range(copies):
        for s in seeds:
            text = s.read_text(encoding="utf-8") + f"\n\n（转载编号{i}）\n"
            (folder / f"{i:03d}-{s.name}").write_text(text, encoding="utf-8")
    return copies * len(seeds)


@pytest.fixture
def previous_output(seeds_output, tmp_path) -> Path:
    import shutil
    out = tmp_path / "out"
    shutil.copytree(seeds_output, out)
    return out


@pytest.mark.parametrize("kill_at", [1, 150])
def test_a_build_killed_midway_leaves_the_previous_outputs(previous_output, tmp_path, kill_at):
    import signal
    out = previous_output
    before, listing = snapshot(out), visible(out)
    total = big_corpus(tmp_path / "corpus")
    proc = subprocess.Popen([sys.executable, "-m", "kg", "build", str(tmp_path / "corpus"), "--out", str(out)],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=ROOT,
                            start_new_session=True)         # its own group: workers die with it
    seen = 0
    try:
        for line in proc.stderr:
            m = re.match(rf"\[(\d+)/{total}\]", line)
            if m and int(m.group(1)) >= kill_at:
                seen = int(m.group(1))
                break
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    assert kill_at <= seen < total, "the build ended before it could be killed"
    check_complete(out, before)
    assert visible(out) == listing                           # (the query store may sit there too)


KILL_WHILE_WRITING = r"""
import os, signal, sys
import kg.render
def killed(*args, **kwargs):      # the build dies after graph.ttl is written, before the page
    os.kill(os.getpid(), signal.SIGKILL)
kg.render.render_html = killed
from kg.cli import main
sys.exit(main(["build", sys.argv[1], "--out", sys.argv[2], "-q", "--no-cache"]))
"""


def test_a_build_killed_while_writing_leaves_the_previous_outputs_and_the_next_cleans_up(
        previous_output, tmp_path):
    out = previous_output
    before, listing = snapshot(out), visible(out)
    (tmp_path / "new.txt").write_text(article(1), encoding="utf-8")
    run = subprocess.run([sys.executable, "-c", KILL_WHILE_WRITING, str(tmp_path / "new.txt"), str(out)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == -9, run.stderr                  # SIGKILL
    staged = [p for p in out.iterdir() if p.name.startswith(".kg-build-")]
    assert len(staged) == 1 and (staged[0] / "graph.ttl").exists()   # it died mid-write
    check_complete(out, before)
    assert visible(out) == listing
    # the next build removes what the killed one left, and replaces every output
    run = kg("build", str(tmp_path / "new.txt"), "--out", str(out), "-q", "--no-cache")
    assert run.returncode == 0, run.stderr
    assert not [p for p in out.iterdir() if p.name.startswith(".kg-build-")]
    assert visible(out) == listing
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["documents"] == 1
    after = snapshot(out)
    assert all(after[name] != before[name] for name in OUTPUTS)


def test_a_staging_folder_of_a_running_build_is_left_alone(tmp_path):
    from kg.build import remove_stale_staging
    mine = tmp_path / f".kg-build-{os.getpid()}-abc"       # this process is alive
    dead = tmp_path / ".kg-build-999999999-abc"             # no such process
    odd = tmp_path / ".kg-build-x"
    for folder in (mine, dead, odd):
        folder.mkdir()
    remove_stale_staging(tmp_path)
    assert mine.exists() and not dead.exists() and not odd.exists()


def test_a_failure_while_writing_leaves_no_staging_folder(previous_output, monkeypatch):
    import kg.render
    out = previous_output
    before = snapshot(out)

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(kg.render, "render_html", broken)
    with pytest.raises(OSError, match="No space left"):
        build([str(ROOT / "seeds")], out, quiet=True, cache=False, jobs=1)
    check_complete(out, before)
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".kg-build-")) == []


def test_the_same_text_in_two_encodings_is_one_document(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(article(1), encoding="utf-8")
    (folder / "b.txt").write_bytes(article(1).encode("gbk"))
    (folder / "c.txt").write_bytes(article(1).encode("utf-8-sig"))
    result = build([str(folder)], tmp_path / "out", quiet=True, render=False, cache=False, jobs=1)
    assert result.documents == 1
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["per_document"][0]["paths"] == [str(folder / n) for n in ("a.txt", "b.txt", "c.txt")]
