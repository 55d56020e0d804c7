"""compare.py — the benchmark's output checks (scripts/bench.sh), comparable across methods that
name and type columns differently (dlt adds columns and widens integers; a method may turn
DECIMAL into DOUBLE or keep char(n) pad blanks).

  compare.py queries WORK
      reads WORK/pg_columns.tsv (table, column, typname, format_type, one line per column) and
      writes WORK/check_queries, one line per table: table|PostgreSQL query|DuckDB query|labels.
      Per table: count(*); per column: sum() of numbers, sum(days since 2000-01-01) of dates,
      count() and sum(length(rtrim())) of text (the content, with or without pad blanks), and for
      char(n) one more figure, the length of the values as stored (PostgreSQL: octet_length,
      i.e. padded; DuckDB: length), which tells whether a method kept the pad blanks.

  compare.py check WORK KEY [PGTSV]
      compares PGTSV (default WORK/check_pg.tsv) with WORK/check_KEY.tsv (one line per table: table, figures)
      and WORK/types_KEY.tsv (table, column, DuckDB type) with the source's types.  Prints one
      line for RESULTS.md and writes the details to WORK/check_KEY.txt.  Exit 0 when every
      table's rows and contents are equal (floating-point rounding of a sum is reported, not
      failed: DOUBLE sums of DECIMAL values differ in the last digits), 1 otherwise.
"""
import collections
import os
import sys


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def queries(work: str) -> None:
    cols = collections.OrderedDict()
    with open(os.path.join(work, "pg_columns.tsv")) as f:
        for line in f:
            t, c, typ, fmt = line.rstrip("\n").split("\t")
            cols.setdefault(t, []).append((c, typ, fmt))
    with open(os.path.join(work, "check_queries"), "w") as out:
        for t, cs in cols.items():
            pg, dk, labels = ["count(*)"], ["count(*)"], ["rows"]
            for c, typ, fmt in cs:
                if typ in ("int2", "int4", "int8", "numeric", "float4", "float8"):
                    pg.append(f"sum({q(c)})"); dk.append(f"sum({q(c)})"); labels.append(f"sum:{c}")
                elif typ == "date":
                    e = f"sum({q(c)} - DATE '2000-01-01')"
                    pg.append(e); dk.append(e); labels.append(f"days:{c}")
                elif typ in ("bpchar", "varchar", "text"):
                    pg.append(f"count({q(c)})"); dk.append(f"count({q(c)})"); labels.append(f"count:{c}")
                    e = f"sum(length(rtrim({q(c)})))"
                    pg.append(e); dk.append(e); labels.append(f"len:{c}")
                    if typ == "bpchar":
                        pg.append(f"sum(octet_length({q(c)}))"); dk.append(f"sum(length({q(c)}))")
                        labels.append(f"pad:{c}")
                else:
                    pg.append(f"count({q(c)})"); dk.append(f"count({q(c)})"); labels.append(f"count:{c}")
            out.write(f"{t}|SELECT '{t}', {', '.join(pg)}|SELECT '{t}', {', '.join(dk)}|{','.join(labels)}\n")


def read_tsv(path: str) -> dict:
    rows = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                v = line.rstrip("\n").split("\t")
                rows[v[0]] = v[1:]
    return rows


def close(a: str, b: str) -> bool:
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    return abs(x - y) <= 1e-9 * max(1.0, abs(x), abs(y))


def check(work: str, key: str, pgtsv: str) -> int:
    labels = {}
    with open(os.path.join(work, "check_queries")) as f:
        for line in f:
            p = line.rstrip("\n").split("|")
            labels[p[0]] = p[-1].split(",")
    pgcols = {}
    with open(os.path.join(work, "pg_columns.tsv")) as f:
        for line in f:
            t, c, typ, fmt = line.rstrip("\n").split("\t")
            pgcols[(t, c)] = fmt
    pg = read_tsv(pgtsv)
    got = read_tsv(os.path.join(work, f"check_{key}.tsv"))
    types = {}
    extra = collections.Counter()
    tpath = os.path.join(work, f"types_{key}.tsv")
    if os.path.exists(tpath):
        with open(tpath) as f:
            for line in f:
                t, c, dt = line.rstrip("\n").split("\t")
                if (t, c) in pgcols:
                    types[(t, c)] = dt
                elif t in labels:
                    extra[c] += 1
    details = []
    wrong_tables, rounding, padded, trimmed = [], set(), 0, 0
    for t, lab in labels.items():
        if t not in got:
            wrong_tables.append(t)
            details.append(f"{t}: no result (table missing or query failed)")
            continue
        a, b = pg[t], got[t]
        if len(b) != len(a):
            wrong_tables.append(t)
            details.append(f"{t}: query failed: {' '.join(b)[:300]}")
            continue
        bad = []
        lens = {n.partition(":")[2]: (x, y) for n, x, y in zip(lab, a, b) if n.startswith("len:")}
        for name, x, y in zip(lab, a, b):
            kind, _, col = name.partition(":")
            if kind == "pad":
                # x: the source's padded length; lens[col][0]: its trimmed length
                if x == lens[col][0]:
                    continue  # no value of this column has pad blanks: tells nothing
                if y == x:
                    padded += 1
                elif y == lens[col][1]:
                    trimmed += 1
                else:
                    bad.append(f"{name} (stored length): source {x} padded / {lens[col][0]} trimmed, got {y}")
                continue
            if x == y:
                continue
            if kind == "sum" and close(x, y):
                rounding.add(f"{t}.{col}")
                continue
            bad.append(f"{name}: source {x}, got {y}")
        if bad:
            wrong_tables.append(t)
            details.append(f"{t}: " + "; ".join(bad))
    # type mapping: source type -> DuckDB type, with counts
    mapping = collections.Counter()
    for (t, c), fmt in pgcols.items():
        if t in labels and (t, c) in types:
            base = fmt.split("(")[0] if fmt.startswith(("character", "character varying")) else fmt
            mapping[(base, types[(t, c)])] += 1
        elif t in labels and types:
            mapping[(fmt, "(missing)")] += 1
    n = len(labels)
    if wrong_tables:
        line = f"DIFFERS in {len(wrong_tables)} of {n} tables: {' '.join(wrong_tables[:8])}"
    else:
        line = f"ok ({n} tables: rows and contents equal)"
    notes = []
    if rounding:
        notes.append(f"sums of {len(rounding)} decimal columns equal only to ~1e-9 (stored as floating point)")
    if padded and not trimmed:
        notes.append("char(n) pad blanks kept")
    elif trimmed and not padded:
        notes.append("char(n) pad blanks removed")
    elif padded and trimmed:
        notes.append(f"char(n) pad blanks kept in {padded} columns, removed in {trimmed} (of those holding padded values)")
    if extra:
        notes.append("extra columns: " + ", ".join(f"{c} ({k} tables)" for c, k in sorted(extra.items())))
    if notes:
        line += "; " + "; ".join(notes)
    with open(os.path.join(work, f"check_{key}.txt"), "w") as f:
        f.write(line + "\n\n")
        for d in details:
            f.write("! " + d + "\n")
        if rounding:
            f.write("! floating-point sums: " + ", ".join(sorted(rounding)) + "\n")
        f.write("\nsource type -> DuckDB type (columns):\n")
        for (s, d), k in sorted(mapping.items()):
            f.write(f"  {s} -> {d}: {k}\n")
    with open(os.path.join(work, f"types_{key}.lst"), "w") as f:
        for (s, d), k in sorted(mapping.items()):
            f.write(f"{s} → {d}\n")
    with open(os.path.join(work, f"types_{key}.map"), "w") as f:
        f.write(", ".join(f"{s} → {d} ({k})" for (s, d), k in sorted(mapping.items())) + "\n")
    print(line)
    return 1 if wrong_tables else 0


if __name__ == "__main__":
    if sys.argv[1] == "queries":
        queries(sys.argv[2])
    else:
        sys.exit(check(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else os.path.join(sys.argv[2], "check_pg.tsv")))
