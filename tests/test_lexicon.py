"""The domain lexicons (ontology/lexicons/*.tsv) and their loader (kg.lexicon)."""
from __future__ import annotations

import importlib.util
from collections import defaultdict
from pathlib import Path

import pytest

from kg.lexicon import DEFAULT_DIR, LexEntry, lexicon_files, lexicon_fingerprint, load_lexicons
from kg.model import ENTITY_CLASSES

HEADER = "label\tclass\taliases\tattrs\n"

# General, well-known names that real articles in this domain use (many also occur in the gold
# annotations of the samples).  Each must be a label or an alias of an entry of that class.
# Seed-only unit names (临沧支队, 耿马大队) are left to the pattern passes and not required here.
REQUIRED = {
    "Agency": ["国家移民管理局", "公安部", "国务院", "海关", "民航局", "民航", "国家民委",
               "国家乡村振兴局", "国家边海防委", "国家移民管理局边防检查管理司", "边防检查管理司",
               "北京边检总站", "北京出入境边防检查总站", "上海边检总站", "吉林边检总站",
               "广西边检总站", "广西出入境边防检查总站", "湖北边检总站", "山东边检总站",
               "深圳边检总站", "安徽边检总站", "云南边检总站", "辽宁边检总站", "四川边检总站",
               "武汉边检站", "沈阳边检站", "成都边检站", "马鞍山边检站", "青岛机场边检站",
               "上海机场边检站", "外交部", "商务部", "海关总署", "最高人民法院",
               "全国人大常委会", "中央政法委", "国家禁毒委", "人社部", "国家发改委",
               "国家卫健委", "国家卫生健康委"],
    "Location": ["中国", "北京", "北京市", "上海", "吉林", "广西", "广东", "湖北", "湖北省",
                 "山东", "安徽", "云南", "辽宁", "四川", "福建", "武汉", "青岛", "深圳",
                 "马鞍山", "临沧", "耿马", "沈阳", "成都", "恩施", "港澳",
                 "港澳地区", "粤港澳大湾区", "横琴", "横琴粤澳深度合作区", "京津冀", "长三角",
                 "海南自由贸易港", "海南自贸港", "两岸融合发展示范区", "南亚", "东南亚",
                 "首都国际机场", "首都机场", "北京首都机场", "香港", "澳门", "台湾", "内蒙古",
                 "新疆维吾尔自治区", "瑞丽", "满洲里", "绥芬河", "霍尔果斯", "缅甸", "越南",
                 "老挝", "俄罗斯", "蒙古国", "印尼", "美国"],
    "CrimeType": ["走私", "偷渡", "偷私渡", "非法越境", "非法出入境", "非法入境", "非法居留",
                  "三非", "三非问题", "跨境违法犯罪", "妨害国（边）境管理犯罪",
                  "妨害国(边)境管理犯罪", "网络诈骗",
                  "网络赌博", "贩毒", "电信网络诈骗", "组织他人偷越国（边）境罪",
                  "运送他人偷越国（边）境罪", "骗取出境证件罪"],
    "Law": ["中华人民共和国出境入境管理法", "出境入境管理法",
            "中华人民共和国出境入境边防检查条例", "中华人民共和国护照法", "刑法",
            "中华人民共和国反电信网络诈骗法"],
    "Measure": ["口岸签证", "72/144小时过境免签", "过境免签", "入境免签", "全国通办",
                "只跑一次", "全程网办", "客停货通"],
    "Campaign": ["獴猎行动", "獴猎", "平安边境模范系列创建活动",
                 "集中打击妨害国（边）境管理犯罪专项斗争"],
    "Person": ["习近平", "李克强", "许甘露", "李裕禄", "王小洪"],
}

# Characters that OpenCC t2s rewrites although they are correct Simplified in these names.
T2S_ALLOWED = {"乾", "著", "於"}

PROVINCE_LEVEL = ("北京 天津 上海 重庆 河北 山西 内蒙古 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 "
                  "山东 河南 湖北 湖南 广东 广西 海南 四川 贵州 云南 西藏 陕西 甘肃 青海 宁夏 新疆").split()


@pytest.fixture(scope="module")
def entries() -> list[LexEntry]:
    return load_lexicons()


@pytest.fixture(scope="module")
def by_surface(entries) -> dict[tuple[str, str], LexEntry]:
    return {(e.cls, s): e for e in entries for s in e.surfaces}


def by_label(entries, cls: str, label: str) -> LexEntry:
    return next(e for e in entries if e.cls == cls and e.label == label)


def write_lexicon(directory: Path, body: str, name: str = "x.tsv") -> Path:
    path = directory / name
    path.write_text("# test\n" + HEADER + body, encoding="utf-8")
    return path


# ---------------------------------------------------------------- the shipped data
def test_every_class_has_entries(entries):
    counts = defaultdict(int)
    for e in entries:
        counts[e.cls] += 1
    assert set(counts) == set(ENTITY_CLASSES)
    assert counts["Location"] > 500 and counts["Agency"] > 150


@pytest.mark.parametrize("cls", sorted(REQUIRED))
def test_general_names_are_known(by_surface, cls):
    missing = [name for name in REQUIRED[cls] if (cls, name) not in by_surface]
    assert not missing, f"{cls} names missing from the lexicons: {missing}"


def test_gold_label_conventions(by_surface):
    """Surface forms resolve to the labels the annotations use."""
    assert by_surface[("Agency", "民航")].label == "民航局"
    assert by_surface[("Agency", "北京出入境边防检查总站")].label == "北京边检总站"
    assert by_surface[("Agency", "边防检查管理司")].label == "国家移民管理局边防检查管理司"
    assert by_surface[("Location", "横琴粤澳深度合作区")].label == "横琴"
    assert by_surface[("Location", "北京首都机场")].label == "首都国际机场"
    assert by_surface[("Location", "港澳地区")].label == "港澳"
    assert by_surface[("Measure", "过境免签")].label == "72/144小时过境免签"
    assert by_surface[("CrimeType", "妨害国(边)境管理犯罪")].label == "妨害国（边）境管理犯罪"
    assert by_surface[("Campaign", "獴猎")].label == "獴猎行动"


def test_no_surface_names_two_entries_of_one_class(entries):
    owners = defaultdict(set)
    for e in entries:
        for s in e.surfaces:
            owners[(e.cls, s)].add(e.label)
    clashes = {k: v for k, v in owners.items() if len(v) > 1}
    assert not clashes


def test_no_single_character_names(entries):
    assert not [s for e in entries for s in e.surfaces if len(s) < 2]


def test_references_resolve(entries):
    labels = {(e.cls, e.label) for e in entries}
    for e in entries:
        if "parent" in e.attrs:
            assert (e.cls, e.attrs["parent"]) in labels, e.source
        if "location" in e.attrs:
            assert ("Location", e.attrs["location"]) in labels, e.source
        for key in ("heads", "managed_by"):
            if key in e.attrs:
                assert ("Agency", e.attrs[key]) in labels, e.source


def test_general_stations_cover_every_province(entries):
    # Guangdong's general station is named after its seat: 广州边检总站.
    stations = [("广州" if p == "广东" else p) for p in PROVINCE_LEVEL] + ["深圳", "珠海", "厦门"]
    for place in stations:
        e = by_label(entries, "Agency", f"{place}边检总站")
        assert e.attrs["parent"] == "国家移民管理局"
        assert e.attrs["location"] == place
        assert f"{place}出入境边防检查总站" in e.aliases


def test_locations_hierarchy(entries):
    assert by_label(entries, "Location", "武汉").attrs["parent"] == "湖北"
    assert by_label(entries, "Location", "耿马").attrs["parent"] == "临沧"
    assert by_label(entries, "Location", "广西").attrs["kind"] == "province"
    assert by_label(entries, "Location", "北京").attrs["kind"] == "municipality"
    assert by_label(entries, "Location", "香港").attrs["kind"] == "sar"
    assert by_label(entries, "Location", "中国").attrs["kind"] == "country"
    # 吉林 is the province; the city keeps its full name.
    assert by_label(entries, "Location", "吉林市").attrs["parent"] == "吉林"
    assert "吉林省" in by_label(entries, "Location", "吉林").aliases


def test_ordinary_words_are_flagged(by_surface):
    for name in ("长治", "中山", "大同", "吉安", "日照", "东方"):
        assert by_surface[("Location", name)].is_ambiguous(name), name
    for name in ("北京", "武汉", "瑞丽", "恩施"):
        assert not by_surface[("Location", name)].is_ambiguous(name), name
    # The full name spells the ambiguous short name out: it is safe on its own.
    assert not by_surface[("Location", "中山市")].is_ambiguous("中山市")
    nia = by_surface[("Agency", "移民局")]
    assert nia.is_ambiguous("移民局") and not nia.is_ambiguous("国家移民管理局")


def test_exclusions_name_longer_words(by_surface):
    assert "朝鲜族" in by_surface[("Location", "朝鲜")].list_attr("exclude")
    assert "执法国" in by_surface[("Location", "法国")].list_attr("exclude")
    assert by_surface[("Location", "印度")].list_attr("exclude") == ("印度尼西亚", "印度洋")


def test_files_are_simplified_script():
    opencc = pytest.importorskip("opencc")
    t2s = opencc.OpenCC("t2s")
    for path in lexicon_files():
        text = path.read_text(encoding="utf-8")
        converted = t2s.convert(text)
        changed = {a for a, b in zip(text, converted) if a != b}
        assert len(converted) == len(text) and changed <= T2S_ALLOWED, (path.name, changed)


def test_files_are_well_formed():
    for path in lexicon_files():
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith("#") or not line.strip():
                continue
            assert line.count("\t") == 3, f"{path.name}:{lineno}"
            fields = line.split("\t")
            assert all(f == f.strip() for f in fields), f"{path.name}:{lineno}: stray whitespace"


# ---------------------------------------------------------------- the loader
def test_entries_are_hashable_and_attrs_read_like_a_dict(entries):
    e = by_label(entries, "Agency", "武汉边检站")
    assert len({e, e}) == 1
    assert dict(e.attrs) == {"parent": "湖北边检总站", "location": "武汉"}
    assert e.attrs.get("kind") is None
    assert e.source.startswith("border_inspection.tsv:")


def test_directory_defaults_to_ontology_lexicons():
    assert DEFAULT_DIR.parts[-2:] == ("ontology", "lexicons")
    assert all(p.parent == DEFAULT_DIR for p in lexicon_files())


def test_loads_a_custom_directory_and_skips_subfolders(tmp_path):
    write_lexicon(tmp_path, "中国\tLocation\t中华人民共和国\tkind=country\n"
                            "外交部\tAgency\t\t\n")
    (tmp_path / "tools").mkdir()
    write_lexicon(tmp_path / "tools", "not\ta lexicon\n")
    got = load_lexicons(tmp_path)
    assert [(e.label, e.cls, e.aliases) for e in got] == [
        ("中国", "Location", ("中华人民共和国",)), ("外交部", "Agency", ())]


@pytest.mark.parametrize("body, message", [
    ("中国\tPlace\t\t\n", "unknown class"),
    ("中\tLocation\t\t\n", "shorter than two"),
    ("中国\tLocation\t华|中华\t\n", "shorter than two"),
    ("《刑法》\tLaw\t\t\n", "quote marks"),
    ("中国\tLocation\t\tkind=planet\n", "unknown Location kind"),
    ("中国\tLocation\t\tcolour=red\n", "unknown attribute"),
    ("中国\tLocation\t\tkind\n", "not key=value"),
    ("中国\tLocation\t\tambiguous=yes\n", "ambiguous must be 1"),
    ("中国\tLocation\t\n中国\tLocation\t\n", "duplicate Location label"),
    ("中国\tLocation\t华夏\n华夏\tLocation\t\n", "already a name of Location"),
    ("武汉边检站\tAgency\t\tparent=湖北边检总站\n", "parent='湖北边检总站' is not"),
    ("武汉边检站\tAgency\t\tlocation=武汉\n", "location='武汉' is not"),
    ("朝鲜\tLocation\t\texclude=韩国人\n", "contains no surface"),
    ("国家移民管理局\tAgency\t移民局\tambiguous_aliases=移民\n", "not an alias"),
    ("一\t二\t三\t四\t五\n", "2 to 4"),
])
def test_bad_rows_raise_with_file_and_line(tmp_path, body, message):
    write_lexicon(tmp_path, body)
    with pytest.raises(ValueError) as err:
        load_lexicons(tmp_path)
    assert message in str(err.value)
    assert str(err.value).startswith("x.tsv:")


def test_missing_header_is_an_error(tmp_path):
    (tmp_path / "x.tsv").write_text("# only a comment\n中国\tLocation\t\t\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"x\.tsv:2: expected header"):
        load_lexicons(tmp_path)


def test_same_name_in_two_classes_is_allowed(tmp_path):
    write_lexicon(tmp_path, "海关\tAgency\t\t\n海关\tLocation\t\t\n")
    assert len(load_lexicons(tmp_path)) == 2


def test_fingerprint_follows_the_bytes(tmp_path):
    path = write_lexicon(tmp_path, "中国\tLocation\t\t\n")
    first = lexicon_fingerprint(tmp_path)
    assert first == lexicon_fingerprint(tmp_path) and len(first) == 64
    path.write_text(path.read_text(encoding="utf-8") + "美国\tLocation\t\t\n", encoding="utf-8")
    assert lexicon_fingerprint(tmp_path) != first
    assert lexicon_fingerprint() != first


# ---------------------------------------------------------------- the location generator
def _make_locations():
    path = DEFAULT_DIR / "tools" / "make_locations.py"
    spec = importlib.util.spec_from_file_location("make_locations", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("full, short", [
    ("恩施土家族苗族自治州", "恩施"), ("广西壮族自治区", "广西"), ("内蒙古自治区", "内蒙古"),
    ("新疆维吾尔自治区", "新疆"), ("伊犁哈萨克自治州", "伊犁"), ("耿马傣族佤族自治县", "耿马"),
    ("香港特别行政区", "香港"), ("武汉市", "武汉"), ("芒市", "芒市"), ("喀什地区", "喀什"),
    ("神农架林区", "神农架"), ("黔西南布依族苗族自治州", "黔西南"),
])
def test_generator_short_names(full, short):
    assert _make_locations().short_name(full) == short
