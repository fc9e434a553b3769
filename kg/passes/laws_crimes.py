"""Laws named in book-title marks or by their full name, and crime types named after a verb of
enforcement (打击X犯罪) that the lexicon does not know."""
from __future__ import annotations

import re

from ..config import patterns
from ..segment import word_tag
from .base import CJK, Context, alternation, entity_pass, first_chars


@entity_pass("law-title")
def titled_laws(ctx: Context) -> None:
    conf = patterns()["laws"]
    endings = alternation(conf["endings"])
    for m in re.finditer(rf"《\s*([^《》\n]{{2,40}}?(?:{endings}))\s*》", ctx.text):
        ctx.add("Law", m.group(1), m.start(), m.end(), "law-title", 0.85, aliases=(m.group(),))
    prefix = re.escape(conf["prefix"])
    for m in re.finditer(rf"{prefix}[{CJK}]{{2,20}}?(?:法|条例)(?![{CJK}]*》)", ctx.text):
        ctx.add("Law", m.group(), m.start(), m.end(), "law-title", 0.8)


@entity_pass("crime-verb")
def verb_crimes(ctx: Context) -> None:
    conf = patterns()["crimes"]
    verbs = alternation(conf["verbs"])
    suffixes = alternation(conf["suffixes"])
    rx = re.compile(rf"(?:{verbs})([{CJK}（）()]{{2,{conf['max_length']}}}?(?:{suffixes}))")
    for m in rx.finditer(ctx.text):
        start = strip_openers(m.group(1), conf["verbs"] + conf["reject_prefixes"] + ["依法"])
        name = m.group(1)[start:]
        if len(name) < 4 or name in conf["suffixes"] or \
                set(name) & set(patterns()["words"]["function_chars"]):
            continue
        ctx.add("CrimeType", name, m.start(1) + start, m.end(1), "crime-verb", 0.6)


def strip_openers(name: str, openers: list[str]) -> int:
    """How many leading characters are verbs or quantifiers, not part of the name."""
    start, changed = 0, True
    while changed:
        changed = False
        for w in sorted(openers, key=len, reverse=True):
            if name.startswith(w, start):
                start += len(w)
                changed = True
                break
    return start


@entity_pass("crime-compound")
def compound_crimes(ctx: Context) -> None:
    """A noun before a crime word names a kind of that crime: 婚姻诈骗 (not 实施诈骗)."""
    heads = patterns()["crimes"]["compound_heads"]
    # At the crime word, with two Chinese characters before it (found from the crime word: faster).
    for m in re.finditer(rf"{first_chars(heads)}(?<=[{CJK}]{{2}})(?=({alternation(heads)}))", ctx.text):
        start, end = m.start() - 2, m.start() + len(m.group(1))
        tag = word_tag(ctx.text[start:m.start()])   # a common noun: not a name (nr) or a place (ns)
        if tag.startswith("n") and not tag.startswith(("nr", "ns")):
            ctx.add("CrimeType", ctx.text[start:end], start, end, "crime-compound", 0.6)


@entity_pass("crime-involving")
def involving_crimes(ctx: Context) -> None:
    """Crimes named by what they involve: 涉边违法犯罪, 涉毒犯罪."""
    for m in re.finditer(patterns()["crimes"]["involving"], ctx.text):
        ctx.add("CrimeType", m.group(), m.start(), m.end(), "crime-involving", 0.65)


@entity_pass("crime-in-campaign")
def campaign_crimes(ctx: Context) -> None:
    """A campaign named after a crime names that crime type: 集中打击X犯罪专项斗争 -> X犯罪."""
    conf = patterns()["crimes"]
    suffixes = alternation(conf["suffixes"])
    campaign_suffixes = alternation(patterns()["campaigns"]["suffixes"])
    for c in [m for m in ctx.mentions if m.cls == "Campaign"]:
        name = ctx.text[c.start:c.end]
        m = re.match(rf"(.*?(?:{suffixes}))(?:{campaign_suffixes})$", name)
        if not m:
            continue
        skip = strip_openers(m.group(1), conf["campaign_openers"])
        crime = m.group(1)[skip:]
        if len(crime) >= 4 and crime not in conf["suffixes"]:
            ctx.add("CrimeType", crime, c.start + skip, c.start + len(m.group(1)), "crime-in-campaign", 0.7)
