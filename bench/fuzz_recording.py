"""Fuzz the recording reader with atheris (time-boxed).

Target: ``insole.recordings.loader.load_recording`` and
``insole.recordings.container.BlockReader(path).scan()`` on a temp file holding the fuzzed bytes.
Seeds: the first ~40 KB of ``recordings/run_rearfoot_20s.insrec`` and two 1 s simulated recordings.
Expected errors are ``insole.errors.InsoleError`` subclasses; any other exception is a crash.

Usage::

    .venv/bin/python bench/fuzz_recording.py [--seconds N]

Exit status 0 when no crash was found, 1 with the crashing input's path otherwise.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from fuzz_decoder import ROOT, single_target_main

SEED_FILE = ROOT / "recordings" / "run_rearfoot_20s.insrec"
SEED_BYTES = 40_000
_PATH: Path | None = None


def write_seeds(corpus: Path) -> int:
    """The first ~40 KB of a recording, and a whole 1 s simulated one (its first data block
    lies within the 40 KB; the 20 s file's first block is 69 KB long)."""
    from insole.commands.simulate import SimulationRequest, simulate_to_file

    (corpus / "seed0").write_bytes(SEED_FILE.read_bytes()[:SEED_BYTES])
    for i, (link, loss) in enumerate((("ble", 0.02), ("serial", 0.0))):
        path = corpus / f"seed{i + 1}"
        simulate_to_file(SimulationRequest(duration_s=1.0, seed=i, link=link, loss=loss), path)
    return 3


def one_input(data: bytes) -> None:
    """One fuzz iteration (atheris ``TestOneInput``)."""
    from insole.errors import InsoleError
    from insole.recordings.container import BlockReader
    from insole.recordings.loader import load_recording

    assert _PATH is not None
    _PATH.write_bytes(data)
    try:
        load_recording(_PATH)
    except InsoleError:
        pass
    for salvage in (False, True):
        try:
            BlockReader(_PATH, salvage=salvage).scan()
        except InsoleError:
            pass


def worker(argv: list[str]) -> None:
    """Run libFuzzer in this process (never returns)."""
    global _PATH
    import atheris

    with atheris.instrument_imports(
            include=["insole.recordings.container", "insole.recordings.loader"]):
        import insole.recordings.container  # noqa: F401
        import insole.recordings.loader  # noqa: F401
    fd, name = tempfile.mkstemp(suffix=".insrec", prefix="fuzz_rec_")
    os.close(fd)
    _PATH = Path(name)
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


def main() -> int:
    return single_target_main(
        __file__, "recording", __doc__ or "", worker, write_seeds, ["-max_len=65536"]
    )


if __name__ == "__main__":
    sys.exit(main())
