import sys
from pathlib import Path

# `python -m` puts the working directory first on sys.path, so a user's own cost.py,
# reports.py or tuning.py there would hide our packages. A `function:` objective's module
# is still found there: tuning.objective adds the directory back, after our packages load.
if sys.path and Path(sys.path[0] or ".").resolve() == Path.cwd().resolve():
    sys.path.pop(0)

from tracker.cli import main

if __name__ == "__main__":
    main()
