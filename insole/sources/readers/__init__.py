"""Sources of insole wire bytes, opened by name: ``open_reader("sim:" | "serial:…" | …)``.

Lives here: the `Reader` interface (`base`) and one backend per transport (`ble`, `serial`,
`file`, `sim`, `moticon_udp`). May import: `firmware_protocol`, `insole.core`,
`insole.recordings`, `insole.sources.sim` and `insole.errors`.

Every source is a `Reader` handing out `Chunk` objects (raw wire bytes with their host receive
time) and `ReaderEvent` objects (connects, disconnects, ...); the decoder and pipeline downstream
are the same for all of them. Importing this package is light: the backend of a source (and its
heavy library: pyserial, bleak) is imported only when that source is opened.

Source URLs (``docs/readers.md``)::

    sim:                                  simulated insoles in real time
    sim:?cadence=175&seed=3&loss=0.01&rate=200
    file:PATH[?speed=2|max]               replay of a recording at recorded pace
    serial:PORT[?baud=1000000&batch=2]    any pyserial port or URL (/dev/ttyUSB0, COM3,
                                          socket://host:port, ...)
    ble:[NAME_OR_ADDRESS[,…]][?left=…&right=…&batch=2]   BLE insoles (insole.sources.readers.ble)
    moticon-udp:[HOST:]PORT[?columns=…&size=…]   Moticon OpenGo UDP output
                                          (insole.sources.readers.moticon_udp)

Options can also be given as keyword arguments of `open_reader`; they override the URL's.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from insole.sources.readers.base import (
    Chunk,
    Reader,
    ReaderError,
    ReaderEvent,
    StreamInfo,
    parse_flag,
)
from insole.sources.sim import limits

__all__ = [
    "ACCEPTED_FORMS",
    "Chunk",
    "Reader",
    "ReaderError",
    "ReaderEvent",
    "SourceURL",
    "StreamInfo",
    "open_reader",
    "parse_source",
]

SCHEMES = ("sim", "file", "serial", "ble", "moticon-udp")

ACCEPTED_FORMS = (
    "sim:[?rate=200&seed=3&cadence=175&loss=0.01...], file:PATH[?speed=2|max], "
    "serial:PORT[?baud=1000000&batch=1..32&rate=HZ], "
    "ble:[NAME_OR_ADDRESS,...][?left=...&right=...&batch=1..32&rate=HZ], "
    "moticon-udp:[HOST:]PORT[?columns=...&time_unit=s|ms&size=1..10]"
)


@dataclass(frozen=True)
class SourceURL:
    """A parsed source URL.

    What `parse_source` returns; `open_reader` opens the source it names.

    Attributes
    ----------
    scheme : str
        ``"sim"``, ``"file"``, ``"serial"`` or ``"ble"``.
    target : str
        What follows ``scheme:`` up to the options (a path, a port, BLE names), may be empty.
    options : dict of str to str
        The ``?key=value&...`` options, as strings.
    text : str
        The URL as given.
    """

    scheme: str
    target: str
    options: dict[str, str] = field(default_factory=dict)
    text: str = ""


def _fail(text: str, problem: str) -> ReaderError:
    return ReaderError(f"source {text!r}: {problem}; accepted forms: {ACCEPTED_FORMS}")


def parse_source(url: str) -> SourceURL:
    """Split a source URL into scheme, target and options.

    Parameters
    ----------
    url : str
        E.g. ``"sim:?seed=3"``, ``"file:run.insrec?speed=max"``, ``"serial:/dev/ttyUSB0"``.
        ``"sim"`` and ``"ble"`` may be given without the colon.

    Returns
    -------
    SourceURL
        The parts.

    Raises
    ------
    ReaderError
        For an unknown scheme or a malformed option string.
    """
    if not isinstance(url, str):
        raise _fail(str(url), f"a source is a URL string, not {type(url).__name__}")
    if not url.strip():
        raise _fail(url, "empty source")
    text = url.strip()
    scheme, colon, rest = text.partition(":")
    scheme = scheme.lower()
    if not colon and scheme in ("sim", "ble"):
        rest = ""
    elif not colon or scheme not in SCHEMES:
        raise _fail(text, f"unknown source type {scheme!r}" if colon else "no source type")
    target, _, query = rest.rpartition("?") if "?" in rest else (rest, "", "")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise _fail(text, f"malformed options {query!r} (use ?key=value&key=value)") from None
    options: dict[str, str] = {}
    for key, value in pairs:
        if key in options:
            raise _fail(text, f"option {key!r} given twice")
        options[key] = value
    if scheme == "file" and target.startswith("//"):
        target = target[2:]  # file:///abs/path
    return SourceURL(scheme, target, options, text)


# -- option conversion -----------------------------------------------------------------------


def _int(lo: int, hi: int) -> Callable[[Any], int]:
    def conv(v: Any) -> int:
        if isinstance(v, bool):
            raise ValueError("expected a whole number")
        try:
            n = int(v) if not isinstance(v, float) or v.is_integer() else None
        except (TypeError, ValueError):
            n = None
        if n is None:
            raise ValueError(f"expected a whole number, got {v!r}")
        if not lo <= n <= hi:
            raise ValueError(f"must be {lo}..{hi}, got {n}")
        return n

    return conv


def _float(lo: float = -math.inf, hi: float = math.inf, *, lo_open: bool = False) -> Callable[
    [Any], float
]:
    def conv(v: Any) -> float:
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"expected a number, got {v!r}") from None
        if not math.isfinite(x) or x < lo or x > hi or (lo_open and x == lo):
            raise ValueError(f"must be {'>' if lo_open else '>='} {lo:g} and <= {hi:g}, got {v}")
        return x

    return conv


def _speed(v: Any) -> float:
    if isinstance(v, str) and v.strip().lower() in ("max", "inf"):
        return math.inf
    if isinstance(v, int | float) and math.isinf(v) and v > 0:
        return math.inf
    return _float(0.0, math.inf, lo_open=True)(v)


def _choice(*values: str) -> Callable[[Any], str]:
    def conv(v: Any) -> str:
        if v not in values:
            raise ValueError(f"must be one of {', '.join(values)}, got {v!r}")
        return str(v)

    return conv


def _bool(v: Any) -> bool:
    flag = parse_flag(v)
    if flag is None:
        raise ValueError(f"expected 0/1 or true/false, got {v!r}")
    return flag


def _ms_to_s(v: Any) -> float:
    return _float()(v) / 1000.0


# option name -> (keyword of the backend, converter). The ranges are those of
# ``insole simulate`` (`insole.sources.sim.limits`).
_SIM_OPTIONS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "rate": ("rate_hz", _int(limits.MIN_RATE_HZ, limits.MAX_RATE_HZ)),
    "seed": ("seed", _int(0, limits.MAX_SEED)),
    "cadence": ("cadence_spm", _float(*limits.GAIT_LIMITS["cadence_spm"][:2])),
    "gait": ("gait", _choice("run", "walk")),
    "sensors": ("n_sensors", _int(limits.MIN_SENSORS, limits.MAX_SENSORS)),
    "batch": ("batch", _int(1, 32)),
    "link": ("link", _choice("ble", "serial")),
    "loss": ("loss", _float(0.0, 0.999)),
    "burst_loss": ("burst_loss", _float(0.0, 0.999)),
    "garbage": ("garbage_per_min", _float(0.0, limits.MAX_GARBAGE_PER_MIN)),
    "drift_ppm": ("drift_ppm", _float(-limits.MAX_DRIFT_PPM, limits.MAX_DRIFT_PPM)),
    "offset_ms": ("clock_offset_s", _ms_to_s),
    "duration": ("duration_s", _float(0.0, limits.MAX_DURATION_S, lo_open=True)),
    "stand": ("stand_s", _float(0.0, limits.MAX_DURATION_S)),
    "speed": ("speed", _speed),
}
_FILE_OPTIONS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "speed": ("speed", _speed),
    # A damaged file is read past by default (FORMAT.md §4.1); strict=1 refuses it.
    "strict": ("strict", _bool),
}
_SERIAL_OPTIONS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "baud": ("baudrate", _int(50, 100_000_000)),
    "timeout": ("read_timeout_s", _float(0.001, 1.0)),
    "backoff_max": ("backoff_max_s", _float(0.01, 60.0)),
    "start": ("send_start", _bool),
    "batch": ("batch", _int(1, 32)),  # SET_BATCH (SPEC §4.3) after every (re)connect
    "rate": ("rate_hz", _int(1, 10000)),  # SET_RATE (SPEC §4.3) after every (re)connect
}


def _convert(
    src: SourceURL,
    table: dict[str, tuple[str, Callable[[Any], Any]]],
    options: dict[str, Any],
    *,
    passthrough: dict[str, Any] | None = None,
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for key, value in options.items():
        if key not in table:
            if passthrough is not None:
                passthrough[key] = value
                continue
            raise _fail(
                src.text,
                f"unknown option {key!r} for {src.scheme}: (known: {', '.join(sorted(table))})",
            )
        name, conv = table[key]
        try:
            kwargs[name] = conv(value)
        except ValueError as exc:
            raise _fail(src.text, f"option {key}={value!r}: {exc}") from None
    return kwargs


# -- the factory -----------------------------------------------------------------------------


def open_reader(url: str, **options: Any) -> Reader:
    """Open a source of wire bytes by URL (not started yet: call ``start()`` or use ``with``).

    Parameters
    ----------
    url : str
        ``sim:[?…]``, ``file:PATH[?speed=…]``, ``serial:PORT[?baud=…]`` or ``ble:[…]``; see the
        module docstring and ``docs/readers.md``.
    **options
        The same options as the URL's query (e.g. ``seed=3``, ``speed="max"``), overriding it.

    Returns
    -------
    Reader
        The source: `insole.sources.readers.sim.SimReader`,
        `insole.sources.readers.file.FileReader`, `insole.sources.readers.serial.SerialReader` or
        the BLE reader of `insole.sources.readers.ble`.

    Raises
    ------
    ReaderError
        For an unknown scheme, an unknown or invalid option, a missing file, or a backend that
        is not available (one line naming the problem and the accepted forms).

    Examples
    --------
    >>> with open_reader("sim:?seed=3&rate=200") as reader:  # doctest: +SKIP
    ...     items = reader.read(timeout_s=0.5)
    """
    src = parse_source(url)
    merged: dict[str, Any] = {**src.options, **options}
    if src.scheme == "sim":
        if src.target:
            raise _fail(src.text, f"sim: takes no target, got {src.target!r} (use sim:?key=value)")
        kwargs = _convert(src, _SIM_OPTIONS, merged)
        from insole.sources.readers.sim import SimReader

        try:
            return SimReader(**kwargs)
        except ValueError as exc:
            raise _fail(src.text, str(exc)) from None
    if src.scheme == "file":
        if not src.target:
            raise _fail(src.text, "file: needs a path, e.g. file:run.insrec")
        kwargs = _convert(src, _FILE_OPTIONS, merged)
        from insole.sources.readers.file import FileReader

        return FileReader(src.target, **kwargs)
    if src.scheme == "serial":
        if not src.target:
            raise _fail(src.text, "serial: needs a port, e.g. serial:/dev/ttyUSB0 or serial:COM3")
        extra: dict[str, Any] = {}
        is_url = "://" in src.target
        kwargs = _convert(src, _SERIAL_OPTIONS, merged, passthrough=extra if is_url else None)
        port = src.target + ("?" + urlencode(extra) if extra else "")
        from insole.sources.readers.serial import SerialReader

        return SerialReader(port, **kwargs)
    if src.scheme == "moticon-udp":
        if not src.target:
            raise _fail(src.text, "moticon-udp: needs a port, e.g. moticon-udp:9999")
        from insole.sources.readers.moticon_udp import open_moticon_udp

        return open_moticon_udp(src.target, merged)
    # ble
    try:
        ble = importlib.import_module("insole.sources.readers.ble")
    except ModuleNotFoundError as exc:
        if exc.name == "insole.sources.readers.ble":
            raise _fail(src.text, "BLE support (insole.sources.readers.ble) is not available "
                        "in this installation") from None
        if exc.name == "bleak":
            raise _fail(src.text, "BLE needs bleak: pip install 'insole[ble]'") from None
        raise
    opener = getattr(ble, "open_ble_reader", None)
    if opener is None:
        raise _fail(src.text, "insole.sources.readers.ble has no open_ble_reader()")
    reader: Reader = opener(src.target, merged)
    return reader
