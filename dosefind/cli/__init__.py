"""The ``dosefind`` command line.

Commands live in small modules of this package and are loaded only when called, so
``dosefind --help`` starts fast and PyMC is imported only by ``dosefind priors``.
Commands parse options, call the library and print; nothing else happens here.

Errors: a bad option value (click's usage errors) prints one line ``Error: ...`` and exits
2, like the library's errors: the library raises ``ValueError`` (bad value), ``OSError`` (missing file,
read-only or full disk, ...) or ``StateSpaceTooLarge``; each becomes one line
``Error: ...`` and exit status 2.  Any other exception is a bug in dosefind: it becomes
one line ``Internal error: ...`` (exit status 1) asking for a report, and
``dosefind --debug COMMAND ...`` (or ``DOSEFIND_DEBUG=1``) shows the traceback instead.
Warnings print as one line ``Warning: ...`` on stderr; ``--quiet`` silences them.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings

import click

#: command name -> "module:attribute" of its click command.
COMMANDS = {
    "boundaries": "dosefind.cli.design_commands:boundaries",
    "next-dose": "dosefind.cli.design_commands:next_dose",
    "select-mtd": "dosefind.cli.design_commands:select_mtd",
    "select-obd": "dosefind.cli.design_commands:select_obd",
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


class InternalError(click.ClickException):
    """A bug in dosefind (an exception the library does not raise on purpose): exit code 1."""

    exit_code = 1

    def format_message(self) -> str:
        return self.message

    def show(self, file=None) -> None:
        click.echo(f"Internal error: {self.format_message()}", err=True)


def _user_error_types() -> tuple:
    """Exceptions that describe a problem with the user's input or machine, not a bug."""
    types = [ValueError, OSError, MemoryError, TypeError, KeyError]
    engine = sys.modules.get("dosefind.simulations.exact")
    if engine is not None and hasattr(engine, "StateSpaceTooLarge"):
        types.append(engine.StateSpaceTooLarge)
    return tuple(types)


def _warning_line(message, category, filename, lineno, file=None, line=None):
    click.echo(f"Warning: {_one_line(message)}", err=True)


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use, and which turns the
    library's errors into one line (see the module docstring)."""

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
        debug = bool(ctx.params.get("debug")) or os.environ.get("DOSEFIND_DEBUG", "") not in ("", "0")
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _warning_line
            try:
                return super().invoke(ctx)
            except click.UsageError as exc:
                # One line, like every other error; --help still explains the options.
                where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
                raise UserError(_one_line(exc.format_message()) + where) from None
            except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
                raise
            except BrokenPipeError:
                # The reader went away (`dosefind ... | head`): stop quietly, as Unix tools do.
                # Python's flush of stdout at exit would raise again, so point it at devnull.
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
                raise click.exceptions.Exit(141) from None
            except Exception as exc:
                if debug:
                    raise
                if isinstance(exc, _user_error_types()):
                    raise UserError(_one_line(exc)) from None
                raise InternalError(f"{type(exc).__name__}: {_one_line(exc)}. This is a bug in dosefind; "
                                    "please report it with the command you ran (run it again as "
                                    "`dosefind --debug ...` to see the traceback).") from None


def _one_line(exc) -> str:
    if isinstance(exc, MemoryError):
        return "ran out of memory; ask for fewer simulated trials (--n-trials) or a smaller trial"
    if isinstance(exc, OSError) and exc.strerror:   # raised by the OS, e.g. "[Errno 28] No space left..."
        where = f": {exc.filename}" if exc.filename else ""
        return " ".join(f"{exc.strerror}{where}".split())
    msg = str(exc).strip() or type(exc).__name__
    if type(exc).__name__ == "StateSpaceTooLarge":
        msg = msg.replace("method='mc'", "--method mc (or auto)")
    if isinstance(exc, KeyError):
        msg = f"missing key {msg}" if msg.startswith(("'", '"')) else msg.strip("'\"")
    return " ".join(msg.split())


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dosefind")
@click.option("--debug", is_flag=True, help="Show the traceback of an internal error (a bug) instead of one line.")
def main(debug):
    """Design and simulate dose-finding trials (3+3, BOIN, CRM).

    Run `dosefind run` for the bundled CD7 CAR-T phase I evaluation, or
    `dosefind COMMAND --help` for one command.
    """


__all__ = ["main", "UserError", "LazyGroup"]
