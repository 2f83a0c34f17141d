"""``python -m gptlab.assets remake [RUN_FOLDER]`` retrains and installs the shipped checkpoint;
``python -m gptlab.assets install RUN_FOLDER`` installs an existing run."""
import sys

from . import install, remake

if sys.argv[1:2] == ["remake"] and len(sys.argv) <= 3:
    print(f"installed {remake(*sys.argv[2:3])}")
elif sys.argv[1:2] == ["install"] and len(sys.argv) == 3:
    print(f"installed {install(sys.argv[2])}")
else:
    print("usage: python -m gptlab.assets remake [RUN_FOLDER]  |  python -m gptlab.assets install RUN_FOLDER")
    sys.exit(2)
