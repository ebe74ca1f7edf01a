"""Commands: the jobs behind the ``insole`` subcommands, which `insole.cli` only parses for.

Lives here: the job of each group of subcommands (`imports`, `devices`, `history`, `live`, `replay`,
`record`, `simulate`, `batch`, `demo`) and what they share (`common`, `types`, `progress`).
May import: every earlier stage and `insole.errors`; never `insole.api` or `insole.cli`.
"""

__all__: list[str] = []
