"""Live view: acquisition off the GUI thread, a ring buffer, and a window that only draws.

Lives here: the runtime, the window, the terminal view, load watch, heel-strike cues and the LSL
outlet (`lsl`). May import: `firmware_protocol`, `insole.core`, `.recordings`, `.sources`,
`.session`, `insole.errors`; never `insole.commands`, `insole.api` or `insole.cli`.

`insole.live.runtime.LiveRuntime` runs a reader and the pipeline in a worker thread and keeps
the last seconds of force per insole in preallocated ring buffers; `LiveRuntime.snapshot`
hands the GUI a consistent copy. `insole.live.window` (pyqtgraph, imported only when a window
is opened) and `insole.live.terminal` (the one terminal view of ``live --no-gui``, ``replay``
and ``demo``) draw those snapshots. `insole.live.loadwatch` compares the run with the history
("too much, too soon" during the run); `insole.live.feedback` cues heel strikes. See
``docs/live.md``.
"""

from __future__ import annotations

__all__: list[str] = []
