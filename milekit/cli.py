"""The ``milekit`` command.

>>> main(["export", "tasks", "-o", "x.txt"])  # bad input fails before anything is sent
Traceback (most recent call last):
...
SystemExit: milekit: cannot tell the format of 'x.txt': use a .parquet, .csv or .xlsx suffix

Commands::

    milekit demo                       the sandbox end to end: fetch, summarise, export
    milekit export tasks -o tasks.parquet [--status DONE] [-F key=value ...]
    milekit sync tasks lake/tasks      keep a Parquet lake up to date (reads only what changed)
    milekit push tasks edits.parquet [--dry-run] [--original snapshot.parquet] [--overwrite]
    milekit sandbox --port 8765        serve the offline MileApp until Ctrl-C
    milekit sandbox --org org.json [--org-only] [--export-org out.json]   your own organisation
    milekit login [--base-url URL]     ask for the token (hidden), check it, remember it
    milekit logout                     forget the remembered token
    milekit whoami                     who the token belongs to
    milekit --version --verbose        versions, page decoder, limiter, paths (bug reports)

``--profile NAME`` (or ``MILEAPP_PROFILE``) picks one of several remembered sign-ins.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

import milekit
from milekit._version import __version__
from milekit.errors import MileError, UsageError
from milekit.files.delta_store import is_delta, is_remote
from milekit.files.export import format_of
from milekit.files.lake import has_state
from milekit.files.lakes import lake_format
from milekit.notebook import signin
from milekit.types import registry
from milekit.types.schema import native_status
from milekit.versions import decoder_line, versions_text
from milekit.wire import credentials
from milekit.wire.workers import only_reads_left
from milekit.writes.push import PushInterrupted, PushResult

_PROFILE_HELP = "remembered sign-in to use (default: MILEAPP_PROFILE, else 'default')"
_VERBOSE_HELP = (
    "with --version: the dependencies' versions, the page decoder, the rate limiter, where "
    "tokens go, the config and cache paths (what a bug report needs)"
)
_BASE_URL_HELP = "the API's base URL, ending in /api/v3 (default: MILEAPP_BASE_URL or MileApp's)"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="milekit", description="MileApp API <-> typed DataFrames")
    p.add_argument("--version", action="version", version=f"milekit {__version__}")
    p.add_argument("--verbose", action="store_true", help=_VERBOSE_HELP)
    p.add_argument("--profile", help=_PROFILE_HELP)
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="run the main job against the embedded sandbox")
    d.add_argument("--tasks", type=int, default=10_000, help="tasks in the demo org (10,000)")
    d.add_argument("--out", default=".", help="where tasks.parquet and tasks.csv go")
    _export_parser(sub)
    _sync_parser(sub)
    _push_parser(sub)
    _sandbox_parser(sub)
    _sign_in_parsers(sub)
    return p


def _profile_opt(parser: argparse.ArgumentParser) -> None:
    # also after the command; SUPPRESS keeps a top-level --profile when absent here
    parser.add_argument("--profile", default=argparse.SUPPRESS, help=_PROFILE_HELP)


def _export_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """milekit export RESOURCE -o FILE [filters]"""
    names = ", ".join(sorted(registry.RESOURCES))
    e = sub.add_parser(
        "export", help="export a resource to Parquet, CSV or Excel (.xlsx)",
        description="Stream every row of a resource matching the filters to a Parquet, CSV "
        f"or Excel file (by its suffix), in constant memory. Resources: {names}.",
    )  # fmt: skip
    e.add_argument("resource", help="the resource to export (see the list above)")
    e.add_argument("-o", "--output", required=True, help="file.parquet, file.csv or file.xlsx")
    e.add_argument("--tz", help=".xlsx only: the zone datetimes are written in (default UTC)")
    e.add_argument("--csv-safe", action="store_true",
                   help="CSV: quote text cells spreadsheets run as formulas (= + - @)")  # fmt: skip
    e.add_argument("--status", help="tasks: UNASSIGNED, ONGOING or DONE")
    e.add_argument("--flow", help="tasks: flow names, comma-separated")
    e.add_argument("--hub-id", dest="hubId", help="only this hub's rows")
    e.add_argument("--assignee", help="tasks: the assignee's e-mail")
    e.add_argument("--time-by", dest="timeBy", help="tasks: createdTime, startTime or doneTime")
    e.add_argument("--time-from", dest="timeFrom", help="from this time (ISO 8601, UTC)")
    e.add_argument("--time-to", dest="timeTo", help="up to this time (ISO 8601, UTC)")
    e.add_argument("--fields", help="only these fields, comma-separated")
    e.add_argument("-F", "--filter", action="append", default=[], metavar="KEY=VALUE",
                   help="any other filter of the resource (repeatable)")  # fmt: skip
    e.add_argument("--limit", type=int, help="rows per request (default: the most allowed)")
    e.add_argument("--no-progress", action="store_true", help="no progress bar")
    e.add_argument("--base-url", help=_BASE_URL_HELP)
    _profile_opt(e)


def _sync_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """milekit sync RESOURCE DIRECTORY [filters]"""
    s = sub.add_parser(
        "sync",
        help="keep a lake of a resource up to date (Hive Parquet or Delta, docs/lake.md)",
        description="The first run reads everything; later runs read only what can have "
        "changed (docs/lake.md). Safe to kill: the next run completes the lake.",
    )
    s.add_argument("resource", help="a resource name (tasks, hubs, ...)")
    s.add_argument("directory", help="the lake's directory or s3://, gs://, az:// URI")
    s.add_argument(
        "--format",
        choices=["delta", "parquet"],
        default=None,
        help="a new local lake's format (default parquet; object storage: delta)",
    )
    s.add_argument("--full", action="store_true", help="read and rewrite everything")
    s.add_argument(
        "--overlap-minutes", type=float, default=60.0,
        help="how far before its marks a run reads again (default 60)",
    )  # fmt: skip
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.add_argument("-F", "--filter", action="append", default=[], metavar="KEY=VALUE",
                   help="a list filter the lake keeps (hubId=..., flow=...)")  # fmt: skip
    s.add_argument("--base-url", help=_BASE_URL_HELP)
    _profile_opt(s)


def _push_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """milekit push RESOURCE FILE [--original ...]"""
    u = sub.add_parser(
        "push", help="push an edited Parquet/CSV/Excel file back (changed cells only)"
    )
    u.add_argument("resource", help="the resource the file's rows belong to (tasks, hubs, ...)")
    u.add_argument(
        "file", help="the edited frame: .parquet, .xlsx (as exported), or .csv with its sidecar"
    )
    u.add_argument(
        "--original",
        help="the file as fetched (default: compare the writable columns with the server's "
        "current rows; rows changed there since the file was read are conflicts)",
    )
    u.add_argument(
        "--overwrite", action="store_true",
        help="without --original: also write rows changed on the server since the file was "
        "read (undoing those changes), and files without updatedTime to check",
    )  # fmt: skip
    u.add_argument("--dry-run", action="store_true", help="print the plan, send nothing")
    u.add_argument("--replace", action="store_true", help="PUT whole rows instead of PATCH")
    u.add_argument("--create", action="store_true", help="create rows that have no known id")
    u.add_argument("--delete", action="store_true", help="delete rows missing from the file")
    u.add_argument(
        "--check-conflicts", action="store_true",
        help="read each row first and skip those changed on the server since the original",
    )  # fmt: skip
    u.add_argument(
        "--journal",
        help="where each row's write is recorded (default: FILE.journal.jsonl); the same push "
        "run again after an interruption sends no row twice",
    )
    u.add_argument("--no-journal", action="store_true", help="keep no journal")
    u.add_argument("--base-url", help=_BASE_URL_HELP)
    _profile_opt(u)


def _sandbox_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """milekit sandbox [--port ...]"""
    s = sub.add_parser("sandbox", help="serve the offline MileApp API")
    s.add_argument("--host", default="127.0.0.1", help="the address to listen on (loopback)")
    s.add_argument("--port", type=int, default=8765, help="the port to listen on (8765)")
    s.add_argument("--tasks", type=int, default=10_000, help="tasks in the seeded org")
    s.add_argument("--db", help="SQLite file: keep every acknowledged write across restarts")
    s.add_argument("--token", default="sandbox-token", help="the token the sandbox accepts")
    s.add_argument("--latency", type=float, default=0.0, help="seconds added to each answer")
    s.add_argument(
        "--cors-origin",
        action="append",
        dest="cors_origins",
        metavar="ORIGIN",
        help="an origin whose web pages may call the sandbox with fetch (repeatable; "
        "default: any, '*')",
    )
    s.add_argument(
        "--mixed-datetimes",
        action="store_true",
        help="seed tasks with every datetime spelling the API uses (robustness tests)",
    )
    s.add_argument(
        "--org",
        metavar="FILE",
        help="an org file (hubs, users, vehicles, flows, tasks) loaded on top of the demo",
    )
    s.add_argument(
        "--org-only", action="store_true", help="load the --org file instead of the demo"
    )
    s.add_argument(
        "--export-org",
        metavar="FILE",
        help="write the organisation out as an org file and exit (serve nothing)",
    )


def _sign_in_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """milekit whoami | login | logout"""
    w = sub.add_parser("whoami", help="show the signed-in user")
    w.add_argument("--base-url", help=_BASE_URL_HELP)
    _profile_opt(w)

    li = sub.add_parser("login", help="sign in: check a token and remember it")
    li.add_argument("--base-url", help=_BASE_URL_HELP)
    li.add_argument("--token-stdin", action="store_true", help="read the token from standard input")
    li.add_argument("--no-remember", action="store_true", help="check the token only")
    li.add_argument(
        "--limiter", metavar="SETTING",
        help="the profile's rate limiter: shared (default), process, or redis://host:6379/0 "
        "to share the organisation's limit with other machines",
    )  # fmt: skip
    _profile_opt(li)

    lo = sub.add_parser("logout", help="forget the remembered token")
    _profile_opt(lo)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """Warnings as one line a person reads (no source file, no code line)."""
    print(f"milekit: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if "--version" in args and "--verbose" in args:  # argparse would stop at --version
        print(versions_text())
        return 0
    with warnings.catch_warnings():  # one-line warnings for this command only
        warnings.showwarning = _show_warning
        return _run(_parser().parse_args(argv))


def entry() -> None:
    """The ``milekit`` command: :func:`main`'s exit code. After Ctrl-C, when only a
    read's threads are left (their requests still on the wire, answers no one wants),
    it exits at once instead of waiting for them (milekit.wire.workers); a push's are
    waited for (their answers go to its journal)."""
    code = main()
    if code == 130 and only_reads_left():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _run(args: argparse.Namespace) -> int:
    try:
        if args.command == "demo":
            return demo(tasks=args.tasks, out=Path(args.out))
        if args.command == "export":
            return _export(args)
        if args.command == "sync":
            return _sync(args)
        if args.command == "push":
            return _push(args)
        if args.command == "sandbox":
            return _sandbox(args)
        if args.command == "whoami":
            return _whoami(args)
        if args.command == "login":
            return _login(args)
        if args.command == "logout":
            return _logout(args)
    except MileError as e:
        notes = "".join(f"\n{n}" for n in getattr(e, "__notes__", ()))
        raise SystemExit(f"milekit: {e}{notes}") from None
    except KeyboardInterrupt:
        return 130
    raise AssertionError(args.command)  # pragma: no cover


def _sandbox(args: argparse.Namespace) -> int:
    """``milekit sandbox``: serve until Ctrl-C, or write the organisation out and exit."""
    from milekit.sandbox import Sandbox, serve

    if args.org_only and not args.org:
        print("milekit sandbox: error: --org-only needs --org FILE", file=sys.stderr)
        return 2
    kw: dict[str, Any] = dict(  # keywords, not resource names (tests/test_resource_names.py)
        tasks=args.tasks,
        db=args.db,
        token=args.token,
        latency=args.latency,
        cors_origins=tuple(args.cors_origins or ("*",)),
        mixed_datetimes=args.mixed_datetimes,
        org=args.org,
        org_mode="replace" if args.org_only else "add",
    )
    if args.export_org:
        sb = Sandbox(**kw)
        try:
            org = sb.export_org(args.export_org)
        finally:
            sb.stop()
        counts = ", ".join(f"{len(v)} {k}" for k, v in org.items() if isinstance(v, list))
        print(f"wrote {args.export_org}: {counts}")
        return 0
    serve(host=args.host, port=args.port, **kw)
    return 0


def _export(args: argparse.Namespace) -> int:
    filters: dict[str, Any] = {
        k: getattr(args, k)
        for k in ("status", "flow", "hubId", "assignee", "timeBy", "timeFrom", "timeTo", "fields")
        if getattr(args, k) is not None
    }
    filters.update(_key_values(args.filter))
    format_of(Path(args.output), None)  # fail fast on a bad suffix
    before = _stamp(Path(args.output))
    client = milekit.Client(base_url=args.base_url, profile=args.profile)
    try:
        with client:
            info = milekit.export(
                args.resource, args.output, client=client, limit=args.limit, tz=args.tz,
                csv_safe=args.csv_safe,
                progress=False if args.no_progress else None, **filters,
            )  # fmt: skip
    except KeyboardInterrupt:
        print(f"milekit: export interrupted (Ctrl-C): {_left(Path(args.output), before)}",
              file=sys.stderr)  # fmt: skip
        return 130
    print(f"wrote {info.rows} {args.resource} x {info.columns} columns to {info.path}")
    return 0


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """What tells a file from another one written in its place (None: no file)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def _left(path: Path, before: tuple[int, int, int] | None) -> str:
    """What an interrupted export left at ``path`` (it writes a temporary and renames it
    into place at the very end, so there is never a partial file)."""
    now = _stamp(path)
    if now is not None and now != before:
        return f"{path} was written just before"
    if before is None:
        return f"{path} was not written (no partial file is left)"
    return f"{path} was not written (the earlier file of that name is untouched)"


def _key_values(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"-F takes KEY=VALUE, got {item!r}")
        out[key] = value
    return out


def _sync(args: argparse.Namespace) -> int:
    filters: dict[str, Any] = _key_values(args.filter)
    overlap = dt.timedelta(minutes=args.overlap_minutes)
    delta = lake_format(args.directory, args.format) == "delta"  # its last commit stays
    first = not delta and not has_state(args.directory)
    try:
        with milekit.Client(base_url=args.base_url, profile=args.profile) as client:
            result = milekit.sync(
                args.resource, args.directory, client=client, full=args.full, overlap=overlap,
                format=args.format,
                progress=False if args.no_progress else None, **filters,
            )  # fmt: skip
    except KeyboardInterrupt:
        print(f"milekit: sync interrupted (Ctrl-C): {_sync_left(args.directory, first, delta)}",
              file=sys.stderr)  # fmt: skip
        return 130
    print(result)
    return 0


def _sync_left(where: str, first: bool, delta: bool) -> str:
    """What an interrupted sync left at ``where`` (``first``: a Hive lake's first run; a
    Delta lake's first run writes nothing before its one commit)."""
    again = "run the same command again to complete it"
    if first or (delta and not is_remote(where) and not is_delta(where)):
        return "it was a first run: nothing of it is left"
    if is_remote(where):
        return f"{where} stays as its last run left it (a first run leaves nothing); {again}"
    return f"{where} stays readable; {again}"


def _read_frame(path: str, resource: str) -> Any:
    p = Path(path)
    fmt = format_of(p, None)
    if not p.exists():
        raise UsageError(f"no such file: {path}")
    if fmt == "xlsx":
        return milekit.read_excel(p, resource)
    return milekit.read_parquet(p) if fmt == "parquet" else milekit.read_csv(p)


def _push(args: argparse.Namespace) -> int:
    """Exit 0 when every row is ok or skipped, 1 when rows failed, conflicted or are unknown,
    130 after Ctrl-C (with the report of what was sent and what is unknown)."""
    journal = (
        None if args.no_journal or args.dry_run else args.journal or f"{args.file}.journal.jsonl"
    )
    try:
        result = _push_file(args, journal)
    except PushInterrupted as e:
        print(e.result)
        print(f"milekit: {e}.", file=sys.stderr)
        if journal is not None:
            print(
                f"milekit: the journal {journal} records what was sent: run the same command "
                "again to finish; no row is written twice",
                file=sys.stderr,
            )
        return 130
    print(result)
    if journal is not None and not result.dry_run:
        print(f"journal: {journal}")
    return 0 if result.ok else 1


def _push_file(args: argparse.Namespace, journal: str | None) -> PushResult:
    """Without --original the file is compared with the server's current rows (its
    writable columns), and rows the server changed since the file was read are held back
    as conflicts unless --overwrite (:mod:`milekit.writes.push.server`)."""
    edited = _read_frame(args.file, args.resource)
    original = _read_frame(args.original, args.resource) if args.original else None
    with milekit.Client(base_url=args.base_url, profile=args.profile) as client:
        result = milekit.push(
            edited,
            args.resource,
            original=original,
            dry_run=args.dry_run,
            replace=args.replace,
            create=args.create,
            delete=args.delete,
            check_conflicts=args.check_conflicts,
            overwrite=args.overwrite,
            client=client,
            journal=journal,
        )
    return result


def _whoami(args: argparse.Namespace) -> int:
    with milekit.Client(base_url=args.base_url, profile=args.profile) as c:
        me = milekit.whoami(c)
        print(me)
        print(f"token from {c.token_source}")
    return 0


def _login(args: argparse.Namespace) -> int:
    prompt = None
    if args.token_stdin:

        def prompt(_: str) -> str:
            return sys.stdin.readline()

    try:
        me = signin.login(
            base_url=args.base_url,
            profile=args.profile,
            remember=not args.no_remember,
            prompt=prompt,
            limiter=args.limiter,
        )
    except MileError as e:
        notes = "".join(f"\n{n}" for n in getattr(e, "__notes__", ()))
        raise SystemExit(f"milekit: {e}{notes}") from None
    except ValueError as e:  # an empty or malformed token
        raise SystemExit(f"milekit: {e}") from None
    assert me is not None
    print(f"signed in as {me}")
    if not args.no_remember:
        store = credentials.CredentialStore()
        name = credentials.profile_name(args.profile)
        where = "the OS keyring" if store.backend() == "keyring" else str(store.path)
        print(f"remembered as profile {name!r} in {where}")
    return 0


def _logout(args: argparse.Namespace) -> int:
    name = credentials.profile_name(args.profile)
    if signin.logout(name):
        print(f"forgot profile {name!r}")
    else:
        print(f"nothing remembered for profile {name!r}")
    return 0


def demo(tasks: int = 10_000, out: Path = Path(".")) -> int:
    """The main job: sandbox -> ``tasks_frame()`` -> summary -> tasks.parquet + tasks.csv."""
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    print(f"milekit {__version__}: starting the embedded sandbox ({tasks:,} tasks)...")
    if not native_status()[0]:
        print(f"note: the C page decoder is {decoder_line()}")
    with milekit.Sandbox(tasks=tasks) as sb:
        print(f"sandbox at {sb.url}")
        client = milekit.Client(token=sb.token, base_url=sb.url)
        milekit.use(client)
        try:
            t1 = time.perf_counter()
            df = milekit.tasks_frame()
            fetch_s = time.perf_counter() - t1
            pages = client.stats.requests
            print(
                f"\nfetched {len(df):,} tasks x {df.shape[1]} columns in {fetch_s:.2f}s "
                f"({pages} requests, {client.stats.rate_limited} rate-limited)\n"
            )
            print("dtypes:")
            counts = df.dtypes.astype(str).value_counts()
            for dtype, n in counts.items():
                cols = [c for c in df.columns if str(df[c].dtype) == dtype]
                shown = ", ".join(cols[:6]) + (", ..." if len(cols) > 6 else "")
                print(f"  {dtype:<24} {n:>3}  {shown}")
            print("\ntasks per status:")
            per = df["status"].value_counts(dropna=False).sort_index()
            for status, n in per.items():
                print(f"  {status!s:<12} {n:>7,}")
            with pd.option_context("display.width", 120, "display.max_columns", 8):
                print("\n", df[["flow", "status", "startTime", "assignee"]].head(3), "\n")
            pq_path = out / "tasks.parquet"
            csv_path = out / "tasks.csv"
            read = df.attrs["milekit"]["resource"]  # export what was just read
            a = milekit.export(read, pq_path, progress=False)
            b = milekit.export(read, csv_path, progress=False)
            back = milekit.read_parquet(pq_path)
            same = back.dtypes.equals(df.dtypes) and len(back) == len(df)
            print(f"wrote {a.path} ({a.path.stat().st_size / 1e6:.1f} MB, {a.rows:,} rows)")
            print(f"wrote {b.path} ({b.path.stat().st_size / 1e6:.1f} MB) + {b.path}.schema.json")
            print(f"read back {pq_path}: dtypes {'identical' if same else 'DIFFER'}")
        finally:
            milekit.use(None)
            client.close()
    print(f"\ndone in {time.perf_counter() - t0:.1f}s")
    return 0 if same else 1


if __name__ == "__main__":  # pragma: no cover
    entry()
