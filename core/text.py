"""Free text from outside: control and bidirectional-override characters are refused.

A bidi override (U+202E) makes a stored reason read differently from what was typed; a CR
or LF can forge a line wherever the text is written out. Neither has a place in a reason,
a name or a form field, so they are refused at the door rather than cleaned up later.
"""

from __future__ import annotations

import re

# C0 and C1 controls (tab included: no field here is tabular), DEL, and the bidi
# embedding, override and isolate controls plus the directional marks.
# As a JSON-schema character class too, so the API document can say what is refused.
UNSAFE_CLASS = "\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069"
UNSAFE = re.compile("[" + UNSAFE_CLASS + "]")


def unsafe_characters(text: str) -> list[str]:
    """The distinct unsafe characters in `text`, as U+XXXX, in order of appearance."""
    return list(dict.fromkeys(f"U+{ord(c):04X}" for c in UNSAFE.findall(text)))
