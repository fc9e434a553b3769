"""Laws named in book-title marks or by their full name, and crime types named after a verb of
enforcement (打击X犯罪) that the lexicon does not know."""
from __future__ import annotations

import re

from ..config import patterns
from .base import CJK, Context, entity_pass


@entity_pass("law-title")
def titled_laws(ctx: Context) -> None:
    conf = patterns()["laws"]
    endings = "|".join(map(re.escape, sorted(conf["endings"], key=len, reverse=True)))
    for m in re.finditer(rf"《\s*([^《》\n]{{2,40}}?(?:{endings}))\s*》", ctx.text):
        ctx.add("Law", m.group(1), m.start(), m.end(), "law-title", 0.85, aliases=(m.group(),))
    prefix = re.escape(conf["prefix"])
    for m in re.finditer(rf"{prefix}[{CJK}]{{2,20}}?(?:法|条例)(?![{CJK}]*》)", ctx.text):
        ctx.add("Law", m.group(), m.start(), m.end(), "law-title", 0.8)


@entity_pass("crime-verb")
def verb_crimes(ctx: Context) -> None:
    conf = patterns()["crimes"]
    verbs = "|".join(map(re.escape, sorted(conf["verbs"], key=len, reverse=True)))
    suffixes = "|".join(map(re.escape, conf["suffixes"]))
    rx = re.compile(rf"(?:{verbs})([{CJK}（）()]{{2,{conf['max_length']}}}?(?:{suffixes}))")
    for m in rx.finditer(ctx.text):
        name = m.group(1)
        if any(name.startswith(p) for p in conf["reject_prefixes"]) or name in conf["suffixes"] \
                or "的" in name:
            continue
        ctx.add("CrimeType", name, m.start(1), m.end(1), "crime-verb", 0.6)
