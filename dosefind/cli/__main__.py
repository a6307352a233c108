"""``python -m dosefind.cli``: the same command line as ``dosefind``."""

from dosefind.cli import main

if __name__ == "__main__":
    main()
