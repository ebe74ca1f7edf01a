"""Training history: saved sessions, "too much, too soon" warnings and session reports.

- `insole.history.db` — the SQLite store (`HistoryDB`, `default_db_path`).
- `insole.history.rules` — warning rules, pure functions over session summaries
  (`evaluate_history`, `RuleConfig`).
- `insole.history.report` — the self-contained HTML session report.
- `insole.history.commands` — the ``history`` and ``report`` CLI commands and ``analyze --save``.

Not a medical device: warnings describe associations found in studies of runners, never a
diagnosis (docs/history.md).
"""

__all__: list[str] = []
