"""Child processes that a test interrupts get Python's own Ctrl-C handling."""

import signal


def default_sigint() -> None:
    """For ``Popen(preexec_fn=...)``: a process started from a background job
    (``make test &``, a CI runner) inherits an ignored SIGINT, and a Python
    started so never raises KeyboardInterrupt; the child gets the default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
