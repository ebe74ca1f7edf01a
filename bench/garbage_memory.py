"""Peak memory on garbage: one 50 MB feed of random bytes, and ``insole info`` on 40 MB of it.

Two figures of the reliability issue's "bounded memory for any input":

feed
    ``StreamDecoder().feed_table(os.urandom(50 MiB))`` in a fresh process: peak RSS of the
    process (target ≤ 200 MB). The decoder works through the bytes in slices
    (``firmware_protocol.decoder.FEED_SLICE_BYTES``).
info
    ``insole info`` on a recording whose one stream holds 40 MiB of random bytes (written
    in 64 KiB chunks with `insole.recordings.container.RecordingWriter`, by a child process so
    that this one stays small: bench/peak_rss.py): peak RSS of the command (target ≤ 300 MB).

Run: .venv/bin/python bench/garbage_memory.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from peak_rss import peak_rss_mb  # bench/ is on the path

_FEED = """
import os, resource
from firmware_protocol.decoder import StreamDecoder
d = StreamDecoder()
d.feed_table(os.urandom(50 * 1024 * 1024))
assert d.stats.bytes_in == 50 * 1024 * 1024 and d.stats.frames == 0
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


_WRITE = """
import os, sys
from insole.recordings.container import RecordingWriter
header = {"source": "bench", "devices": [],
          "streams": [{"stream_id": 0, "transport": "serial", "label": "garbage"}]}
writer = RecordingWriter(sys.argv[1], header)
for _ in range(40 * 16):
    writer.write_chunk(0, os.urandom(64 * 1024))
writer.close()
"""


def main() -> None:
    out = subprocess.run([sys.executable, "-c", _FEED], capture_output=True, text=True,
                         check=True)
    print(f"feed 50 MiB of random bytes at once: peak RSS {float(out.stdout):.0f} MB "
          "(target <= 200 MB)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "garbage40.insrec"
        # Written by a child process: this one stays small (bench/peak_rss.py).
        subprocess.run([sys.executable, "-c", _WRITE, str(path)], check=True)
        insole = Path(sys.executable).with_name("insole")
        peak = peak_rss_mb([str(insole), "info", str(path)])[0]
        print(f"insole info on a recording of 40 MiB of random bytes "
              f"({path.stat().st_size / 1e6:.0f} MB file): peak RSS {peak:.0f} MB "
              "(target <= 300 MB)")


if __name__ == "__main__":
    main()
