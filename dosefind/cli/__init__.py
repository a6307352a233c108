"""The ``dosefind`` command line.

Commands live in small modules of this package and are loaded only when called, so
``dosefind --help`` starts fast and PyMC is imported only by ``dosefind priors``.
Commands parse options, call the library and print; nothing else happens here.
A user error (bad value, missing file) prints one line ``Error: ...`` and exits 2.
"""

from __future__ import annotations

import importlib

import click

#: command name -> "module:attribute" of its click command.
COMMANDS = {
    "boundaries": "dosefind.cli.design_commands:boundaries",
    "next-dose": "dosefind.cli.design_commands:next_dose",
    "select-mtd": "dosefind.cli.design_commands:select_mtd",
    "skeleton": "dosefind.cli.design_commands:skeleton",
    "simulate": "dosefind.cli.simulate_commands:simulate",
    "compare": "dosefind.cli.simulate_commands:compare",
    "priors": "dosefind.cli.prior_commands:priors",
    "run": "dosefind.cli.run_commands:run",
    "init": "dosefind.cli.run_commands:init",
    "grid": "dosefind.cli.grid_commands:grid",
    "calibrate": "dosefind.cli.grid_commands:calibrate",
}


class UserError(click.ClickException):
    """An error in what the user asked for: one readable line, exit code 2."""

    exit_code = 2


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use, and which turns the
    library's ValueError/TypeError/FileNotFoundError into a one-line error."""

    def __init__(self, *args, lazy: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx, name):
        if name in self.lazy:
            module, attr = self.lazy[name].split(":")
            try:
                return getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError):
                return None
        return super().get_command(ctx, name)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (ValueError, TypeError, FileNotFoundError, KeyError) as exc:
            raise UserError(_one_line(exc)) from None


def _one_line(exc: BaseException) -> str:
    msg = str(exc).strip() or type(exc).__name__
    if isinstance(exc, KeyError):
        msg = msg.strip("'\"")
    return " ".join(msg.split())


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dosefind")
def main():
    """Design and simulate dose-finding trials (3+3, BOIN, CRM).

    Run `dosefind run` for the bundled CD7 CAR-T phase I evaluation, or
    `dosefind COMMAND --help` for one command.
    """


__all__ = ["main", "UserError", "LazyGroup"]
