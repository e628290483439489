"""``python -m hpsearch.cli``: the same as the ``hpsearch`` command."""

from hpsearch.cli import main

if __name__ == "__main__":
    main()
