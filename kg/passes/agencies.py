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
from ..lexicon import lexicon_entries
from .base import CJK, Context, alternation, anchored_matches, entity_pass


class PlaceNames(dict):
    """Surface form of a place -> its canonical label; `lengths` says, for each character, how
    long the forms that end with it are (longest first): a place that ends at some offset can
    only have one of those lengths, and most characters end none."""

    def __init__(self, forms: dict[str, str]):
        super().__init__(forms)
        lengths: dict[str, set[int]] = {}
        for form in forms:
            lengths.setdefault(form[-1], set()).add(len(form))
        self.lengths = {ch: sorted(ns, reverse=True) for ch, ns in lengths.items()}


@functools.lru_cache(maxsize=1)
def places() -> PlaceNames:
    """Every surface form of a known place -> its canonical label."""
    out: dict[str, str] = {}
    for e in lexicon_entries():
        if e.cls == "Location" and str(dict(e.attrs).get("ambiguous", "")) != "1":
            for form in (e.label, *e.aliases):
                out.setdefault(form, e.label)
    return PlaceNames(out)


@functools.lru_cache(maxsize=1)
def all_places() -> PlaceNames:
    """Like places(), ambiguous names included (safe where a level word follows: 中山市)."""
    out: dict[str, str] = {}
    for e in lexicon_entries():
        if e.cls == "Location":
            for form in (e.label, *e.aliases):
                out.setdefault(form, e.label)
    return PlaceNames(out)


@functools.lru_cache(maxsize=1)
def province_of() -> dict[str, str]:
    """Place label -> the label of its province-level division (itself for a province)."""
    entries = {e.label: e for e in lexicon_entries() if e.cls == "Location"}
    out = {}
    for label, e in entries.items():
        seen, cur = set(), e
        while cur is not None and cur.label not in seen:
            seen.add(cur.label)
            if cur.attrs.get("kind") in ("province", "municipality", "sar"):
                out[label] = cur.label
                break
            cur = entries.get(cur.attrs.get("parent", ""))
    return out


def word_ending_at(text: str, end: int, words: tuple[str, ...]) -> str:
    """The first of `words` (longest first) written right before `end`, or ""."""
    if not words or not text[max(0, end - len(words[0])):end].endswith(words):   # the common case
        return ""
    return next(w for w in words if text.startswith(w, end - len(w)))


def place_ending_at(text: str, end: int, max_len: int = 12, known: PlaceNames | None = None
                    ) -> tuple[int, str] | None:
    """The longest known place name that ends at `end` (<= len(text)): (start, canonical label)."""
    known = known if known is not None else places()
    for length in known.lengths.get(text[end - 1:end], ()):
        if 1 < length <= min(max_len, end):
            form = text[end - length:end]
            if form in known:
                return end - length, known[form]
    return None


@functools.lru_cache(maxsize=1)
def _suffix_regex():
    conf = patterns()["agencies"]
    border = sorted(conf["border_suffixes"], key=lambda s: -len(s["surface"]))
    table = {s["surface"]: s for s in border}
    rx = re.compile(alternation(table))
    facilities = tuple(sorted(conf["facilities"], key=len, reverse=True))
    return rx, table, facilities


@entity_pass("agency-structure")
def border_units(ctx: Context) -> None:
    rx, table, facilities = _suffix_regex()
    conf = patterns()["agencies"]
    text = ctx.text
    chain_end, chain_label, chain_place = -1, None, None
    for m in rx.finditer(text):
        suffix = table[m.group()]
        place, place_start, place_end = None, None, None
        facility = word_ending_at(text, m.start(), facilities)   # a port word before the suffix
        start = m.start() - len(facility)
        listed = start - 1 if not facility and text[start - 1:start] == "等" else start
        found = place_ending_at(text, listed)
        if found:
            place_end = listed
            place_start, place = found
            start = place_start
            # 广西、云南边检总站 / 鸡西、黑河、佳木斯等边境管理支队: the suffix serves every place.
            for other_start, other_end, other in places_listed_before(text, place_start):
                ctx.add("Agency", other + suffix["canonical"], other_start, other_end,
                        "agency-structure", 0.75, location=other, **unit_parent(suffix, other))
        in_chain = start == chain_end
        if place is None and in_chain and not facility:
            # Inside a chain a short unknown place is still a place: 临沧支队耿马大队.
            guess = re.search(rf"[{CJK}]{{2}}$", text[max(0, start - 2):start])
            if guess and not set(guess.group()) & set(conf["not_place_chars"]):
                place, place_start, place_end = guess.group(), start - 2, start
                start = place_start
        if place is None and facility and in_chain:
            place = chain_place                  # 上海边检总站机场边检站 -> 上海机场边检站
        if place is None:
            chain_end = -1
            continue
        # A general station takes its province's usual name (湖北省… -> 湖北边检总站); a lower unit
        # keeps the place as written (浦东边检站, not 浦东新区边检站).
        written = text[place_start:place_end] if place_start is not None else place
        label = (place if suffix["level"] == "general" else written) + facility + suffix["canonical"]
        attrs = {"location": place}
        if in_chain and chain_label and suffix["level"] != "general":
            attrs["parent"] = chain_label
        else:
            attrs.update(unit_parent(suffix, place))
        surface = text[start:m.end()]
        confidence = 0.85 if place in places() else 0.6
        ctx.add("Agency", label, start, m.end(), "agency-structure", confidence,
                aliases=(surface,), **attrs)
        if place_start is not None:
            ctx.add("Location", place, place_start, place_end, "agency-structure", confidence - 0.1)
        chain_end, chain_label, chain_place = m.end(), label, place


def general_suffix() -> str:
    """The canonical suffix of a general station (边检总站), from the suffix table."""
    return next(s["canonical"] for s in patterns()["agencies"]["border_suffixes"]
                if s["level"] == "general")


def unit_parent(suffix: dict, place: str) -> dict:
    """Where a unit written on its own belongs: a general station under the NIA; a lower unit
    under its province's general station, if the text names that station."""
    if suffix["level"] == "general":
        return {"parent": patterns()["agencies"]["general_station_parent"]}
    province = province_of().get(place)
    if province and province != place:
        return {"parent_if_named": province + general_suffix()}
    return {}


def places_listed_before(text: str, pos: int) -> list[tuple[int, int, str]]:
    """Places joined by 、/和/及 that end right before `pos` (nearest first)."""
    out = []
    while pos > 0 and text[pos - 1] in patterns()["words"]["list_joiners"]:
        found = place_ending_at(text, pos - 1)
        if not found:
            break
        out.append((found[0], pos - 1, found[1]))
        pos = found[0]
    return out


@functools.lru_cache(maxsize=1)
def _place_suffix_rules():
    conf = patterns()["agencies"]
    abbreviations = conf["abbreviations"]
    suffixes = sorted(conf["place_suffixes"] + list(abbreviations), key=len, reverse=True)
    levels = tuple(sorted(conf["place_levels"], key=len, reverse=True))
    return abbreviations, levels, re.compile(alternation(suffixes))


@entity_pass("agency-place-suffix")
def place_agencies(ctx: Context) -> None:
    abbreviations, levels, rx = _place_suffix_rules()
    text = ctx.text
    for m in rx.finditer(text):
        start = m.start()
        level = word_ending_at(text, start, levels)
        suffix = m.group()
        if suffix in abbreviations:
            if not level:                        # 厅/局 alone are too short to trust
                continue
            suffix = abbreviations[suffix]
        # With a level word (中山市) even a name that is also a common word is a place.
        found = place_ending_at(text, start - len(level), known=all_places() if level else None)
        if not found:
            continue
        place_start, place = found
        label = place + level + suffix
        ctx.add("Agency", label, place_start, m.end(), "agency-place-suffix", 0.75,
                aliases=(text[place_start:m.end()],), location=place)
        ctx.add("Location", place, place_start, start - len(level), "agency-place-suffix", 0.7)


@functools.lru_cache(maxsize=1)
def _department_rules():
    """(the department regex, known form -> the label of the agency it names, if not itself a
    department, function characters)."""
    from .lexicon_match import _forms
    conf = patterns()["agencies"]
    suffixes = alternation(conf["department_suffixes"])
    titled = "|".join(rf"{re.escape(s)}(?=副?{re.escape(t)})" for s, t in conf["department_titled"].items())
    rx = re.compile(rf"[{CJK}]{{2,{conf['department_max']}}}?(?:{suffixes}|{titled})")
    parents = {}
    for form, entries in _forms().items():
        found = [e for e in entries if e.cls == "Agency" and e.attrs.get("kind") != "department"]
        if found:
            parents[form] = found[0].label
    return rx, parents, set(patterns()["words"]["function_chars"])


@entity_pass("agency-department")
def departments(ctx: Context) -> None:
    """A department written right after its parent: 国家移民管理局综合司 (parent + name + suffix)."""
    from .lexicon_match import matches
    rx, parents, function_chars = _department_rules()
    text = ctx.text
    for end_index, (form, _) in matches(ctx):
        parent = parents.get(form)
        if parent is None:
            continue
        start, end = end_index - len(form) + 1, end_index + 1
        m = rx.match(text, end)
        if not m or not function_chars.isdisjoint(m.group()):
            continue
        ctx.add("Agency", parent + m.group(), start, m.end(), "agency-department", 0.7,
                aliases=(m.group(),), parent=parent)


@functools.lru_cache(maxsize=1)
def _organ_regex():
    return re.compile(alternation(patterns()["agencies"]["organ_suffixes"]))


@entity_pass("agency-organ")
def organs(ctx: Context) -> None:
    """Bodies named by their remit: 黑龙江省应对新冠肺炎疫情工作领导小组指挥部 (the name runs back
    to the place that opens it, within the clause)."""
    conf = patterns()["agencies"]
    known = places()
    text = ctx.text
    for m in _organ_regex().finditer(text):
        window_start = max(0, m.start() - conf["organ_max_middle"] - 6)
        clause = re.split(r"[，。；：、,;:（）()“”\s]", text[window_start:m.start()])[-1]
        begin = m.start() - len(clause)
        for start in range(begin, m.start() - 2):
            place = next((known[text[start:start + n]] for n in (6, 5, 4, 3, 2)
                          if text[start:start + n] in known), None)
            if place:
                ctx.add("Agency", text[start:m.end()], start, m.end(), "agency-organ", 0.6,
                        location=place)
                break


@functools.lru_cache(maxsize=1)
def _stretch_regex():
    """The stretch regex, the stretch words (its anchors) and how far into a match they start."""
    conf = patterns()["locations"]
    sides = re.escape(conf["sides"])
    directions = alternation(conf["directions"])
    stretches = alternation(conf["stretches"])
    reach = max([2] + [len(d) for d in conf["directions"]])
    return (re.compile(rf"(?:[{sides}]{{2}}|{directions})(?:{stretches})"),
            re.compile(stretches), reach)


@entity_pass("location-stretch")
def border_stretches(ctx: Context) -> None:
    """Border stretches and waters: 中越边境, 粤港海域, 西南边境."""
    conf = patterns()["locations"]
    rx, stretch_words, reach = _stretch_regex()
    for m in anchored_matches(rx, stretch_words, ctx.text, reach):
        if m.group()[0] == m.group()[1]:
            continue
        name = m.group()
        for long_form, short in conf["stretch_canonical"].items():   # 中越边境地区 -> 中越边境
            if name.endswith(long_form):
                name = name[: -len(long_form)] + short
        ctx.add("Location", name, m.start(), m.end(), "location-stretch", 0.6)


@functools.lru_cache(maxsize=1)
def place_kind() -> dict[str, str]:
    return {e.label: e.attrs.get("kind", "") for e in lexicon_entries() if e.cls == "Location"}


@functools.lru_cache(maxsize=1)
def _port_regex():
    return re.compile(alternation(patterns()["locations"]["port_suffixes"]))


@entity_pass("location-port")
def ports(ctx: Context) -> None:
    """Ports and crossings named after a place: 中山港, 深圳湾口岸, 九洲港客运站."""
    known = all_places()                  # the suffix makes even a common-word name a place
    unit_rx = _suffix_regex()[0]
    for m in _port_regex().finditer(ctx.text):
        found = place_ending_at(ctx.text, m.start(), known=known)
        if not found:
            continue
        start, place = found
        name = ctx.text[start:m.end()]
        if name in known or name.endswith("港") and len(name) <= 2:
            continue                      # already a known place (香港 is not 香 + 港)
        if place_kind().get(place) == "region" or re.match(unit_rx, ctx.text[m.end():m.end() + 9]):
            continue                      # 港澳口岸 is no port; 青岛机场边检站 names a unit, not a place
        ctx.add("Location", name, start, m.end(), "location-port", 0.6, kind="port", parent=place)
