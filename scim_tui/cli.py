"""The ``scim-tui`` command: subcommands run, plan, demo, simulate, resume and rerun."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from pathlib import Path
import sys

from scim_tui import __version__
from scim_tui.engine.settings import MAX_CONCURRENCY, RunSettings
from scim_tui.exit_codes import ExitCode

log = logging.getLogger("scim_tui")

SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data" / "users.csv"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def _concurrency(text: str) -> int:
    value = _positive_int(text)
    if value > MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"concurrency is at most {MAX_CONCURRENCY}, got {value}")
    return value


def _add_input_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--map", action="append", default=[], metavar="COLUMN=PATH",
        help="map an input column to a SCIM attribute, e.g. --map 'Mail=userName' or "
        "--map 'Skills=genesys.routingSkills'; repeatable; overrides header aliases",
    )
    parser.add_argument("--mapping", type=Path, metavar="FILE", help="TOML file with a [columns] table: column = \"scim.path\"")
    parser.add_argument("--encoding", metavar="NAME", help="text encoding of the input file, such as cp1252, when it is not UTF-8 or UTF-16 with a BOM")


def _add_target_options(parser: argparse.ArgumentParser) -> None:
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--url", help="base URL of a SCIM 2.0 server; its bearer token comes from SCIM_TOKEN (environment or .env)")
    target.add_argument(
        "--target", choices=["genesys"],
        help="Genesys Cloud, configured by GENESYS_REGION, GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET (environment or .env)",
    )
    parser.add_argument(
        "--insecure-http", action="store_true",
        help="allow plain http:// to a host that is not a loopback address (never do this with real credentials)",
    )


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--concurrency", type=_concurrency, default=8, metavar="N", help="HTTP requests in flight at most (default 8; changeable while running in the dashboard)")
    parser.add_argument("--batch-size", type=_positive_int, metavar="N", help="users per batch (default: bulk.maxOperations in Bulk mode, else 50)")
    parser.add_argument("--max-attempts", type=_positive_int, default=5, metavar="N", help="requests per user before it is failed (default 5)")
    parser.add_argument("--per-user", action="store_true", help="send one request per user even if the server supports Bulk")
    parser.add_argument("--report-dir", type=Path, metavar="DIR", help="where report.json and failed.csv go (default: reports/<file>-<time>/)")
    parser.add_argument("--overwrite", action="store_true", help="replace report files that already exist")
    parser.add_argument("--journal", type=Path, metavar="PATH", help="crash-safe journal of the run (default: journal.sqlite in the report directory)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scim-tui",
        description="Bulk user provisioning over SCIM 2.0 (Genesys Cloud first), with a live dashboard or headless.",
    )
    parser.add_argument("--version", action="version", version=f"scim-tui {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="provision the users of a file", description="Provision the users of FILE on a SCIM server.")
    run.add_argument("file", type=Path, metavar="FILE", help="CSV, JSON array or NDJSON file of users")
    _add_target_options(run)
    _add_run_options(run)
    _add_input_options(run)
    run.add_argument("--headless", action="store_true", help="run without the dashboard")
    run.add_argument("--start", action="store_true", help="dashboard: start sending as soon as the plan is ready")

    plan = commands.add_parser("plan", help="validate a file and print the batch plan, without contacting a server")
    plan.add_argument("file", type=Path, metavar="FILE")
    plan.add_argument("--batch-size", type=_positive_int, metavar="N", help="users per batch (default 50, or --bulk-max-operations in Bulk mode)")
    plan.add_argument("--bulk", action="store_true", help="plan SCIM Bulk requests instead of one request per user")
    plan.add_argument("--bulk-max-operations", type=_positive_int, default=1000, metavar="N")
    plan.add_argument("--bulk-max-payload", type=_positive_int, metavar="BYTES", help="bulk.maxPayloadSize of the server")
    plan.add_argument("--genesys", action="store_true", help="validate for Genesys Cloud (userName must be an email address)")
    plan.add_argument("--json", action="store_true", help="print the validation summary and plan as JSON")
    _add_input_options(plan)

    demo = commands.add_parser("demo", help="provision the sample data on the built-in Genesys-like simulator")
    demo.add_argument("--headless", action="store_true", help="run without the dashboard")
    demo.add_argument("--file", type=Path, default=SAMPLE_DATA, help="input file (default: the bundled sample data)")
    demo.add_argument("--rate-limit", type=_positive_int, default=300, metavar="N", help="simulator requests per minute per token (default 300, as Genesys Cloud)")
    demo.add_argument("--concurrency", type=_concurrency, default=8, metavar="N")
    demo.add_argument("--report-dir", type=Path, metavar="DIR")

    commands.add_parser("simulate", help="run the Genesys-like SCIM simulator on 127.0.0.1", add_help=False)

    resume = commands.add_parser(
        "resume", help="continue a stopped run from its journal",
        description="Continue the run that JOURNAL records: finished users are skipped, users whose create was in "
        "flight are looked up first, the rest are sent. Credentials come from the environment, as for run.",
    )
    resume.add_argument("journal", type=Path, metavar="JOURNAL", help="the run's journal.sqlite")
    resume.add_argument("--headless", action="store_true", help="run without the dashboard")
    resume.add_argument(
        "--accept-changed-input", action="store_true",
        help="resume with the journal's payloads even though the input file changed or is gone since the journal was written",
    )
    resume.add_argument("--concurrency", type=_concurrency, metavar="N", help="HTTP requests in flight at most (default: as recorded in the journal)")
    resume.add_argument("--report-dir", type=Path, metavar="DIR", help="where report.json and failed.csv go (default: the run's report directory, whose report is replaced)")
    resume.add_argument("--overwrite", action="store_true", help="replace report files that already exist in --report-dir")
    resume.add_argument("--insecure-http", action="store_true", help="allow plain http:// to a host that is not a loopback address")

    rerun = commands.add_parser(
        "rerun", help="send again the users that failed in an earlier run",
        description="Start a new run of the users that ended failed or not attempted with a retriable error in an "
        "earlier run. Every other row keeps its earlier outcome in the new report.",
    )
    rerun.add_argument("source", type=Path, metavar="REPORT_OR_JOURNAL", help="the earlier run's report.json or journal.sqlite")
    rerun.add_argument("--only", choices=["failed"], default="failed", help="which users to send again (only 'failed': failed or not attempted with a retriable error)")
    rerun.add_argument("--headless", action="store_true", help="run without the dashboard")
    rerun.add_argument("--concurrency", type=_concurrency, metavar="N", help="HTTP requests in flight at most (default: as recorded)")
    rerun.add_argument("--report-dir", type=Path, metavar="DIR", help="where the new report goes (default: reports/<file>-<time>/)")
    rerun.add_argument("--journal", type=Path, metavar="PATH", help="the new run's journal (default: journal.sqlite in the report directory)")
    rerun.add_argument("--overwrite", action="store_true", help="replace report and journal files that already exist")
    rerun.add_argument("--insecure-http", action="store_true", help="allow plain http:// to a host that is not a loopback address")
    _add_input_options(rerun)
    return parser


def configure_logging(interactive: bool) -> None:
    from scim_tui.logging_setup import configure

    configure(default_level="WARNING" if interactive else "INFO")


def _input_options(args: argparse.Namespace, *, genesys: bool):
    from scim_tui.input import InputOptions, parse_mapping_options

    return InputOptions(
        mapping=parse_mapping_options(args.map),
        mapping_file=args.mapping,
        user_name_must_be_email=genesys,
        encoding=args.encoding,
    )


def _settings_from(args: argparse.Namespace) -> RunSettings:
    return RunSettings(
        concurrency=args.concurrency,
        batch_size=args.batch_size,
        max_attempts=args.max_attempts,
        force_per_user=args.per_user,
    )


def command_run(args: argparse.Namespace) -> int:
    from scim_tui.engine.job import TargetSpec

    if not args.file.is_file():
        print(f"error: input file {args.file} not found", file=sys.stderr)
        return ExitCode.USAGE
    if not args.url and not args.target:
        print("error: no target given: pass --url URL for a SCIM server, or --target genesys", file=sys.stderr)
        return ExitCode.USAGE
    genesys = args.target == "genesys"
    spec = TargetSpec(kind="genesys" if genesys else "generic", url=args.url, allow_insecure_http=args.insecure_http)
    settings = _settings_from(args)
    options = _input_options(args, genesys=genesys)

    if not args.headless:
        from scim_tui.tui.app import launch

        return launch(
            input_path=args.file, target_spec=spec, settings=settings, input_options=options,
            report_dir=args.report_dir, journal_path=args.journal, start=args.start, overwrite=args.overwrite,
        )

    from scim_tui.headless import HeadlessJob, run_job

    configure_logging(sys.stderr.isatty())
    job = HeadlessJob(
        input_path=args.file, target_spec=spec, settings=settings, report_dir=args.report_dir,
        overwrite=args.overwrite, input_options=options, journal_path=args.journal,
    )
    return asyncio.run(run_job(job))


def command_plan(args: argparse.Namespace) -> int:
    from scim_tui.engine.job import load_input

    if not args.file.is_file():
        print(f"error: input file {args.file} not found", file=sys.stderr)
        return ExitCode.USAGE
    mode = "bulk" if args.bulk else "per-user"
    loaded = load_input(
        args.file, mode=mode, batch_size=args.batch_size, max_operations=args.bulk_max_operations,
        max_payload_size=args.bulk_max_payload, input_options=_input_options(args, genesys=args.genesys),
    )
    reader = loaded.reader
    batches = [
        {"number": batch.number, "users": len(batch.users), "payload_bytes": batch.payload_bytes,
         "first_user": batch.first_user, "last_user": batch.last_user}
        for batch in loaded.plan.batches
    ]
    problems = [
        {"row": p.row, "column": p.column, "value": p.value, "kind": str(p.kind), "reason": p.reason, "fix": p.fix}
        for p in reader.problems
    ]
    if args.json:
        document = {
            "file": str(args.file), "sha256": loaded.sha256, **loaded.info(), "mode": mode,
            "batch_size": loaded.plan.batch_size, "batches": batches, "problems": problems,
        }
        document.pop("warnings", None)
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return ExitCode.OK

    print(f"{args.file}: {reader.rows_read} rows, {reader.valid} valid, {reader.invalid} invalid, {reader.duplicates} duplicates, {reader.warnings} warnings")
    for problem in reader.problems:
        print(f"  {problem.kind}: {problem.describe()}")
    unknown = getattr(reader, "unknown_columns", None)
    if unknown:
        print(f"  unknown columns (not sent): {', '.join(unknown)}")
    noun = "batch" if len(batches) == 1 else "batches"
    print(f"plan: {mode} mode, {len(batches)} {noun} of up to {loaded.plan.batch_size} users")
    for batch in batches:
        print(f"  batch {batch['number']:>5}: {batch['users']:>5} users, {batch['payload_bytes']:>9} bytes, {batch['first_user']} .. {batch['last_user']}")
    return ExitCode.OK


def command_simulate(argv: list[str]) -> int:
    from scim_tui.simulator.cli import simulate_main

    return simulate_main(argv)


def command_demo(args: argparse.Namespace) -> int:
    from scim_tui.demo import run_demo

    return run_demo(
        input_path=args.file, headless=args.headless, rate_limit=args.rate_limit,
        concurrency=args.concurrency, report_dir=args.report_dir,
    )


def command_resume(args: argparse.Namespace) -> int:
    from scim_tui.resume import resume_main

    return resume_main(args)


def command_rerun(args: argparse.Namespace) -> int:
    from scim_tui.resume import rerun_main

    return rerun_main(args)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "simulate":
        return command_simulate(argv[1:])

    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {
        "run": command_run,
        "plan": command_plan,
        "demo": command_demo,
        "resume": command_resume,
        "rerun": command_rerun,
    }
    from scim_tui.config import ConfigError
    from scim_tui.files import FileExistsWithoutOverwrite
    from scim_tui.input import InputFileError

    try:
        return int(handlers[args.command](args))
    except (ConfigError, InputFileError, FileExistsWithoutOverwrite, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        print("aborted", file=sys.stderr)
        return ExitCode.INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
