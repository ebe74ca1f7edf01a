"""Recordings: the container of raw wire bytes, its block reader and writer, decode to arrays.

Lives here: `container` (the crash-safe file format, `RecordingWriter`, `iter_blocks`) and
`loader` (a recording decoded to arrays). May import: `firmware_protocol`, `insole.core`,
`insole.errors`.
"""

__all__: list[str] = []
