"""Write a recording until killed; used by the SIGKILL test in test_recording.py.

Usage: python helpers_recording_writer.py PATH [FLUSH_INTERVAL_S]

Every 5 ms it writes one chunk to stream 0: b"CNT!" + u32 counter + (counter % 40) filler bytes,
so a reader can check that counters are consecutive. It prints "ready" once the first block has
been written, and exits by itself after 60 s in case nobody kills it.
"""

from __future__ import annotations

import struct
import sys
import time

from insole.recordings.container import RecordingWriter

HEADER = {
    "source": "sim",
    "streams": [{"stream_id": 0, "transport": "sim", "label": "counter"}],
    "devices": [],
    "notes": "SIGKILL test",
}


def main() -> None:
    path = sys.argv[1]
    flush_interval_s = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
    writer = RecordingWriter(path, HEADER, flush_interval_s=flush_interval_s)
    counter = 0
    ready = False
    deadline = time.monotonic() + 60.0
    next_t = time.monotonic()
    while time.monotonic() < deadline:
        writer.write_chunk(0, struct.pack("<4sI", b"CNT!", counter) + bytes(counter % 40))
        counter += 1
        if not ready and writer.blocks_written > 0:
            print("ready", flush=True)
            ready = True
        next_t += 0.005
        time.sleep(max(0.0, next_t - time.monotonic()))
    writer.close()


if __name__ == "__main__":
    main()
