"""insole: pressure-sensing shoe insoles as an early warning against heel overuse injuries.

The package reads insole data (BLE, serial, recordings, simulator) in one wire protocol
(`firmware_protocol`), records it crash-safely, and analyses heel loading step by step.
Heavy libraries (bleak, pyserial, Qt) are imported only by the parts that need them, so
``import insole`` stays light.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
