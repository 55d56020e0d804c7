"""Load one table with dlt's scd2 merge strategy, as a dlt user would: dlt's sql_database source
(backend from the command line: sqlalchemy, dlt's default, or connectorx, the guide's), dlt's
duckdb destination into ``pg2md.duckdb`` in the working folder, dataset ``pg2md_data``.

Run in a folder holding .dlt/config.toml and .dlt/secrets.toml (credentials under
[sources.sql_database.credentials]); tests/e2e/t68_scd2_dlt.sh writes them and compares the
history dlt keeps with pg2md's.

    python scd2_dlt.py TABLE [sqlalchemy|connectorx]
"""
import sys

import dlt
from dlt.sources.sql_database import sql_database


def main() -> None:
    table = sys.argv[1]
    backend = sys.argv[2] if len(sys.argv) > 2 else "sqlalchemy"
    pipeline = dlt.pipeline(pipeline_name="pg2md", destination="duckdb", dataset_name="pg2md_data")
    source = sql_database(backend=backend).with_resources(table)
    getattr(source, table).apply_hints(write_disposition={"disposition": "merge", "strategy": "scd2"})
    info = pipeline.run(source)
    print(info)


if __name__ == "__main__":
    main()
