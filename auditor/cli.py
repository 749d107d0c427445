"""The `auditor` command: a thin typer layer over auditor.commands.

Each command loads the configuration, calls the library and renders the result. Errors
the library expects (AuditorError) become one line on stderr and the contract's exit
code; anything else is an internal error (exit 70), with a traceback only under --debug.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import os
import sys
import traceback
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer.exceptions import TyperException

from auditor.config import Config, load_config, with_flags
from auditor.errors import AuditorError, UsageError
from auditor.text import inert, iso, parse_time, plural

if TYPE_CHECKING:  # imported where used: start-up time is part of every command
    from auditor.commands.read import Read
    from auditor.commands.run import RunResult
    from auditor.commands.snapshot import SnapshotResult
    from auditor.outputs.audit_sheet import Published
    from auditor.outputs.report import Report

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Snapshot Smartsheet billing sheets into git and audit what changed.",
)


@dataclass
class _Options:
    """The options before the command (`auditor --repo R --debug diff`); `main` passes one
    in as typer's context object and reads `debug` back when a command fails."""

    repo: Path | None = None
    branch: str | None = None
    debug: bool = False


class DiffFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


class DataFormat(StrEnum):
    table = "table"
    json = "json"


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


# The options `report` and `run` share, declared once.
ForceOption = Annotated[
    bool, typer.Option("--force", help="Write the report even when nothing changed.")
]
OutOption = Annotated[Path, typer.Option("--out", help="Folder for the report.")]
NoPublishOption = Annotated[
    bool, typer.Option("--no-publish", help="Do not post to the audit sheet.")
]
AllowMassRemovalOption = Annotated[
    bool,
    typer.Option(
        "--allow-mass-removal",
        help=(
            "Record a read that removes more than half of a sheet's rows, or of the audited "
            "sheets (refused otherwise)."
        ),
    ),
]
AttributeOption = Annotated[
    bool,
    typer.Option("--attribute", help="Ask Smartsheet's cell history who changed each cell."),
]


def _version(value: bool) -> None:
    if value:
        from auditor import __version__

        typer.echo(f"auditor {__version__}")
        raise typer.Exit


@app.callback()
def _options(
    ctx: typer.Context,
    repo: Annotated[
        Path | None, typer.Option(help="Repository that holds the snapshots (env AUDITOR_REPO).")
    ] = None,
    branch: Annotated[
        str | None, typer.Option(help="Branch that holds the snapshots (env AUDITOR_BRANCH).")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_version, help="Show the version."),
    ] = False,
) -> None:
    options = ctx.ensure_object(_Options)
    options.repo, options.branch, options.debug = repo, branch, debug


def _config(ctx: typer.Context, **flags: object) -> Config:
    """The configuration with the flags over it (None or False: not given)."""
    options = ctx.ensure_object(_Options)
    given = {name: value for name, value in flags.items() if value is not False}
    return with_flags(load_config(), repo=options.repo, branch=options.branch, **given)


def _store(config: Config):
    from auditor.store.gitstore import Store

    return Store(config.repo, config.branch)


def _console():
    from auditor.outputs.table import console

    return console()


def _time(text: str | None) -> dt.datetime | None:
    """`--fetched-at`: an ISO time (UTC without an offset), from 1970 to a day from now. A
    fetch time in the future would misdate the snapshot and close billing weeks early."""
    if text is None:
        return None
    try:
        moment = parse_time(text)
    except ValueError:
        raise UsageError(f"--fetched-at {text!r} is not an ISO time") from None
    earliest = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    if not earliest <= moment <= dt.datetime.now(dt.UTC) + dt.timedelta(days=1):
        raise UsageError(f"--fetched-at {text!r} is not between 1970 and now")
    return moment


@app.command()
def snapshot(
    ctx: typer.Context,
    sheet: Annotated[
        list[str] | None,
        typer.Option(help="Smartsheet sheet id; repeat for several (env SOURCE_SHEET_ID)."),
    ] = None,
    file: Annotated[
        Path | None, typer.Option(help="A .xlsx, .csv or saved Smartsheet-JSON file to snapshot.")
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="Column(s) that identify a row, comma-separated.")
    ] = None,
    id: Annotated[
        str | None, typer.Option("--id", help="Snapshot folder name (default: the file's stem).")
    ] = None,
    worksheet: Annotated[
        str | None, typer.Option(help="Worksheet of a .xlsx file (default: the first).")
    ] = None,
    fetched_at: Annotated[
        str | None,
        typer.Option(help="Record this ISO time as the fetch time (for importing old exports)."),
    ] = None,
    allow_mass_removal: AllowMassRemovalOption = False,
) -> None:
    """Record each source in one commit on the snapshots branch."""
    from auditor.audit.settings import load_settings
    from auditor.commands.read import FileSource
    from auditor.commands.snapshot import snapshot_sources

    config = _config(ctx, key_columns=key)
    read, result = snapshot_sources(
        _store(config),
        config,
        load_settings(config),
        sheet_ids=sheet or None,
        file=FileSource(file, id, worksheet) if file is not None else None,
        fetched_at=_time(fetched_at),
        allow_mass_removal=allow_mass_removal,
    )
    _print_snapshot(config, read, result)
    _exit_if_failed(read)


def _exit_if_failed(read: Read) -> None:
    """Sheets that could not be read were carried forward: one error line each, exit 3."""
    for problem in read.failed.values():
        typer.echo(f"auditor: error: {inert(problem)}", err=True)
    if read.failed:
        raise typer.Exit(3)


def _print_snapshot(config: Config, read: Read, result: SnapshotResult) -> None:
    """What `snapshot` and `run` say about the snapshot they took."""
    from auditor.commands.snapshot import summary_line

    for sheet_id in read.skipped:
        typer.echo(f"sheet {sheet_id}: version unchanged since the last snapshot; not read")
    versions = read.versions
    for diff in result.diffs:
        typer.echo(summary_line(diff, versions.get(diff.sheet_id)))
    if result.commit is None:
        unchanged = "data unchanged" if result.diffs else "no sheet read"
        typer.echo(f"{unchanged}: no commit made on branch {config.branch!r}")
    else:
        typer.echo(f"snapshot {result.commit} on branch {config.branch!r}")


@app.command()
def check(ctx: typer.Context) -> None:
    """Verify the set-up: token, sheets, audit sheet, snapshots branch; say what to fix."""
    from auditor.commands.check import run_checks

    config = _config(ctx)
    code = 0
    for result in run_checks(config):
        mark = "ok  " if result.ok else "FAIL"
        typer.echo(inert(f"{mark} {result.what}: {result.detail}"))
        if not result.ok and code == 0:
            code = result.exit_code
    if code:
        raise typer.Exit(code)


@app.command()
def diff(
    ctx: typer.Context,
    rev_a: Annotated[str, typer.Argument(help="Older snapshot.")] = "HEAD~1",
    rev_b: Annotated[str, typer.Argument(help="Newer snapshot.")] = "HEAD",
    sheet: Annotated[str | None, typer.Option(help="Only this sheet id.")] = None,
    format: Annotated[DiffFormat, typer.Option("--format", help="Output format.")] = (
        DiffFormat.table
    ),
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when the snapshots differ.")
    ] = False,
    limit: Annotated[
        int, typer.Option(min=1, help="Changes shown per sheet (table, markdown).")
    ] = 50,
    max_bytes: Annotated[
        int, typer.Option(min=1024, help="Markdown size cap (GitHub job summary: 1 MiB).")
    ] = 1024 * 1024,
) -> None:
    """Compare two snapshots (default HEAD~1 and HEAD of the snapshots branch)."""
    from auditor.audit.evaluate import audit_pair
    from auditor.audit.settings import load_settings
    from auditor.commands.diff import diff_revisions

    config = _config(ctx)
    settings = load_settings(config)
    store = _store(config)
    result = diff_revisions(
        store, rev_a, rev_b, sheet=sheet, ignored_columns=config.ignored_columns
    )
    violations = audit_pair(store, result, settings)
    if format is DiffFormat.json:
        from auditor.outputs.json_format import diff_document, dumps

        sys.stdout.buffer.write(dumps(diff_document(result, violations)))
    elif format is DiffFormat.markdown:
        from auditor.commands.diff import markdown_of

        text = markdown_of(store, settings, result, violations, limit, max_bytes)
        typer.echo(text, nl=False)
    else:
        from auditor.outputs.table import print_diff

        print_diff(_console(), result, limit, config, violations)
    if exit_code and result.changed:
        raise typer.Exit(1)


@app.command()
def report(
    ctx: typer.Context,
    from_rev: Annotated[str, typer.Option("--from", help="Older snapshot.")] = "HEAD~1",
    to_rev: Annotated[str, typer.Option("--to", help="Newer snapshot.")] = "HEAD",
    force: ForceOption = False,
    out: OutOption = Path("reports"),
    no_publish: NoPublishOption = False,
    attribute: AttributeOption = False,
) -> None:
    """Audit the change between two snapshots, write the Excel report and publish it."""
    from auditor.audit.settings import load_settings
    from auditor.commands.report import make_report, publish_report

    config = _config(ctx, attribute=attribute)
    store = _store(config)
    result = make_report(store, load_settings(config), from_rev, to_rev, force=force, out=out)
    pair = f"{result.diff.old.commit[:10]}..{result.diff.new.commit[:10]}"
    new = sum(len(audit.new) for audit in result.violations.values())
    if result.path is None:
        typer.echo(f"no change in {pair}: no report written (--force writes one anyway)")
        return
    typer.echo(f"report for {pair} written to {result.path} ({plural(new, 'new violation')})")
    _attribution_line(result.report)
    path = result.path
    if config.audit_sheet_id and not no_publish:
        published = publish_report(store, config, result.report, lambda: path)
        typer.echo(_published(config, pair, published))


@app.command()
def run(
    ctx: typer.Context,
    force: ForceOption = False,
    no_publish: NoPublishOption = False,
    push: Annotated[
        str | None,
        typer.Option(help="Push the snapshots branch to this remote (re-made if it moved)."),
    ] = None,
    fail_on: Annotated[
        Severity | None,
        typer.Option(help="Exit 1 when a new violation of this severity or higher was found."),
    ] = None,
    out: OutOption = Path("reports"),
    fetched_at: Annotated[
        str | None, typer.Option(help="Record this ISO time as the fetch time (demos, imports).")
    ] = None,
    attribute: AttributeOption = False,
    allow_mass_removal: AllowMassRemovalOption = False,
) -> None:
    """The scheduled job: snapshot, push, report the newest pair, publish what is missing."""
    from auditor.audit.settings import load_settings
    from auditor.commands.run import failing, run_job, write_step_summary
    from auditor.outputs.markdown import JOB_SUMMARY_BYTES

    config = _config(ctx, attribute=attribute)
    result = run_job(
        _store(config),
        config,
        load_settings(config),
        push=push,
        force=force,
        publish=not no_publish,
        out=out,
        fetched_at=_time(fetched_at),
        allow_mass_removal=allow_mass_removal,
    )
    _print_run(config, result, push)
    typer.echo(f"{plural(result.requests, 'Smartsheet API request')} reading the sheets")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        write_step_summary(result, Path(summary), JOB_SUMMARY_BYTES)
    failed = failing(result, fail_on.value if fail_on else None)
    if failed:
        found = plural(len(failed), "new violation")
        typer.echo(f"{found} at {fail_on} or above (--fail-on)", err=True)
    _exit_if_failed(result.read)
    if failed:
        raise typer.Exit(1)


def _print_run(config: Config, result: RunResult, push: str | None) -> None:
    _print_snapshot(config, result.read, result.snapshot)
    if result.pushed:
        again = f" (re-made on {push}'s new tip {result.remakes}x)" if result.remakes else ""
        typer.echo(f"pushed {config.branch!r} to {push}{again}")
    for note in result.notes:
        typer.echo(note)
    if result.report is not None:
        diff = result.report.diff
        pair = f"{diff.old.commit[:10]}..{diff.new.commit[:10]}"
        if result.path is not None:
            new = len(result.new_violations())
            found = plural(new, "new violation")
            typer.echo(f"report for {pair} written to {result.path} ({found})")
            _attribution_line(result.report)
        else:
            typer.echo(f"no new pair to report (the last pair is {pair})")
    for pair, published in (result.published or {}).items():
        typer.echo(_published(config, pair, published))
    if result.published == {}:
        typer.echo(f"audit sheet {config.audit_sheet_id}: every pair is published already")


def _attribution_line(report: Report) -> None:
    done = report.attribution
    if done is not None:
        typer.echo(
            f"cell attribution: {done.attributed} of {done.candidates} changed tracked cells "
            f"from Smartsheet's cell history ({done.asked} looked up)"
        )


def _published(config: Config, pair: str, published: Published) -> str:
    attached = f"; report {published.attached} attached" if published.attached else ""
    return (
        f"audit sheet {config.audit_sheet_id}, pair {pair}: "
        f"{plural(published.posted, 'row')} posted, {published.already} already there, "
        f"{published.rows_on_sheet:,} rows on the sheet{attached}"
    )


@app.command()
def log(
    ctx: typer.Context,
    max_count: Annotated[
        int | None,
        typer.Option("-n", "--max-count", min=1, help="Show the newest N snapshots (20)."),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Show every snapshot.")] = False,
    format: Annotated[DataFormat, typer.Option("--format", help="Output format.")] = (
        DataFormat.table
    ),
) -> None:
    """List the snapshots, newest first (20 unless told), with their change counts."""
    from auditor.commands.log import PAGE, log_entries

    page = log_entries(_store(_config(ctx)), None if all_ else max_count or PAGE)
    if format is DataFormat.json:
        from auditor.outputs.json_format import dumps, log_document

        sys.stdout.buffer.write(dumps(log_document(page.entries)))
    else:
        from auditor.outputs.table import print_log

        print_log(_console(), page.entries, page.more)


@app.command()
def show(
    ctx: typer.Context,
    rev: Annotated[str, typer.Argument(help="Snapshot to show.")] = "HEAD",
    sheet: Annotated[str | None, typer.Option(help="Only this sheet id.")] = None,
    format: Annotated[DataFormat, typer.Option("--format", help="Output format.")] = (
        DataFormat.table
    ),
    limit: Annotated[int, typer.Option(min=1, help="Rows shown per sheet (table).")] = 50,
) -> None:
    """Show the data of one snapshot."""
    from auditor.commands.show import show_snapshot

    side, sheets = show_snapshot(_store(_config(ctx)), rev, sheet)
    if format is DataFormat.json:
        from auditor.outputs.json_format import dumps, show_document

        sys.stdout.buffer.write(dumps(show_document(side, sheets)))
    else:
        from auditor.outputs.table import print_snapshot

        print_snapshot(_console(), sheets, limit)


@app.command()
def history(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Row key (the row id, or the key columns' value).")],
    sheet: Annotated[str | None, typer.Option(help="Sheet id (needed with several).")] = None,
    column: Annotated[str | None, typer.Option(help="Only changes of this column.")] = None,
    since: Annotated[str | None, typer.Option(help="Only snapshots after this one.")] = None,
    format: Annotated[DataFormat, typer.Option("--format", help="Output format.")] = (
        DataFormat.table
    ),
) -> None:
    """Every snapshot in which a row (or one cell of it) changed, oldest first."""
    from auditor.commands.history import row_history

    config = _config(ctx)
    found = row_history(
        _store(config),
        key,
        sheet=sheet,
        column=column,
        since=since,
        ignored_columns=config.ignored_columns,
    )
    if format is DataFormat.json:
        from auditor.outputs.json_format import dumps, history_document

        sys.stdout.buffer.write(dumps(history_document(found)))
    else:
        from auditor.outputs.table import print_history

        print_history(_console(), found)


@app.command()
def invoice(
    ctx: typer.Context,
    week_ending: Annotated[
        str | None, typer.Argument(help="The week-ending date invoiced (YYYY-MM-DD).")
    ] = None,
    at: Annotated[str, typer.Option("--at", help="The snapshot that was invoiced.")] = "HEAD",
    sheet: Annotated[str | None, typer.Option(help="Sheet id (needed with several).")] = None,
    note: Annotated[str | None, typer.Option(help="A note kept in the mark.")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Move an existing mark (its old target is kept).")
    ] = False,
    list_: Annotated[bool, typer.Option("--list", help="List the invoice marks.")] = False,
) -> None:
    """Mark the snapshot invoiced for a week (a billed/<sheet>/<date> tag), or list marks."""
    from auditor.commands.invoice import invoice_week, list_marks

    config = _config(ctx)
    store = _store(config)
    if list_:
        from auditor.outputs.weeks import print_marks

        print_marks(_console(), list_marks(store, sheet))
        return
    if week_ending is None:
        raise UsageError("give the week-ending date invoiced (YYYY-MM-DD), or --list")
    from auditor.audit.settings import load_settings

    done = invoice_week(
        store, config, load_settings(config), week_ending, at=at, sheet=sheet, note=note,
        force=force,
    )  # fmt: skip
    mark = done.mark
    if done.unchanged:
        typer.echo(f"{mark.tag} already marks snapshot {mark.commit[:10]}: nothing to do")
        return
    moved = f", moved from {done.replaced[:10]}" if done.replaced else ""
    typer.echo(
        f"{mark.tag}: week ending {mark.week} of sheet {mark.sheet_id} invoiced from snapshot "
        f"{mark.commit[:10]} ({iso(mark.time)}){moved}"
    )


class By(StrEnum):
    work_request = "work-request"


@app.command()
def weeks(
    ctx: typer.Context,
    rev: Annotated[str, typer.Argument(help="The snapshot compared with the billed weeks.")] = (
        "HEAD"
    ),
    sheet: Annotated[str | None, typer.Option(help="Only this sheet id.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only weeks ending on or after this date.")
    ] = None,
    by: Annotated[
        By | None, typer.Option("--by", help="Also each work request that moved.")
    ] = None,
    format: Annotated[DiffFormat, typer.Option("--format", help="Output format.")] = (
        DiffFormat.table
    ),
) -> None:
    """Per closed or invoiced week: billed total against now, and what moved since."""
    from auditor.audit.settings import load_settings
    from auditor.audit.weeks import billed_weeks
    from auditor.commands.invoice import a_date

    config = _config(ctx)
    start = a_date(since, "--since") if since is not None else None
    found = billed_weeks(_store(config), load_settings(config), rev, sheet, start)
    by_request = by is By.work_request
    if format is DiffFormat.json:
        from auditor.outputs.json_format import dumps
        from auditor.outputs.weeks import weeks_document

        sys.stdout.buffer.write(dumps(weeks_document(found)))
    elif format is DiffFormat.markdown:
        from auditor.outputs.weeks import weeks_markdown

        typer.echo(weeks_markdown(found, by_request), nl=False)
    else:
        from auditor.outputs.weeks import print_weeks

        print_weeks(_console(), found, by_request)


def _oneline(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def _fail(message: str, code: int) -> None:
    # One line whatever the message quotes (a sheet's text, git's own output), and never
    # the token, whatever an unexpected error put in it.
    for name in ("SMARTSHEET_API_TOKEN", "SMARTSHEET_ACCESS_TOKEN"):
        token = os.environ.get(name, "").strip()
        if len(token) >= 8:
            message = message.replace(token, "[token]")
    sys.stderr.write(f"auditor: error: {inert(message)}\n")
    sys.exit(code)


class _InertFormatter(logging.Formatter):
    """Warnings quote sheet names and text too: one inert line each."""

    def format(self, record: logging.LogRecord) -> str:
        return inert(super().format(record))


def main() -> None:
    # A run reads a sheet into millions of small dicts that hold no cycles, then exits. The
    # cyclic collector would walk them again and again and free nothing: 15-30% of a
    # 500,000-cell snapshot or diff. Memory was measured the same with it off (README).
    gc.disable()
    handler = logging.StreamHandler()
    handler.setFormatter(_InertFormatter("auditor: warning: %(message)s"))
    logging.basicConfig(handlers=[handler], level=logging.WARNING)
    options = _Options()
    try:
        code = app(standalone_mode=False, obj=options)
    except typer.Abort:
        _fail("interrupted", 130)
    except TyperException as error:
        # The command line's own errors (an unknown option, a bad value) in one line, like
        # ours; `auditor` alone shows the help, as it would.
        message = error.format_message()
        if not message:
            error.show()
            sys.exit(2)
        context = getattr(error, "ctx", None)
        where = f"auditor {context.info_name}" if context and context.parent else "auditor"
        _fail(f"{message} (see `{where} --help`)", 2)
    except AuditorError as error:
        if options.debug:
            traceback.print_exc()
        _fail(str(error), error.exit_code)
    except BrokenPipeError:
        # The reader went away (`auditor diff | head`): nothing more to say to it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
    except Exception as error:
        if options.debug:
            traceback.print_exc()
        if isinstance(error, _storage_errors()):
            _fail(f"git or the file system failed: {_oneline(error)}", 4)
        _fail(f"internal error: {type(error).__name__}: {error} (run with --debug)", 70)
    sys.exit(code if isinstance(code, int) else 0)


def _storage_errors() -> tuple[type[Exception], ...]:
    """Git and I/O failures the library did not name itself: exit 4 (imported only when an
    error needs them: git's modules take a tenth of a second to load)."""
    import git
    import gitdb.exc

    return (git.exc.GitError, gitdb.exc.ODBError, OSError)
