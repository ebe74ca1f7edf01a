"""Sources: everything that hands out wire bytes or writes recordings from elsewhere.

Lives here: `readers`, `importers` (other systems' files), `sim` (the gait simulator), `devices`
(test devices: emulated insoles, the bumble backend) and `public_data`. May import:
`firmware_protocol`, `insole.core`, `insole.recordings`, `insole.errors`.
"""

__all__: list[str] = []
