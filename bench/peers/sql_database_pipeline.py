"""The guide's sql_database_pipeline.py, as the guide writes it, with two changes for the benchmark:

- the destination is dlt's ``duckdb`` (a local file, ``pg2md.duckdb`` in the working directory:
  dlt names it after the pipeline) instead of ``motherduck``, which needs the network;
- the backend comes from the command line: ``connectorx`` (the guide's) or ``sqlalchemy``
  (dlt's default, which many users run).

Run it in a folder holding the guide's ``.dlt/config.toml`` and ``.dlt/secrets.toml``
(bench/peers/venv.sh makes the Python environment; scripts/bench.sh and
tests/e2e/t86_dlt_layout.sh write the folders).
"""
import sys

import dlt
from dlt.sources.sql_database import sql_database


def use_config_tables(backend: str) -> None:
    pipeline = dlt.pipeline(
        pipeline_name="pg2md",
        destination="duckdb",
        dataset_name="pg2md_data",
    )

    tables = dlt.config.get("sources.sql_database.tables")
    if not tables:
        raise ValueError(
            "No tables configured in .dlt/config.toml under [sources.sql_database.tables]"
        )

    source = sql_database(backend=backend).parallelize().with_resources(*tables)
    info = pipeline.run(source, write_disposition="replace")
    print(info)


if __name__ == "__main__":
    use_config_tables(sys.argv[1] if len(sys.argv) > 1 else "connectorx")
