"""Laws named in book-title marks or by their full name, and crime types named after a verb of
enforcement (打击X犯罪) that the lexicon does not know."""
from __future__ import annotations

import functools
import re

from ..config import patterns
from ..segment import word_tag
from .base import CJK, Context, alternation, entity_pass, first_chars, initials, lookahead_matches


@functools.lru_cache(maxsize=1)
def _law_regexes():
    conf = patterns()["laws"]
    endings = alternation(conf["endings"])
    prefix = re.escape(conf["prefix"])
    return (re.compile(rf"《\s*([^《》\n]{{2,40}}?(?:{endings}))\s*》"),
            re.compile(rf"{prefix}[{CJK}]{{2,20}}?(?:法|条例)(?![{CJK}]*》)"))


@entity_pass("law-title")
def titled_laws(ctx: Context) -> None:
    titled, prefixed = _law_regexes()
    for m in titled.finditer(ctx.text):
        ctx.add("Law", m.group(1), m.start(), m.end(), "law-title", 0.85, aliases=(m.group(),))
    for m in prefixed.finditer(ctx.text):
        ctx.add("Law", m.group(), m.start(), m.end(), "law-title", 0.8)


@functools.lru_cache(maxsize=1)
def _verb_crime_rules():
    conf = patterns()["crimes"]
    verbs = alternation(conf["verbs"])
    suffixes = alternation(conf["suffixes"])
    rx = re.compile(rf"(?:{verbs})([{CJK}（）()]{{2,{conf['max_length']}}}?(?:{suffixes}))")
    return conf, rx, conf["verbs"] + conf["reject_prefixes"] + ["依法"]


@entity_pass("crime-verb")
def verb_crimes(ctx: Context) -> None:
    conf, rx, openers = _verb_crime_rules()
    for m in rx.finditer(ctx.text):
        start = strip_openers(m.group(1), openers)
        name = m.group(1)[start:]
        if len(name) < 4 or name in conf["suffixes"] or \
                set(name) & set(patterns()["words"]["function_chars"]):
            continue
        ctx.add("CrimeType", name, m.start(1) + start, m.end(1), "crime-verb", 0.6)


def strip_openers(name: str, openers: list[str]) -> int:
    """How many leading characters are verbs or quantifiers, not part of the name."""
    openers = _longest_first(tuple(openers))
    start, changed = 0, True
    while changed:
        changed = False
        for w in openers:
            if name.startswith(w, start):
                start += len(w)
                changed = True
                break
    return start


@functools.lru_cache(maxsize=None)
def _longest_first(words: tuple[str, ...]) -> list[str]:
    return sorted(words, key=len, reverse=True)


@entity_pass("crime-compound")
def compound_crimes(ctx: Context) -> None:
    """A noun before a crime word names a kind of that crime: 婚姻诈骗 (not 实施诈骗)."""
    # At the crime word, with two Chinese characters before it (found from the crime word: faster).
    rx, heads = _compound_regex()
    for m in lookahead_matches(rx, heads, ctx.text):
        start, end = m.start() - 2, m.start() + len(m.group(1))
        tag = word_tag(ctx.text[start:m.start()])   # a common noun: not a name (nr) or a place (ns)
        if tag.startswith("n") and not tag.startswith(("nr", "ns")):
            ctx.add("CrimeType", ctx.text[start:end], start, end, "crime-compound", 0.6)


@functools.lru_cache(maxsize=1)
def _compound_regex() -> tuple[re.Pattern, str]:
    """The place of a crime word with two Chinese characters before it, and the first
    characters of the crime words (few and rare: see lookahead_matches)."""
    heads = patterns()["crimes"]["compound_heads"]
    return (re.compile(rf"{first_chars(heads)}(?<=[{CJK}]{{2}})(?=({alternation(heads)}))"),
            initials(heads))


@entity_pass("crime-involving")
def involving_crimes(ctx: Context) -> None:
    """Crimes named by what they involve: 涉边违法犯罪, 涉毒犯罪."""
    for m in re.finditer(patterns()["crimes"]["involving"], ctx.text):
        ctx.add("CrimeType", m.group(), m.start(), m.end(), "crime-involving", 0.65)


@entity_pass("crime-in-campaign")
def campaign_crimes(ctx: Context) -> None:
    """A campaign named after a crime names that crime type: 集中打击X犯罪专项斗争 -> X犯罪."""
    conf = patterns()["crimes"]
    rx = _campaign_crime_regex()
    for c in [m for m in ctx.mentions if m.cls == "Campaign"]:
        name = ctx.text[c.start:c.end]
        m = rx.match(name)
        if not m:
            continue
        skip = strip_openers(m.group(1), conf["campaign_openers"])
        crime = m.group(1)[skip:]
        if len(crime) >= 4 and crime not in conf["suffixes"]:
            ctx.add("CrimeType", crime, c.start + skip, c.start + len(m.group(1)), "crime-in-campaign", 0.7)


@functools.lru_cache(maxsize=1)
def _campaign_crime_regex() -> re.Pattern:
    suffixes = alternation(patterns()["crimes"]["suffixes"])
    campaign_suffixes = alternation(patterns()["campaigns"]["suffixes"])
    return re.compile(rf"(.*?(?:{suffixes}))(?:{campaign_suffixes})$")
