"""Messages in the app name the app's controls, never command-line options.

The core's messages are written for both front ends and name options the way the command line spells them
(``pass --weights FILE``, ``--transform-input on``, ``use --overwrite``). :func:`app_text` rewrites such a
message for the window with one table, :data:`PHRASES` (whole phrases first, then single options; the compute
options of :data:`~..core.schema.FIELDS` map to their parameter labels). Every message the window shows goes
through it (``MainWindow.show_error`` and the status line).
"""

from __future__ import annotations

import re

from ..core.schema import FIELDS

MODEL_CHOOSE = "Model ▸ Choose…"
WEIGHTS = f"Weights (in {MODEL_CHOOSE})"

PHRASES: tuple[tuple[str, str], ...] = (
    # whole phrases: the advice reads as an action in the window
    (r"pass --weights FILE with a state_dict", f"choose a state_dict file under {WEIGHTS}"),
    (r"pass --weights FILE(?:\s*\([^)]*\))?,? or --weights random",
     f"choose a weights file (.safetensors or state_dict) under {WEIGHTS}, or type random there"),
    (r"(?:pass |with )?--weights FILE(?:\s*\([^)]*\))?", f"a weights file under {WEIGHTS}"),
    (r"--weights random", f"random under {WEIGHTS}"),
    (r"with --weights", f"with a weights file under {WEIGHTS}"),
    (r"--weights", WEIGHTS),
    (r"--transform-input (on|off)", rf"the Input transform option (in {MODEL_CHOOSE}) \1"),
    (r"--transform-input", f"the Input transform option (in {MODEL_CHOOSE})"),
    (r"try --device auto or cpu", "choose Device auto or cpu in the parameters"),
    (r"--device", "Device (parameters)"),
    (r"\(use --overwrite to replace it\)", "(confirm replacing it, or choose another name)"),
    (r"--overwrite", "confirm replacing"),
    (r"--model", f"the model ({MODEL_CHOOSE})"),
    *((rf"--{re.escape(f.flag.lstrip('-'))}\b", f"{f.label} (parameters)") for f in FIELDS),
)
_COMPILED = tuple((re.compile(p), r) for p, r in PHRASES)
_ANY_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def app_text(message: str) -> str:
    """``message`` with every command-line option replaced by the app control that does the same."""
    text = str(message)
    if "--" not in text:
        return text
    for pattern, repl in _COMPILED:
        text = pattern.sub(repl, text)
    return text


def names_cli_flag(message: str) -> bool:
    """True when ``message`` still names a command-line option (``--word``)."""
    return _ANY_FLAG.search(str(message)) is not None
