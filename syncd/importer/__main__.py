"""``python -m syncd.importer`` (also ``server.py import`` / ``server.py export``): the operator's
command line on a data dir, for a server that is stopped (a running one holds the data dir's lock:
import through its HTTP route instead), or on a PostgreSQL database shared by instances that may
be running: it writes as one more instance would, and they follow its writes (docs/scaling.md).

    server.py import FILE [FILE...] --data-dir data            # dry run: the report, no write
    server.py import FILE --data-dir data --apply [--skip-bad]
    server.py import FILE --database postgresql://… --apply
    server.py export --data-dir data --unit d-dv --out d-dv.xlsx
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from schema.errors import SotayError
from syncd.enrolment.pool import FacePool
from syncd.enrolment.sealing import SecretBox
from syncd.importer import export as exporting
from syncd.importer.reading import Sheets, read_file
from syncd.importer.service import Importer
from syncd.services.assembly import assemble
from syncd.storage.opening import check_database, open_database
from syncd.storage.sqlite.lock import DataDirBusy, DataDirLock

DATABASE_HELP = (
    "the PostgreSQL database the instances share (postgresql://user@host:port/dbname); "
    "running instances may stay up. Default: the SQLite file in the data dir"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="server.py", description="Nhập / xuất dữ liệu đảng viên")
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="nhập đơn vị và đảng viên từ XLSX/CSV / import")
    imp.add_argument("files", nargs="+", type=Path, help="XLSX, or CSV files (units, members)")
    imp.add_argument("--data-dir", type=Path, default=Path("data"))
    imp.add_argument("--database", metavar="URL", help=DATABASE_HELP)
    imp.add_argument("--apply", action="store_true", help="write (default: dry run only)")
    imp.add_argument("--skip-bad", action="store_true", help="leave the rows with errors out")
    imp.add_argument("--report", type=Path, help="write the JSON report here")
    imp.add_argument("--problems", type=Path, help="write the problems as CSV here")
    imp.add_argument("--portraits", type=Path, help="ZIP of portraits named by card number")
    exp = sub.add_parser("export", help="xuất đơn vị và đảng viên / export")
    exp.add_argument("--data-dir", type=Path, default=Path("data"))
    exp.add_argument("--database", metavar="URL", help=DATABASE_HELP)
    exp.add_argument("--unit", required=True, help="unit id: the unit and everything below it")
    exp.add_argument("--out", type=Path, required=True, help="file.xlsx or file.csv")
    return parser


def _progress(done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} dòng / rows")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


async def _run(args: argparse.Namespace) -> int:
    # The lock keeps a second writer off a SQLite file; PostgreSQL orders its writers itself.
    lock = DataDirLock(args.data_dir).acquire() if args.database is None else None
    storage = await open_database(args.data_dir, args.database)
    services = None
    try:
        services = await assemble(storage)
        pool = FacePool() if getattr(args, "portraits", None) else None
        box = SecretBox.from_config(args.data_dir) if pool is not None else None
        importer = Importer(services.registry, services.directory, services.hub, pool, box)
        if args.command == "export":
            units, members = await importer.export(args.unit)
            if args.out.suffix.lower() == ".csv":
                args.out.write_bytes(exporting.to_csv(members, exporting.MEMBER_HEADERS))
            else:
                args.out.write_bytes(exporting.to_xlsx(units, members))
            print(f"{len(units)} đơn vị / units, {len(members)} đảng viên / members -> {args.out}")
            return 0
        sheets = Sheets()
        for path in args.files:
            sheets.extend(read_file(path.read_bytes(), path.name))
        report = await importer.run(
            sheets,
            None,
            apply=args.apply,
            skip_bad=args.skip_bad,
            by="import",
            progress=_progress,
            portraits=args.portraits.read_bytes() if args.portraits else None,
        )
        if pool is not None:
            pool.close()
        await services.hub.close()
        data = report.as_json()
        if args.report:
            args.report.write_text(json.dumps(data, ensure_ascii=False, indent=2))
        if args.problems:
            args.problems.write_bytes(report.problems_csv())
        print(
            json.dumps(
                {k: v for k, v in data.items() if k != "missing_from_file"},
                ensure_ascii=False,
                indent=2,
            )
        )
        return 1 if report.errors and not args.apply else 0
    finally:
        if services is not None and services.cluster is not None:
            await services.cluster.close()
        await storage.close()
        if lock is not None:
            lock.release()


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.database is not None:
        try:
            # Only portraits are sealed (as reference faces, with the instances' shared key).
            check_database(args.database, seals_faces=getattr(args, "portraits", None) is not None)
        except ValueError as exc:
            parser.error(str(exc))
    try:
        return asyncio.run(_run(args))
    except DataDirBusy as exc:
        print(f"Thư mục dữ liệu đang được máy chủ dùng / {exc}", file=sys.stderr)
        return 3
    except SotayError as exc:
        print(exc.as_text(), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
