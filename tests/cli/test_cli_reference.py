"""docs/cli.md is generated from the commands' help; it must be up to date."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_cli_reference_is_current():
    spec = importlib.util.spec_from_file_location("make_cli_reference", ROOT / "docs/tools/make_cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.render()
    actual = (ROOT / "docs/cli.md").read_text()
    assert actual == expected, "docs/cli.md is stale: run python docs/tools/make_cli_reference.py > docs/cli.md"
    for name in module.COMMANDS:
        assert f"## `dosefind {name}`" in actual


def test_usage_lines_name_the_program_once():
    """`Usage: dosefind compare [OPTIONS]`, as a user types it (it read `dosefind dosefind`)."""
    actual = (ROOT / "docs/cli.md").read_text()
    assert "dosefind dosefind" not in actual and "Usage: dosefind compare [OPTIONS]" in actual
