"""Load the domain lexicons (ontology/lexicons/*.tsv) into `LexEntry` records.

Each file is UTF-8 TSV: `#` comment lines (source and caveats), one header row
`label<TAB>class<TAB>aliases<TAB>attrs`, then one entity per row.  `aliases` is
`|`-separated; `attrs` is `;`-separated `key=value`.  Only the top level of the
directory is read: `tools/` beside the files holds generator inputs, not lexicons.

Attributes (all optional):
  parent=<label>        the unit one level up, same class (Agency -> Agency, Location -> Location)
  managed_by=<label>    the ministry that manages a national bureau (Agency; not a sub-unit relation)
  location=<label>      the place named in a unit's name (a Location label)
  heads=<label>         the agency a person is (or was, see term=) the top post of
  kind=<kind>           Location kind: country, province, municipality, sar, prefecture,
                        county, region, port, city (a foreign city)
  ambiguous=1           the label is an ordinary word or too short to trust alone; so is every
                        alias, except one that contains the label (中山市 for 中山): see is_ambiguous
  ambiguous_aliases=a,b only these aliases need context (the label itself is safe)
  exclude=x,y           longer strings that contain a surface of this entry but are not it
                        (朝鲜族 is not 朝鲜); the matcher should drop a match inside one of them
  title=, term=, note=, source=   free text for people reading the data

Validation errors raise ValueError naming `file:line`.
"""
from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from .config import ONTOLOGY_DIR, name_marks

from .model import ENTITY_CLASSES

DEFAULT_DIR = ONTOLOGY_DIR / "lexicons"
HEADER = ("label", "class", "aliases", "attrs")
LOCATION_KINDS = frozenset(
    {"country", "province", "municipality", "sar", "prefecture", "county", "region", "port", "city"})
# Attribute keys that must name another entry: key -> classes the target may have.
REFERENCE_KEYS = {"location": ("Location",), "heads": ("Agency",), "managed_by": ("Agency",)}
LIST_KEYS = ("ambiguous_aliases", "exclude")
KNOWN_KEYS = frozenset({"parent", "kind", "ambiguous", "title", "term", "note", "source",
                        *REFERENCE_KEYS, *LIST_KEYS})


class FrozenAttrs(Mapping):
    """A read-only, hashable dict of attributes (LexEntry is frozen and hashable)."""

    __slots__ = ("_items", "_dict")

    def __init__(self, items: tuple[tuple[str, str], ...] = ()):
        self._items = tuple(items)
        self._dict = dict(self._items)

    def __getitem__(self, key: str) -> str:
        return self._dict[key]

    # Mapping's own get and `in` go through __getitem__ and a KeyError: ask the dict directly.
    def get(self, key: str, default=None):
        return self._dict.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._dict

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self) == dict(other)

    def __repr__(self) -> str:
        return f"FrozenAttrs({self._dict!r})"


@dataclass(frozen=True)
class LexEntry:
    label: str
    cls: str
    aliases: tuple[str, ...]
    attrs: FrozenAttrs
    source: str = ""              # "file.tsv:line", for error messages and provenance

    @property
    def surfaces(self) -> tuple[str, ...]:
        """Every string the matcher should look for: the label first, then the aliases."""
        return (self.label, *self.aliases)

    @property
    def ambiguous(self) -> bool:
        return self.attrs.get("ambiguous") == "1"

    def is_ambiguous(self, surface: str) -> bool:
        """True if this surface form needs supporting context before it is trusted.

        In an ambiguous=1 entry, an alias that spells out the label with more characters
        (中山 -> 中山市, 大理 -> 大理白族自治州) is specific enough on its own.
        """
        if surface in self.list_attr("ambiguous_aliases"):
            return True
        if not self.ambiguous:
            return False
        return not (surface != self.label and self.label in surface)

    def list_attr(self, key: str) -> tuple[str, ...]:
        value = self.attrs.get(key, "")
        return tuple(v.strip() for v in value.split(",") if v.strip())


def lexicon_files(directory: str | Path | None = None) -> list[Path]:
    d = Path(directory) if directory is not None else DEFAULT_DIR
    return sorted(p for p in d.glob("*.tsv") if p.is_file())


def load_lexicons(directory: str | Path | None = None) -> list[LexEntry]:
    """All entries of all lexicon files, validated. Raises ValueError('file:line: ...')."""
    entries: list[LexEntry] = []
    for path in lexicon_files(directory):
        entries.extend(_read_file(path))
    _check_unique(entries)
    _check_references(entries)
    return entries


@functools.lru_cache(maxsize=1)
def lexicon_entries() -> list[LexEntry]:
    """The project's lexicons, read and validated once per process (passes and resolve share them)."""
    return load_lexicons()


def lexicon_fingerprint(directory: str | Path | None = None) -> str:
    """sha256 over the lexicon files (name and bytes, sorted by name): a cache key."""
    h = hashlib.sha256()
    for path in lexicon_files(directory):
        h.update(path.name.encode("utf-8") + b"\0")
        data = path.read_bytes()
        h.update(str(len(data)).encode("ascii") + b"\0")
        h.update(data)
    return h.hexdigest()


def _read_file(path: Path) -> list[LexEntry]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as e:
        raise ValueError(f"{path.name}: not UTF-8 ({e})") from e
    entries = []
    seen_header = False
    for lineno, line in enumerate(lines, 1):
        where = f"{path.name}:{lineno}"
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [f.strip() for f in line.split("\t")]
        if not seen_header:
            if tuple(fields) != HEADER:
                raise ValueError(f"{where}: expected header row {'<TAB>'.join(HEADER)!r}")
            seen_header = True
            continue
        entries.append(_parse_row(fields, where))
    if not seen_header:
        raise ValueError(f"{path.name}: no header row")
    return entries


def _parse_row(fields: list[str], where: str) -> LexEntry:
    if not 2 <= len(fields) <= 4:
        raise ValueError(f"{where}: expected 2 to 4 tab-separated fields, got {len(fields)}")
    fields += [""] * (4 - len(fields))
    label, cls, alias_field, attr_field = fields
    if cls not in ENTITY_CLASSES:
        raise ValueError(f"{where}: unknown class {cls!r} (one of {', '.join(ENTITY_CLASSES)})")
    _check_name(label, where, "label")
    aliases: list[str] = []
    for alias in (a.strip() for a in alias_field.split("|")):
        if not alias:
            continue
        _check_name(alias, where, "alias")
        if alias == label or alias in aliases:
            raise ValueError(f"{where}: alias {alias!r} repeats the label or another alias")
        aliases.append(alias)
    attrs = _parse_attrs(attr_field, where)
    entry = LexEntry(label, cls, tuple(aliases), FrozenAttrs(attrs), where)
    _check_attrs(entry, where)
    return entry


def _check_name(name: str, where: str, what: str) -> None:
    if len(name) < 2:
        raise ValueError(f"{where}: {what} {name!r} is shorter than two characters")
    if name_marks().search(name):    # CONTRACT: a canonical name holds no quote or title marks
        raise ValueError(f"{where}: {what} {name!r} contains quote marks or spaces")


def _parse_attrs(text: str, where: str) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise ValueError(f"{where}: attribute {part!r} is not key=value")
        if key not in KNOWN_KEYS:
            raise ValueError(f"{where}: unknown attribute {key!r}")
        if any(k == key for k, _ in pairs):
            raise ValueError(f"{where}: attribute {key!r} given twice")
        pairs.append((key, value))
    return tuple(pairs)


def _check_attrs(entry: LexEntry, where: str) -> None:
    attrs = entry.attrs
    if "ambiguous" in attrs and attrs["ambiguous"] != "1":
        raise ValueError(f"{where}: ambiguous must be 1")
    if "kind" in attrs:
        if entry.cls != "Location":
            raise ValueError(f"{where}: kind= is only for Location entries")
        if attrs["kind"] not in LOCATION_KINDS:
            raise ValueError(f"{where}: unknown Location kind {attrs['kind']!r}")
    for alias in entry.list_attr("ambiguous_aliases"):
        if alias not in entry.aliases:
            raise ValueError(f"{where}: ambiguous_aliases names {alias!r}, not an alias")
    for longer in entry.list_attr("exclude"):
        if not any(s in longer and s != longer for s in entry.surfaces):
            raise ValueError(f"{where}: exclude {longer!r} contains no surface of this entry")


def _check_unique(entries: list[LexEntry]) -> None:
    """One entry per label and one per surface form within a class (else the matcher cannot choose)."""
    owner: dict[tuple[str, str], LexEntry] = {}
    for e in entries:
        for s in e.surfaces:
            other = owner.setdefault((e.cls, s), e)
            if other is e:
                continue
            if s == e.label == other.label:
                raise ValueError(f"{e.source}: duplicate {e.cls} label {s!r} (first at {other.source})")
            raise ValueError(f"{e.source}: {s!r} is already a name of {e.cls} "
                             f"{other.label!r} ({other.source})")


def _check_references(entries: list[LexEntry]) -> None:
    labels = {(e.cls, e.label) for e in entries}
    for e in entries:
        for key, value in e.attrs.items():
            if key == "parent":
                targets: tuple[str, ...] = (e.cls,)
            elif key in REFERENCE_KEYS:
                targets = REFERENCE_KEYS[key]
            else:
                continue
            if not any((cls, value) in labels for cls in targets):
                raise ValueError(f"{e.source}: {key}={value!r} is not a {'/'.join(targets)} label")
            if key == "parent" and value == e.label:
                raise ValueError(f"{e.source}: an entry cannot be its own parent")
