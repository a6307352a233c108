"""``python -m dosefind``: the same as the ``dosefind`` command (and ``python -m dosefind.cli``)."""

from dosefind.cli import main

if __name__ == "__main__":
    main(prog_name="dosefind")
