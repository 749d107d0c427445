"""Every rule fires on a violation and stays silent on clean data and clean edits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from auditor.audit.evaluate import audit_pair
from auditor.audit.events import events_of, net_impact
from auditor.audit.facts import Billed
from auditor.audit.rules import RULES, Snapshot, evaluate
from auditor.audit.settings import load_settings
from auditor.commands.diff import diff_revisions
from auditor.commands.snapshot import take_snapshot
from auditor.config import Config
from auditor.snapshot.model import Column, Sheet
from auditor.store.message import sheet_records
from demo.billing import COLUMNS
from tests.helpers import AUTHOR, as_rows

ROOT = Path(__file__).parents[1]
WEEK = "Weekly Reference Logged Date"
NOW = dt.datetime(2026, 11, 16, 12, 0, tzinfo=dt.UTC)
META = {"columns": [{"title": t, "index": n, "id": n + 1} for n, (t, _) in enumerate(COLUMNS)]}


def line(n: int, **values) -> dict:
    row = {
        "_id": n,
        "Work Request #": f"WR-{n}",
        "CU": "XA-8",
        "Pole #": f"P-{n}",
        WEEK: "2026-11-13",
        "Quantity": 2,
        "Units Total Price": 425.5,
        "Foreman": "K. Brooks",
    }
    row.update(values)
    return {k: v for k, v in row.items() if v is not None}


def found(rows: dict, settings=None, meta=META, baseline=None) -> set[tuple]:
    settings = settings or load_settings(Config())
    rows = as_rows(rows)
    snapshot = Snapshot("s", meta, rows, NOW)
    billed = Billed.of(rows)
    return {
        (v.rule, v.key, v.column)
        for v in evaluate(snapshot, settings, baseline or (lambda close: billed))
    }


CLEAN = {str(n): line(n) for n in range(1, 4)}


def test_clean_rows_have_no_violations():
    assert found(CLEAN) == set()


def test_missing_required():
    rows = {**CLEAN, "9": line(9, **{"Work Request #": None})}
    assert found(rows) == {("missing-required", "9", "Work Request #")}


def test_duplicate_line_gives_each_row_of_the_group_and_names_the_others():
    rows = as_rows({**CLEAN, "9": line(1, _id=9)})
    settings = load_settings(Config())
    snapshot = Snapshot("s", META, rows, NOW)
    duplicates = [
        v
        for v in evaluate(snapshot, settings, lambda c: Billed.of(rows))
        if v.rule == "duplicate-line"
    ]
    assert {(v.key, v.message.split()[-1]) for v in duplicates} == {("1", "9"), ("9", "1")}
    assert found({**CLEAN, "9": line(1, _id=9, Quantity=3)}) == set()


def test_invalid_date_and_a_date_more_than_a_year_ahead():
    rows = {
        **CLEAN,
        "8": line(8, **{WEEK: "next friday"}),
        "9": line(9, **{"Snapshot Date": "2028-01-01"}),
    }
    assert found(rows) == {("invalid-date", "8", WEEK), ("invalid-date", "9", "Snapshot Date")}


def test_negative_amount():
    rows = {**CLEAN, "9": line(9, Quantity=-1, **{"Units Total Price": -212.75})}
    assert found(rows) == {
        ("negative-amount", "9", "Quantity"),
        ("negative-amount", "9", "Units Total Price"),
    }


def test_an_amount_that_is_not_a_number_is_a_violation():
    rows = {
        **CLEAN,
        "7": line(7, **{"Units Total Price": "$1,000.25"}),
        "8": line(8, **{"Units Total Price": "abc"}),
        "9": line(9, Quantity="1e3"),
    }
    assert found(rows) == {
        ("invalid-amount", "8", "Units Total Price"),
        ("invalid-amount", "9", "Quantity"),
    }


def test_price_mismatch_needs_a_rate_table_and_has_a_tolerance(tmp_path):
    (tmp_path / "rates.csv").write_text("CU,unit_price\nXA-8,$212.75\n")
    settings = load_settings(Config(rate_table="rates.csv"), tmp_path)
    rows = {
        "1": line(1),
        "2": line(2, **{"Units Total Price": 428.0}),
        "3": line(3, **{"Units Total Price": 425.52}),
        "4": line(4, CU="unknown"),
    }
    assert found(rows, settings) == {("price-mismatch", "2", "Units Total Price")}
    assert found(rows) == set()


def test_formula_overwritten_by_column_formula_and_by_share():
    with_formula = {
        "columns": [
            *META["columns"][:13],
            {**META["columns"][13], "formula": "=[Quantity]@row*212.75"},
        ]
    }
    rows = {
        str(n): line(n, _formulas={"Units Total Price": "=[Quantity]@row*212.75"})
        for n in range(1, 4)
    }
    assert found(rows, meta=with_formula) == set()
    rows["2"] = line(2)
    assert found(rows, meta=with_formula) == {("formula-overwritten", "2", "Units Total Price")}
    many = {str(n): line(n, _formulas={"Quantity": "=2"}) for n in range(1, 12)}
    many["11"] = line(11)
    assert found(many) == {("formula-overwritten", "11", "Quantity")}
    half = {
        str(n): line(n, **({"_formulas": {"Quantity": "=2"}} if n % 2 else {}))
        for n in range(1, 11)
    }
    assert found(half) == set()


def test_the_rules_table_is_what_evaluation_runs_and_docs_rules_md_lists():
    documented = [
        tuple(cell.strip() for cell in text.strip("|").split(" | "))
        for text in (ROOT / "docs" / "rules.md").read_text(encoding="utf-8").splitlines()
        if text.startswith("| `")
    ]
    config = Config()
    assert documented == [
        (
            f"`{rule.id}`",
            rule.describe(config, lambda title: f"`{title}`"),
            rule.money,
            rule.action,
        )
        for rule in RULES.values()
    ]
    assert all(rule.row or rule.sheet for rule in RULES.values())
    renamed = Config(required_columns=("WR",), price_column="Price")
    assert RULES["missing-required"].describe(renamed) == "WR is empty"
    assert RULES["price-mismatch"].describe(renamed).startswith("Price differs from Quantity x")


def test_parent_rows_are_skipped():
    rows = {"1": line(1, **{"Work Request #": None}), "2": line(2, _parent=1)}
    assert found(rows) == set()


# closed-period-edit, on a real snapshots branch.


def billing(rows: dict) -> Sheet:
    columns = [Column(title, n, id=n + 1) for n, (title, _) in enumerate(COLUMNS)]
    return Sheet("s", "Billing", columns, as_rows(rows))


@pytest.fixture
def snapshots(store):
    settings = load_settings(Config())

    def take(rows: dict, when: str) -> str:
        moment = dt.datetime.fromisoformat(when)
        result = take_snapshot(
            store,
            [billing(rows)],
            author=AUTHOR,
            fetched_at=moment,
            money_columns=("Units Total Price",),
            settings=settings,
        )
        return result.commit

    return take


def audit(store, old="HEAD~1", new="HEAD", config=None):
    diff = diff_revisions(store, old, new)
    return audit_pair(store, diff, load_settings(config or Config()))["s"]


def ids(violations):
    return {(v.key, v.column) for v in violations}


def test_closed_period_edit_is_new_then_ongoing_then_resolved(store, snapshots):
    open_week = {WEEK: "2026-11-20"}
    rows = {"1": line(1), "2": line(2), "3": line(3, **open_week)}
    snapshots(rows, "2026-11-14T12:00:00+00:00")
    edited = {
        **rows,
        "1": line(1, Quantity=3),
        "2": line(2, Foreman="M. Chen"),
        "3": line(3, Quantity=9, **open_week),
    }
    snapshots(edited, "2026-11-16T12:00:00+00:00")
    first = audit(store)
    assert ids(first.new) == {("1", "Quantity")}
    assert first.new[0].severity == "medium"
    snapshots({**edited, "3": line(3, Quantity=8, **open_week)}, "2026-11-16T14:00:00+00:00")
    assert ids(audit(store).ongoing) == {("1", "Quantity")}
    snapshots({**edited, "1": line(1)}, "2026-11-16T16:00:00+00:00")
    back = audit(store)
    assert ids(back.resolved) == {("1", "Quantity")} and back.new == [] and back.ongoing == []


def test_rows_added_to_and_removed_from_a_closed_week(store, snapshots):
    rows = {"1": line(1), "2": line(2)}
    snapshots(rows, "2026-11-14T12:00:00+00:00")
    snapshots({"1": line(1), "9": line(9)}, "2026-11-16T12:00:00+00:00")
    assert ids(audit(store).new) == {("2", None), ("9", None)}


def test_the_baseline_is_the_first_snapshot_when_none_predates_the_close(store, snapshots):
    snapshots({"1": line(1)}, "2026-11-16T08:00:00+00:00")
    snapshots({"1": line(1, **{"Units Total Price": 2425.5})}, "2026-11-16T12:00:00+00:00")
    result = audit(store)
    assert ids(result.new) == {("1", "Units Total Price")}
    assert result.new[0].severity == "high"


def test_snapshots_fetched_in_the_same_second_keep_the_branchs_first_as_baseline(store, snapshots):
    """Runs seconds apart (as in a test, or a re-made snapshot) share a fetch time."""
    same = "2026-11-16T08:00:00+00:00"
    snapshots({"1": line(1), "2": line(2)}, same)
    snapshots({"1": line(1, Quantity=3), "2": line(2)}, same)
    snapshots({"1": line(1, Quantity=3), "2": line(2, Foreman="M. Chen")}, same)
    assert ids(audit(store).ongoing) == {("1", "Quantity")}
    assert audit(store).resolved == []


def test_time_zone_and_grace_days_decide_when_a_week_closes(store, snapshots):
    snapshots({"1": line(1)}, "2026-11-14T05:00:00+00:00")
    snapshots({"1": line(1, Quantity=3)}, "2026-11-14T07:00:00+00:00")
    assert audit(store).new == []
    chicago = Config(timezone="America/Chicago", close_grace_days=0)
    assert ids(audit(store, config=chicago).new) == {("1", "Quantity")}


def test_waivers_mark_violations_waived_until_they_expire(store, snapshots, tmp_path, monkeypatch):
    snapshots({"1": line(1)}, "2026-11-14T12:00:00+00:00")
    snapshots({"1": line(1, Quantity=3)}, "2026-11-16T12:00:00+00:00")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "waivers.csv").write_text(
        "rule,key,column,reason,approved by,until\n"
        "closed-period-edit,1,Quantity,credit memo 88,A. Reyes,2026-12-31\n"
    )
    waived = audit(store)
    assert ids(waived.waived) == {("1", "Quantity")} and waived.new == []
    (tmp_path / "waivers.csv").write_text(
        "rule,key,column,reason,approved by,until\nclosed-period-edit,1,,old,A. Reyes,2026-11-01\n"
    )
    assert ids(audit(store).new) == {("1", "Quantity")}


def test_open_violations_by_rule_go_into_the_trailer(store, snapshots):
    snapshots({"1": line(1)}, "2026-11-14T12:00:00+00:00")
    commit = snapshots(
        {"1": line(1, Quantity=3), "2": line(2, Quantity=-1)}, "2026-11-16T12:00:00+00:00"
    )
    record = sheet_records(store.info(commit).message)["s"]
    assert record.open == (("closed-period-edit", 2), ("negative-amount", 1))


def test_events_carry_money_impact_severity_and_the_row_context(store, snapshots):
    base = {"1": line(1, _modified_by="kim@example.com"), "2": line(2)}
    snapshots(base, "2026-11-14T12:00:00+00:00")
    snapshots(
        {
            "1": line(1, _modified_by="lee@example.com", **{"Units Total Price": "$1,638.25"}),
            "3": line(3, **{"Units Total Price": 99.99}),
        },
        "2026-11-16T12:00:00+00:00",
    )
    pair = diff_revisions(store, "HEAD~1", "HEAD")
    events = {
        (e.kind, e.key): e
        for e in events_of(pair.sheets[0], load_settings(Config()), pair.new.time)
    }
    price = events["cell changed", "1"]
    assert price.money_impact == Decimal("1212.75") and price.delta == Decimal("1212.75")
    assert price.severity == "high" and price.modified_by == "lee@example.com"
    assert price.work_request == "WR-1" and price.week_ending == dt.date(2026, 11, 13)
    assert events["row removed", "2"].money_impact == Decimal("-425.5")
    assert events["row added", "3"].money_impact == Decimal("99.99")
    assert net_impact(list(events.values())) == Decimal("1212.75") - Decimal("425.5") + Decimal(
        "99.99"
    )


def test_violations_are_stored_with_the_snapshot_and_redone_when_the_rules_change(store, snapshots):
    snapshots({"1": line(1)}, "2026-11-14T12:00:00+00:00")
    commit = snapshots({"1": line(1, **{"Units Total Price": 625.5})}, "2026-11-16T12:00:00+00:00")
    stored = store.read_path(commit, "audit/s.json").decode()
    assert stored.splitlines()[1].startswith('{"billed":425.5,"column":"Units Total Price"')
    assert ids(audit(store).new) == {("1", "Units Total Price")}
    # $200 moved in a closed week: medium money, one step up.
    assert audit(store).new[0].severity == "high"
    laxer = Config(severity_medium="250")
    assert audit(store, config=laxer).new[0].severity == "medium"


def test_a_constant_over_a_formula_is_new_and_restoring_the_formula_resolves_it(store, snapshots):
    formula = {"_formulas": {"Units Total Price": "=[Quantity]@row*212.75"}}
    rows = {str(n): line(n, **formula) for n in range(1, 12)}
    snapshots(rows, "2026-11-16T08:00:00+00:00")
    snapshots({**rows, "3": line(3)}, "2026-11-16T10:00:00+00:00")
    typed = audit(store)
    assert ids(typed.new) == {("3", "Units Total Price")}
    assert typed.new[0].rule == "formula-overwritten"
    snapshots(rows, "2026-11-16T12:00:00+00:00")
    assert ids(audit(store).resolved) == {("3", "Units Total Price")}


def test_violations_in_the_json_and_markdown_outputs(store, snapshots):
    from auditor.outputs.json_format import diff_document
    from auditor.outputs.markdown import diff_markdown

    snapshots({"1": line(1), "2": line(2, Quantity=-1)}, "2026-11-14T12:00:00+00:00")
    snapshots({"1": line(1, Quantity=3), "2": line(2, Quantity=-1)}, "2026-11-16T12:00:00+00:00")
    diff = diff_revisions(store, "HEAD~1", "HEAD")
    violations = audit_pair(store, diff, load_settings(Config()))
    document = diff_document(diff, violations)
    sheet = document["sheets"][0]["violations"]
    assert sheet["new"] == [
        {
            "rule": "closed-period-edit",
            "key": "1",
            "column": "Quantity",
            "severity": "medium",
            "message": "Quantity is 3, billed as 2 in the closed week ending 2026-11-13",
            "billed": 2,
            "now": 3,
        }
    ]
    assert [v["rule"] for v in sheet["ongoing"]] == ["negative-amount"]
    assert document["summary"]["violations_new"] == 1
    text = diff_markdown(diff, violations=violations)
    assert "**Violations:** 1 new, 0 resolved, 1 ongoing, 0 waived" in text
    assert "| new | medium | closed-period-edit |  | 1 | Quantity |" in text
