"""Sources: everything that hands out wire bytes or writes recordings from elsewhere.

Lives here: `readers` (BLE, serial, file, simulator, Moticon UDP), `importers` (other systems'
files), `sim` (the gait simulator), `devices` (emulated insoles and the bumble backend for
bleak: test devices) and `public_data` (example recordings). May import: `firmware_protocol`,
`insole.core`, `insole.recordings`, `insole.errors`.
"""

__all__: list[str] = []
