"""Relations read from the clause around two findings.

Who is the subject of a clause matters to most of them: an agency is the subject when it is not
an object (after 联合, 与, 向 …). A clause without one carries the subject over from earlier in
the paragraph; a document whose clauses name no agency falls back to the agency it is about
(the one it names most often). The confidence of each relation says which of these it used.
"""
from __future__ import annotations

import bisect
import functools
import re
from collections import Counter

from ..config import patterns
from ..model import Mention
from .base import Context, relation_pass

SENTENCE_BREAK = re.compile(r"[。；;]")
TIME_CLAUSE = re.compile(r"自[^，。；]*?(?:以来|起)")
CLAUSE_END = re.compile(r"[，,。；;]")


@functools.lru_cache(maxsize=1)
def _rel_conf():
    return patterns()["relations"]


def pseudo(ctx: Context, cls: str, name: str, like: Mention | None = None, **attrs) -> Mention:
    """A mention that is implied, not written (总理 -> 国务院, 移民管理机构 -> 国家移民管理局)."""
    start = like.start if like else -1
    end = like.end if like else -1
    return Mention(cls=cls, name=name, start=start, end=end, surface="", pass_name="implied",
                   confidence=0.6, sentence=like.sentence if like else -1, attrs=attrs)


def coreferences(ctx: Context) -> list[Mention]:
    """Generic phrases standing for a known agency, as implied mentions."""
    if "coreferences" not in ctx.memo:
        ctx.memo["coreferences"] = _coreferences(ctx)
    return ctx.memo["coreferences"]


def _coreferences(ctx: Context) -> list[Mention]:
    out = []
    inside_agency = None
    for phrase, rx, target in _coreference_rules():
        if phrase not in ctx.text:               # a quicker test than the regex scan
            continue
        for m in rx.finditer(ctx.text):
            if inside_agency is None:            # worked out at the first phrase found
                inside_agency = _covered_test([a for a in ctx.mentions if a.cls == "Agency"])
            if inside_agency(m.start()):
                continue
            ref = pseudo(ctx, "Agency", target)
            ref.start, ref.end = m.start(), m.end()
            ref.sentence = ctx.sentence_index(m.start())
            out.append(ref)
    return out


def _covered_test(spans: list[Mention]):
    """A test of whether an offset lies in one of `spans`: of the spans that start at or before
    it, one must end after it (a bisection instead of a scan of them all)."""
    starts, reach, furthest = [], [], -1
    for a in sorted(spans, key=lambda a: a.start):
        starts.append(a.start)
        furthest = max(furthest, a.end)
        reach.append(furthest)               # the furthest end of the spans up to this one
    def covered(offset: int) -> bool:
        i = bisect.bisect_right(starts, offset) - 1
        return i >= 0 and reach[i] > offset
    return covered


@functools.lru_cache(maxsize=1)
def _coreference_rules() -> list[tuple[str, re.Pattern, str]]:
    return [(phrase, re.compile(re.escape(phrase)), target)
            for phrase, target in patterns()["agencies"]["coreference"].items()]


def is_object(ctx: Context, m: Mention) -> bool:
    """Not the subject of its clause: an object (联合X), a modifier (X常务会议), or too far
    into its clause to be the one acting (…报列公安部挂账督办)."""
    # It depends on the span alone, and relation passes ask about the same agencies many times.
    known = ctx.memo.get("is_object")
    if known is None:
        known = ctx.memo["is_object"] = {}
    key = (m.start, m.end)
    found = known.get(key)
    if found is None:
        found = known[key] = _is_object(ctx, m)
    return found


def _is_object(ctx: Context, m: Mention) -> bool:
    chained = ctx.agency_ending_at.get(m.start)
    if chained is not None:                   # 云南边检总站临沧支队耿马大队: the chain's head decides
        return is_object(ctx, chained)
    max_offset, object_markers, non_subject_after = _object_rules()
    if m.start - clause_start(ctx, m.start) > max_offset:
        return True
    before = ctx.text[max(0, m.start - 4):m.start]
    if before.endswith(object_markers):
        return True
    return ctx.text.startswith(non_subject_after, m.end)


@functools.lru_cache(maxsize=1)
def _object_rules() -> tuple[int, tuple[str, ...], tuple[str, ...]]:
    return (_rel_conf()["subject_max_offset"], _word_tuple("object_markers"),
            _word_tuple("non_subject_after"))


@functools.lru_cache(maxsize=None)
def _word_tuple(key: str) -> tuple[str, ...]:
    """A word list of the relations settings as a tuple: str.startswith/endswith take one."""
    return tuple(_rel_conf()[key])


@functools.lru_cache(maxsize=1)
def _break_char():
    breaks = patterns()["sentence"]["clause_breaks"] + patterns()["sentence"]["enders"] + "\n"
    return re.compile(f"[{re.escape(breaks)}]")


def clause_start(ctx: Context, offset: int) -> int:
    """Where the clause holding `offset` starts: right after the last clause break before it."""
    breaks = ctx.memo.get("clause_breaks")
    if breaks is None:                   # the breaks of the document, found once
        breaks = ctx.memo["clause_breaks"] = [m.start() for m in _break_char().finditer(ctx.text)]
    # Look back a bounded distance: a run-on clause must not make every lookup scan the text.
    floor = max(0, offset - 300)
    i = bisect.bisect_left(breaks, offset) - 1
    return breaks[i] + 1 if i >= 0 and breaks[i] >= floor else floor


def agencies_in(ctx: Context, sentence: int, refs: list[Mention]) -> list[Mention]:
    return agencies_by_sentence(ctx, refs).get(sentence, [])


def agencies_by_sentence(ctx: Context, refs: list[Mention]) -> dict[int, list[Mention]]:
    """Sentence index -> its agencies and coreferences, in order (grouped once per document)."""
    by_sentence = ctx.memo.get("agencies_by_sentence")
    if by_sentence is None:
        by_sentence = {}
        for m in [m for m in ctx.mentions if m.cls == "Agency"] + list(refs):
            by_sentence.setdefault(m.sentence, []).append(m)
        for found in by_sentence.values():
            found.sort(key=lambda m: m.start)
        ctx.memo["agencies_by_sentence"] = by_sentence
    return by_sentence


def dominant_agency(ctx: Context) -> Mention | None:
    """The agency the document is about: named most often as a subject, and in the title."""
    if "dominant_agency" not in ctx.memo:
        ctx.memo["dominant_agency"] = _dominant_agency(ctx)
    return ctx.memo["dominant_agency"]


def _dominant_agency(ctx: Context) -> Mention | None:
    title = str(ctx.doc.meta.get("title") or "")
    scores: Counter = Counter()
    first: dict[str, Mention] = {}
    for m in ctx.mentions:
        if m.cls != "Agency" or m.start < 0:
            continue
        first.setdefault(m.name, m)
        scores[m.name] += 0.2 if is_object(ctx, m) else 1.0
        if m.sentence == 0:
            scores[m.name] += 1.0
    for name in scores:
        if name in title:
            scores[name] += 2.0
    if not scores:
        return None
    best = max(scores, key=lambda n: (scores[n], -first[n].start))
    return first[best]


def reporting_agency(ctx: Context, refs: list[Mention]) -> Mention | None:
    """The agency a reporting frame names as the source: 从国家移民管理局了解到, 据公安部通报."""
    if "reporting_agency" not in ctx.memo:
        ctx.memo["reporting_agency"] = _reporting_agency(ctx, refs)
    return ctx.memo["reporting_agency"]


def _reporting_agency(ctx: Context, refs: list[Mention]) -> Mention | None:
    frames = _rel_conf()["reporting_frames"]
    before_words, after_words = tuple(frames["before"]), tuple(frames["after"])
    for m in sorted([a for a in ctx.mentions if a.cls == "Agency" and a.start >= 0] + refs,
                    key=lambda a: a.start):
        before = ctx.text[max(0, m.start - 3):m.start]
        after = ctx.text[m.end:m.end + 4]
        if before.endswith(before_words) and after.startswith(after_words):
            return m
    return None


def in_time_clause(ctx: Context, m: Mention) -> bool:
    """Inside 自…以来 / 自…起: a background event, not the clause's subject."""
    if m.sentence < 0:
        return False
    spans = ctx.memo.setdefault("time_clauses", {})
    if m.sentence not in spans:                      # found once per sentence
        sentence = ctx.sentences[m.sentence]
        spans[m.sentence] = [(sentence.start + x.start(), sentence.start + x.end())
                             for x in TIME_CLAUSE.finditer(sentence.text)]
    return any(a <= m.start < b for a, b in spans[m.sentence])


def subject_before(ctx: Context, offset: int, refs: list[Mention], nested_in: Mention | None = None,
                   sent: int | None = None) -> tuple[Mention | None, float]:
    """The agency that is the subject at `offset` (in sentence `sent`, if the caller knows it),
    with how sure we are of it."""
    if sent is None:
        sent = ctx.sentence_index(offset)
    for a in reversed(acting_in(ctx, sent, refs)):       # the last one before `offset`
        if a.end <= offset and not (nested_in and nested_in.start <= a.start < nested_in.end):
            return a, 0.8
    # A reporting frame (从X获悉) names the source of everything that follows it.
    source = reporting_agency(ctx, refs)
    if source is not None and source.start < offset:
        return source, 0.7
    carried = ctx.memo.get("carried_subject")
    if carried is None:
        carried = ctx.memo["carried_subject"] = {}
    found = carried.get(sent)
    if found is None:                        # the same for every figure of the sentence
        found = carried[sent] = _carried_subject(ctx, sent, refs)
    return found


def _carried_subject(ctx: Context, sent: int, refs: list[Mention]) -> tuple[Mention | None, float]:
    # Carry the subject over from earlier sentences of the same paragraph.
    para = ctx.paragraphs[sent] if sent >= 0 else -1
    for prev in range(sent - 1, -1, -1):
        if ctx.paragraphs[prev] != para:
            break
        subject = last_subject(ctx, prev, refs)
        if subject is not None:
            return subject, 0.65
    main = dominant_agency(ctx)
    return main, 0.5


def acting_in(ctx: Context, sentence: int, refs: list[Mention]) -> list[Mention]:
    """The agencies of a sentence that act in it (not objects, not in a time clause), in order.
    Worked out once per sentence: every figure and campaign asks for the subject before it."""
    known = ctx.memo.get("acting_in")
    if known is None:
        known = ctx.memo["acting_in"] = {}
    found = known.get(sentence)
    if found is None:
        found = known[sentence] = [a for a in agencies_in(ctx, sentence, refs)
                                   if not is_object(ctx, a) and not in_time_clause(ctx, a)]
    return found


def last_subject(ctx: Context, sentence: int, refs: list[Mention]) -> Mention | None:
    """The last agency of a sentence that acts in it."""
    acting = acting_in(ctx, sentence, refs)
    return acting[-1] if acting else None


@relation_pass("org-structure")
def org_structure(ctx: Context) -> None:
    """A unit's parent and the place in its name, from the lexicon or the structure of the name."""
    named = {(m.cls, m.name): m for m in ctx.mentions}
    for m in [m for m in ctx.mentions if m.cls == "Agency"]:
        parent = m.attrs.get("parent")
        if parent and parent != m.name:
            target = named.get(("Agency", parent))
            chained = m.pass_name == "agency-structure" and \
                parent != patterns()["agencies"]["general_station_parent"]
            if target or chained:
                ctx.relate("subOrganizationOf", m, target or pseudo(ctx, "Agency", parent, m),
                           "org-structure", 0.9 if target else 0.75, m.sentence)
        guess = m.attrs.get("parent_if_named")
        if not parent and guess and ("Agency", guess) in named:
            ctx.relate("subOrganizationOf", m, named[("Agency", guess)], "org-structure", 0.7,
                       m.sentence)
        place = m.attrs.get("location")
        if place:
            target = named.get(("Location", place))
            ctx.relate("locatedIn", m, target or pseudo(ctx, "Location", place, m),
                       "org-structure", 0.85, m.sentence)


def title_around(ctx: Context, p: Mention) -> tuple[str, str]:
    """The title written right before a person's name and the one right after it (the longest;
    of two as long, the first listed)."""
    text = ctx.text
    titles_before, titles_after = _titles_by_length()
    # One startswith per length rules out most titles at once.
    before = next((t for n, ts in titles_before if text.startswith(ts, p.start - n)
                   for t in ts if text.startswith(t, p.start - n)), "")
    after = next((t for n, ts in titles_after if text.startswith(ts, p.end)
                  for t in ts if text.startswith(t, p.end)), "")
    return before, after


@functools.lru_cache(maxsize=1)
def _titles_by_length() -> tuple[list, list]:
    """The titles before and after names, each as (length, the titles that long) longest first."""
    def by_length(titles: list[str]) -> list[tuple[int, tuple[str, ...]]]:
        return [(n, tuple(t for t in titles if len(t) == n))
                for n in sorted({len(t) for t in titles}, reverse=True)]
    conf = patterns()["persons"]
    return by_length(conf["titles_before"]), by_length(conf["titles_after"])


@relation_pass("heads")
def heads(ctx: Context) -> None:
    conf = patterns()["persons"]
    tops = conf["head_titles"]
    for p in [m for m in ctx.mentions if m.cls == "Person" and m.start >= 0]:
        before, after = title_around(ctx, p)
        for title in (after, before):
            implied = conf["title_agency"].get(title)
            if implied:                          # 李克强总理 -> 国务院
                ctx.relate("heads", p, pseudo(ctx, "Agency", implied, p), "heads", 0.75, p.sentence)
        if before not in tops:
            continue
        # The agency right before the title chain: 国家移民管理局党组书记、局长许甘露.
        agencies = [a for a in ctx.by_sentence("Agency").get(p.sentence, ())
                    if a.end <= p.start - len(before) and p.start - a.end <= 14]
        if agencies:
            a = max(agencies, key=lambda x: (x.end, x.end - x.start))   # the nearest, longest
            between = ctx.text[a.end:p.start]
            if not SENTENCE_BREAK.search(between):
                ctx.relate("heads", p, a, "heads", 0.85, p.sentence)


@relation_pass("cooperation")
def cooperation(ctx: Context) -> None:
    verbs, pair_markers, openers, joined = _cooperation_rules()
    refs = coreferences(ctx)
    by_sentence = agencies_by_sentence(ctx, refs)
    for index in sorted(i for i in by_sentence if i >= 0):   # only the sentences that name one
        s, agencies = ctx.sentences[index], by_sentence[index]
        for a in agencies:
            before = ctx.text[max(0, a.start - 4):a.start]
            if not before.endswith(openers):     # the common case, tested at once
                continue
            opener = next(w for w in openers if before.endswith(w))
            # The list that starts here: X、Y、Z(等部门)
            partners, end = [a], a.end
            for b in agencies:
                if b.start > end and joined.fullmatch(ctx.text, end, b.start):
                    partners.append(b)
                    end = b.end
            rest = ctx.text[end:s.end]
            clause_end = CLAUSE_END.search(rest)
            clause = rest[: clause_end.start()] if clause_end else rest
            if opener in pair_markers and not any(v in clause for v in verbs):
                continue
            subject, conf_subject = subject_before(ctx, a.start, refs)
            if subject is None:
                continue
            for partner in partners:
                if partner.name != subject.name:
                    ctx.relate("cooperatesWith", subject, partner, "cooperation",
                               min(0.8, conf_subject + 0.1), s.index)


@functools.lru_cache(maxsize=1)
def _cooperation_rules():
    conf = _rel_conf()
    markers = sorted(conf["cooperation_before_list"], key=len, reverse=True)
    pair_markers = conf["cooperation_pair_markers"]
    joined = re.compile(rf"[{patterns()['words']['list_joiners']}，,]\s*")
    return conf["cooperation_verbs"], pair_markers, tuple(markers + pair_markers), joined


@relation_pass("issues-conducts")
def issues_and_conducts(ctx: Context) -> None:
    refs = coreferences(ctx)
    for m in [m for m in ctx.mentions if m.cls in ("Measure", "Campaign") and m.start >= 0]:
        predicate = "issues" if m.cls == "Measure" else "conducts"
        subject, confidence = subject_before(ctx, m.start, refs, nested_in=m)
        if subject is None:
            continue
        ctx.relate(predicate, subject, m, "issues-conducts", confidence, m.sentence)
        if m.cls == "Campaign":
            # Partners named in the same clause run the campaign too: 联合X、Y…开展Z.
            start = clause_start(ctx, m.start)
            for a in agencies_in(ctx, m.sentence, refs):
                if start <= a.start < m.start and \
                        _in_list_after(ctx, a, _rel_conf()["cooperation_prefix"]):
                    ctx.relate("conducts", a, m, "issues-conducts", 0.7, m.sentence)


def _in_list_after(ctx: Context, a: Mention, openers) -> bool:
    """Is `a` part of a list X、Y、Z that opens with one of `openers`?"""
    pos = a.start
    for _ in range(8):
        before = ctx.text[max(0, pos - 2):pos]
        if before in openers:
            return True
        prev = ctx.agency_ending_at.get(pos - 1)
        if prev is None or ctx.text[prev.end] not in patterns()["words"]["list_joiners"]:
            return False
        pos = prev.start
    return False


@relation_pass("targets")
def targets(ctx: Context) -> None:
    window = _rel_conf()["target_window"]
    crimes = [m for m in ctx.mentions if m.cls == "CrimeType" and m.start >= 0]
    for c in [m for m in ctx.mentions if m.cls == "Campaign" and m.start >= 0]:
        nested = [k for k in crimes if c.start <= k.start and k.end <= c.end]
        before = [k for k in crimes if k.sentence == c.sentence and k.end <= c.start]
        start = clause_start(ctx, c.start)
        after = [k for k in crimes if k.sentence == c.sentence and k.start >= c.end
                 and clause_start(ctx, k.start) == start]
        if nested:
            chosen, confidence = nested, 0.85
        elif before or after:
            chosen, confidence = before or after, 0.7
        else:
            # Only a crime that an earlier clause sets out to fight (严厉打击X), not one counted
            # in a result figure (侦办X案件), carries over to the campaign.
            verbs = _rel_conf()["target_verbs"]
            earlier = [k for k in crimes if c.sentence - window <= k.sentence < c.sentence
                       and any(ctx.text[max(0, k.start - 6):k.start].endswith(v) for v in verbs)]
            last = max((k.sentence for k in earlier), default=None)
            chosen, confidence = [k for k in earlier if k.sentence == last], 0.5
        for k in chosen:
            ctx.relate("targets", c, k, "targets", confidence, c.sentence)
