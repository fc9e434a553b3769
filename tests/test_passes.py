"""Each pass on small sentences written for the test (not taken from the seeds)."""
from __future__ import annotations

import pytest

from kg.passes import run_passes
from tests.conftest import make_doc


def found(text, cls=None, meta=None):
    f = run_passes(make_doc(text, meta))
    return {(m.cls, m.name) for m in f.mentions if cls is None or m.cls == cls}, f


def rels(f, predicate):
    return {(r.subject.name, r.object.name) for r in f.relations if r.predicate == predicate}


def test_border_unit_chains_resolve_to_short_names_with_parents():
    names, f = found("近日，广东边检总站广州白云机场边检站执勤一队查获偷渡人员。"
                     "福建出入境边防检查总站厦门边检站开展巡查。")
    assert ("Agency", "广东边检总站") in names
    assert ("Agency", "福建边检总站") in names
    assert ("Agency", "厦门边检站") in names
    assert ("Location", "广东") in names
    assert ("厦门边检站", "福建边检总站") in rels(f, "subOrganizationOf")
    assert ("厦门边检站", "厦门") in rels(f, "locatedIn")


def test_port_word_borrows_the_place_of_the_unit_before_it():
    names, f = found("天津边检总站机场边检站民警连夜值守。")
    assert ("Agency", "天津机场边检站") in names
    assert ("天津机场边检站", "天津边检总站") in rels(f, "subOrganizationOf")


def test_unnumbered_units_without_a_place_are_not_agencies():
    names, _ = found("执勤二队和各边检总站要加强值守，一至三大队轮换。")
    assert not {n for c, n in names if c == "Agency"}


def test_place_plus_agency_suffix():
    names, f = found("浙江省公安厅出入境管理局发布通告。")
    assert ("Agency", "浙江省公安厅出入境管理局") in names


def test_people_after_titles_and_in_lists():
    names, f = found("会上，省公安厅厅长王建国主持会议，副厅长陈立、周明出席。")
    persons = {n for c, n in names if c == "Person"}
    assert {"王建国", "陈立", "周明"} <= persons


def test_common_words_after_titles_are_not_people():
    names, _ = found("总书记强调，要坚持人民至上。")
    assert ("Person", "强调") not in names


def test_credit_lines_name_photographers():
    names, _ = found("民警在口岸查验证件。（王小明 摄）")
    assert ("Person", "王小明") in names


def test_editor_from_metadata_is_a_person():
    names, _ = found("正文内容。", meta={"editor": "刘洋"})
    assert ("Person", "刘洋") in names


def test_quoted_campaigns_and_campaign_lists():
    names, _ = found("深入开展“雷霆”“净边”等专项行动，全面推进“蓝盾”行动—2023。")
    campaigns = {n for c, n in names if c == "Campaign"}
    assert {"雷霆行动", "净边行动", "蓝盾行动"} <= campaigns


def test_campaign_names_run_back_to_their_opening_verb():
    names, _ = found("各地组织开展打击跨境赌博违法犯罪专项斗争，成效明显。")
    assert ("Campaign", "打击跨境赌博违法犯罪专项斗争") in names


def test_numbered_rules_are_measures_but_slogans_are_not():
    names, _ = found("严格落实“五条禁令”，牢固树立“四个意识”。")
    measures = {n for c, n in names if c == "Measure"}
    assert "五条禁令" in measures
    assert "四个意识" not in measures


def test_measures_issued_by_verbs():
    names, _ = found("移民管理部门推出外籍人才绿色通道新政，出台支持自贸区建设发展十二项出入境便利措施。")
    measures = {n for c, n in names if c == "Measure"}
    assert "外籍人才绿色通道新政" in measures
    assert "十二项出入境便利措施" in measures


def test_laws_in_book_title_marks():
    names, _ = found("依据《中华人民共和国护照法》和《边境管理条例》依法处理。")
    laws = {n for c, n in names if c == "Law"}
    assert {"中华人民共和国护照法", "边境管理条例"} <= laws


def test_crime_after_enforcement_verb_but_not_vague_ones():
    names, _ = found("严厉打击组织他人偷越国境违法犯罪，依法打击各类犯罪。")
    crimes = {n for c, n in names if c == "CrimeType"}
    assert "组织他人偷越国境违法犯罪" in crimes
    assert "各类犯罪" not in crimes


@pytest.mark.parametrize("text,value,unit", [
    ("今年共查获偷渡人员1.2万人。", 12000, "人"),
    ("缴获毒品3.5吨。", 3.5, "吨"),
    ("案值达4.6亿元。", 460000000, "元"),
    ("满意率达99.1%。", 99.1, "%"),
    ("办理证件270余万人次。", 2700000, "人次"),
    ("共检查船舶5300余艘次。", 5300, "艘次"),
    ("查获毒品12千克。", 12, "千克"),
])
def test_statistics_values_and_units(text, value, unit):
    f = run_passes(make_doc(text))
    assert [(s.value, s.unit) for s in f.statistics] == [(value, unit)]


@pytest.mark.parametrize("text", [
    "3月15日起实施。", "第5次会议召开。", "提供24小时服务。", "拨打12367热线。",
    "覆盖沿边9省区。", "持续2个月。", "开通72/144小时过境免签。",
])
def test_dates_durations_ordinals_and_names_are_not_statistics(text):
    assert run_passes(make_doc(text)).statistics == []


def test_statistics_take_period_metric_and_reporter():
    text = "2022年，国家移民管理局共查验出入境人员1.1亿人次，同比下降5.2%。"
    f = run_passes(make_doc(text))
    first, rate = f.statistics
    assert first.period == "2022" and first.metric == "查验出入境人员"
    assert rate.metric == "查验出入境人员同比下降"
    assert first.reporter.name == "国家移民管理局"


def test_half_year_period_uses_the_document_year():
    f = run_passes(make_doc("上半年共查获走私案件30起。", meta={"date": "2021-08-01"}))
    assert f.statistics[0].period == "2021上半年"


def test_a_unit_suffix_serves_every_place_in_a_list():
    names, f = found("甘肃边检总站所属酒泉、张掖等边境管理支队加强巡逻；辽宁、吉林边检总站联合执法。")
    agencies = {n for c, n in names if c == "Agency"}
    assert {"酒泉边境管理支队", "张掖边境管理支队", "辽宁边检总站", "吉林边检总站"} <= agencies
    assert ("张掖边境管理支队", "甘肃边检总站") in rels(f, "subOrganizationOf")


def test_chinese_numerals_count_but_not_in_slogans_or_names():
    f = run_passes(make_doc("连破偷渡案件两起，抓获三名嫌疑人，坚决做到“两个维护”，落实八项规定。"))
    assert sorted((s.value, s.unit) for s in f.statistics) == [(2, "起"), (3, "名")]


def test_reporting_frame_names_the_source_of_figures():
    text = "记者从海关总署获悉，自去年以来，公安部部署专项工作。全国共查获走私案件1200起。"
    f = run_passes(make_doc(text))
    assert f.statistics[0].reporter.name == "海关总署"


def test_head_of_agency_from_title_before_name():
    _, f = found("海关总署党委书记、署长俞建华出席。", )
    _, g = found("云南省公安厅厅长王建明主持会议。")
    assert ("王建明", "云南省公安厅") in rels(g, "heads")


def test_border_stretches_and_waters_are_places():
    names, _ = found("在中缅边境和琼粤海域加强巡查，严防东北边境偷渡。")
    places = {n for c, n in names if c == "Location"}
    assert {"中缅边境", "东北边境"} <= places


def test_police_abbreviations_after_a_place_and_level():
    names, f = found("浙江省厅出入境管理局指导温州市局开展侦查。")
    agencies = {n for c, n in names if c == "Agency"}
    assert {"浙江省公安厅出入境管理局", "温州市公安局"} <= agencies


def test_bodies_named_by_their_remit():
    names, _ = found("随后，云南省防范输入性风险工作领导小组指挥部召开会议。")
    assert ("Agency", "云南省防范输入性风险工作领导小组指挥部") in names


def test_crimes_named_by_what_they_involve():
    names, _ = found("依法查处各类涉毒违法犯罪。")
    assert ("CrimeType", "涉毒违法犯罪") in names


def test_short_quoted_name_after_a_strong_issuing_verb_is_a_measure():
    names, _ = found("海关推行“提前申报”，并落实“过紧日子”要求。")
    measures = {n for c, n in names if c == "Measure"}
    assert "提前申报" in measures and "过紧日子" not in measures


def test_an_agency_deep_in_its_clause_is_not_its_subject():
    text = ("国家移民管理局通报，全国移民管理机构按照公安部统一部署，分两批次对重大案件报列公安部挂账督办，"
            "共破获案件120起。")
    f = run_passes(make_doc(text))
    assert {s.reporter.name for s in f.statistics} == {"国家移民管理局"}


def test_names_inside_a_longer_agency_name_are_not_agencies():
    names, _ = found("海关总署发布公告。")
    assert ("Agency", "海关") not in names and ("Agency", "海关总署") in names


def test_public_security_border_units_and_sar_partners():
    names, f = found("福建漳州公安边防支队与澳门治安警察局加强合作。")
    assert ("Agency", "漳州边防支队") in names
    assert ("漳州边防支队", "澳门治安警察局") in rels(f, "cooperatesWith")


def test_lower_units_keep_the_place_as_written():
    names, _ = found("上海边检总站浦东边检站开通专用通道。")
    assert ("Agency", "浦东边检站") in names


def test_a_figure_told_twice_is_one_statistic():
    text = "海关查获走私案件1200起\n据悉，今年以来全国海关共查获走私案件1200起，抓获嫌疑人2名。另有2名旅客受伤。"
    f = run_passes(make_doc(text))
    assert sorted((s.value, s.unit) for s in f.statistics) == [(2, "名"), (2, "名"), (1200, "起")]


def test_ports_named_after_places_and_bracket_bylines():
    names, _ = found("旅客经珠海港和拱北口岸出境，湛江机场边检站加强查验。\n民警连夜执勤。（王志强 李华）\n")
    places = {n for c, n in names if c == "Location"}
    assert "珠海港" in places and "湛江机场" not in places
    assert {("Person", "王志强"), ("Person", "李华")} <= names


def test_department_before_its_heads_title():
    names, f = found("满洲里边检站边防检查处处长刘建国介绍，海关总署依法查处走私。")
    assert ("Agency", "满洲里边检站边防检查处") in names
    assert ("刘建国", "满洲里边检站边防检查处") in rels(f, "heads")
    assert not any("依法" in n for c, n in names if c == "Agency")


def test_one_span_is_one_agency():
    names, _ = found("据中国出入境管理局通报，")
    assert {n for c, n in names if c == "Agency"} == {"国家移民管理局"}


def test_a_noun_before_a_crime_word_names_a_kind_of_it():
    names, _ = found("严厉打击婚姻诈骗，有人实施诈骗。")
    crimes = {n for c, n in names if c == "CrimeType"}
    assert "婚姻诈骗" in crimes and "实施诈骗" not in crimes


def test_a_named_group_is_not_a_count():
    f = run_passes(make_doc("犯罪嫌疑人陈某等5人被抓获，全年共抓获嫌疑人120人。"))
    assert [(s.value, s.unit) for s in f.statistics] == [(120, "人")]
