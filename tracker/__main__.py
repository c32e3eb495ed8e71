import sys
from pathlib import Path

# `python -m` puts the working directory first on sys.path, so a user's own cost.py,
# reports.py or tuning.py there would hide our packages. A `function:` objective's module
# is still found there: tuning.objective adds the directory back, after our packages load.
if sys.path and Path(sys.path[0] or ".").resolve() == Path.cwd().resolve():
    sys.path.pop(0)

try:
    from tracker.cli import main
except KeyboardInterrupt:  # Ctrl-C while the CLI is still being imported
    sys.stderr.write("interrupted\n")
    sys.exit(130)

if __name__ == "__main__":
    main()
