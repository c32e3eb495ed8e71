import sys
from pathlib import Path

# `python -m` puts the working directory first on sys.path, so a user's own cost.py,
# reports.py or tuning.py there would hide our packages. A `function:` objective's module
# is still found there: tuning.objective adds the directory back, after our packages load.
if sys.path and Path(sys.path[0] or ".").resolve() == Path.cwd().resolve():
    sys.path.pop(0)


def _forget_the_interrupt() -> None:
    """Keep exit code 130 after a Ctrl-C we handled while the CLI was still importing.

    CPython remembers a KeyboardInterrupt that ended code run from a string (``exec`` of
    source text, as dataclasses and namedtuples do while a module imports), even when a
    caller caught it. Under ``python -m`` it then ends the process by SIGINT, whatever exit
    code was asked for. A string ``exec`` that completes clears that memory.
    """
    exec("pass")


try:
    from tracker.cli import main
except KeyboardInterrupt:  # Ctrl-C while the CLI is still being imported
    sys.stderr.write("interrupted\n")
    _forget_the_interrupt()
    sys.exit(130)

if __name__ == "__main__":
    main()  # ends the process itself (tracker.cli._group._end_process), so the flag above never matters there
