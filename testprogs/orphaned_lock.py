"""orphaned_lock: the readers/writers lock orphaned by a swallowed exception.

The program is talk_readers_writers.py (the talk's fourth example); this name says what a
diagnosis finds. See that file for what it shows and what pyhang should report.
"""

import os
import runpy

runpy.run_path(os.path.join(os.path.dirname(os.path.realpath(__file__)), "talk_readers_writers.py"),
               run_name="__main__")
