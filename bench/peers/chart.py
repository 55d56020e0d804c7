"""chart.py IN.tsv OUT.svg TITLE — the benchmark's chart, an SVG written without any library.

IN.tsv: one method a line: label, seconds, peak tree RSS (MB), CPU seconds of the method's
processes and the PostgreSQL server, failed (0/1).  Three panels side by side, one bar per method in each: wall seconds, peak RSS of
the process tree, and CPU seconds (client + PostgreSQL server); the value is printed at each bar's end.
"""
import sys
from xml.sax.saxutils import escape


def main() -> None:
    src, out, title = sys.argv[1], sys.argv[2], sys.argv[3]
    rows = []
    with open(src) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) >= 5:
                rows.append((p[0], float(p[1]), float(p[2]), float(p[3]), p[4] == "1"))
    panels = [("wall seconds (less is better)", 1, "{:.1f} s"),
              ("peak RSS of the process tree, MB", 2, "{:.0f} MB"),
              ("CPU seconds, client + PostgreSQL server", 3, "{:.1f}")]
    label_w, panel_w, bar_h, gap, top = 330, 270, 18, 6, 58
    width = label_w + len(panels) * (panel_w + 40) + 10
    height = top + len(rows) * (bar_h + gap) + 30
    colors = {"pg2md": "#2b6cb0", "limit": "#888888", "naive": "#b7791f", "peer": "#c53030"}

    def color(label: str) -> str:
        lo = label.lower()
        if lo.startswith("pg2md"):
            return colors["pg2md"]
        if "limit" in lo:
            return colors["limit"]
        if lo.startswith("naive"):
            return colors["naive"]
        return colors["peer"]

    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
         f'font-family="sans-serif" font-size="12">',
         f'<rect width="{width}" height="{height}" fill="white"/>',
         f'<text x="10" y="20" font-size="15" font-weight="bold">{escape(title)}</text>']
    for i, (name, idx, fmt) in enumerate(panels):
        x0 = label_w + i * (panel_w + 40)
        s.append(f'<text x="{x0}" y="{top - 12}" font-weight="bold">{escape(name)}</text>')
        # the scale: the largest bar but the SQLAlchemy ones (10-50x the others), which are
        # drawn cut at the panel's edge with their value printed
        vals = [r[idx] for r in rows if "sqlalchemy" not in r[0].lower() and not r[4]]
        vmax = max(vals + [1e-9])
        for j, r in enumerate(rows):
            y = top + j * (bar_h + gap)
            full = panel_w - 70
            w = 0 if r[4] else max(1.0, min(r[idx] / vmax, 1.0) * full)
            s.append(f'<rect x="{x0}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{color(r[0])}"/>')
            txt = "failed" if r[4] else fmt.format(r[idx])
            if not r[4] and r[idx] > vmax:
                s.append(f'<path d="M{x0 + w - 8:.1f},{y - 1} l5,{bar_h + 2} M{x0 + w - 4:.1f},{y - 1} l5,{bar_h + 2}" '
                         f'stroke="white" stroke-width="2"/>')
                txt += " (cut)"
            s.append(f'<text x="{x0 + w + 4:.1f}" y="{y + bar_h - 4}">{escape(txt)}</text>')
    for j, r in enumerate(rows):
        y = top + j * (bar_h + gap)
        s.append(f'<text x="{label_w - 8}" y="{y + bar_h - 4}" text-anchor="end">{escape(r[0])}</text>')
    s.append(f'<text x="10" y="{height - 10}" fill="#555">grey: limits; blue: pg2md; '
             f'orange: psql CSV + DuckDB; red: the peers (dlt, DuckDB postgres extension)</text>')
    s.append("</svg>")
    with open(out, "w") as f:
        f.write("\n".join(s) + "\n")


if __name__ == "__main__":
    main()
