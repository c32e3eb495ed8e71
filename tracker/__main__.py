import sys
from pathlib import Path

# `python -m` puts the working directory first on sys.path, so a user's own cost.py,
# reports.py or tuning.py there would hide our packages. Ours come first; the working
# directory is still searched, last, for a `function:` objective's module.
if sys.path and Path(sys.path[0] or ".").resolve() == Path.cwd().resolve():
    sys.path.append(sys.path.pop(0))

from tracker.cli import main

if __name__ == "__main__":
    main()
