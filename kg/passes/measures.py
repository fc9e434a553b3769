"""Measures: named rules in quotes (“六个严禁”, “八项措施”), quoted names with a policy noun
(“客停货通”政策), and spans between an issuing verb and a policy noun (推出 回乡证延期新政)."""
from __future__ import annotations

import functools
import re

from ..config import patterns
from .base import CJK, Context, alternation, anchored_matches, entity_pass

SPACE = re.compile(r"\s")
CJK_LIST = re.compile(rf"[{CJK}、]+")
NUMBERED_COUNTERS = "项条"      # 十项…措施, 三条…规定: the regex's counter, and its scan's anchor
SHORT_NAME = re.compile(rf"[{CJK}0-9+＋/]+")


@functools.lru_cache(maxsize=1)
def _conf():
    conf = patterns()["measures"]
    nouns = sorted(conf["nouns"], key=len, reverse=True)
    verbs = sorted(conf["issue_verbs"], key=len, reverse=True)
    return conf, re.compile(conf["numbered_rule"]), nouns, verbs


@functools.lru_cache(maxsize=1)
def _regexes() -> dict[str, re.Pattern | str]:
    """The patterns of the measure passes, compiled once."""
    conf, _, nouns, verbs = _conf()
    noun_rx = alternation(nouns)
    quoted_verbs = alternation(conf["quoted_issue_verbs"])
    not_after = alternation(patterns()["campaigns"]["suffixes"] + conf["not_measure_after"])
    numbered_nouns = alternation(conf["numbered_nouns"])
    numerals = re.escape(conf["counting_numerals"])
    return {
        "quoted": re.compile(rf"“\s*([^“”\n]{{2,16}}?)\s*”\s*({noun_rx})?"),
        "verb_quoted": re.compile(
            rf"(?:{quoted_verbs})\s*“\s*([^“”\n]{{2,10}}?)\s*”(?!\s*(?:{not_after}))"),
        "verb": re.compile(alternation(verbs)),
        # Greedy: the name runs to the last policy noun of the clause (…政策调整措施, not …政策).
        "span": re.compile(rf"([{CJK}0-9/、“”\s]{{2,{conf['max_length']}}})({noun_rx})"),
        # Found from the 项/条 that follows the number (see anchored_matches): a fast scan.
        "numbered": re.compile(rf"(?<!第)[{numerals}]{{1,3}}[{NUMBERED_COUNTERS}]"
                               rf"([{CJK}]{{0,10}}?)(?:{numbered_nouns})"),
        "count": re.compile(rf"[{numerals}]{{1,3}}[个项条大]"),
    }


@entity_pass("measure-quoted")
def quoted_measures(ctx: Context) -> None:
    conf, numbered, _, _ = _conf()
    for m in _regexes()["quoted"].finditer(ctx.text):
        core = SPACE.sub("", m.group(1))
        if numbered.match(core) and any(core.endswith(n) for n in conf["rule_nouns"]):
            ctx.add("Measure", core, m.start(), m.end(1) + 1, "measure-quoted", 0.8)
        elif m.group(2) and CJK_LIST.fullmatch(core) and len(core) >= 3:
            ctx.add("Measure", core, m.start(), m.end(), "measure-quoted", 0.75,
                    aliases=(m.group(),))


@entity_pass("measure-verb-quoted")
def verb_quoted_measures(ctx: Context) -> None:
    """A short quoted name right after an issuing verb: 实施“乙类乙管”, 推行“一网通办”."""
    conf, _, _, _ = _conf()
    for m in _regexes()["verb_quoted"].finditer(ctx.text):
        core = SPACE.sub("", m.group(1))
        if SHORT_NAME.fullmatch(core) and not any(w in core for w in conf["reject_words"]):
            ctx.add("Measure", core, m.start(1) - 1, m.end(1) + 1, "measure-verb-quoted", 0.65)


@entity_pass("measure-verb")
def verb_measures(ctx: Context) -> None:
    conf, _, _, _ = _conf()
    text = ctx.text
    span_rx, count_rx = _regexes()["span"], _regexes()["count"]
    for v in _regexes()["verb"].finditer(text):
        m = span_rx.match(text, v.end())
        if not m:
            continue
        span = SPACE.sub("", m.group())
        if "“" in span:
            continue
        num = count_rx.search(span)
        noun = m.group(2)
        if any(w in (span[num.start():] if num else span) for w in conf["reject_words"]):
            continue
        if num:                                 # …十项出入境政策调整措施: the name starts at the number
            label = span[num.start():]
        elif noun in conf["named_nouns"] and len(span) >= 6:
            label = span
            if noun == "政策" and "的" not in span and len(span) - 2 >= 4:
                label = span[:-2]               # 往来港澳人才签注政策 -> 往来港澳人才签注
        else:
            continue
        ctx.add("Measure", label, m.start(), m.end(), "measure-verb", 0.65, aliases=(span,))


@entity_pass("measure-numbered")
def numbered_measures(ctx: Context) -> None:
    """N项…措施 anywhere: a counted package of measures is a named measure (十项政策措施)."""
    conf, _, _, _ = _conf()
    rx, anchor = _regexes()["numbered"], NUMBERED_COUNTERS
    for m in anchored_matches(rx, anchor, ctx.text, 3):        # 3: the longest number
        if any(w in m.group(1) for w in conf["reject_words"]):
            continue
        ctx.add("Measure", m.group(), m.start(), m.end(), "measure-numbered", 0.6)
