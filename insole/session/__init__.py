"""Session: what a run amounts to once analysed, and how it compares with the runner's history.

Lives here: `analysis` (a recording through the pipeline), `tables`, `history` (SQLite), `rules`,
`report` (HTML), `plain` and `text` (words for runners). May import: `firmware_protocol`,
`insole.core`, `insole.recordings`, `insole.sources`, `insole.errors`.

Not a medical device: warnings describe associations found in studies of runners, never a
diagnosis (docs/history.md).
"""

__all__: list[str] = []
