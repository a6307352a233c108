"""The report's calendar-time table (issue 10): present exactly when the study has a
[trial] table, and it shows the simulation's own calendar figures."""

from dosefind.reports.tables import build_tables, calendar_table
from dosefind.runner import evaluate
from dosefind.study import parse_study

STUDY = '''
[study]
target = 0.3
max_n = 6
n_trials = 60
seed = 2

[doses]
amounts = [1e6, 2e6]
unit = "cells/kg"

[[designs]]
type = "boin"

[[scenarios]]
name = "a"
true_prob_tox = [0.1, 0.3]
'''
TRIAL = "\n[trial]\ndlt_window = 28\npatients_per_month = 3\nvein_to_vein = 14\n"


def test_calendar_table_only_in_calendar_time():
    run = evaluate(parse_study(STUDY + TRIAL))
    table = calendar_table(run)
    assert table is not None and table.group == "calendar"
    c = run.result("BOIN", "a")["calendar"]
    row = table.data.iloc[0]
    assert row["duration_mean"] == c["duration"]["mean"] and row["turned_away_mean"] == c["turned_away"]["mean"]
    assert "Turned away" in table.display.columns
    assert any(t.name == "calendar" for t in build_tables(run))
    plain = evaluate(parse_study(STUDY))
    assert calendar_table(plain) is None and all(t.name != "calendar" for t in build_tables(plain))
