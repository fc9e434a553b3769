"""Reported figures: 1.68亿人次 -> 168000000 人次, with what was counted, the period and the
agency that reports it.

A figure is an Arabic number, an optional approximator (余, 多), an optional multiplier (万, 亿)
and a counting word from ontology/patterns.yaml. Dates, durations, ordinals and numbers inside
names have no counting word after them, or are ruled out by the words around them.
"""
from __future__ import annotations

import bisect
import functools
import re
from decimal import Decimal

from ..config import patterns
from ..model import StatisticFinding
from ..segment import word_tag
from .base import Context, alternation, relation_pass
from .relations import coreferences, subject_before

# Compiled once: they run for every figure.
YEAR = re.compile(r"(20\d{2})年")
MONTHS = re.compile(r"前(?:\d{1,2}|[一二三四五六七八九十]{1,2})个月|前[一二三1-3]季度")
TOKEN_CHAR = re.compile(r"[\d.\-/:A-Za-z]")     # a number or a letter: part of a larger token


@functools.lru_cache(maxsize=1)
def _metric_rules():
    """Regexes over the words that surround a metric (ontology/patterns.yaml, statistics), and
    the word lists metric_for reads."""
    conf = patterns()["statistics"]
    breaks = patterns()["sentence"]["clause_breaks"] + patterns()["sentence"]["enders"]
    noise = re.compile(rf"^(?:[{re.escape(breaks)}、\s]|{alternation(conf['metric_noise'])}|"
                       rf"\d{{4}}年|[一二三四]季度)+")
    # Greedy: a match from the sentence start ends right after the last clause break.
    last_break = re.compile(rf"[\s\S]*[{re.escape(breaks)}]")
    break_char = re.compile(f"[{re.escape(breaks)}]")
    return (noise, re.compile(alternation(conf["total_words"])), break_char, last_break,
            patterns()["words"]["prepositions"], conf["rate_units"])


@functools.lru_cache(maxsize=1)
def _context_words():
    """The words around a figure that make it no count, as tuples (str.startswith takes one)."""
    conf = patterns()["statistics"]
    return tuple(conf["not_counts_before"]), tuple(conf["scope_after"]), tuple(conf["not_counts_after"])


@functools.lru_cache(maxsize=1)
def _conf():
    conf = patterns()["statistics"]
    units = sorted(conf["units"], key=len, reverse=True)
    approx = alternation(conf["approximators"])
    mults = alternation(conf["multipliers"])
    unit_rx = alternation(units)
    cn = "".join(conf["chinese_digits"]) + "".join(conf["chinese_units"])
    # A number not right after a digit or a point: 1,234(.5), 1234(.5) or a Chinese numeral.
    # Written to open with the class of its first character, so that re finds the places to
    # try at C speed; the lookbehinds then say which kind of number that character starts
    # (the same matches as "(?<![\d.])(?:\d{1,3}(?:,\d{3})+…|\d+…|[一二…]+)", in the same order).
    number = (rf"[\d{cn}](?<![\d.].)(?:(?<=\d)(?:\d{{0,2}}(?:,\d{{3}})+(?:\.\d+)?(?![\d.])|"
              rf"\d*(?:\.\d+)?(?![\d.]))|(?<=[{cn}])[{cn}]*)")
    rx = re.compile(
        rf"(?P<num>{number})\s*(?P<a1>{approx})?\s*(?P<mult>(?:{mults})+)?\s*(?P<a2>{approx})?\s*"
        rf"(?P<unit>{unit_rx})")
    return conf, rx


def chinese_number(num: str) -> int | None:
    """两 -> 2, 十三 -> 13, 二十 -> 20, 三百五十 -> 350; None if it is not a plain numeral."""
    conf, _ = _conf()
    digits, units = conf["chinese_digits"], conf["chinese_units"]
    total, current = 0, None
    for ch in num:
        if ch in digits:
            if current is not None:
                return None                     # 二三: not a numeral
            current = digits[ch]
        elif ch in units:
            total += (1 if current is None else current) * units[ch]
            current = None
        else:
            return None
    return total + (current or 0)


def parse_value(num: str, mult: str | None) -> float:
    if not num[0].isdigit():
        value = Decimal(chinese_number(num) or 0)
    elif not mult:                             # one rounding, as float(Decimal(...)) makes it
        return float(num.replace(",", ""))
    else:
        value = Decimal(num.replace(",", ""))  # exact: 3.24万 is 32400, not 32400.000000000004
    multipliers = _conf()[0]["multipliers"]
    for ch in mult or "":
        value *= multipliers[ch]
    return float(value)


def document_year(ctx: Context) -> str | None:
    if "document_year" not in ctx.memo:      # asked for again by every figure with a period
        ctx.memo["document_year"] = _document_year(ctx)
    return ctx.memo["document_year"]


def _document_year(ctx: Context) -> str | None:
    date = str(ctx.doc.meta.get("date") or "")
    m = re.match(r"(\d{4})", date)
    if m:
        return m.group(1)
    m = YEAR.search(ctx.text)
    return m.group(1) if m else None


def period_of(ctx: Context, sentence_text: str, upto: int) -> str | None:
    """The period a figure belongs to, from the words before it in its sentence."""
    conf, _ = _conf()
    before = sentence_text[:upto]
    year = YEAR.findall(before)
    qualifier = None
    if _period_words().search(before):        # one scan rules out every period word at once
        qualifier = next((w for w in conf["period_words"] if w in before), None)
    months = MONTHS.search(before)
    if months:
        qualifier = months.group()
    if year:
        return year[-1] + (qualifier or "")
    if qualifier:
        base = document_year(ctx)
        if "去年" in before and base:
            base = str(int(base) - 1)
        return (base or "") + qualifier
    return None


@functools.lru_cache(maxsize=1)
def _period_words() -> re.Pattern:
    return re.compile(alternation(patterns()["statistics"]["period_words"]))


@relation_pass("statistics")
def statistics(ctx: Context) -> None:
    conf, rx = _conf()
    not_before, scope_after, not_after = _context_words()
    excluded_units = conf["chinese_excluded_units"]
    refs = coreferences(ctx)
    # The mentions of a sentence, found by bisection when a figure needs them: settled mentions
    # are in text order (grouping them all by sentence would cost more).
    mentions = ctx.mentions
    mention_starts = [a.start for a in mentions]

    def in_sentence(s):
        return mentions[bisect.bisect_left(mention_starts, s.start):
                        bisect.bisect_left(mention_starts, s.end)]

    for s in ctx.sentences:
        text = s.text
        found = []
        named = None                             # worked out at the sentence's first number
        quoted = "“" in text
        for m in rx.finditer(text):
            # Each test rules a number out on its own: the cheap ones first.
            start, end = m.span()
            num, mult, unit = m.group("num", "mult", "unit")
            if not num[0].isdigit():
                value = chinese_number(num)
                if not value or (value == 1 and not mult) or unit in excluded_units:
                    continue                     # 一 as an article; 两个大局, 八项规定 are names
            if start and TOKEN_CHAR.match(text, start - 1):
                continue                         # part of a larger token (T3-D, 72/144)
            if text[max(0, start - 2):start].endswith(not_before):
                continue
            if text.startswith(scope_after, m.start("unit")):
                continue
            if text[end:end + 3].startswith(not_after):
                continue
            if quoted and text.count("“", 0, start) > text.count("”", 0, start):
                continue                         # inside quotes: a slogan or a name
            if named is None:
                named = [(a.start - s.start, a.end - s.start) for a in in_sentence(s)
                         if a.cls != "CrimeType"]
            if named and inside_name(named, start, end):
                continue                         # a number inside a name: 十项措施, 72/144小时过境免签
            found.append((m, start, end, num, mult, unit))
        if not found:
            continue
        previous: list = []
        # Where the agencies named in the sentence end (sentence offsets, in order).
        agency_ends = [a.end - s.start for a in in_sentence(s) if a.cls == "Agency"]
        agency_ends.sort()
        # Most sentences name no period: then no figure of them has one (a word found before a
        # figure is found in its sentence), and period_of need not look before each.
        dated = YEAR.search(text) or _period_words().search(text) or MONTHS.search(text)
        cut = 0
        for m, start, end, num, mult, unit in found:
            # The metric starts after the previous figure and after any agency named before it.
            before = bisect.bisect_right(agency_ends, start)
            if before and agency_ends[before - 1] > cut:
                cut = agency_ends[before - 1]
            metric = metric_for(text, m, previous, cut)
            subject, confidence = subject_before(ctx, s.start + start, refs, sent=s.index)
            stat = StatisticFinding(parse_value(num, mult), unit, metric,
                                    period_of(ctx, text, start) if dated else None,
                                    s.start + start, s.start + end,
                                    m.group(), "statistics", round(min(0.85, confidence + 0.1), 2),
                                    s.index, subject)
            ctx.statistics.append(stat)
            previous.append(stat)
            cut = end                            # the next figure's metric starts after this one
    ctx.statistics = without_restatements(ctx.statistics, ctx)


def inside_name(named: list[tuple[int, int]], start: int, end: int) -> bool:
    """Does start:end overlap one of the `named` spans?"""
    for a, b in named:
        if a < end and start < b:
            return True
    return False


def without_restatements(stats: list, ctx: Context) -> list:
    """A figure told twice (in the headline and the body, or again later) is one statistic.

    Two findings are the same figure when value and unit agree and either the value is not a
    small count (a coincidence is unlikely), one of them is in the headline, or their metrics
    share a word. The surer finding stays (its reporter was found in its own sentence)."""
    def bigrams(text: str) -> set[str]:
        return {text[i:i + 2] for i in range(len(text) - 1)}

    kept: list = []
    same_figure: dict[tuple, list] = {}     # (value, unit) -> the findings kept with them
    for st in sorted(stats, key=lambda x: (-x.confidence, x.sentence)):
        others = same_figure.setdefault((st.value, st.unit), [])
        if others and any(st.value > 10 or 0 in (k.sentence, st.sentence)
                          or bigrams(k.metric) & bigrams(st.metric) for k in others):
            continue                         # a twin is kept already
        kept.append(st)
        others.append(st)
    return sorted(kept, key=lambda x: x.start)


def metric_for(sentence: str, m: re.Match, previous: list, previous_end: int) -> str:
    """What was counted: the words before the figure in its clause, or the words after it."""
    noise, totals, break_char, last_break, prepositions, rate_units = _metric_rules()
    start = m.start()
    # Between two figures of the same clause only the words after the first one count: the
    # head starts after the last clause break before the figure, or at previous_end if later.
    found = last_break.match(sentence, previous_end, start)
    head = sentence[found.end() if found else previous_end:start]
    head = noise.sub("", head.strip())
    # The counting verb often follows the subject after 共/累计: 全国移民管理机构共查验出入境人员.
    # (Without a total word the tail is the head, from which the noise is gone already.)
    if totals.search(head):
        tail = totals.split(head)[-1]
        if len(tail) >= 2:
            head = noise.sub("", tail)
    growth = growth_word(head)
    if not head and previous:                # …169.6%、119.2%: the rate list goes on
        growth = growth_word(previous[-1].metric)
    if growth and previous:
        # 分别同比增长169.6%、119.2%: the k-th rate belongs to the k-th figure before it.
        rates = [p for p in previous if p.unit in rate_units]
        counts = [p for p in previous if p.unit not in rate_units]
        base = counts[len(rates)].metric if len(rates) < len(counts) else counts[-1].metric if counts else ""
        return base + growth
    if head.rstrip("分别") == "" and previous:
        return previous[-1].metric
    # Nothing counted before the figure (为21名…, a lone verb: 完成1名…): read the words after it.
    if len(head) < 2 or head[-1] in prepositions \
            or word_tag(head).startswith("v"):
        tail = sentence[m.end():]
        stop = break_char.search(tail)
        head = tail[: stop.start()] if stop else tail
    return head.strip()[:40]


def growth_word(text: str) -> str | None:
    """The first growth word (in the order of the settings) that `text` ends with."""
    words = _growth_words()
    if not text.endswith(words):             # the common case, tested at once
        return None
    return next(w for w in words if text.endswith(w))


@functools.lru_cache(maxsize=1)
def _growth_words() -> tuple[str, ...]:
    return tuple(patterns()["statistics"]["growth_words"])
