"""How fast the graph page shows its graph in headless Chromium, by graph size.

    .venv/bin/python bench/render_bench.py [--sizes 162,500,2000,10000] [--seeds]

For each size: a synthetic graph shaped like a real one (a few agencies with many units,
measures, statistics, places), the Python time to write the page (layout included), the page
size, and the time from navigation to the page's first drawing of the graph
(window.__graphReady) in /usr/bin/chromium, then the time to draw everything ("show all").
With --seeds, the seeds' page too (built into a temporary folder).
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# class -> (share of nodes, name suffixes)
SHAPE = {
    "Agency": (0.22, ["边检站", "边检总站", "支队", "大队", "管理局"]),
    "Person": (0.06, [""]),
    "Measure": (0.16, ["措施", "新政", "办法"]),
    "Campaign": (0.04, ["专项行动"]),
    "CrimeType": (0.03, ["犯罪"]),
    "Location": (0.12, ["市", "县", "口岸"]),
    "Law": (0.02, ["条例"]),
    "Statistic": (0.35, [""]),
}
SYLLABLES = "东南西北中华安宁平江河山海湖云川广福长新兴和泰康明德光远通达"


def synthetic_graph(n_nodes: int, seed: int = 7, documents: int = 200) -> nx.MultiDiGraph:
    """A graph with the attributes of kg.render.graph_to_networkx, shaped like a real one:
    units under a few big agencies, statistics and measures on agencies, a few isolated nodes."""
    rnd = random.Random(seed)
    G = nx.MultiDiGraph()
    docs = [f"文件{i:04d}：关于出入境管理工作的通报" for i in range(documents)]
    by_cls: dict[str, list[str]] = {c: [] for c in SHAPE}
    names: set[str] = set()
    for cls, (share, suffixes) in SHAPE.items():
        for i in range(max(1, round(n_nodes * share))):
            while True:
                stem = "".join(rnd.choice(SYLLABLES) for _ in range(rnd.randint(2, 4)))
                label = stem + rnd.choice(suffixes) if cls != "Statistic" else ""
                if cls == "Statistic" or label not in names:
                    break
            names.add(label)
            node = f"urn:x:{cls}:{i}"
            attrs = {"cls": cls, "label": label, "altLabels": [],
                     "documents": sorted(rnd.sample(docs, min(len(docs), 1 + int(rnd.paretovariate(2)))))}
            if cls == "Statistic":
                value = rnd.randint(1, 10 ** rnd.randint(2, 9))
                attrs.update(label=f"{value}人次\n查验出入境人员", value=value, unit="人次",
                             metric="查验出入境人员", period="2023",
                             evidence=[{"text": f"今年以来共查验出入境人员{value}人次。",
                                        "document": attrs["documents"][0], "confidence": 0.9}])
            G.add_node(node, **attrs)
            by_cls[cls].append(node)

    def link(u: str, v: str, pred: str) -> None:
        ev = [{"text": f"{G.nodes[u]['label']}与{G.nodes[v]['label']}相关的一句话。",
               "document": rnd.choice(docs), "confidence": 0.8}]
        G.add_edge(u, v, key=pred, predicate=pred, evidence=ev)

    agencies = by_cls["Agency"]
    top = agencies[: max(1, len(agencies) // 50)]
    for a in agencies[len(top):]:  # preferential: most units hang under the first agencies
        link(a, top[min(len(top) - 1, int(rnd.expovariate(0.5)))], "subOrganizationOf")
    pick = lambda: agencies[min(len(agencies) - 1, int(rnd.expovariate(3 / len(agencies))))]
    for s in by_cls["Statistic"]:
        link(pick(), s, "reports")
    for m in by_cls["Measure"]:
        link(pick(), m, "issues")
    for c in by_cls["Campaign"]:
        link(pick(), c, "conducts")
        for t in rnd.sample(by_cls["CrimeType"], min(2, len(by_cls["CrimeType"]))):
            link(c, t, "targets")
    for loc in by_cls["Location"][: int(len(by_cls["Location"]) * 0.8)]:
        link(rnd.choice(agencies), loc, "locatedIn")
    for p in by_cls["Person"][: len(by_cls["Person"]) // 2]:
        link(p, rnd.choice(agencies), "heads")
    for _ in range(len(agencies) // 10):
        link(rnd.choice(agencies), rnd.choice(agencies), "cooperatesWith")
    return G


def measure(page: Path, browser, show_all: bool = True) -> dict:
    tab = browser.new_page(viewport={"width": 1400, "height": 900})
    t0 = time.perf_counter()
    tab.goto(page.as_uri())
    tab.wait_for_function("window.__graphReady", timeout=120_000)
    ready = tab.evaluate("window.__graphReady")
    wall = time.perf_counter() - t0
    out = {"ready_ms": ready["ms"], "wall_s": round(wall, 2), "drawn": ready["nodes"]}
    if show_all and tab.evaluate("kg.data.view.reduced"):
        t1 = tab.evaluate("""() => new Promise((done, fail) => {
            const t = performance.now();
            setTimeout(() => fail(new Error('show all: no drawing within 120 s')), 120000);
            document.getElementById('show-all').click();
            const wait = () => {
                if (kg.nodes.length !== kg.data.nodes.length) return setTimeout(wait, 5);
                kg.network.once('afterDrawing', () => done(performance.now() - t));
                kg.network.redraw();  // the drawing may have happened already: ask for one more
            };
            wait();
        })""")
        out["show_all_ms"] = round(t1)
    tab.close()
    return out


def main() -> int:
    from playwright.sync_api import sync_playwright
    from rdflib import Graph
    from kg import render

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="162,500,2000,10000")
    ap.add_argument("--seeds", action="store_true", help="also the seeds' page")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="render-bench-"))
    pages = []
    if args.seeds:
        from kg.build import build
        build([str(ROOT / "seeds")], tmp / "seeds", quiet=True, render=False)
        t = time.perf_counter()
        stats = render.render_html(Graph().parse(tmp / "seeds" / "graph.ttl"), tmp / "seeds.html")
        pages.append(("seeds", stats["nodes"], stats["edges"], time.perf_counter() - t, tmp / "seeds.html"))
    for n in (int(s) for s in args.sizes.split(",") if s):
        G = synthetic_graph(n)
        t = time.perf_counter()
        out = tmp / f"synthetic-{n}.html"
        stats = render.render_networkx(G, out, f"synthetic {n}")
        pages.append(("synthetic", stats["nodes"], stats["edges"], time.perf_counter() - t, out))
    print(f"{'graph':<10} {'nodes':>6} {'edges':>6} {'write s':>8} {'page MB':>8} "
          f"{'drawn':>6} {'ready ms':>9} {'wall s':>7} {'show-all ms':>12}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name, nodes, edges, write_s, path in pages:
            m = measure(path, browser)
            print(f"{name:<10} {nodes:>6} {edges:>6} {write_s:>8.2f} {path.stat().st_size / 1e6:>8.2f} "
                  f"{m['drawn']:>6} {m['ready_ms']:>9} {m['wall_s']:>7} {m.get('show_all_ms', '-'):>12}")
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
