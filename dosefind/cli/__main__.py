"""``python -m dosefind.cli``: the same as the ``dosefind`` command."""

from dosefind.cli import main

if __name__ == "__main__":
    main(prog_name="dosefind")
