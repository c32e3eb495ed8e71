import os
import signal
import sys
from pathlib import Path


def _terminated(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


# SIGTERM while the CLI is still being imported ends as Ctrl-C does (below); the CLI then
# installs its own handler for the command itself.
if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _terminated)

# `python -m` puts the working directory first on sys.path, so a user's own cost.py,
# reports.py or tuning.py there would hide our packages. A `function:` objective's module
# is still found there: tuning.objective adds the directory back, after our packages load.
if sys.path and Path(sys.path[0] or ".").resolve() == Path.cwd().resolve():
    sys.path.pop(0)

try:
    from tracker.cli import main
except KeyboardInterrupt:  # Ctrl-C or SIGTERM while the CLI is still being imported
    sys.stderr.write("interrupted\n")
    sys.stderr.flush()
    # Not sys.exit: CPython remembers a KeyboardInterrupt that ended code run from a string
    # (dataclasses and namedtuples exec source text while a module imports), and under
    # ``python -m`` turns any later exit into death by SIGINT. Commands end the same way,
    # through tracker.cli._group._end_process.
    os._exit(130)

if __name__ == "__main__":
    main()
