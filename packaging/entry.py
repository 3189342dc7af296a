"""Entry script of the frozen app (PyInstaller): the same ``main()`` as the ``smoothgrad-desktop`` command.

``SmoothGradDesktop`` opens the desktop app; ``SmoothGradDesktop compute ...`` (and ``models``, ``self-test``,
``--self-test``) runs the command line. ``main()`` calls ``multiprocessing.freeze_support()`` first and replaces a
None ``sys.stdout``/``sys.stderr`` (windowed builds).
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # again here, before any import could start a child process
    from smoothgrad_desktop.app import main

    sys.exit(main())
