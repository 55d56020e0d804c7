"""DuckDB's postgres extension as a copy tool: ATTACH the PostgreSQL database, then one
CREATE TABLE AS per table into a fresh DuckDB file, W statements at once (W cursors of one
DuckDB instance, each on its own thread), DuckDB threads = W.

    duckdb_postgres.py DUCKDB_FILE W SCHEMA TABLE...

The connection comes from the PG* environment variables (libpq reads them: PGHOST, PGPORT,
PGUSER, PGPASSWORD, PGDATABASE), so no password is on a command line.  The extension is loaded
from the duckdb-ext-postgres wheel's file (INSTALL postgres needs the internet).
"""
import glob
import os
import queue
import sys
import threading

import duckdb


def extension_path() -> str:
    import duckdb_ext  # the duckdb-ext-postgres wheel's package

    base = os.path.dirname(duckdb_ext.__file__) if getattr(duckdb_ext, "__file__", None) else list(duckdb_ext.__path__)[0]
    found = glob.glob(os.path.join(base, "extensions", "v" + duckdb.__version__, "*", "postgres_scanner.duckdb_extension"))
    if not found:
        sys.exit(f"duckdb_postgres.py: no postgres_scanner.duckdb_extension for DuckDB {duckdb.__version__} under {base}")
    return found[0]


def main() -> None:
    path, w, schema, tables = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    con = duckdb.connect(path)
    con.execute(f"SET threads = {w}")
    con.execute(f"LOAD '{extension_path()}'")
    con.execute("ATTACH '' AS pg (TYPE postgres, READ_ONLY)")
    con.execute("CREATE SCHEMA pg2md_data")
    todo: "queue.Queue[str]" = queue.Queue()
    for t in tables:
        todo.put(t)
    errors = []

    def worker() -> None:
        cur = con.cursor()
        while True:
            try:
                t = todo.get_nowait()
            except queue.Empty:
                return
            try:
                cur.execute(f'CREATE TABLE pg2md_data."{t}" AS FROM pg."{schema}"."{t}"')
            except Exception as e:  # report every failed table, keep going
                errors.append(f"{t}: {e}")

    threads = [threading.Thread(target=worker) for _ in range(w)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    con.execute("CHECKPOINT")
    con.close()
    if errors:
        sys.exit("duckdb_postgres.py: " + "; ".join(errors))


if __name__ == "__main__":
    main()
