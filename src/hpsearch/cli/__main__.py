"""``python -m hpsearch.cli``: the same as the ``hpsearch`` command."""

from hpsearch.cli import main

main()
