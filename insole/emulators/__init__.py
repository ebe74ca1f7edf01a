"""Emulated insole devices that stand in for hardware in tests and during development.

- `insole.emulators.serial_device`: a pty serial device streaming two simulated insoles in the
  wire protocol, with fault injection (loss, garbage, pauses, unplug/replug)
  (``insole emulate serial``).
- ``insole.emulators.ble_*``: emulated BLE insole peripherals on bumble.

Nothing is imported here, so importing one emulator does not pull in the others' libraries.
"""
