"""Campaigns: quoted operation names (“獴猎”行动—2022), quoted lists before 专项行动
(“獴猎”“夏季行动”等专项行动), and names ending in a campaign suffix that run back to the verb
that opens them (开展 平安边境模范系列创建活动)."""
from __future__ import annotations

import functools
import re

from ..config import patterns
from .base import CJK, Context, alternation, char_matches, entity_pass, initials

BREAKS = "，,。；;：:！？!?\n"
SPACE = re.compile(r"\s")
QUOTED = re.compile(r"“\s*([^“”\n]{1,12}?)\s*”")
SPACE_OR_QUOTE = re.compile(r"[\s“”]")


@functools.lru_cache(maxsize=1)
def _quoted_regexes() -> tuple[re.Pattern, re.Pattern, list[str]]:
    tails = patterns()["campaigns"]["quoted_list_tail"]
    # “獴猎”行动, “獴猎”行动—2022, “净边2023”专项行动
    named = re.compile(
        rf"“\s*([{CJK}A-Za-z0-9·\s]{{1,12}}?)\s*”\s*(专项行动|行动)(?:\s*[—-]\s*\d{{4}})?")
    # (?=“): a fast scan (and where a match can start: see char_matches)
    listed = re.compile(rf"(?=“)((?:“[^“”\n]{{1,12}}”\s*)+)(?:{alternation(tails)})")
    return named, listed, tails


@entity_pass("campaign-quoted")
def quoted_campaigns(ctx: Context) -> None:
    text = ctx.text
    named, listed, tails = _quoted_regexes()
    for m in named.finditer(text):
        core = SPACE.sub("", m.group(1))
        ctx.add("Campaign", core + "行动", m.start(), m.end(), "campaign-quoted", 0.85,
                aliases=(m.group(),))
    if not any(w in text for w in tails):   # a quoted list needs a tail word (等专项行动)
        return
    for m in char_matches(listed, "“", text):
        for q in QUOTED.finditer(m.group(1)):
            core = SPACE.sub("", q.group(1))
            name = core if core.endswith("行动") else core + "行动"
            start = m.start(1) + q.start()
            ctx.add("Campaign", name, start, m.start(1) + q.end(), "campaign-quoted", 0.8,
                    aliases=(q.group(),))


@functools.lru_cache(maxsize=1)
def _suffix_rules():
    conf = patterns()["campaigns"]
    suffixes = [s for s in conf["suffixes"] if s not in conf["quoted_only_suffixes"]]
    openers = sorted(conf["openers"], key=len, reverse=True)
    return (conf, openers, re.compile(alternation(suffixes)), re.compile(conf["count_prefix"]),
            initials(suffixes))


@entity_pass("campaign-suffix")
def suffixed_campaigns(ctx: Context) -> None:
    conf, openers, rx, count_prefix, suffix_initials = _suffix_rules()
    text = ctx.text
    for m in char_matches(rx, suffix_initials, text):       # (few, rare first characters)
        window_start = max(0, m.start() - conf["max_length"])
        left = text[window_start:m.start()]
        cut = max((left.rfind(ch) for ch in BREAKS), default=-1) + 1
        best = cut
        for verb in openers:
            pos = left.rfind(verb)
            if pos >= 0 and pos + len(verb) > best:
                best = pos + len(verb)
        start = window_start + best
        start += agency_prefix(text, start, m.start())   # 公安部集中打击…专项斗争: 公安部 runs it
        rounds = count_prefix.match(text[start:m.start()])
        if rounds:
            start += rounds.end()                         # 三次夏夜治安巡查…行动
        name = text[start:m.end()]
        core = name[: -len(m.group())]
        if len(SPACE_OR_QUOTE.sub("", core)) < 2 or "等" in core or "“" in core \
                or any(core.startswith(w) for w in conf["bad_starts"]):
            continue
        if best == cut and cut == 0 and window_start > 0:
            continue                      # no opener and no clause start within reach
        ctx.add("Campaign", name, start, m.end(), "campaign-suffix", 0.75)


def agency_prefix(text: str, start: int, end: int) -> int:
    """Length of a known agency name at the start of text[start:end] (0 if none)."""
    from .lexicon_match import find_forms
    best = 0
    for end_index, (form, entries) in find_forms(text, start, end):
        if end_index - len(form) + 1 == start and any(e.cls == "Agency" for e in entries):
            best = max(best, len(form))
    return best
