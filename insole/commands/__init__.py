"""Commands: the jobs behind the ``insole`` subcommands, which `insole.cli` only parses for.

Lives here: one module per group of subcommands (`imports`, `devices`, `history`, `live`,
`replay`, `record`, `simulate`, `batch`, `demo`), their shared argument types (`types`), output
rules (`common`) and progress bars (`progress`). May import every stage before it: `insole.core`,
`.recordings`, `.sources`, `.session`, `.live` and `insole.errors`; never `insole.api` or
`insole.cli`.
"""

__all__: list[str] = []
