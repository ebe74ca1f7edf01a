"""Live view: acquisition off the GUI thread, a ring buffer, and a window that only draws.

`insole.live.runtime.LiveRuntime` runs a reader and the pipeline in a worker thread and keeps
the last seconds of force per insole in preallocated ring buffers; `LiveRuntime.snapshot`
hands the GUI a consistent copy. `insole.live.window` (pyqtgraph, imported only when a window
is opened) and `insole.live.terminal` (``--no-gui``) draw those snapshots. See ``docs/live.md``.
"""

from __future__ import annotations

__all__: list[str] = []
