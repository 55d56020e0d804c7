"""probe.py — the benchmark's exactness probe (scripts/bench.sh): a few values the TPC-DS data
does not hold (numerics beyond a double's 15-16 digits, an unconstrained numeric with more than
9 decimals, one beyond DECIMAL(38)), copied by every method, compared value by value.

  probe.py sql
      prints the SQL that creates schema probe (tables exact and wide) in PostgreSQL
  probe.py columns TABLE | duckdb-columns TABLE
      the select list of TABLE, in PostgreSQL or (each cast to VARCHAR) in DuckDB
  probe.py compare PG.tsv OUT.tsv
      PG.tsv: the source's rows as text (id first); OUT.tsv: the method's rows as text, or a
      first line "ERROR: …".  Prints one line: "exact" or what differs (numbers compare as
      decimals, so 1.5 equals 1.500000000; text as text, trailing blanks ignored).
"""
import sys
from decimal import Decimal, InvalidOperation

TABLES = {
    "exact": ["id", "n30", "plain", "c", "t"],
    "wide": ["id", "big"],
}

SQL = """
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS probe CASCADE;
CREATE SCHEMA probe;
CREATE TABLE probe.exact (id int PRIMARY KEY, n30 numeric(30,10), plain numeric, c char(5), t text);
INSERT INTO probe.exact VALUES
  (1, 12345678901234.1234567891, 0.1234567890123, 'ab', 'plain'),
  (2, 9007199254740993.0000000001, 1.5, 'abcde', 'ünï€ødé'),
  (3, 0.0000000001, 100, NULL, NULL);
CREATE TABLE probe.wide (id int PRIMARY KEY, big numeric);
INSERT INTO probe.wide VALUES (1, 123456789012345678901234567890123456789.5), (2, 1);
"""


def num(v: str):
    try:
        return Decimal(v)
    except InvalidOperation:
        return None


def compare(pg_path: str, out_path: str) -> str:
    with open(out_path) as f:
        out = [line.rstrip("\n") for line in f]
    if out and out[0].startswith("ERROR"):
        return out[0][:300]
    with open(pg_path) as f:
        pg = [line.rstrip("\n") for line in f]
    if len(out) != len(pg):
        return f"{len(out)} rows, the source has {len(pg)}"
    diffs = []
    for a, b in zip(pg, out):
        va, vb = a.split("\t"), b.split("\t")
        for i, (x, y) in enumerate(zip(va, vb)):
            if x == y or x.rstrip(" ") == y.rstrip(" "):
                continue
            nx, ny = num(x), num(y)
            if nx is not None and ny is not None and nx == ny:
                continue
            if x in ("\\N", "NULL") and y in ("\\N", "NULL", ""):
                continue
            diffs.append(f"{x} → {y}")
    return "exact" if not diffs else "values changed: " + "; ".join(diffs[:4])


if __name__ == "__main__":
    if sys.argv[1] == "sql":
        print(SQL)
    elif sys.argv[1] == "columns":  # the source's select list
        print(", ".join(TABLES[sys.argv[2]]))
    elif sys.argv[1] == "duckdb-columns":  # the same as text in DuckDB
        print(", ".join(f"CAST({c} AS VARCHAR)" for c in TABLES[sys.argv[2]]))
    else:
        print(compare(sys.argv[2], sys.argv[3]))
