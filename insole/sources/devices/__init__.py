"""Emulated insole devices that stand in for hardware in tests and during development.

Lives here: every test device: the serial and BLE insoles, the Moticon UDP sender and the bumble
backend for bleak (`bleak_bumble`). May import: `firmware_protocol`, `insole.core`,
`insole.recordings`, the other `insole.sources` packages and `insole.errors`.

- `insole.sources.devices.serial_device`: a pty serial device streaming two simulated insoles in the
  wire protocol, with fault injection (loss, garbage, pauses, unplug/replug)
  (``insole emulate serial``).
- `insole.sources.devices.ble_insole`: emulated BLE insole peripherals on bumble.
- `insole.sources.devices.bleak_bumble`: a bleak backend on bumble's virtual link, so the
  unchanged `insole.sources.readers.ble` reader talks to an emulated insole.
- `insole.sources.devices.moticon_udp`: the Moticon OpenGo software's UDP output on loopback.

Nothing is imported here, so importing one emulator does not pull in the others' libraries.
"""
