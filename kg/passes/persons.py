"""People: names next to a title (局长许甘露, 李克强总理), in credit lines (（张国鹏 摄）),
in lists after a title (副局长尹成基、赵昌华), and the editor named in the document's metadata.

A name is a known surname plus one or two characters, closed by punctuation or a word that
follows names (主持, 出席, 表示 …). Where both a two- and a three-character reading fit, the
closing word decides.
"""
from __future__ import annotations

import functools
import re

from ..config import ONTOLOGY_DIR, patterns
from ..model import Mention
from ..segment import cut_words, word_tag
from .base import (CJK, Context, alternation, char_matches, entity_pass, first_chars,
                   lookahead_matches)

NAME_END = set("，,、。；;：:）)（(]】[【 \n“”\"")
CJK_RUN = re.compile(rf"[{CJK}]+")


@functools.lru_cache(maxsize=1)
def surnames() -> tuple[set[str], set[str]]:
    """(single-character surnames, two-character surnames) from ontology/surnames.txt."""
    single, double = set(), set()
    for line in (ONTOLOGY_DIR / "surnames.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        for word in line.split():
            (single if len(word) == 1 else double).add(word)
    return single, double


OPENERS = "（("      # what a credit or byline in brackets opens with: its regex, and its scan


@functools.lru_cache(maxsize=1)
def _conf():
    p = patterns()["persons"]
    by_len = lambda xs: sorted(xs, key=len, reverse=True)
    after, credit = by_len(p["titles_after"]), by_len(p["credit_after"])
    context_after = p["context_after"]
    return {
        "before": re.compile("(?:%s)" % alternation(by_len(p["titles_before"]))),
        "after": after,
        "followers": by_len(p["name_followers"]),
        "credit": credit,
        # Compiled once, and the closing words as tuples (str.startswith takes one).
        "closers": tuple(by_len(p["name_followers"]) + after),
        # The titles and words after names, where each starts (see lookahead_matches).
        "after_rx": re.compile(rf"{first_chars(after)}(?=({alternation(after)}))"),
        "after_words": re.compile(alternation(after)),
        "context_rx": re.compile(rf"(?=(?:{alternation(context_after)}))"),
        "context_words": re.compile(alternation(context_after)),
        "context_closers": tuple(context_after),
        "credit_rx": re.compile(rf"[{OPENERS}]\s*([{CJK}]{{2,4}})\s*(?:{alternation(credit)})\s*[）)]"),
        "credit_closers": tuple([" "] + credit),
        "byline_rx": re.compile(
            rf"[{OPENERS}]((?:[{CJK}]{{2,3}}[ 、\u3000]){{0,3}}[{CJK}]{{2,3}})[）)]\s*(?:\n|$)"),
    }


def looks_like_name(name: str) -> bool:
    """Not a dictionary word of another kind: 强调 (a verb) is not a person called 强调."""
    tag = word_tag(name)
    return tag == "" or tag.startswith("nr")


def name_at(text: str, start: int, closers: tuple[str, ...] | list[str]) -> int | None:
    """End offset of a person's name starting at `start`, or None."""
    single, double = surnames()
    if text[start:start + 2] in double:
        given = (1, 2)
        sur = 2
    elif text[start:start + 1] in single:
        given = (2, 1)                      # three-character names are the commonest
        sur = 1
    else:
        return None
    for g in given:
        end = start + sur + g
        name = text[start:end]
        if len(name) != sur + g or not CJK_RUN.fullmatch(name) \
                or not looks_like_name(name):
            continue
        if end >= len(text) or text[end] in NAME_END:
            return end
        if text.startswith(tuple(closers), end):
            return end
    # No closing word: let the segmenter decide where the name ends (张庆伟委托, 赵一存北京报道).
    word = next(iter(cut_words(text[start:start + 8], hmm=True)), "")
    if sur + 1 <= len(word) <= sur + 2 and CJK_RUN.fullmatch(word) and looks_like_name(word):
        return start + len(word)
    return None


def opens_name(text: str, start: int) -> bool:
    """Can a name start here, not in the middle of a word: at the start, after a non-Chinese
    character, or after a function character (的, 和, 对 …)?"""
    return start == 0 or not CJK_RUN.match(text[start - 1]) \
        or text[start - 1] in patterns()["words"]["function_chars"]


@entity_pass("person-title")
def titled_names(ctx: Context) -> None:
    conf = _conf()
    text = ctx.text
    closers = conf["closers"]
    for m in conf["before"].finditer(text):
        pos = m.end()
        while pos < len(text) and text[pos] in " :：\u3000":
            pos += 1
        # A title may govern a list: 副局长尹成基、赵昌华出席.
        while True:
            end = name_at(text, pos, closers)
            if end is None:
                break
            ctx.add("Person", text[pos:end], pos, end, "person-title", 0.8, title=m.group())
            if end < len(text) and text[end] == "、":
                pos = end + 1
                continue
            break
    # Name before a title that follows names: 李克强总理, 习近平总书记.
    after = tuple(conf["after"])
    for m in lookahead_matches(conf["after_rx"], conf["after_words"], text):
        tstart = m.start()
        for length in (3, 2, 4):
            start = tstart - length
            if start < 0:
                continue
            if name_at(text, start, after) == tstart and opens_name(text, start):
                ctx.add("Person", text[start:tstart], start, tstart, "person-title", 0.75,
                        title=m.group(1))
                break


@entity_pass("person-context")
def context_names(ctx: Context) -> None:
    """Names with no title but words that only follow people: 某某等人, 某某同志."""
    conf = _conf()
    text = ctx.text
    for m in lookahead_matches(conf["context_rx"], conf["context_words"], text):
        for length in (3, 2):
            start = m.start() - length
            # No title vouches for the name: a function character or the segmenter must.
            if start < 0 or not (opens_name(text, start) or ctx.is_word(start, m.start())):
                continue
            if name_at(text, start, conf["context_closers"]) == m.start():
                ctx.add("Person", text[start:m.start()], start, m.start(), "person-context", 0.6)
                break


@entity_pass("person-credit")
def credited_names(ctx: Context) -> None:
    """Photo and byline credits: （张国鹏 摄）, 新华社记者 任沁沁 (the latter via titles)."""
    conf = _conf()
    if not any(w in ctx.text for w in conf["credit"]):   # most documents credit no one
        return
    for m in char_matches(conf["credit_rx"], OPENERS, ctx.text):
        start = m.start(1)
        if name_at(ctx.text, start, conf["credit_closers"]) == m.end(1):
            ctx.add("Person", m.group(1), start, m.end(1), "person-credit", 0.8)


@entity_pass("person-byline")
def bracket_bylines(ctx: Context) -> None:
    """Names alone in brackets at the end of a paragraph: （卫海林 黄远飞）."""
    if not patterns()["persons"].get("bracket_byline"):
        return
    for m in char_matches(_conf()["byline_rx"], OPENERS, ctx.text):
        names = re.split(r"[ 、\u3000]", m.group(1))
        spans, pos = [], m.start(1)
        for name in names:
            if name_at(ctx.text, pos, (" ", "、", "\u3000", "）", ")")) != pos + len(name):
                break
            spans.append((pos, pos + len(name)))
            pos += len(name) + 1
        else:
            for a, b in spans:
                ctx.add("Person", ctx.text[a:b], a, b, "person-byline", 0.6)


@entity_pass("person-meta")
def metadata_names(ctx: Context) -> None:
    """The editor and author fields of the document name people (when they look like names)."""
    for key in ("editor", "author"):
        value = str(ctx.doc.meta.get(key) or "").strip()
        single, double = surnames()
        longest = 4 if key == "editor" else 3
        if 2 <= len(value) <= longest and re.fullmatch(rf"[{CJK}]+", value) and (
                value[0] in single or value[:2] in double):
            # No span in the body: the mention points at the metadata, not at a sentence.
            ctx.mentions.append(_meta_mention(value, key))


def _meta_mention(name: str, key: str):
    return Mention(cls="Person", name=name, start=-1, end=-1, surface=name,
                   pass_name="person-meta", confidence=0.7, attrs={"role": key})
