"""Agencies recognised by the structure of their names, not by a list.

Border-inspection units are written as chains, from the top down: 云南边检总站临沧支队耿马大队,
上海边检总站机场边检站. Each link is a place (or a port word that borrows the place of the link
before it) plus a unit suffix; consecutive links are sub-organisations of each other. Other
agencies are a known place plus an agency suffix: 湖北省公安厅.
"""
from __future__ import annotations

import functools
import re

from ..config import patterns
from ..lexicon import load_lexicons
from .base import CJK, Context, entity_pass

NIA = "国家移民管理局"


@functools.lru_cache(maxsize=1)
def places() -> dict[str, str]:
    """Every surface form of a known place -> its canonical label."""
    out: dict[str, str] = {}
    for e in load_lexicons():
        if e.cls == "Location" and str(dict(e.attrs).get("ambiguous", "")) != "1":
            for form in (e.label, *e.aliases):
                out.setdefault(form, e.label)
    return out


def place_ending_at(text: str, end: int, max_len: int = 12) -> tuple[int, str] | None:
    """The longest known place name that ends at `end`: (start, canonical label)."""
    known = places()
    for length in range(min(max_len, end), 1, -1):
        form = text[end - length:end]
        if form in known:
            return end - length, known[form]
    return None


@functools.lru_cache(maxsize=1)
def _suffix_regex():
    conf = patterns()["agencies"]
    border = sorted(conf["border_suffixes"], key=lambda s: -len(s["surface"]))
    table = {s["surface"]: s for s in border}
    rx = re.compile("|".join(re.escape(s["surface"]) for s in border))
    facilities = sorted(conf["facilities"], key=len, reverse=True)
    return rx, table, facilities


@entity_pass("agency-structure")
def border_units(ctx: Context) -> None:
    rx, table, facilities = _suffix_regex()
    text = ctx.text
    chain_end, chain_label, chain_place = -1, None, None
    for m in rx.finditer(text):
        suffix = table[m.group()]
        start, facility, place, place_start, place_end = m.start(), "", None, None, None
        for word in facilities:                 # a port word right before the suffix
            if text.startswith(word, start - len(word)):
                facility, start = word, start - len(word)
                break
        found = place_ending_at(text, start)
        if found:
            place_end = start
            place_start, place = found
            start = place_start
        in_chain = start == chain_end
        if place is None and in_chain and not facility:
            # Inside a chain a short unknown place is still a place: 临沧支队耿马大队.
            guess = re.search(rf"[{CJK}]{{2}}$", text[max(0, start - 2):start])
            if guess and not re.search(r"[一二三四五六七八九十执勤各级党]", guess.group()):
                place, place_start, place_end = guess.group(), start - 2, start
                start = place_start
        if place is None and facility and in_chain:
            place = chain_place                  # 上海边检总站机场边检站 -> 上海机场边检站
        if place is None:
            chain_end = -1
            continue
        label = place + facility + suffix["canonical"]
        attrs = {"location": place}
        if suffix["level"] == "general":
            attrs["parent"] = NIA
        elif in_chain and chain_label:
            attrs["parent"] = chain_label
        surface = text[start:m.end()]
        confidence = 0.85 if place in places() else 0.6
        ctx.add("Agency", label, start, m.end(), "agency-structure", confidence,
                aliases=(surface,), **attrs)
        if place_start is not None:
            ctx.add("Location", place, place_start, place_end, "agency-structure", confidence - 0.1)
        chain_end, chain_label, chain_place = m.end(), label, place


@entity_pass("agency-place-suffix")
def place_agencies(ctx: Context) -> None:
    conf = patterns()["agencies"]
    suffixes = sorted(conf["place_suffixes"], key=len, reverse=True)
    levels = sorted(conf["place_levels"], key=len, reverse=True)
    rx = re.compile("|".join(map(re.escape, suffixes)))
    text = ctx.text
    for m in rx.finditer(text):
        start = m.start()
        level = next((lv for lv in levels if text.startswith(lv, start - len(lv))), "")
        found = place_ending_at(text, start - len(level))
        if not found:
            continue
        place_start, place = found
        label = place + level + m.group()
        ctx.add("Agency", label, place_start, m.end(), "agency-place-suffix", 0.75,
                aliases=(text[place_start:m.end()],), location=place)
        ctx.add("Location", place, place_start, start - len(level), "agency-place-suffix", 0.7)
