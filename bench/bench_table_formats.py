"""Delta Lake vs Apache Iceberg for the task lake (issue 25 item 2): measured on task data.

Not run by CI, and neither library is a milekit dependency here; install them first::

    pip install "deltalake>=1.6,<1.7" "pyiceberg[sql-sqlite,pyarrow]>=0.12,<0.13" "moto[server]"

The data: a few thousand tasks read from an in-process ``milekit.Sandbox`` with
``milekit.tasks_table()`` (milekit's real 94 columns and Arrow types), replicated to N rows
(default 1,000,000) with fresh ObjectId-like ``_id`` s (a time prefix: newer tasks sort
last, as MongoDB's do) and every timestamp shifted one day per copy; written chunk by chunk
to a source Parquet file. The incremental run's input: 10,000 changed rows (``duration``
set to -1, ``updatedTime`` +1 h) and 5,000 new ones, all among the newest tasks (the open
ones a sync re-reads), and 1,000 deleted ``_id`` s.

Each measurement runs in a fresh child process that reports its own wall time and peak RSS
(``getrusage(RUSAGE_SELF).ru_maxrss``, the imports included); bytes are those of the
table's folder (data, logs, metadata; Iceberg's SQLite catalog included). Per format:

- ``write``: the first write of N rows from a stream of record batches (Delta
  ``write_deltalake(reader)``; Iceberg ``create_table`` + one transaction's
  ``append(reader)``), one commit;
- ``merge``: the incremental run as ONE commit: upsert by ``_id`` of the changed and new
  rows and delete of the gone ones (Delta: one ``merge`` with ``when_matched_delete`` /
  ``when_matched_update_all`` / ``when_not_matched_insert_all``; Iceberg: one transaction
  with ``upsert(join_cols=["_id"])`` and ``delete(In("_id", ...))``);
- ``read``: the whole table to Arrow, and to pandas; ``travel``: version 0 (the first write)
  to Arrow after the merge.

Each is run ``--repeat`` times (median reported). Then, once: which engines read each table
(Polars, DuckDB, pyarrow, pandas), which milekit column types round-trip, writing and two
concurrent merges against moto's S3 server on loopback (``--s3-rows``), and each library's
install size in a fresh venv (``--no-install-size`` skips it).

Run::

    python bench/bench_table_formats.py                 # 1,000,000 rows, 3 repeats
    python bench/bench_table_formats.py --quick         # 100,000 rows, 1 repeat

Writes ``bench/results/bench_table_formats.json`` (a run's output: not committed);
docs/lake-formats.md has the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from _common import table, write_result

import milekit

HERE = Path(__file__).resolve()
FORMATS = ("delta", "iceberg")
BASE_TASKS = 5_000  # tasks read from the sandbox, then replicated
CHANGED, NEW, DELETED = 10_000, 5_000, 1_000
EPOCH = 1_735_689_600  # 2025-01-01: the _id time prefix of copy 0
# Polars 2 plans an Iceberg scan with its polars_iceberg plugin if installed, else pyiceberg
# (slower, with a PerformanceWarning that this silences): pyiceberg is what is measured here
os.environ.setdefault("POLARS_ICEBERG_PLANNER", "pyiceberg")
S3_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# Iceberg's pyarrow writer logs a warning per dictionary column and batch (read back as string)
logging.getLogger("pyiceberg").setLevel(logging.ERROR)


# --- the data -------------------------------------------------------------------------


def base_tasks(n: int = BASE_TASKS) -> pa.Table:
    """milekit's task table as the sandbox serves it (no rate limit: only the data counts)."""
    with (
        milekit.Sandbox(tasks=n, rate_limit=None) as sb,
        milekit.Client(token=sb.token, base_url=sb.url) as c,
    ):
        return milekit.tasks_table(client=c, progress=False)


def copy_of(base: pa.Table, k: int) -> pa.Table:
    """Copy ``k`` of the base: new unique ``_id`` s with a time prefix, times shifted k days."""
    n = base.num_rows
    prefix = pa.array([f"{EPOCH + k * 86_400:08x}"] * n)
    counter = pa.array([f"{i:08x}" for i in range(n)])
    middle = pc.utf8_slice_codeunits(base.column("_id"), 8, 16)
    ids = pc.binary_join_element_wise(prefix, middle, counter, "")
    shift = pa.scalar(dt.timedelta(days=k), pa.duration("us"))
    columns = []
    for field, col in zip(base.schema, base.columns, strict=True):
        if field.name == "_id":
            col = ids
        elif pa.types.is_timestamp(field.type):
            col = pc.add(col, shift).cast(field.type)
        columns.append(col)
    return pa.Table.from_arrays(columns, schema=base.schema)


def build_source(work: Path, rows: int) -> dict[str, Any]:
    """source.parquet (``rows`` tasks), changes.parquet and deletes.parquet, chunk by chunk."""
    t0 = time.perf_counter()
    base = base_tasks()
    copies, rest = divmod(rows, base.num_rows)
    if rest or rows < 4 * CHANGED:
        raise SystemExit(f"rows: a multiple of {base.num_rows:,}, at least {4 * CHANGED:,}")
    with pq.ParquetWriter(work / "source.parquet", base.schema) as w:
        for k in range(copies):
            w.write_table(copy_of(base, k))
    newest = -(-4 * CHANGED // base.num_rows)  # the copies holding the newest 40,000 rows
    recent = pa.concat_tables(copy_of(base, k) for k in range(copies - newest, copies))
    changed = recent.take(pa.array(range(0, 4 * CHANGED, 4)))  # every 4th of the newest
    changed = changed.set_column(
        changed.schema.get_field_index("duration"),
        changed.schema.field("duration"),
        pa.array([-1] * changed.num_rows, pa.int64()),
    )
    i = changed.schema.get_field_index("updatedTime")
    hour = pa.scalar(dt.timedelta(hours=1), pa.duration("us"))
    changed = changed.set_column(
        i,
        changed.schema.field(i),
        pc.add(changed.column(i), hour).cast(changed.schema.field(i).type),
    )
    new = copy_of(base, copies + 1).slice(0, NEW)
    pq.write_table(pa.concat_tables([changed, new]), work / "changes.parquet")
    gone = recent.column("_id").take(pa.array(range(1, 4 * DELETED, 4)))  # not among changed
    pq.write_table(pa.table({"_id": gone}), work / "deletes.parquet")
    return {
        "rows": rows,
        "columns": base.num_columns,
        "base_tasks": base.num_rows,
        "source_parquet_bytes": (work / "source.parquet").stat().st_size,
        "arrow_bytes_per_row": base.nbytes / base.num_rows,
        "build_s": time.perf_counter() - t0,
    }


def adapt(schema: pa.Schema, fmt: str) -> pa.Schema:
    """The least change each format needs to take milekit's types (see ``types_check``).

    Delta: no time-of-day type, so ``time64`` becomes int64 microseconds. Iceberg (format
    v2, the one pyiceberg writes): no null type, so null columns and struct children become
    string (all null).
    """

    def fix(t: pa.DataType) -> pa.DataType:
        if fmt == "delta" and pa.types.is_time(t):
            return pa.int64()
        if fmt == "iceberg" and pa.types.is_null(t):
            return pa.string()
        if pa.types.is_struct(t):
            return pa.struct([f.with_type(fix(f.type)) for f in t])
        return t

    return pa.schema([f.with_type(fix(f.type)) for f in schema], metadata=schema.metadata)


def reader(path: Path, fmt: str) -> pa.RecordBatchReader:
    """The Parquet file as a stream of batches (one per row group) cast to the format's schema.

    Not ``iter_batches(batch_size=...)``: a batch spanning row groups came out with a short
    null child in the ``assignedVehicle`` struct here (pyarrow 26; "Struct child array #3
    has length smaller than expected").
    """
    f = pq.ParquetFile(path)
    target = adapt(f.schema_arrow, fmt)
    groups = (f.read_row_group(i) for i in range(f.num_row_groups))
    batches = (b.cast(target) for g in groups for b in g.to_batches())
    return pa.RecordBatchReader.from_batches(target, batches)


# --- the two formats (run in the child) -------------------------------------------------


def iceberg_catalog(lake: Path, warehouse: str | None = None, **props: str) -> Any:
    from pyiceberg.catalog.sql import SqlCatalog

    lake.mkdir(parents=True, exist_ok=True)
    cat = SqlCatalog(
        "bench",
        uri=f"sqlite:///{lake / 'catalog.db'}",
        warehouse=warehouse or f"file://{lake / 'warehouse'}",
        **props,
    )
    cat.create_namespace_if_not_exists("milekit")
    return cat


def delta_options(s3: str | None) -> dict[str, str] | None:
    if s3 is None:
        return None
    return {
        "AWS_ENDPOINT_URL": s3,
        "AWS_ALLOW_HTTP": "true",
        "AWS_REGION": "us-east-1",
        "conditional_put": "etag",
        **S3_KEYS,
    }


def iceberg_props(s3: str | None) -> dict[str, str]:
    if s3 is None:
        return {}
    return {
        "s3.endpoint": s3,
        "s3.region": "us-east-1",
        "s3.access-key-id": S3_KEYS["AWS_ACCESS_KEY_ID"],
        "s3.secret-access-key": S3_KEYS["AWS_SECRET_ACCESS_KEY"],
    }


def open_table(fmt: str, lake: Path, uri: str, s3: str | None, version: int | None = None) -> Any:
    if fmt == "delta":
        from deltalake import DeltaTable

        return DeltaTable(uri, version=version, storage_options=delta_options(s3))
    return iceberg_catalog(lake, uri, **iceberg_props(s3)).load_table("milekit.tasks")


def do_write(fmt: str, lake: Path, uri: str, src: Path, s3: str | None) -> dict[str, Any]:
    rdr = reader(src, fmt)
    if fmt == "delta":
        from deltalake import write_deltalake

        write_deltalake(uri, rdr, storage_options=delta_options(s3))
        return {}
    cat = iceberg_catalog(lake, uri, **iceberg_props(s3))
    tbl = cat.create_table("milekit.tasks", schema=rdr.schema)
    with tbl.transaction() as tx:
        tx.append(rdr)
    return {"snapshots": len(cat.load_table("milekit.tasks").snapshots())}


def do_merge(fmt: str, lake: Path, uri: str, work: Path, s3: str | None) -> dict[str, Any]:
    changes = reader(work / "changes.parquet", fmt).read_all()
    gone = pq.read_table(work / "deletes.parquet").column("_id")
    if fmt == "delta":
        tbl = open_table(fmt, lake, uri, s3)
        deletes = pa.table({"_id": gone}).cast(pa.schema([changes.schema.field("_id")]))
        source = pa.concat_tables(
            [
                changes.append_column("_op", pa.array(["upsert"] * changes.num_rows)),
                deletes.append_column("_op", pa.array(["delete"] * len(gone))),
            ],
            promote_options="default",
        )
        metrics = (
            tbl.merge(source, "t._id = s._id", source_alias="s", target_alias="t")
            .when_matched_delete("s._op = 'delete'")
            .when_matched_update_all("s._op = 'upsert'", except_cols=["_op"])
            .when_not_matched_insert_all("s._op = 'upsert'", except_cols=["_op"])
            .execute()
        )
        keep = ("num_target_rows_updated", "num_target_rows_inserted", "num_target_rows_deleted")
        keep += ("num_target_files_added", "num_target_files_removed")
        return {k: metrics[k] for k in keep} | {"version": tbl.version()}
    from pyiceberg.expressions import In

    tbl = open_table(fmt, lake, uri, s3)
    before = len(tbl.snapshots())
    with tbl.transaction() as tx:
        res = tx.upsert(changes, join_cols=["_id"])
        tx.delete(In("_id", gone.to_pylist()))
    after = open_table(fmt, lake, uri, s3).snapshots()
    return {
        "rows_updated": res.rows_updated,
        "rows_inserted": res.rows_inserted,
        "snapshots_added_by_one_commit": len(after) - before,
        "operations": [s.summary.operation.value for s in after[before:] if s.summary],
    }


def do_read(fmt: str, lake: Path, uri: str, s3: str | None, to: str) -> dict[str, Any]:
    tbl = open_table(fmt, lake, uri, s3, version=0 if to == "travel" else None)
    if fmt == "delta":
        data: Any = tbl.to_pandas() if to == "pandas" else tbl.to_pyarrow_table()
    elif to == "travel":
        data = tbl.scan(snapshot_id=tbl.snapshots()[0].snapshot_id).to_arrow()
    else:
        scan = tbl.scan()
        data = scan.to_pandas() if to == "pandas" else scan.to_arrow()
    out: dict[str, Any] = {"rows": len(data)}
    if to == "arrow":
        ids = data.column("_id")
        out["unique_ids"] = pc.count_distinct(ids).as_py()
        out["changed_rows_seen"] = pc.sum(pc.equal(data.column("duration"), -1)).as_py()
    return out


def child(spec: dict[str, Any]) -> None:
    """Runs in the measured process: one operation, then its wall time and peak RSS."""
    fmt, lake, work, s3 = spec["fmt"], Path(spec["lake"]), Path(spec["work"]), spec.get("s3")
    uri = spec.get("uri") or (str(lake / "table") if fmt == "delta" else None)
    if spec.get("start_at"):
        time.sleep(max(0.0, spec["start_at"] - time.time()))
    t0 = time.perf_counter()
    op = spec["op"]
    try:
        if op == "write":
            out = do_write(fmt, lake, uri, work / "source.parquet", s3)
        elif op == "merge":
            out = do_merge(fmt, lake, uri, work, s3)
        else:
            out = do_read(fmt, lake, uri, s3, op)
        out["ok"] = True
    except Exception as e:  # reported, e.g. the loser of two concurrent commits
        out = {"ok": False, "error": f"{type(e).__module__}.{type(e).__name__}: {e}"[:400]}
    out["wall_s"] = time.perf_counter() - t0
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out, default=str), flush=True)


def peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM, not ``ru_maxrss``, which Linux carries over an
    exec from the parent (the parent holds the source data: every child would report it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def spawn(spec: dict[str, Any]) -> subprocess.Popen[str]:
    cmd = [sys.executable, str(HERE), "--child", json.dumps(spec)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=os.environ | S3_KEYS)


def run(spec: dict[str, Any]) -> dict[str, Any]:
    proc = spawn(spec)
    out, _ = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"child {spec} exited with {proc.returncode}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# --- the measured runs ------------------------------------------------------------------


def one_round(fmt: str, work: Path, lake: Path) -> dict[str, Any]:
    """write, merge, read (Arrow, pandas), version 0: one fresh table."""
    shutil.rmtree(lake, ignore_errors=True)
    spec = {"fmt": fmt, "lake": str(lake), "work": str(work)}
    out: dict[str, Any] = {}
    out["write"] = run(spec | {"op": "write"})
    out["write"]["bytes"] = written = folder_bytes(lake)
    out["merge"] = run(spec | {"op": "merge"})
    out["merge"]["bytes_added"] = folder_bytes(lake) - written
    for op in ("arrow", "pandas", "travel"):
        out[op] = run(spec | {"op": op})
    return out


def median_of(rounds: list[dict[str, Any]], op: str, key: str) -> float:
    return statistics.median(r[op][key] for r in rounds)


def summary_rows(rounds: dict[str, list[dict[str, Any]]]) -> list[tuple[Any, ...]]:
    rows = []
    for op, label in (
        ("write", "first write"),
        ("merge", "merge (1 commit)"),
        ("arrow", "read -> Arrow"),
        ("pandas", "read -> pandas"),
        ("travel", "version 0 -> Arrow"),
    ):
        d, i = (median_of(rounds[f], op, "wall_s") for f in FORMATS)
        dm, im = (median_of(rounds[f], op, "peak_rss_mb") for f in FORMATS)
        rows.append((label, f"{d:.2f}", f"{i:.2f}", f"{i / d:.2f}x", f"{dm:.0f}", f"{im:.0f}"))
    return rows


# --- what engines read each, and which types survive ----------------------------------


def try_(fn: Any) -> Any:
    try:
        return fn()
    except Exception as e:
        return f"FAILED {type(e).__name__}: {str(e).splitlines()[0][:200]}"


def engines(lakes: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """Row counts each engine gets from each table (the expected count is the merge's)."""
    import duckdb
    import polars as pl
    import pyarrow.dataset as ds

    delta_uri = str(lakes["delta"] / "table")
    delta = open_table("delta", lakes["delta"], delta_uri, None)
    ice = open_table("iceberg", lakes["iceberg"], "", None)
    con = duckdb.connect()
    con.register("dset", delta.to_pyarrow_dataset())
    con.register("rdr", ice.scan().to_arrow_batch_reader())
    data = lakes["iceberg"] / "warehouse" / "milekit" / "tasks" / "data"

    def duck(sql: str) -> Any:
        return con.execute(sql).fetchall()

    def polars(frame: Any) -> Any:
        return frame.select(pl.len()).collect().item()

    return {
        "delta": {
            "polars scan_delta": try_(lambda: polars(pl.scan_delta(delta_uri))),
            "duckdb delta extension": try_(lambda: duck("INSTALL delta; LOAD delta")),
            "duckdb over to_pyarrow_dataset()": try_(
                lambda: duck("from dset select count()")[0][0]
            ),
            "pyarrow to_pyarrow_dataset()": try_(lambda: delta.to_pyarrow_dataset().count_rows()),
            "pandas to_pandas()": try_(lambda: len(delta.to_pandas(columns=["_id"]))),
            "plain pyarrow.dataset (no format)": try_(lambda: ds.dataset(delta_uri).count_rows()),
        },
        "iceberg": {
            "polars scan_iceberg": try_(lambda: polars(pl.scan_iceberg(ice))),
            "duckdb iceberg extension": try_(lambda: duck("INSTALL iceberg; LOAD iceberg")),
            "duckdb over to_arrow_batch_reader()": try_(
                lambda: duck("from rdr select count()")[0][0]
            ),
            "pyarrow scan().to_arrow()": try_(lambda: ice.scan().to_arrow().num_rows),
            "pandas scan().to_pandas()": try_(lambda: len(ice.scan().to_pandas())),
            "plain pyarrow.dataset (no format)": try_(lambda: ds.dataset(data).count_rows()),
        },
    }


_TS = dt.datetime(2026, 1, 1, 8, tzinfo=dt.UTC)
_STRUCT = pa.struct([("a", pa.int64()), ("b", pa.string())])
_NULL_CHILD = pa.struct([("a", pa.int64()), ("s", pa.null())])
_ITEMS = pa.list_(pa.struct([("n", pa.string()), ("q", pa.int64())]))
#: every kind of type milekit's frames hold (and a few it might): value, then null
PROBE: dict[str, pa.Array] = {
    "timestamp_us_utc": pa.array([_TS, None], pa.timestamp("us", "UTC")),
    "timestamp_us_jakarta": pa.array([_TS, None], pa.timestamp("us", "Asia/Jakarta")),
    "timestamp_ns_utc": pa.array([_TS, None], pa.timestamp("ns", "UTC")),
    "timestamp_us_naive": pa.array([_TS.replace(tzinfo=None), None], pa.timestamp("us")),
    "time64_us": pa.array([dt.time(8, 30), None], pa.time64("us")),
    "date32": pa.array([dt.date(2026, 1, 1), None], pa.date32()),
    "null": pa.array([None, None], pa.null()),
    "dictionary<int32, string>": pa.array(["DONE", None]).dictionary_encode(),
    "string": pa.array(["a", None], pa.string()),
    "large_string": pa.array(["a", None], pa.large_string()),
    "string_view": pa.array(["a", None], pa.string_view()),
    "list<string>": pa.array([["a"], None], pa.list_(pa.string())),
    "struct": pa.array([{"a": 1, "b": "x"}, None], _STRUCT),
    "struct with a null child": pa.array([{"a": 1, "s": None}, None], _NULL_CHILD),
    "list<struct>": pa.array([[{"n": "x", "q": 1}], None], _ITEMS),
    "map<string, int64>": pa.array([[("k", 1)], None], pa.map_(pa.string(), pa.int64())),
    "bool": pa.array([True, None]),
    "int64": pa.array([1, None], pa.int64()),
    "double": pa.array([1.5, None]),
}


def roundtrip(fmt: str, name: str, col: pa.Array, tmp: Path) -> str:
    field = pa.field(name, col.type, metadata={"milekit": "{}"})
    schema = pa.schema([pa.field("_id", pa.string()), field], metadata={"milekit.resource": "t"})
    t = pa.Table.from_arrays([pa.array(["1", "2"]), col], schema=schema)
    lake = tmp / f"{fmt}-{len(list(tmp.iterdir()))}"
    try:
        if fmt == "delta":
            from deltalake import DeltaTable, write_deltalake

            write_deltalake(str(lake), t)
            back = DeltaTable(str(lake)).to_pyarrow_table()
        else:
            cat = iceberg_catalog(lake)
            cat.create_table("milekit.tasks", schema=t.schema).append(t)
            back = cat.load_table("milekit.tasks").scan().to_arrow()
    except Exception as e:
        return f"rejected ({type(e).__name__}: {str(e).splitlines()[0][:120]})"
    got = back.schema.field(name)
    notes = [] if got.type == col.type else [f"read back as {got.type}"]
    if back.column(name).to_pylist() != col.to_pylist():
        notes.append(f"values changed: {col.to_pylist()} -> {back.column(name).to_pylist()}")
    if not got.metadata:
        notes.append("field metadata dropped")
    return "; ".join(notes) or "same"


def types_check(tmp: Path) -> dict[str, dict[str, str]]:
    return {name: {f: roundtrip(f, name, col, tmp) for f in FORMATS} for name, col in PROBE.items()}


# --- object storage: moto's S3 server on loopback ---------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def s3_checks(work: Path, rows: int) -> dict[str, Any]:
    """Write ``rows`` to S3 with each format, then two merges at once: who wins, what stays."""
    import boto3

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", **_boto_keys())
        s3.create_bucket(Bucket="lake")
        return {fmt: s3_one(fmt, work, url, s3) for fmt in FORMATS} | {"rows": rows}
    finally:
        server.terminate()
        server.wait()


def _boto_keys() -> dict[str, str]:
    return {
        "aws_access_key_id": S3_KEYS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": S3_KEYS["AWS_SECRET_ACCESS_KEY"],
    }


def s3_one(fmt: str, work: Path, url: str, s3: Any) -> dict[str, Any]:
    lake = work / f"s3-{fmt}"  # Iceberg's SQLite catalog lives here, the data in the bucket
    uri = f"s3://lake/{fmt}" if fmt == "delta" else f"s3://lake/{fmt}-warehouse"
    spec = {"fmt": fmt, "lake": str(lake), "work": str(work), "s3": url, "uri": uri}
    out: dict[str, Any] = {"write": run(spec | {"op": "write"})}
    start = time.time() + 4.0  # both load the same version, then race to commit
    procs = [spawn(spec | {"op": "merge", "start_at": start}) for _ in range(2)]
    out["two_concurrent_merges"] = [json.loads(p.communicate()[0].strip()) for p in procs]
    out["after"] = run(spec | {"op": "arrow"})
    keys = s3.list_objects_v2(Bucket="lake", Prefix=uri.removeprefix("s3://lake/"))
    out["objects"] = keys.get("KeyCount", 0)
    return out


# --- install size -----------------------------------------------------------------------


def install_sizes(tmp: Path) -> dict[str, Any]:
    """Fresh venvs: pyarrow+pandas (milekit has them), then each library on top."""
    sets = {
        "pyarrow+pandas": ["pyarrow", "pandas"],
        "deltalake (alone)": ["deltalake>=1.6,<1.7"],
        "pyiceberg[sql-sqlite,pyarrow] (alone)": ["pyiceberg[sql-sqlite,pyarrow]>=0.12,<0.13"],
        "pyarrow+pandas+deltalake": ["pyarrow", "pandas", "deltalake>=1.6,<1.7"],
        "pyarrow+pandas+pyiceberg[sql-sqlite,pyarrow]": [
            "pyarrow",
            "pandas",
            "pyiceberg[sql-sqlite,pyarrow]>=0.12,<0.13",
        ],
    }
    out: dict[str, Any] = {}
    empty = None
    for name, pkgs in {"(empty venv)": [], **sets}.items():
        venv = tmp / f"venv-{len(out)}"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *pkgs]
        if pkgs:
            subprocess.run(pip, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        site = next(venv.glob("lib/python*/site-packages"))
        size = folder_bytes(site)
        empty = size if empty is None else empty
        freeze = [str(venv / "bin" / "python"), "-m", "pip", "freeze"]
        dists = subprocess.run(freeze, check=True, capture_output=True, text=True).stdout.split()
        out[name] = {"bytes": size - empty, "distributions": dists}
        shutil.rmtree(venv)
    return out


# --- main ---------------------------------------------------------------------------------


def measure(work: Path, repeat: int) -> dict[str, list[dict[str, Any]]]:
    rounds: dict[str, list[dict[str, Any]]] = {f: [] for f in FORMATS}
    for i in range(repeat):
        for fmt in FORMATS:  # alternated, so a load change hits both
            r = one_round(fmt, work, work / f"lake-{fmt}")
            rounds[fmt].append(r)
            failed = {op: v["error"] for op, v in r.items() if not v["ok"]}
            if failed:
                raise SystemExit(f"{fmt} round {i + 1} failed: {failed}")
            print(
                f"  {fmt} round {i + 1}: write {r['write']['wall_s']:.1f}s "
                f"{r['write']['peak_rss_mb']:.0f} MB, merge {r['merge']['wall_s']:.1f}s "
                f"{r['merge']['peak_rss_mb']:.0f} MB, read {r['arrow']['wall_s']:.1f}s "
                f"-> {r['arrow']['rows']:,} rows",
                flush=True,
            )
    return rounds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--s3-rows", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="100,000 rows, 1 repeat")
    ap.add_argument("--no-install-size", action="store_true")
    args = ap.parse_args()
    if args.child:
        child(json.loads(args.child))
        # skip interpreter teardown: a deltalake child once aborted there ("terminate called
        # without an active exception", SIGABRT) after its work and report were done
        os._exit(0)
    rows, repeat = (100_000, 1) if args.quick else (args.rows, args.repeat)
    with tempfile.TemporaryDirectory(prefix="bench-formats-") as tmp:
        work = Path(tmp)
        print(f"building {rows:,} tasks ...", flush=True)
        data = build_source(work, rows)
        print(f"  {data}", flush=True)
        rounds = measure(work, repeat)
        lakes = {f: work / f"lake-{f}" for f in FORMATS}
        engine = engines(lakes)
        (work / "probe").mkdir()
        types = types_check(work / "probe")
        s3_work = work / "s3"
        s3_work.mkdir()
        data_s3 = build_source(s3_work, min(args.s3_rows, rows))
        s3 = s3_checks(s3_work, data_s3["rows"])
        sizes = {} if args.no_install_size else install_sizes(work)
    report(data, rounds, engine, types, s3, sizes)


def report(
    data: dict[str, Any],
    rounds: dict[str, list[dict[str, Any]]],
    engine: dict[str, Any],
    types: dict[str, Any],
    s3: dict[str, Any],
    sizes: dict[str, Any],
) -> None:
    print()
    print(f"{data['rows']:,} tasks x {data['columns']} columns; median of {len(rounds['delta'])}")
    header = ("operation", "delta s", "iceberg s", "iceberg/delta", "delta MB", "iceberg MB")
    print(table(summary_rows(rounds), header))
    for f in FORMATS:
        w, m = median_of(rounds[f], "write", "bytes"), median_of(rounds[f], "merge", "bytes_added")
        print(f"{f}: written {w / 1e6:.0f} MB, merge added {m / 1e6:.0f} MB")
    print(json.dumps({"engines": engine, "types": types}, indent=1, default=str))
    print(json.dumps({"s3": s3, "install": {k: v["bytes"] for k, v in sizes.items()}}, indent=1))
    path = write_result(
        "bench_table_formats",
        {
            "data": data,
            "load_note": "2 cores shared with ~5 other sessions' jobs: ratios, not absolutes",
            "load_average_at_end": os.getloadavg(),
            "libraries": versions(),
            "rounds": rounds,
            "engines": engine,
            "types": types,
            "s3": s3,
            "install_sizes": sizes,
        },
    )
    print(f"wrote {path}")


def versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ("deltalake", "pyiceberg", "moto", "polars", "duckdb", "sqlalchemy")
    return {n: try_(lambda n=n: version(n)) for n in names}


if __name__ == "__main__":
    main()
