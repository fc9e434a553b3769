"""Ingest: files -> Documents (encoding, format, cleaning, script, offsets)."""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import opencc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg.ingest import IngestError, collect_paths, read_document

SEEDS = sorted((Path(__file__).resolve().parent.parent / "seeds").glob("*.txt"))
T2S = opencc.OpenCC("t2s")
S2T = opencc.OpenCC("s2t")
PARAGRAPH = ("国家移民管理局近日出台系列措施进一步强化口岸边境管控，精准做好今冬明春疫情防控工作。"
             "此次出台的系列措施主要包括：继续严格执行从严从紧的出入境政策。")


def seed(prefix: str) -> Path:
    return next(p for p in SEEDS if p.name.startswith(prefix))


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return p


def check_offsets(doc) -> None:
    """Every character of the text points back at the character it came from in raw."""
    assert len(doc.text) == len(doc.offsets) == len(doc.original)
    assert all(a <= b for a, b in zip(doc.offsets, doc.offsets[1:])), "offsets go backwards"
    for i, (ch, off) in enumerate(zip(doc.original, doc.offsets)):
        assert 0 <= off < len(doc.raw)
        source = doc.raw[off]
        if ch == source:
            continue
        # synthetic: a paragraph break or a space standing for a line break / whitespace run,
        # or a character decoded from an HTML entity (mapped to its '&')
        assert ch in " \n" or source == "&", (i, ch, doc.raw[off:off + 10])
    # the text is the original converted to Simplified, paragraph by paragraph, same length
    assert len(doc.original.split("\n")) == len(doc.text.split("\n"))
    for orig_line, line in zip(doc.original.split("\n"), doc.text.split("\n")):
        assert line == simplified(orig_line)


def simplified(line: str) -> str:
    """What ingest's text should be: t2s (char by char if a phrase changes the length),
    fullwidth digits/letters folded."""
    conv = T2S.convert(line)
    if len(conv) != len(line):
        conv = "".join(c if len(c) == 1 else ch for ch, c in ((ch, T2S.convert(ch)) for ch in line))
    conv = "".join(chr(ord(c) - 0xFEE0) if c.isalnum() and 0xFF10 <= ord(c) <= 0xFF5A else c for c in conv)
    return re.sub(r"(?<=[0-9])．(?=[0-9])", ".", conv)


# ---------------------------------------------------------------- the seeds
@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name[:3])
def test_every_seed_reads_with_offsets_into_raw(path):
    doc = read_document(path)
    assert doc.text and doc.meta.get("title")
    assert doc.encoding == "utf-8"
    assert re.fullmatch(r"[A-Za-z0-9_-]+_[0-9a-f]{8}", doc.doc_id)
    assert len(doc.content_hash) == 64
    assert "\n\n" not in doc.text and doc.text == doc.text.strip()
    check_offsets(doc)


def test_formats_are_detected():
    formats = {p.name[:3]: read_document(p).format for p in SEEDS}
    assert formats == {"000": "markdown", "001": "html", "002": "pdf-text", "003": "text", "004": "text"}


def test_000_markdown_lines_cut_at_commas_are_joined():
    doc = read_document(seed("000"))
    assert doc.meta["title"] == "国家移民管理局：从严限制中国公民非必要出境活动"
    assert doc.text.splitlines()[0] == doc.meta["title"]           # heading is its own line
    assert "主持召开党组会议，传达学习习近平总书记" in doc.text       # line ended in ，
    assert "> " not in doc.text and "#" not in doc.text


def test_001_html_body_meta_and_captions():
    doc = read_document(seed("001"))
    assert doc.meta["title"] == "国家移民管理局强化口岸边境管控 精准做好今冬明春疫情防控工作"
    assert doc.meta["date"] == "2021-11-04"
    assert doc.meta["author"] == "新浪财经"
    assert doc.meta["editor"] == "邓健"
    for chrome in ("新浪财经APP", "appendQr", "责任编辑", "border:", "<", "img_descr", "news_keyword"):
        assert chrome not in doc.text
    caption = "图为北京出入境边防检查总站开通专用通道做好涉冬奥人员入出境查验工作"
    assert doc.text.count(caption) == 1
    assert any(line.startswith(caption) for line in doc.text.splitlines())   # own paragraph
    assert "国家移民管理局近日出台系列措施" in doc.text


def test_002_pdf_text_is_rejoined():
    doc = read_document(seed("002"))
    assert "高质量发展的着力点，有针对性" in doc.text          # letter spacing removed
    assert "中国特色社会主义思想主题教育开展以来" in doc.text    # line wrap inside a word
    assert "建设高水平人才高地" in doc.text                    # page break mid-sentence
    assert "都应当改进提升。" in doc.text
    assert "1.68亿人次" in doc.text and "983.1万架（艘、列、辆）次" in doc.text
    lines = doc.text.splitlines()
    assert lines[0].endswith("为推进中国式现代化积极贡献移民管理力量。")   # one paragraph
    assert "新华社记者 任沁沁" in lines                                    # byline on its own


def test_003_traditional_is_converted_with_the_original_kept():
    doc = read_document(seed("003"))
    assert doc.script == "Hant"
    i = doc.text.index("国家移民管理局")
    assert doc.original[i:i + 7] == "國家移民管理局"
    start, end = doc.raw_span(i, i + 7)
    assert doc.raw[start:end] == "國家移民管理局"
    assert doc.surface(i, i + 7) == "國家移民管理局"
    assert doc.meta["author"] == "重庆公安出入境"
    assert "继续阅读" not in doc.text and "作者:" not in doc.text


def test_004_site_chrome_and_trailer_are_dropped():
    doc = read_document(seed("004"))
    for chrome in ("1200字范文", "相关推荐", "网友评论", "本内容不代表本网观点", "时间:"):
        assert chrome not in doc.text
    assert doc.meta["date"] == "2021-12-03"
    assert doc.meta["title"] == "全国移民管理机构全力防控境外疫情输入风险"
    assert doc.text.splitlines().count(doc.meta["title"]) == 1        # printed 3 times
    assert "(中国警察网记者 邬春阳)" in doc.text                             # byline kept
    assert doc.text.endswith("坚决筑牢国门防线。 (中国警察网记者 邬春阳)")


def test_simplified_seeds_are_hans():
    for p in SEEDS:
        if not p.name.startswith("003"):
            assert read_document(p).script == "Hans", p.name


# ---------------------------------------------------------------- encodings
@pytest.mark.parametrize("codec, expected", [
    ("gbk", "gb18030"), ("gb18030", "gb18030"), ("utf-8-sig", "utf-8-sig"),
    ("utf-16", "utf-16-le"), ("utf-16-be-bom", "utf-16-be"), ("utf-8", "utf-8")])
def test_encodings_are_detected(tmp_path, codec, expected):
    if codec == "utf-16-be-bom":
        data = b"\xfe\xff" + PARAGRAPH.encode("utf-16-be")
    else:
        data = PARAGRAPH.encode(codec)
    doc = read_document(write(tmp_path, "a.txt", data))
    assert doc.encoding == expected
    assert doc.text == PARAGRAPH
    assert doc.raw == PARAGRAPH                      # BOM removed
    check_offsets(doc)


def test_gb18030_only_characters(tmp_path):
    text = PARAGRAPH + "𠮷野家。"                    # 𠮷 is outside GBK: four bytes in GB18030
    doc = read_document(write(tmp_path, "a.txt", text.encode("gb18030")))
    assert doc.encoding == "gb18030" and doc.text == text


def test_big5_is_detected_and_simplified(tmp_path):
    traditional = S2T.convert(PARAGRAPH)
    assert traditional != PARAGRAPH and T2S.convert(traditional) == PARAGRAPH
    doc = read_document(write(tmp_path, "b.txt", traditional.encode("big5")))
    assert doc.encoding == "big5"
    assert doc.original == traditional
    assert doc.text == PARAGRAPH
    assert doc.script == "Hant"


@pytest.mark.parametrize("codec", ["utf-8", "gbk"])
def test_a_few_broken_bytes_are_replaced_with_a_warning(tmp_path, codec):
    data = (PARAGRAPH * 3).encode(codec)
    cut = len(PARAGRAPH.encode(codec))          # a paragraph boundary: no character is split
    doc = read_document(write(tmp_path, "d.txt", data[:cut] + b"\xff" + data[cut:]))
    assert doc.encoding == ("utf-8" if codec == "utf-8" else "gb18030")
    assert doc.text == PARAGRAPH + "\ufffd" + PARAGRAPH * 2
    assert any("undecodable" in w for w in doc.warnings)


# ---------------------------------------------------------------- refusals
@pytest.mark.parametrize("data, reason", [
    (b"", "empty file"),
    (b"  \n\t\r\n ", "only whitespace"),
    ("\u3000\n".encode("utf-8"), "only whitespace"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG"),
    (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "ZIP"),
    (b"%PDF-1.7\n%\xe2\xe3", "PDF"),
    (b"\x1f\x8b\x08\x00", "GZIP"),
    (b"abc\x00\x01\x02\xff\xfe\x00\x00\x10def", "binary"),
    (b"\x81\x30\x81\x30\xff\xff\xff\xfe\xfd\xfc\x00", "binary"),
    (b"Only English words here, nothing else.", "no Chinese text"),
])
def test_unusable_files_are_refused_with_a_reason(tmp_path, data, reason):
    path = write(tmp_path, "bad.txt", data)
    with pytest.raises(IngestError) as info:
        read_document(path)
    assert reason in info.value.reason
    assert info.value.path == str(path)
    assert str(info.value) == f"{path}: {info.value.reason}"
    assert "\n" not in str(info.value)


def test_missing_directory_and_too_large(tmp_path):
    with pytest.raises(IngestError, match="no such file"):
        read_document(tmp_path / "nope.txt")
    with pytest.raises(IngestError, match="is a directory"):
        read_document(tmp_path)
    big = write(tmp_path, "big.txt", PARAGRAPH)
    with pytest.raises(IngestError, match="too large"):
        read_document(big, max_bytes=20)
    assert read_document(big, max_bytes=10_000).text == PARAGRAPH


def test_undecodable_bytes(tmp_path):
    # not UTF-8 and not plausible in any Chinese encoding
    data = bytes(range(0x80, 0x100)) * 4
    with pytest.raises(IngestError, match="binary|decode|Chinese"):
        read_document(write(tmp_path, "x.txt", data))


# ---------------------------------------------------------------- formats
def test_invalid_front_matter_gives_a_warning_and_keeps_the_body(tmp_path):
    src = "---\ntitle: [unclosed\ndate: : :\n---\n\n" + PARAGRAPH + "\n"
    doc = read_document(write(tmp_path, "fm.md", src))
    assert any("front matter" in w for w in doc.warnings)
    assert doc.text == PARAGRAPH
    check_offsets(doc)


def test_front_matter_and_markdown_syntax(tmp_path):
    src = ("---\ntitle: 标题在这里\ndate: 2023-07-08\nauthor: 张三\n---\n"
           "# 一级标题\n\n"
           "这是**加粗**和*强调*，见[国家移民管理局](https://www.nia.gov.cn)网站。"
           "![图片说明](a.png)\n"
           "> 引用的第一行，\n> 引用的第二行。\n\n"
           "- 列表第一项\n- 列表第二项\n")
    doc = read_document(write(tmp_path, "m.md", src))
    assert doc.format == "markdown"
    assert doc.meta["title"] == "标题在这里" and doc.meta["date"] == "2023-07-08"
    assert doc.meta["author"] == "张三"
    assert doc.text.splitlines() == [
        "一级标题",
        "这是加粗和强调，见国家移民管理局网站。",
        "引用的第一行，引用的第二行。",
        "列表第一项",
        "列表第二项",
    ]
    check_offsets(doc)


@pytest.mark.parametrize("fm, meta, warning", [
    ("title: 标题\nauthor: !", {"title": "标题", "author": None}, None),
    ("title:\t标题", {"title": "标题"}, "front matter is not valid YAML (while scanning for the next token); "
                                     "read line by line as key: value"),
    ("title: 标题\nnote: |-#\n  x", {"title": "标题"}, "front matter is not valid YAML "
                                                      "(while scanning a block scalar); read line by line as key: value"),
])
def test_front_matter_is_read_as_pyyaml_reads_it(tmp_path, fm, meta, warning):
    # libyaml, used when it reads the same, reads these otherwise ("" for a lone tag, no error)
    doc = read_document(write(tmp_path, "fm.md", f"---\n{fm}\n---\n\n{PARAGRAPH}\n"))
    assert {k: doc.meta.get(k, "missing") for k in meta} == meta
    assert doc.warnings == ([warning] if warning else [])


@pytest.mark.parametrize("fm", [
    # one `key: value` a line: read by ingest itself, which must read it as PyYAML does
    "title: 堅決捍衛國家政治安全\ndate: '2018-04-22'\nsource: bench article 2\n",
    "title: 标题\u3000\nnote: it's x [y] {z} - w\nempty: ''\ntitle: again\n",
    # values YAML reads as other than strings, and what is not that simple: left to YAML
    "date: 2018-04-22\nn: 12\nf: 1.5\ng: 1.5e3\nb: on\nx: ~\nyes: 1\n",
    "title: a # comment\nlist: [a, b]\nq: \"x\"\n", "a:  b\nc: d \n", "title: 标题\r\n",
])
def test_simple_front_matter_is_read_as_pyyaml_reads_it(fm):
    import yaml

    from kg.ingest import _load_yaml
    got, want = _load_yaml(fm), yaml.safe_load(fm)
    assert list(got.items()) == list(want.items())
    assert [type(v) for v in got.values()] == [type(v) for v in want.values()]


CJK_CHAR = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list("国家發a1，\n")), st.booleans()), max_size=60),
       st.sampled_from([0, 0.05, 0.3, 1]))
def test_share_of_changed_cjk_characters(chars, share):
    # ingest counts only as far as the answer needs; the answer is that of counting all
    from kg.ingest import _mostly_changed
    original = "".join(c for c, _ in chars)
    text = "".join("这" if change and c != "\n" else c for c, change in chars)
    cjk = sum(1 for c in original if CJK_CHAR.match(c))
    changed = sum(1 for a, b in zip(original, text) if a != b and CJK_CHAR.match(a))
    assert _mostly_changed(original, text, share) == (cjk > 0 and changed / cjk >= share)


def test_html_in_traditional_script(tmp_path):
    src = "<html><body><p>來源：新華社</p><p>國家移民管理局發佈公告。</p><p>這是第二段，說明國境口岸。</p></body></html>"
    doc = read_document(write(tmp_path, "t.html", src))
    assert doc.meta["source"] == "新华社"
    assert doc.text.split("\n") == ["国家移民管理局发布公告。", "这是第二段，说明国境口岸。"]
    assert doc.script == "Hant"
    check_offsets(doc)


def test_a_conversion_that_changes_a_line_length_goes_char_by_char(tmp_path, monkeypatch):
    import kg.ingest

    class Shortening:                   # as if a t2s phrase had a shorter Simplified form
        def convert(self, text: str) -> str:
            return T2S.convert(text).replace("国家", "国")

    monkeypatch.setattr(kg.ingest, "_t2s", Shortening)
    doc = read_document(write(tmp_path, "t.txt", "國家移民管理局發佈公告。\n\n這是第二段，說明國境口岸。\n"))
    assert doc.text.split("\n") == ["国家移民管理局发布公告。", "这是第二段，说明国境口岸。"]
    assert doc.script == "Hant"
    check_offsets(doc)


def test_html_page_with_entities_chrome_and_editor(tmp_path):
    src = ("<!DOCTYPE html><html><head><title>移民局发布新政策_新闻中心_某网</title>"
           "<meta name=\"publishdate\" content=\"2023/05/06 10:00\">"
           "<style>p{color:red}</style><script>var s='脚本文字';</script></head><body>"
           "<nav>首页 新闻</nav><div class=\"breadcrumb\">首页 &gt; 正文</div>"
           "<div id=\"main\"><p>　　国家移民管理局&ldquo;今日&rdquo;宣布&#20013;国\n公民出境新规，"
           "A&amp;B 公司受益。</p>"
           "<figure><img src=\"a.jpg\" alt=\"图为边检民警执勤。\"><figcaption>图为边检民警执勤。</figcaption></figure>"
           "<p>第二段<b>加粗</b>文字。<p>没有闭合的段落。"
           "<div class=\"share_box\">分享到：微信 微博</div>"
           "<p class=\"article-editor\">王小明</p></div>"
           "<div class=\"footer\">版权所有</div></body></html>")
    doc = read_document(write(tmp_path, "p.html", src))
    assert doc.format == "html"
    assert doc.meta["title"] == "移民局发布新政策"
    assert doc.meta["date"] == "2023-05-06"
    assert doc.meta["editor"] == "王小明"
    assert doc.text.splitlines() == [
        "国家移民管理局“今日”宣布中国公民出境新规，A&B 公司受益。",
        "图为边检民警执勤。",
        "第二段加粗文字。",
        "没有闭合的段落。",
    ]
    i = doc.text.index("中")
    assert doc.raw[doc.offsets[i]:doc.offsets[i] + 8] == "&#20013;"
    check_offsets(doc)


def test_meta_lines_chrome_lines_and_trailers_in_plain_text(tmp_path):
    body = "\n\n".join(["首页 > 新闻 > 正文", "边检站开展专项行动",
                        "时间：2023年5月6日 来源：新华网", "新华社记者 张三",
                        PARAGRAPH, PARAGRAPH.replace("国家", "全国"),
                        "免责声明：本文仅代表作者观点。", "此后的内容不是正文。"])
    doc = read_document(write(tmp_path, "t.txt", body))
    assert doc.meta["date"] == "2023-05-06" and doc.meta["source"] == "新华网"
    assert doc.meta["title"] == "边检站开展专项行动"
    assert doc.text.splitlines()[:2] == ["边检站开展专项行动", "新华社记者 张三"]
    for gone in ("首页", "时间", "免责声明", "此后的内容"):
        assert gone not in doc.text
    check_offsets(doc)


def test_a_label_without_a_date_is_body_text(tmp_path):
    body = "时间：3月11日至4月30日，各地开展专项行动。\n\n" + PARAGRAPH
    doc = read_document(write(tmp_path, "t.txt", body))
    assert doc.text.startswith("时间：3月11日至4月30日") and "date" not in doc.meta


def test_trailer_marker_near_the_top_does_not_cut_the_article(tmp_path):
    second = PARAGRAPH.replace("国家移民管理局", "公安部出入境管理局")
    doc = read_document(write(tmp_path, "t.txt", "上一篇：旧闻\n\n" + PARAGRAPH + "\n\n" + second))
    assert PARAGRAPH in doc.text and second in doc.text


def test_fullwidth_digits_are_folded_with_lengths_kept(tmp_path):
    src = "上半年查验出入境人员１．６８亿人次，同比增长１６９．６％。"
    doc = read_document(write(tmp_path, "f.txt", src))
    assert doc.text == "上半年查验出入境人员1.68亿人次，同比增长169.6％。"
    assert doc.original == src
    check_offsets(doc)


def test_windows_line_ends_and_wrapped_lines(tmp_path):
    src = "标题一行写在这里\r\n\r\n国家移民管理局近日出台系列措施，\r\n进一步强化口岸边境管控。\r\n"
    doc = read_document(write(tmp_path, "w.txt", src))
    assert doc.text == "标题一行写在这里\n国家移民管理局近日出台系列措施，进一步强化口岸边境管控。"
    check_offsets(doc)


def test_utf16_without_bom(tmp_path):
    text = "2023年 NIA 报告：" + PARAGRAPH
    doc = read_document(write(tmp_path, "u.txt", text.encode("utf-16-le")))
    assert doc.encoding == "utf-16-le" and doc.text == text


def test_doc_id_for_chinese_file_names(tmp_path):
    a = read_document(write(tmp_path, "移民管理.txt", PARAGRAPH))
    b = read_document(write(tmp_path, "边检.txt", PARAGRAPH))
    assert re.fullmatch(r"[A-Za-z0-9_-]+_[0-9a-f]{8}", a.doc_id)
    assert a.doc_id != b.doc_id and a.content_hash == b.content_hash


# ---------------------------------------------------------------- collect_paths
def test_collect_paths_folder_glob_missing_and_loops(tmp_path):
    root = tmp_path / "corpus"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".hidden").mkdir()
    write(root, "b.txt", PARAGRAPH)
    write(root, "a.md", PARAGRAPH)
    write(root / "sub", "c.html", "<p>" + PARAGRAPH + "</p>")
    write(root / "sub" / "deeper", "d.txt", PARAGRAPH)
    write(root, "photo.png", b"\x89PNG\r\n\x1a\n")
    write(root, ".secret.txt", PARAGRAPH)
    write(root / ".hidden", "e.txt", PARAGRAPH)
    os.symlink(root, root / "sub" / "loop")                 # a folder that contains itself
    os.symlink(root / "b.txt", root / "sub" / "b-link.txt")  # the same file twice

    paths, problems = collect_paths([str(root)])
    rel = [p.relative_to(root).as_posix() for p in paths]
    assert rel == ["a.md", "b.txt", "sub/c.html", "sub/deeper/d.txt"]
    assert problems == []

    paths, problems = collect_paths([str(root / "*.txt"), str(root / "b.txt"),
                                     str(root / "photo.png"), str(tmp_path / "nope.txt"),
                                     str(tmp_path / "none-*.txt")])
    assert [p.name for p in paths] == ["b.txt", "photo.png"]   # explicit binary still listed
    assert problems == [f"{tmp_path / 'nope.txt'}: no such file or directory",
                        f"{tmp_path / 'none-*.txt'}: no files match"]
    with pytest.raises(IngestError, match="PNG"):
        read_document(paths[1])


def test_collect_paths_recursive_glob_is_sorted(tmp_path):
    for name in ("z/2.txt", "a/1.txt", "a/b/3.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        write(tmp_path, name, PARAGRAPH)
    paths, problems = collect_paths([str(tmp_path / "**" / "*.txt")])
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == ["a/1.txt", "a/b/3.txt", "z/2.txt"]
    assert not problems


def test_collect_paths_seeds_folder():
    paths, problems = collect_paths([str(SEEDS[0].parent)])
    assert [p.name for p in paths] == [p.name for p in SEEDS] and not problems


# ---------------------------------------------------------------- any input
PIECES = list("国家移民管理局边检總站關於，。、；：“”（） \n\n\t\u3000ab12３．<>&;#*[]()_") + [
    "<p>", "</p>", "<div class='share'>", "</div>", "<br>", "&amp;", "&#20013;", "&nbsp;",
    "&bogus;", "<![if x]>", "<!--", "-->", "<script>", "</script>", "# ", "> ", "- ", "**",
    "![a](b)", "[x](y)", "\r\n", "---\n", "时间：2021-01-01", "相关推荐", "免责声明",
    "新华社记者 张三", "高 质 量 发 展"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=120), st.sampled_from(["", "---\n", "<html>"]))
def test_any_input_reads_or_is_refused_with_offsets_intact(pieces, prefix):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "x.txt")
        path.write_text(prefix + "".join(pieces), encoding="utf-8")
        try:
            doc = read_document(path)
        except IngestError as e:
            assert e.reason and "\n" not in e.reason
            return
        assert _cjk(doc.text)
        check_offsets(doc)


def _cjk(text: str) -> bool:
    return bool(re.search("[\u4e00-\u9fff]", text))
