"""Ingest: find the input files and read each one as a careful reader would.

`collect_paths` turns files, folders and glob patterns into a sorted list of files.
`read_document` turns one file into a `kg.model.Document`:

1. bytes -> str with the encoding detected (BOM, strict UTF-8, then charset-normalizer
   limited to the encodings Chinese text comes in);
2. the format detected (HTML, Markdown with YAML front matter, PDF-extracted text, plain
   text) and the body taken out of it: markup, page chrome, trailers and metadata lines go,
   lines cut by a page width or by an editor are joined back into paragraphs;
3. Traditional script converted to Simplified for matching, the original kept beside it.

Every character of the cleaned text keeps its offset in the decoded file (`kg.textmap`).
What ingest knows about sites and layouts is data, in ontology/ingest.yaml.
"""
from __future__ import annotations

import codecs
import datetime as dt
import email.utils
import glob
import hashlib
import html
import math
import os
import re
import stat
import statistics
from collections import Counter
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Iterator

import yaml

from kg.config import ONTOLOGY_DIR, load_knowledge_yaml, patterns
from kg.model import Document
from kg.textmap import Mapped, concat, join

CONFIG_PATH = ONTOLOGY_DIR / "ingest.yaml"
MB = 1 << 20                      # file-size limits are given in MB of 2**20 bytes

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# CJK characters plus the fullwidth/CJK punctuation and quote marks set between them.
WIDE = CJK + "\u3001-\u303f\uff01-\uff60\uffe0-\uffe6\u2018\u2019\u201c\u201d\u2026\u2014\u00b7"
WS_CHARS = " \t\r\n\f\v\xa0\u1680\u202f\u205f\u3000" + "".join(map(chr, range(0x2000, 0x200B)))

_WIDE_RE = re.compile(f"[{WIDE}]")
# Runs, for counting: deleting runs is several times faster than listing single characters.
_CJK_RUN = re.compile(f"[{CJK}]+")
_WIDE_RUN = re.compile(f"[{WIDE}]+")
_WS_RUN = re.compile(f"[{re.escape(WS_CHARS)}]+")
# Invisible characters that would break matching: C0 controls (not tab/newline), zero widths.
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\u200b-\u200d\u2060\ufeff]")
# What _tidy removes or rewrites: without any of it a paragraph is tidy already.
_UNTIDY = re.compile(f"{_INVISIBLE.pattern}|[{re.escape(WS_CHARS)}]")
# Whitespace that is not a single space (a single space is kept as it is)
_ODD_SPACE = re.compile(f"[{re.escape(WS_CHARS.replace(' ', ''))}]|  ")
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f]")
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20)])
# What cannot stand in a one-line message: controls, and lone surrogates (a file name that is
# not UTF-8 arrives as U+DC80..U+DCFF, one per undecodable byte, and cannot be written as UTF-8).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# What _clean_meta replaces (single spaces stay)
_UNCLEAN = re.compile(f"{_SURROGATE.pattern}|{_INVISIBLE.pattern}|{_ODD_SPACE.pattern}")
_GLOB_CHARS = re.compile(r"[*?\[]")
_FRONT_MATTER = re.compile(
    r"\A(?:[ \t]*\r?\n)*---[ \t]*\r?\n(?P<yaml>.*?)^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)",
    re.S | re.M)
_HTML_START = re.compile(r"\A\s*<(?:!doctype|html|head|body|div|p|span|article|section|table|h[1-6])\b", re.I)
_HTML_TAG = re.compile(r"</?(?:p|div|span|br|a|img|table|tr|td|li|ul|h[1-6]|section|article)\b[^>]*>", re.I)
_BAD_MARKED_SECTION = re.compile(r"<(?=!\[(?!\s*(?:cdata|temp|ignore|include|rcdata)\s*\[))", re.I)
_FULLWIDTH_POINT = re.compile(r"(?<=[0-9])．(?=[0-9])")
_FULLWIDTH_RANGES = ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))   # ０-９ Ａ-Ｚ ａ-ｚ
_FULLWIDTH_ALNUM = {c: c - 0xFEE0 for lo, hi in _FULLWIDTH_RANGES for c in range(lo, hi + 1)}
_FULLWIDTH_ALNUM_CHAR = "[%s]" % "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _FULLWIDTH_RANGES)
# (c[c]* and not c+: the regex engine then finds the first one several times faster)
_FULLWIDTH_ALNUM_RUN = re.compile(f"{_FULLWIDTH_ALNUM_CHAR}{_FULLWIDTH_ALNUM_CHAR}*")

# Markdown syntax (CommonMark subset): block markers at line start, inline spans.
_MD_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+")
_MD_HEADING_END = re.compile(r"[ \t]+#+[ \t]*$")
_MD_QUOTE = re.compile(r"^ {0,3}(?:>[ \t]?)+")
_MD_LIST = re.compile(r"^ {0,3}(?:[-*+]|\d{1,3}[.)])[ \t]+", re.ASCII)   # CommonMark: ASCII digits
_MD_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_MD_BLOCK_START = re.compile(r" {0,3}(?:[#>*+-]|\d)", re.ASCII)   # how each of the three above starts
_MD_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_MD_INLINE = [
    re.compile(r"!\[[^\]]*\]\([^)]*\)"),                        # image: dropped
    re.compile(r"\[(?P<keep>[^\]]+)\]\([^)]*\)"),               # link: its text
    re.compile(r"\[(?P<keep>[^\]]+)\]\[[^\]]*\]"),              # reference link: its text
    re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*\b[^>]*>"),            # inline HTML tag: dropped
    re.compile(r"`(?P<keep>[^`]+)`"),                            # code span: its text
    re.compile(r"(\*\*|__)(?P<keep>\S(?:.*?\S)?)\1"),           # strong: its text
    re.compile(r"(?<!\*)\*(?P<keep>[^*\s](?:[^*]*?[^*\s])?)\*(?!\*)"),  # emphasis: its text
    re.compile(r"~~(?P<keep>\S(?:.*?\S)?)~~"),                  # strikethrough: its text
]
_MD_INLINE_CHARS = "[<`*_~"   # (looked for one by one: faster than a character class)


class IngestError(Exception):
    """A file that cannot be used, with a one-line reason."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = printable(str(path))
        self.reason = printable(reason)
        super().__init__(f"{self.path}: {self.reason}")


def printable(text: str) -> str:
    """A path or message as one printable line that can be written as UTF-8: bytes of a file
    name that were not UTF-8 as \\xNN, control characters as \\n, \\t, \\xNN."""
    def escape(m: re.Match) -> str:
        c = m.group()
        n = ord(c)
        if 0xDC80 <= n <= 0xDCFF:          # os.fsdecode's stand-in for one raw byte
            return f"\\x{n - 0xDC00:02x}"
        return {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(c) or (f"\\x{n:02x}" if n < 0x100 else "\ufffd")
    return _UNPRINTABLE.sub(escape, text)


# ---------------------------------------------------------------- configuration
@lru_cache(maxsize=None)
def _rules() -> SimpleNamespace:
    """ontology/ingest.yaml, compiled once."""
    cfg = load_knowledge_yaml(CONFIG_PATH)
    h, ln, pdf, tx = cfg["html"], cfg["lines"], cfg["pdf"], cfg["text"]
    labels = {}
    keep_keys = set()
    for entry in ln["meta_labels"]:
        for label in entry["labels"]:
            labels[label] = entry["key"]
        if entry.get("keep"):
            keep_keys.add(entry["key"])
    label_alt = "|".join(re.escape(x) for x in sorted(labels, key=len, reverse=True))
    lower = lambda xs: frozenset(str(x).lower() for x in xs)  # noqa: E731
    return SimpleNamespace(
        max_bytes=int(float(cfg["limits"]["max_file_mb"]) * MB),
        file_timeout=float(cfg["limits"]["file_timeout_seconds"]),
        encodings=list(cfg["encodings"]["candidates"]),
        max_chaos=float(cfg["encodings"]["max_chaos"]),
        max_bad_bytes=int(cfg["encodings"]["max_bad_bytes"]),
        max_bad_share=float(cfg["encodings"]["max_bad_share"]),
        magic=[(m["bytes"].encode("latin-1"), m["name"]) for m in cfg["binary"]["magic"]],
        magic_starts=tuple(m["bytes"].encode("latin-1") for m in cfg["binary"]["magic"]),
        max_control_share=float(cfg["binary"]["max_control_share"]),
        utf16_readable_share=float(cfg["binary"]["utf16_readable_share"]),
        skip_extensions=lower(cfg["paths"]["skip_extensions"]),
        hant_share=float(cfg["script"]["hant_share"]),
        min_cjk=int(tx["min_cjk_chars"]),
        final=set(tx["final_marks"]),
        closers=tx["closers"],
        soft=set(tx["soft_marks"]),
        max_run=int(tx["max_run_chars"]),
        # sentence ends as kg.segment sees them (ontology/patterns.yaml), for max_run_chars
        enders=set(patterns()["sentence"]["enders"]),
        letter_spaced=re.compile(f"[{CJK}](?: [{CJK}]){{{int(tx['letter_spaced_min_chars']) - 1},}}"),
        letter_spaced_hint=_spaced_hint(int(tx['letter_spaced_min_chars'])),
        fold_alnum=bool(tx["fold_fullwidth_alnum"]),
        title_min=int(cfg["title"]["min_chars"]),
        title_max=int(cfg["title"]["max_chars"]),
        fm_aliases=dict(cfg.get("front_matter", {}).get("aliases", {})),
        fm_max_values=int(cfg["front_matter"]["max_values"]),
        skip_tags=lower(h["skip_tags"]),
        block_tags=lower(h["block_tags"]),
        void_tags=lower(h["void_tags"]),
        heading_tags=[str(t).lower() for t in h["heading_tags"]],   # in order of preference
        chrome_words=lower(h["chrome_words"]),
        caption_words=lower(h["caption_words"]),
        editor_words=lower(h["editor_words"]),
        meta_tags={str(k).lower(): v for k, v in h["meta_tags"].items()},
        labels=labels,
        keep_keys=keep_keys,
        label_re=re.compile(f"(?P<label>{label_alt})[ \t\u3000]*[:：][ \t\u3000]*"),
        max_meta_value=int(ln["max_meta_value_chars"]),
        chrome=re.compile("|".join(f"(?:{p})" for p in ln["chrome_patterns"])),
        trailers=tuple(ln["trailer_markers"]),
        trailer_min_position=float(ln["trailer_min_position"]),
        bylines=re.compile("|".join(f"(?:{p})" for p in ln["byline_patterns"])),
        pdf=SimpleNamespace(**pdf),
        spaced_run=re.compile(f"[{CJK}](?: [{CJK}]){{{int(pdf['spaced_run_min_chars']) - 1},}}"),
        spaced_run_hint=_spaced_hint(int(pdf['spaced_run_min_chars'])),
    )


def _spaced_hint(min_chars: int) -> re.Pattern:
    """What every letter-spaced run of `min_chars` (高 质 量) holds: " 质 量". A pattern that
    starts with a plain character is searched many times faster than one with a class."""
    return re.compile(f" [{CJK}]" * (min_chars - 1))


def default_limits() -> tuple[int, float]:
    """(largest file in bytes, seconds allowed per file; 0 = no limit), from ontology/ingest.yaml."""
    r = _rules()
    return r.max_bytes, r.file_timeout


@lru_cache(maxsize=None)
def _t2s():
    import opencc  # imported late: only needed once a document is read
    return opencc.OpenCC("t2s")


def _simplify_lines(lines: list[str]) -> list[str]:
    """`_simplify` of each line (none holds a \n). A phrase never spans a line break, so one
    conversion of all lines gives the same lines when it keeps every line's length."""
    out = _t2s().convert("\n".join(lines)).split("\n")
    if list(map(len, out)) == list(map(len, lines)):
        return out
    return [_simplify(line) for line in lines]


def _simplify(text: str) -> str:
    """t2s with the length kept: when a phrase conversion changes the length, go char by char."""
    cc = _t2s()
    out = cc.convert(text)
    if len(out) == len(text):
        return out
    chars = []
    for ch in text:
        conv = cc.convert(ch)
        chars.append(conv if len(conv) == 1 else ch)
    return "".join(chars)


def _width(s: str) -> int:
    """Display width: CJK and fullwidth characters count 2."""
    return 2 * len(s) - len(_WIDE_RUN.sub("", s))


def _is_wide(ch: str) -> bool:
    return bool(_WIDE_RE.match(ch))


def _cjk_count(s: str) -> int:
    return len(s) - len(_CJK_RUN.sub("", s))


def _has_cjk(s: str, n: int = 1) -> bool:
    """_cjk_count(s) >= n, counting only as far as needed."""
    if n <= 0:
        return True
    found = 0
    for m in _CJK_RUN.finditer(s):
        found += m.end() - m.start()
        if found >= n:
            return True
    return False


# ---------------------------------------------------------------- finding files
def collect_paths(inputs: list[str], real_paths: dict | None = None) -> tuple[list[Path], list[str]]:
    """Files named, found in folders (recursively) or matched by glob patterns.

    Returns (paths, problems): paths in a deterministic order, each real file once;
    problems are one-line messages for inputs that gave nothing. `real_paths`, if given, is
    filled with each path's real path (symbolic links resolved), worked out here anyway.
    """
    r = _rules()
    paths: list[Path] = []
    problems: list[str] = []
    seen: set[str] = set()

    def add(p: Path, real: str | None = None) -> None:
        key = real or os.path.realpath(p)
        if key not in seen:
            seen.add(key)
            paths.append(p)
            if real_paths is not None:
                real_paths[p] = key

    for item in inputs:
        p = Path(item)
        if p.is_file():
            add(p)                      # named explicitly: read whatever it is
        elif p.is_dir():
            found = list(_walk(p, r, problems))
            if not found:
                problems.append(printable(f"{item}: no readable files in folder"))
            for f, real in found:
                add(f, real)
        elif _GLOB_CHARS.search(item):
            hits = 0
            for m in sorted(glob.glob(item, recursive=True)):
                mp = Path(m)
                if mp.is_dir():
                    for f, real in _walk(mp, r, problems):
                        hits += 1
                        add(f, real)
                elif mp.is_file() and _wanted(mp.name, r):
                    hits += 1
                    add(mp)
            if not hits:
                problems.append(printable(f"{item}: no files match"))
        elif p.is_symlink():
            problems.append(printable(f"{item}: {_broken_link(p)}"))
        elif p.exists():
            problems.append(printable(f"{item}: not a regular file or folder"))
        else:
            problems.append(printable(f"{item}: no such file or directory"))
    return paths, problems


def _wanted(name: str, r: SimpleNamespace) -> bool:
    """Inside folders and globs: no hidden files, nothing that is obviously not text."""
    return not name.startswith(".") and Path(name).suffix.lower() not in r.skip_extensions


def _walk(top: Path, r: SimpleNamespace, problems: list[str]) -> Iterator[tuple[Path, str]]:
    """(file, its real path) under `top`: a folder's files sorted, then its sub-folders in
    order; symlinked folders followed once (a loop ends there). A folder's entries say
    themselves whether they are files or links (os.scandir), so a corpus of many files costs
    no system call per file, and only links need their real path worked out."""
    visited: set[str] = set()
    stack = [str(top)]
    while stack:
        folder = stack.pop()
        real = os.path.realpath(folder)
        if real in visited:
            continue
        visited.add(real)
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as e:
            problems.append(printable(f"{e.filename}: {e.strerror or e}"))
            continue
        folders = []
        for e in entries:
            if _entry_is(e.is_dir):
                if not e.name.startswith("."):
                    folders.append(e.path)
            elif not _wanted(e.name, r):
                continue
            elif _entry_is(e.is_file):
                link = e.is_symlink()
                yield Path(e.path), os.path.realpath(e.path) if link else os.path.join(real, e.name)
            elif e.is_symlink():                 # said, not silently passed over
                problems.append(printable(f"{e.path}: {_broken_link(Path(e.path))}"))
        stack.extend(reversed(folders))         # the first sub-folder is walked next


def _entry_is(test) -> bool:
    """entry.is_dir / entry.is_file (both follow links, as os.walk(followlinks=True) does),
    False where the link cannot be followed (a loop raises instead of saying False)."""
    try:
        return test()
    except OSError:
        return False


def _broken_link(p: Path) -> str:
    """Why a symbolic link gives no file: it points nowhere, or round in a loop."""
    try:
        os.stat(p)
    except OSError as e:
        return f"broken symbolic link ({(e.strerror or str(e)).lower()})"
    return "symbolic link to something that is not a regular file"


# ---------------------------------------------------------------- reading one file
def read_document(path: str | os.PathLike, *, max_bytes: int | None = None) -> Document:
    """Read one file into a Document; raise IngestError when it cannot be used."""
    r = _rules()
    limit = r.max_bytes if max_bytes is None else max_bytes
    p = Path(path)
    data = _read_bytes(p, limit)
    try:
        raw, encoding, warning = _decode(data, r)
    except ValueError as e:
        raise IngestError(path, str(e)) from None
    content_hash = hashlib.sha256(data).hexdigest()
    doc = Document(path=printable(str(path)), doc_id=_doc_id(p, content_hash), raw=raw, text="",
                   offsets=[], encoding=encoding, content_hash=content_hash)
    if warning:
        doc.warnings.append(warning)
    _parse(doc, r)
    if not _has_cjk(doc.text, r.min_cjk):
        raise IngestError(path, "no Chinese text left after cleaning")
    return doc


def _read_bytes(p: Path, limit: int) -> bytes:
    try:
        st = os.stat(p)                 # (one call for both tests below)
        if stat.S_ISDIR(st.st_mode):
            raise IngestError(p, "is a directory")
        if st.st_size > limit:
            raise IngestError(p, _too_large(st.st_size, limit))
        with open(p, "rb") as f:
            # read(n) makes room for n bytes first: ask for the size, and go on to the
            # limit only when the file grew while read (it is caught too)
            data = f.read(st.st_size + 1)
            if len(data) > st.st_size:
                data += f.read(limit + 1 - len(data))
    except FileNotFoundError:
        raise IngestError(p, "no such file or directory") from None
    except OSError as e:
        raise IngestError(p, (e.strerror or str(e)).lower()) from None
    if len(data) > limit:
        raise IngestError(p, _too_large(len(data), limit))
    return data


def _too_large(size: int, limit: int) -> str:
    # refused before reading: reading takes memory in proportion to the size (README, limits)
    return f"file too large ({_size(size)}; the limit is {_size(limit)}, see --max-file-mb)"


def _size(n: int) -> str:
    """50 MB, 102.4 KB, 20 bytes."""
    number, unit = (n / MB, "MB") if n >= MB else (n / 1024, "KB") if n >= 1024 else (n, "bytes")
    return f"{number:.1f}".removesuffix(".0") + " " + unit


_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_-]+")


def _doc_id(p: Path, content_hash: str) -> str:
    """File stem in [A-Za-z0-9_-] (non-ASCII names get a short hash) + '_' + content hash."""
    stem = p.stem
    safe = _UNSAFE_ID.sub("_", stem).strip("_")
    if safe != stem.strip("_"):
        tag = hashlib.sha256(stem.encode("utf-8", "surrogatepass")).hexdigest()[:6]
        safe = f"{safe}-{tag}" if safe else f"doc-{tag}"
    return f"{safe}_{content_hash[:8]}"


_BOMS = [  # (mark, name reported, codec); UTF-32 first: its LE mark starts like UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
]


def _decode(data: bytes, r: SimpleNamespace) -> tuple[str, str, str | None]:
    """(text, encoding name, warning); ValueError(reason) when the bytes are not usable text."""
    if not data:
        raise ValueError("empty file")
    if data.startswith(r.magic_starts):     # (one test for all, most files are none)
        for sig, name in r.magic:
            if data.startswith(sig):
                raise ValueError(f"binary file ({name})")
    text, enc, warning = _decode_text(data, r)
    if text is None:
        text, enc, bad = _decode_damaged(data, r)
        warning = _replaced(bad, enc)
    if not text.strip(WS_CHARS):
        raise ValueError("only whitespace")
    if enc == "utf-8" and warning is None:   # strict UTF-8: a control character is one byte
        controls = len(data) - len(data.translate(None, _CONTROL_BYTES))   # (faster than a regex)
    else:
        controls = len(_CONTROL.findall(text))
    if controls > r.max_control_share * len(text):
        raise ValueError("binary file (control characters)")
    return text, enc, warning


def _replaced(bad: int, enc: str) -> str:
    return f"{bad} undecodable byte sequence(s) replaced by U+FFFD (read as {enc})"


def _few(bad: int, size: int, r: SimpleNamespace) -> bool:
    """Few enough broken bytes to read the file anyway (a cut download, one bad sector)."""
    return bad <= max(r.max_bad_bytes, r.max_bad_share * size)


def _decode_text(data: bytes, r: SimpleNamespace) -> tuple[str | None, str, str | None]:
    """(text, encoding, warning) by BOM, UTF-16 without BOM, UTF-8 (also with a few broken
    bytes, or mixed line by line with one legacy encoding), then the detected candidates."""
    for bom, name, codec in _BOMS:
        if data.startswith(bom):
            body = data[len(bom):]
            try:
                return body.decode(codec), name, None
            except UnicodeDecodeError:
                text = body.decode(codec, errors="replace")
                bad = text.count("\ufffd")
                if _few(bad, len(data), r):
                    return text, name, _replaced(bad, name)
                raise ValueError(f"not valid {name} although it starts with its byte-order mark") from None
    if b"\x00" in data:
        found = _utf16_without_bom(data, r.utf16_readable_share)
        if found:
            return (*found, None)
        raise ValueError("binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8"), "utf-8", None
    except UnicodeDecodeError:
        pass
    # UTF-8 with a few broken bytes stays UTF-8: a legacy codec may "decode" it without error
    # into nonsense (most byte pairs are valid GB18030).
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    if _few(bad, len(data), r) and _has_cjk(text):
        return text, "utf-8", _replaced(bad, "utf-8")
    mixed = _decode_mixed(data, r)
    if mixed:
        return mixed
    found = _detect_legacy(data, r)
    return (*found, None) if found else (None, "", None)


def _detect_legacy(data: bytes, r: SimpleNamespace) -> tuple[str, str] | None:
    from charset_normalizer import from_bytes  # only for files that are not UTF-8
    # Candidates come best first (least chaos, most coherent); take the first that decodes
    # strictly and gives Chinese text.
    for match in from_bytes(data, cp_isolation=r.encodings, threshold=r.max_chaos):
        name = codecs.lookup(match.encoding).name
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        if _has_cjk(text):
            return text, name
    return None


def _decode_mixed(data: bytes, r: SimpleNamespace) -> tuple[str, str, str] | None:
    """A file pasted together from two sources: lines of Chinese in UTF-8 and lines in one
    legacy encoding (GB18030 or Big5). Each line is read in its own encoding, with a warning;
    None when the file is not like that. (A newline byte is never inside a GB18030 or Big5
    character, so lines split the same in bytes and in text.)"""
    lines = data.split(b"\n")
    legacy: list[int] = []
    utf8 = 0
    for i, line in enumerate(lines):
        if line.isascii():
            continue
        try:
            utf8 += _has_cjk(line.decode("utf-8"))   # Chinese in UTF-8: no accident
        except UnicodeDecodeError:
            legacy.append(i)
    if not utf8 or not legacy:
        return None
    found = _detect_legacy(b"\n".join(lines[i] for i in legacy), r)
    if not found or found[1].startswith("utf"):
        return None
    decoded = dict(zip(legacy, found[0].split("\n")))
    text = "\n".join(decoded[i] if i in decoded else line.decode("utf-8") for i, line in enumerate(lines))
    return text, f"utf-8+{found[1]}", (f"mixed encodings: {len(legacy)} line(s) read as {found[1]}, "
                                       f"the others as utf-8")


def _decode_damaged(data: bytes, r: SimpleNamespace) -> tuple[str, str, int]:
    """A file with a few broken bytes (a cut download): the encoding that needs the fewest
    replacements, if they are few; a UTF-8 file with one bad byte must stay UTF-8."""
    best = None
    for enc in ["utf-8", *r.encodings]:
        if codecs.lookup(enc).name.startswith("utf-16"):
            continue                    # any even number of bytes "decodes" as UTF-16
        text = data.decode(enc, errors="replace")
        bad = text.count("\ufffd")
        if best is None or bad < best[2]:
            best = (text, codecs.lookup(enc).name, bad)
    text, enc, bad = best
    if bad > max(r.max_bad_bytes, r.max_bad_share * len(data)) or not _has_cjk(text):
        raise ValueError("cannot decode: not UTF-8, GB18030, Big5 or UTF-16 text")
    return text, enc, bad


def _utf16_without_bom(data: bytes, share: float) -> tuple[str, str] | None:
    """UTF-16 without a byte-order mark: the byte order whose decoding reads as text."""
    if len(data) % 2:
        return None
    best = None
    for enc in ("utf-16-le", "utf-16-be"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        readable = sum(1 for c in text if c in "\t\n\r" or " " <= c <= "~" or _is_wide(c)) / len(text)
        if readable >= share and (best is None or readable > best[0]):
            best = (readable, text, enc)
    return best[1:] if best else None


# ---------------------------------------------------------------- parsing
def _parse(doc: Document, r: SimpleNamespace) -> None:
    """Fill doc.text/offsets/original/meta/format/script from doc.raw."""
    raw = doc.raw
    body = Mapped.of(raw)
    meta: dict[str, Any] = {}
    simplified: dict[str, str] = {}     # line -> _simplify(line), for lines converted already
    fm = _FRONT_MATTER.match(raw)
    if fm:
        _front_matter(fm.group("yaml"), meta, doc.warnings, r)
        body = Mapped.of(raw, fm.end())
    if _HTML_START.match(body.text) or len(_HTML_TAG.findall(body.text[:20000])) >= 5:
        doc.format = "html"
        blocks, headings = _html_blocks(body, raw, meta, doc.warnings, r)
        blocks = _filter_blocks(blocks, len(raw), meta, r, simplified)
    else:
        doc.format = "markdown" if fm or _looks_markdown(body.text) else "text"
        pdf = doc.format == "text" and _looks_like_pdf(body.text, r)
        if pdf:
            doc.format = "pdf-text"
        blocks, headings = _text_blocks(body, len(raw), doc.format, meta, r, simplified)
    # (no second _tidy here: it leaves a tidy text as it is, and lines joined into one
    # paragraph, which may form new letter-spaced runs, were tidied again in _paragraph)
    blocks = _deduplicate(blocks, headings, meta, r)
    pieces = [_split_long_runs(b, r) if len(b.text) > r.max_run else [b] for b in blocks]
    if len(pieces) < sum(map(len, pieces)):
        doc.warnings.append(f"{sum(len(p) > 1 for p in pieces)} paragraph(s) ran on for more than "
                            f"{r.max_run} characters without a sentence end; broken after commas")
        blocks = [b for p in pieces for b in p]

    original = join(blocks, "\n")
    lines = original.text.split("\n")
    if all(line in simplified for line in lines):   # most often each paragraph is one line
        text = "\n".join(simplified[line] for line in lines)
    else:
        text = "\n".join(_simplify_lines(lines))
    # (before folding: folding never touches a CJK character, so the count is the same)
    doc.script = "Hant" if _mostly_changed(original.text, text, r.hant_share) else "Hans"
    if r.fold_alnum:   # １．６８ -> 1.68: numbers readable by the passes, lengths unchanged
        text = _FULLWIDTH_ALNUM_RUN.sub(_fold_alnum, text)
        if "．" in text:   # (the look-behind is tried at every position: not for nothing)
            text = _FULLWIDTH_POINT.sub(".", text)
    doc.original, doc.text, doc.offsets = original.text, text, original.offsets
    date = meta.get("date")
    if isinstance(date, str) and _ISO_DATE.fullmatch(date) and not _iso_date(date):
        doc.warnings.append(f"date {date} is not a calendar date; ignored")   # 2023-02-30
        del meta["date"]
    doc.meta = _clean_meta(meta)


def _fold_alnum(m: re.Match) -> str:
    return m.group().translate(_FULLWIDTH_ALNUM)   # (translate is slow on long non-ASCII text)


def _mostly_changed(original: str, text: str, share: float) -> bool:
    """Did the conversion change at least `share` of the CJK characters (changed / cjk >= share)?

    Counting the CJK characters is the slow part: the changed ones are counted first, line by
    line (equal lines skipped), and the CJK characters only as far as the answer needs. There
    are at most len(original) of them, and the ratio only falls as more are counted. A line is
    compared a slice at a time: the count only grows, so the answer may come before it ends."""
    changed = 0
    if original != text:
        for a, b in zip(original.split("\n"), text.split("\n")):
            if a == b:
                continue
            for k in range(0, len(a), 64):
                x, y = a[k:k + 64], b[k:k + 64]
                if x != y:
                    changed += _cjk_count("".join([c for c, d in zip(x, y) if c != d]))
                    if changed and changed / len(original) >= share:
                        return True
    if not changed:                     # 0 / cjk >= share, when there is CJK text
        return share <= 0 and _has_cjk(original)
    cjk = 0
    for line in original.split("\n"):
        cjk += _cjk_count(line)
        if cjk and changed / cjk < share:
            return False
    return changed / cjk >= share


# libyaml (C) reads front matter several times faster than PyYAML. Differential fuzzing found
# it reading some text PyYAML refuses or reads otherwise (tabs, a BOM, tags, "|#"): such text
# goes to PyYAML, as does deep nesting (it would overflow libyaml's C stack; PyYAML raises
# RecursionError). A collection opens with one of "[{-:?", so their count bounds the depth.
_LIBYAML = getattr(yaml, "CSafeLoader", None)
_LIBYAML_DIFFERS = re.compile(r"[\t\ufeff!]|[|>][-+0-9]*#")
_LIBYAML_MAX_OPENERS = 100


# Most front matter is one `key: value` a line, the value plain or in single quotes ("title: 标题",
# "date: '2024-05-06'"): read here as PyYAML reads it, several times faster than by a YAML
# reader. Anything else goes to one, and so does a word that YAML reads as other than a string
# (a date, a number, yes/no, null: PyYAML's own resolver says). Left out as well: characters
# YAML refuses or reads as line breaks, and ":" "#" in plain values (a mapping, a comment).
_YAML_ODD = "\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff"   # controls, breaks, BOM...
_SIMPLE_PAIR = re.compile(
    r"(?P<key>[A-Za-z_][A-Za-z0-9_]{0,63}): +(?:"
    r"'(?P<quoted>[^'" + _YAML_ODD + r"]*)'"                                 # 'single-quoted'
    r"|(?P<plain>[^-?:,\[\]{}#&*!|>'\"%@` " + _YAML_ODD + r"]"             # plain: no indicator first,
    r"(?:[^:#" + _YAML_ODD + r"]*[^:# " + _YAML_ODD + r"])?))")              # no space last
_YAML_STR = "tag:yaml.org,2002:str"


def _simple_yaml(src: str) -> dict[str, str] | None:
    """`src` read as yaml.safe_load reads it, when it is simple front matter (above); else None."""
    if not src.endswith("\n"):
        return None
    resolve = _yaml_resolver().resolve
    data = {}
    for line in src[:-1].split("\n"):
        m = _SIMPLE_PAIR.fullmatch(line)
        if not m or resolve(yaml.ScalarNode, m["key"], (True, False)) != _YAML_STR:
            return None
        value = m["quoted"]
        if value is None:
            value = m["plain"]
            if resolve(yaml.ScalarNode, value, (True, False)) != _YAML_STR:
                return None
        data[m["key"]] = value          # (a repeated key: the last value, in the first place)
    return data


@lru_cache(maxsize=None)
def _yaml_resolver() -> yaml.SafeLoader:
    return yaml.SafeLoader("")      # the resolver yaml.safe_load uses


def _load_yaml(src: str) -> Any:
    """yaml.safe_load(src), by libyaml when it reads `src` the same."""
    simple = _simple_yaml(src)
    if simple is not None:
        return simple
    if _LIBYAML is not None and not _LIBYAML_DIFFERS.search(src) and \
            sum(map(src.count, "[{-:?")) <= _LIBYAML_MAX_OPENERS:
        try:
            return yaml.load(src, Loader=_LIBYAML)
        except Exception:   # noqa: BLE001 - PyYAML below raises the error, in its own words
            pass
    return yaml.safe_load(src)


def _front_matter(src: str, meta: dict, warnings: list[str], r: SimpleNamespace) -> None:
    try:
        data = _load_yaml(src)
    except (yaml.YAMLError, ValueError, TypeError) as e:   # ValueError: "date: 2023-02-30"
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        data = _loose_front_matter(src)
        done = "read line by line as key: value" if data else "body used without it"
        warnings.append(f"front matter is not valid YAML ({first}); {done}")
    except RecursionError:             # PyYAML's composer recurses once per nesting level
        warnings.append("front matter nested too deeply; body used without it")
        return
    if data is None:
        return
    if not isinstance(data, dict):
        warnings.append("front matter is not a mapping; ignored")
        return
    if not _small(data, r.fm_max_values):
        warnings.append(f"front matter holds more than {r.fm_max_values} values (YAML aliases?); ignored")
        return
    for key, value in data.items():
        key = str(key).lower()
        key = r.fm_aliases.get(key, key)
        if key == "date":
            value = _iso_date(value) or str(value)
        meta.setdefault(key, _plain(value))


_LOOSE_PAIR = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:[ \t]+(.+?)[ \t]*$", re.M)


def _loose_front_matter(src: str) -> dict[str, str]:
    """Top-level `key: value` lines of front matter that is not valid YAML (most often an
    unquoted ": " inside a value): the first ": " on a line ends the key, the rest is the
    value as written. Values that start like YAML structure are left out."""
    out = {}
    for key, value in _LOOSE_PAIR.findall(src):
        if value[0] not in "[]{}&*|>:!%@`#,":
            if len(value) > 1 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            out.setdefault(key, value)
    return out


def _small(data: Any, limit: int) -> bool:
    """Does `data` hold at most `limit` values? A few YAML aliases make a kilobyte into
    billions of values, or a list that contains itself; counted without recursion."""
    stack, n = [data], 0
    while stack:
        v = stack.pop()
        n += 1
        if n > limit:
            return False
        if isinstance(v, dict):
            stack += [*v.keys(), *v.values()]
        elif isinstance(v, list):
            stack += v
    return True


def _clean_meta(value: Any) -> Any:
    """Metadata as text that can be written anywhere (RDF, JSON, a terminal): lone surrogates
    (a YAML "\\ud800" escape) as U+FFFD, control and zero-width characters out, one line."""
    if isinstance(value, str):
        if _UNCLEAN.search(value):      # (most values have nothing to replace)
            value = _WS_RUN.sub(" ", _INVISIBLE.sub("", _SURROGATE.sub("\ufffd", value)))
        return value.strip(WS_CHARS)
    if isinstance(value, list):
        return [_clean_meta(v) for v in value]
    if isinstance(value, dict):
        return {_clean_meta(str(k)): _clean_meta(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)               # .nan / .inf from YAML: JSON has no such numbers
    return value


def _plain(value: Any) -> Any:
    """YAML values as JSON-friendly data (dates as ISO strings)."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_IN_TEXT = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
_DATE_DIGITS = re.compile(r"(\d{4})(\d{2})(\d{2})")


def _iso_date(value: Any) -> str | None:
    """YYYY-MM-DD from a date, '2021-12-03 18:30', '2021年12月3日', an RFC 2822 date ..."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        return None
    s = value.strip()
    m = _DATE_IN_TEXT.search(s) or _DATE_DIGITS.fullmatch(s)
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        except ValueError:
            return None
    try:
        return email.utils.parsedate_to_datetime(s).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return None


def _set_meta(meta: dict, key: str, value: str) -> None:
    """Metadata found in the body: the first value wins, front matter wins over all."""
    value = value.strip(WS_CHARS)
    if not value:
        return
    if key == "date":
        value = _iso_date(value) or value
    meta.setdefault(key, value)


# ---------------------------------------------------------------- line classes
def _ends_final(text: str, r: SimpleNamespace) -> bool:
    t = text.rstrip(WS_CHARS).rstrip(r.closers)
    return bool(t) and t[-1] in r.final


def _meta_pairs(simp: str, r: SimpleNamespace) -> list[tuple[str, str]] | None:
    """'时间：… 来源：…' -> [(date, …), (source, …)]; None if the line is not a meta line."""
    if not r.label_re.match(simp):
        return None                     # no label at the start (most lines): no scan for others
    hits = [m for m in r.label_re.finditer(simp)
            if m.start() == 0 or simp[m.start() - 1] in WS_CHARS + "|｜/"]
    if not hits or hits[0].start() != 0:
        return None
    pairs = []
    for i, m in enumerate(hits):
        end = hits[i + 1].start() if i + 1 < len(hits) else len(simp)
        value = simp[m.end():end].strip(WS_CHARS + "|｜/")
        key = r.labels[m.group("label")]
        if not value or len(value) > r.max_meta_value or (key == "date" and not _iso_date(value)):
            return None                 # a sentence that starts like a label ("时间：3月11日至…")
        pairs.append((key, value))
    return pairs


def _classify(simp: str, raw_pos: int, raw_len: int, r: SimpleNamespace):
    """(kind, meta pairs) of one stripped line in Simplified script.

    kind: 'trailer' (ends the article), 'meta', 'chrome', 'byline' or 'body'."""
    head = simp.lstrip("【[（(")
    if head.startswith(r.trailers) and raw_pos >= r.trailer_min_position * raw_len:
        return "trailer", None
    pairs = _meta_pairs(simp, r)
    if pairs:
        return "meta", pairs
    if r.chrome.fullmatch(simp):
        return "chrome", None
    if r.bylines.fullmatch(simp):
        return "byline", None
    return "body", None


def _apply_meta(pairs: list[tuple[str, str]], meta: dict, r: SimpleNamespace) -> bool:
    """Record meta pairs; True if the line stays in the text (e.g. 原标题)."""
    for key, value in pairs:
        _set_meta(meta, key, value)
    return all(key in r.keep_keys for key, _ in pairs)


def _filter_blocks(blocks: list[Mapped], raw_len: int, meta: dict, r: SimpleNamespace,
                   simplified: dict[str, str]) -> list[Mapped]:
    """Drop chrome and metadata blocks, stop at a trailer (used for HTML paragraphs). Each tidy
    block goes into `simplified` with its Simplified form (all in one conversion)."""
    blocks = [b for b in (_tidy(b, False, r) for b in blocks) if b]
    texts = [b.text for b in blocks]    # (a tidy block has no \n)
    simplified.update(zip(texts, _simplify_lines(texts)))
    out = []
    for block in blocks:
        kind, pairs = _classify(simplified[block.text], block.start, raw_len, r)
        if kind == "trailer":
            break
        if kind == "chrome" or (kind == "meta" and not _apply_meta(pairs, meta, r)):
            continue
        out.append(block)
    return out


# ---------------------------------------------------------------- whitespace
def _tidy(m: Mapped, pdf: bool, r: SimpleNamespace) -> Mapped:
    """One paragraph: invisible characters out, whitespace runs to one space or nothing.

    A run goes entirely between two CJK characters/marks when it holds a line break (a
    source line wrap) and, in PDF text, always (the extractor's letter spacing); in PDF
    text also between CJK and Latin/digits (人员 1.68 亿) when the config says so.
    Letter-spaced runs (高 质 量) lose their spaces in every format."""
    if _tidy_already(m.text):
        return m                        # no whitespace, nothing invisible: nothing to do (most lines)
    m = m.rewrite(_INVISIBLE, lambda _: None).strip(WS_CHARS)
    if not m:
        return m
    next_to_cjk = pdf and r.pdf.drop_spaces_next_to_cjk

    def space(mt: re.Match) -> Mapped | None:
        left, right = _is_wide(m.text[mt.start() - 1]), _is_wide(m.text[mt.end()])
        if left and right and (pdf or "\n" in mt.group()):
            return None
        if next_to_cjk and (left or right):
            return None
        return Mapped.at(" ", m.offset(mt.start()))

    # outside PDF text a single space stays as it is: only other whitespace needs the rewrite
    spaced = m.rewrite(_WS_RUN, space) if pdf or _ODD_SPACE.search(m.text) else m
    if " " not in spaced.text or not r.letter_spaced_hint.search(spaced.text):
        return spaced                   # no letter spacing (the hint is a quick necessary test)

    def unspace(mt: re.Match) -> Mapped:
        return concat(spaced[i:i + 1] for i in range(mt.start(), mt.end()) if spaced.text[i] != " ")

    return spaced.rewrite(r.letter_spaced, unspace)


def _tidy_already(text: str) -> bool:
    """Nothing for _tidy to do: no whitespace, nothing invisible. Quick test first: every such
    character but the space is one str.isprintable() refuses."""
    return (" " not in text and text.isprintable()) or not _UNTIDY.search(text)


# ---------------------------------------------------------------- plain text, Markdown, PDF text
def _looks_markdown(text: str) -> bool:
    lines = text.splitlines()
    return any(_MD_HEADING.match(l) or _MD_QUOTE.match(l) for l in lines) or \
        bool(re.search(r"\[[^\]\n]+\]\([^)\n]+\)", text))


def _looks_like_pdf(text: str, r: SimpleNamespace) -> bool:
    """Lines cut at a page width (similar widths, most ending mid-sentence), or letter-spaced runs."""
    p = r.pdf
    lines = [l.strip(WS_CHARS) for l in text.splitlines()]
    lines = [l for l in lines if l]
    if len(lines) < p.min_lines:
        return False
    spaced = len(r.spaced_run.findall(text)) if r.spaced_run_hint.search(text) else 0
    if spaced >= p.spaced_runs_min:
        return True
    widths = [_width(l) for l in lines]
    med = statistics.median(widths)
    if med > p.max_median_width:
        return False
    full = sum(1 for w in widths if abs(w - med) <= p.width_tolerance * med) / len(widths)
    mid = sum(1 for l in lines if not _ends_final(l, r)) / len(lines)
    return full >= p.full_share and mid >= p.midsentence_share


class _Line:
    """A line of the body; `shown` is the source line stripped, whose width tells a short line."""
    __slots__ = ("text", "shown", "before", "after")

    def __init__(self, text: Mapped, shown: str, before: bool, after: bool):
        self.text, self.shown, self.before, self.after = text, shown, before, after


_BLANK, _CUT = "blank", "cut"   # a blank line; a dropped line (always a paragraph break)


def _text_blocks(body: Mapped, raw_len: int, fmt: str, meta: dict, r: SimpleNamespace,
                 simplified: dict[str, str]):
    """Lines -> classified lines -> paragraphs. Returns (blocks, heading blocks); each tidy line
    goes into `simplified` with its Simplified form."""
    pdf = fmt == "pdf-text"
    md = fmt == "markdown"
    lines: list[Any] = []       # _BLANK or (line, tidy line, shown, before, after, heading text)
    in_quote = in_fence = False
    for line in body.split_lines():
        if not line.text:
            lines.append(_BLANK)
            continue
        # (Markdown block syntax starts with an ASCII character; most lines start with CJK)
        syntax = md and line.text[0] < "\x80"
        if syntax and _MD_FENCE.match(line.text):
            in_fence = not in_fence
            lines.append(_BLANK)
            continue
        shown = line.text.strip(WS_CHARS)
        if not shown or (syntax and not in_fence and _MD_RULE.match(line.text)):
            lines.append(_BLANK)
            continue
        before = after = in_fence
        heading = None
        if md and not in_fence:
            line, before, after, in_quote, is_heading = _markdown_line(line, in_quote)
            if is_heading and line:
                heading = line.text
        lines.append((line, _tidy(line, pdf, r), shown, before, after, heading))
    # Simplified script for _classify, all lines in one conversion (a tidy line has no \n)
    tidy_lines = [x[1].text for x in lines if x is not _BLANK]
    simplified.update(zip(tidy_lines, _simplify_lines(tidy_lines)))
    items: list[Any] = []
    headings: list[str] = []
    for x in lines:
        if x is _BLANK:
            items.append(_BLANK)
            continue
        line, tidy, shown, before, after, heading = x
        if heading is not None:
            headings.append(heading)
        if not tidy:
            items.append(_CUT)
            continue
        kind, pairs = _classify(simplified[tidy.text], tidy.start, raw_len, r)
        if kind == "trailer":
            break
        if kind == "chrome" or (kind == "meta" and not _apply_meta(pairs, meta, r)):
            items.append(_CUT)
            continue
        if kind in ("byline", "meta"):
            before = after = True
        if kind == "byline" and pdf:    # "新华社记者 任沁沁": the space between words stays
            tidy = _tidy(line, False, r)
        items.append(_Line(tidy, shown, before, after))
    return _assemble(items, pdf, r), headings


def _markdown_line(line: Mapped, in_quote: bool):
    """Strip Markdown block markers and inline syntax from one line.

    Returns (line, break before, break after, in blockquote, is heading)."""
    if line.text[0] >= "\x80" or not _MD_BLOCK_START.match(line.text):   # (most lines: no marker)
        return _markdown_inline(line), in_quote, False, False, False   # a quote may have ended
    before = after = heading = False
    m = _MD_HEADING.match(line.text)
    if m:
        line = line[m.end():]
        end = _MD_HEADING_END.search(line.text)
        line = line[:end.start()] if end else line
        before = after = heading = True
    quote = _MD_QUOTE.match(line.text)
    if quote:
        line = line[quote.end():]
    if bool(quote) != in_quote:
        before = True
    item = _MD_LIST.match(line.text)
    if item:
        line = line[item.end():]
        before = True
    return _markdown_inline(line), before, after, bool(quote), heading


def _markdown_inline(line: Mapped) -> Mapped:
    if any(map(line.text.__contains__, _MD_INLINE_CHARS)):   # each inline pattern needs one
        for pattern in _MD_INLINE:
            line = line.keep_group(pattern)
    return line


def _assemble(items: list, pdf: bool, r: SimpleNamespace) -> list[Mapped]:
    """Join lines into paragraphs: a soft break (line wrap) joins, a hard break splits."""
    short: list[float] = []     # the width of a short line, computed when first asked for:
                                # most documents (Markdown, HTML) never need it

    def is_short(line: _Line) -> bool:
        if not short:
            widths = [_width(it.shown) for it in items if isinstance(it, _Line)]
            short.append(r.pdf.short_line_ratio * (statistics.median(widths) if widths else 0))
        return _width(line.shown) < short[0]

    blocks: list[Mapped] = []
    parts: list[Mapped] = []
    prev: _Line | None = None
    blank = False
    for it in items:
        if it is _BLANK:
            blank = True
            continue
        if it is _CUT:
            prev, blank = None, False
            if parts:
                blocks.append(_paragraph(parts, r))
                parts = []
            continue
        if prev is not None and _continues(prev, it, blank, pdf, is_short, r):
            parts.append(_joiner(prev.text, it.text, pdf))
        elif parts:
            blocks.append(_paragraph(parts, r))
            parts = []
        parts.append(it.text)
        prev, blank = it, False
    if parts:
        blocks.append(_paragraph(parts, r))
    return blocks


def _paragraph(parts: list[Mapped], r: SimpleNamespace) -> Mapped:
    """Lines joined into one paragraph. Joined lines may form new letter-spaced runs (PDF spaces
    went line by line already): tidied again. One tidy line is tidy as a paragraph too."""
    return _tidy(concat(parts), False, r) if len(parts) > 1 else parts[0]


def _continues(prev: _Line, nxt: _Line, blank: bool, pdf: bool, is_short: Callable[[_Line], bool],
               r: SimpleNamespace) -> bool:
    """Does `nxt` continue the paragraph of `prev` (was the break between them a line wrap)?"""
    if blank and not pdf:          # outside PDF text a blank line is a paragraph break;
        return False               # in PDF text it may be a page break mid-sentence
    if prev.after or nxt.before or _ends_final(prev.text.text, r):
        return False
    if prev.text.text[-1] in r.soft:
        return True
    return not is_short(prev)      # a short line ends its paragraph (a title, a last line)


def _joiner(prev: Mapped, nxt: Mapped, pdf: bool) -> Mapped:
    """What stands for a soft break: nothing next to CJK, a space between Latin words."""
    a, b = prev.text[-1], nxt.text[0]
    if a.isascii() and b.isascii() and a.isalnum() and b.isalnum() and not (pdf and a.isdigit() and b.isdigit()):
        return Mapped.at(" ", prev.end)
    return Mapped()


# ---------------------------------------------------------------- HTML
def _html_blocks(body: Mapped, raw: str, meta: dict, warnings: list[str], r: SimpleNamespace):
    reader = _HtmlReader(raw, body.start, r)
    # "<![foo" makes the stdlib parser raise; blank its "<" (same length: offsets hold)
    src = _BAD_MARKED_SECTION.sub(" ", body.text)
    try:
        reader.feed(src)
        # The parser keeps what it could not finish; at the end, a "<" with no ">" after it
        # is a tag or comment cut off (a truncated download), not text to show.
        if reader.rawdata.startswith("<") and ">" not in reader.rawdata:
            reader.broken = reader.pos() if reader.broken is None else reader.broken
            reader.rawdata = ""
        reader.close()
    except AssertionError as e:    # the stdlib parser's way of giving up on markup
        warnings.append(f"HTML parsing stopped near offset {reader.pos()} ({e}); text after it is missing")
    reader.flush()
    if reader.broken is not None:
        warnings.append(f"unfinished or malformed HTML markup dropped (first at offset {reader.broken}: "
                        "a truncated file or an unclosed tag, comment or quote)")
    for key, value in reader.meta.items():
        _set_meta(meta, key, value if key == "url" else _simplify(value))
    for text in reader.editor:
        pairs = _meta_pairs(_simplify(text.strip(WS_CHARS)), r)
        for key, value in pairs or [("editor", _simplify(text))]:
            _set_meta(meta, key, value)
    headings = [b.text for want in r.heading_tags for tag, b in reader.headings if tag == want]
    if reader.title:
        title = _simplify(_WS_RUN.sub(" ", "".join(reader.title)).strip())
        # "<title>Headline_Site_Portal</title>": the headline is the first part
        first = re.split(r"\s+[-|｜]\s+|_", title)[0].strip()
        _set_meta(meta, "html_title", title)
        headings.append(first if len(first) >= r.title_min else title)
    return reader.blocks, headings


_DISPLAY_NONE = re.compile(r"display\s*:\s*none", re.I)
_WORD_SEPARATORS = re.compile(r"[-_]+")     # in class names: "article-content" -> article, content


class _HtmlReader(HTMLParser):
    """Paragraphs of an HTML page with the source offset of every character.

    lxml and trafilatura do not give source positions, the stdlib parser does (getpos()),
    and it is tolerant of broken markup."""

    def __init__(self, raw: str, base: int, r: SimpleNamespace):
        super().__init__(convert_charrefs=False)   # entities one by one, each at its position
        self.raw, self.base, self.r = raw, base, r
        src = raw[base:]
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", src)]
        self.stack: list[tuple[str, str]] = []     # (tag, role); role: skip/title/caption/editor
        self.depth = Counter()
        self.open = Counter()                      # tag -> how many are on the stack (a stray
                                                   # end tag must not scan a deep stack)
        self.broken: int | None = None             # where unreadable markup was first dropped
        self.blocks: list[Mapped] = []
        self.cur: list[Mapped] = []
        self.headings: list[tuple[str, Mapped]] = []
        self.heading_at: int | None = None
        self.title: list[str] = []
        self.editor: list[str] = []
        self.editor_buf: list[str] = []
        self.meta: dict[str, str] = {}

    def pos(self) -> int:
        line, col = self.getpos()
        return self.base + self.line_starts[line - 1] + col

    def flush(self) -> None:
        if self.cur:
            self.blocks.append(concat(self.cur))
            self.cur = []

    def role(self, tag: str, attrs: dict) -> str:
        if tag == "title" and not self.title and not self.open["svg"]:
            return "title"
        if tag in self.r.skip_tags or "hidden" in attrs or \
                _DISPLAY_NONE.search(attrs.get("style") or ""):
            return "skip"
        words = set()
        for name in ("class", "id"):
            for token in (attrs.get(name) or "").lower().split():
                words.add(token)
                words.update(w for w in _WORD_SEPARATORS.split(token) if w)
        if words & self.r.editor_words:
            return "editor"
        if tag == "figcaption" or words & self.r.caption_words:
            return "caption"
        if words & self.r.chrome_words:
            return "skip"
        return ""

    def handle_starttag(self, tag: str, attrs_list: list) -> None:
        attrs = {k.lower(): (v or "") for k, v in attrs_list}
        if tag == "meta":
            key = (attrs.get("property") or attrs.get("name") or "").lower()
            if key in self.r.meta_tags and attrs.get("content", "").strip():
                self.meta.setdefault(self.r.meta_tags[key], attrs["content"].strip())
            return
        block = tag in self.r.block_tags
        if tag in self.r.void_tags:        # <img> too: its alt text repeats the caption
            if block:
                self.flush()
            return
        if block and self.stack and self.stack[-1][0] in ("p", "li") and tag in ("p", "li", "div"):
            self.pop_to(self.stack[-1][0])  # an open <p>/<li> is closed by the next block
        role = self.role(tag, attrs)
        if block or role in ("caption", "editor"):
            self.flush()
        if tag in self.r.heading_tags and not self.depth["skip"]:
            self.heading_at = len(self.blocks)
        self.stack.append((tag, role))
        self.depth[role] += 1
        self.open[tag] += 1

    def pop_to(self, tag: str) -> str:
        role = ""
        while self.stack:
            t, role = self.stack.pop()
            self.depth[role] -= 1
            self.open[t] -= 1
            if role == "editor" and not self.depth["editor"]:
                self.editor.append("".join(self.editor_buf))
                self.editor_buf = []
            if t == tag:
                break
        return role

    def handle_endtag(self, tag: str) -> None:
        if not self.open[tag]:
            if tag in self.r.block_tags:   # a stray </p> still ends a paragraph
                self.flush()
            return
        role = self.pop_to(tag)
        if tag in self.r.block_tags or role in ("caption", "editor"):
            self.flush()
        if tag in self.r.heading_tags and self.heading_at is not None:
            self.headings.extend((tag, b) for b in self.blocks[self.heading_at:self.heading_at + 1])
            self.heading_at = None

    def text(self, value: Mapped) -> None:
        if self.depth["title"]:
            self.title.append(value.text)
        elif self.depth["skip"]:
            return
        elif self.depth["editor"]:
            self.editor_buf.append(value.text)
        else:
            self.cur.append(value)

    def handle_data(self, data: str) -> None:
        if self.depth["skip"] and not self.depth["title"]:
            return                         # (a page's scripts can be megabytes: map nothing)
        p = self.pos()
        if len(data) > 1 and data[0] == "<" and (data[1].isalpha() or data[1] in "/!?"):
            # markup the parser could not finish (a tag or comment cut off by a truncated
            # download, an unclosed quote): a browser shows none of it, neither do we
            if self.broken is None:
                self.broken = p
            return
        self.text(Mapped.run(data, p))

    def handle_entityref(self, name: str) -> None:
        self.reference(f"&{name}")

    def handle_charref(self, name: str) -> None:
        self.reference(f"&#{name}")

    def reference(self, src: str) -> None:
        p = self.pos()
        if self.raw.startswith(";", p + len(src)):
            src += ";"
        value = html.unescape(src)
        if value == src:                   # unknown entity: the characters as written
            self.text(Mapped.run(src, p))
        else:                              # each character at the entity's start
            self.text(Mapped.at(value, p))


# ---------------------------------------------------------------- finishing
def _title_like(text: str, r: SimpleNamespace) -> bool:
    return len(text) <= r.title_max and not _ends_final(text, r)


def _split_long_runs(block: Mapped, r: SimpleNamespace) -> list[Mapped]:
    """A paragraph that runs on for more than `max_run_chars` without a sentence end (a table
    flattened into one line, a list without full stops) is broken after a comma-like mark, or
    at the limit when there is none: the passes read a sentence at a time (kg.segment) and
    their work grows faster than the sentence."""
    text = block.text
    if len(text) <= r.max_run:
        return [block]
    out, start, run, soft = [], 0, 0, -1
    for i, ch in enumerate(text):
        if ch in r.enders:
            run, soft = 0, -1
            continue
        run += 1
        if ch in r.soft or ch == " ":
            soft = i + 1
        if run > r.max_run:
            cut = soft if soft > start else i
            out.append(block[start:cut])
            start, run, soft = cut, i + 1 - cut, -1
    out.append(block[start:])
    return [b for b in (x.strip(WS_CHARS) for x in out) if b]


def _deduplicate(blocks: list[Mapped], headings: list[str], meta: dict, r: SimpleNamespace) -> list[Mapped]:
    """Drop repeats (a headline printed three times, a caption twice) and pick a title.

    Title, when the front matter or the page head gave none: the first heading, else a
    short line that repeats (pages print the headline more than once), else the first
    short line that is long enough."""
    counts: dict[str, int] = {}         # title-like blocks: how often each is there
    for b in blocks:
        if len(b.text) <= r.title_max and _title_like(b.text, r):   # (most blocks are longer)
            counts[b.text] = counts.get(b.text, 0) + 1
    if "title" not in meta:
        candidates = [h.strip(WS_CHARS) for h in headings if h.strip(WS_CHARS)]
        candidates += [t for t, n in counts.items() if n > 1 and len(t) >= r.title_min]
        candidates += [t for t in counts if len(t) >= r.title_min]
        if candidates:
            meta["title"] = _simplify(candidates[0].strip(WS_CHARS))
    out: list[Mapped] = []
    seen: set[str] = set()
    for b in blocks:
        if out and b.text == out[-1].text:
            continue
        if b.text in counts:
            if b.text in seen:
                continue
            seen.add(b.text)
        out.append(b)
    return out
