"""Fuzz the wire-protocol stream decoder with atheris (time-boxed).

Target: ``firmware_protocol.StreamDecoder`` in its default (non-strict) mode, which must never
raise. Each input is a small header of fuzzer-chosen split points followed by the stream bytes;
the stream is fed in those pieces, alternating ``feed_table`` and ``feed``, then checked against
one ``feed_table`` call of the whole stream on a fresh decoder (same counters and frame count:
the decoder promises the same result for any split), and the default decoder (compiled: numba
is loaded) against the numpy reference (``StreamDecoder(fast=False)``). Any exception or broken
invariant is a crash.

Usage::

    .venv/bin/python bench/fuzz_decoder.py [--seconds N]

Exit status 0 when no crash was found, 1 with the crashing input's path otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MAX_SPLITS = 8


def _split_header(points: list[int]) -> bytes:
    """The input prefix that `one_input` reads as split points."""
    return bytes([len(points)]) + b"".join(p.to_bytes(2, "little") for p in points)


def write_seeds(corpus: Path) -> int:
    """Valid streams (a short simulation, the protocol test vectors) as seed inputs."""
    import json

    from insole.commands.simulate import SimulationRequest, simulate_to_file
    from insole.recordings.container import read_raw_recording

    seeds: list[bytes] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (link, loss) in enumerate((("ble", 0.0), ("serial", 0.05))):
            path = Path(tmp) / f"sim{i}.insrec"
            req = SimulationRequest(duration_s=1.0, seed=i, link=link, loss=loss,
                                    garbage_per_min=60.0 * i)
            simulate_to_file(req, path)
            raw = read_raw_recording(path)
            for stream in raw.streams.values():
                data = bytes(stream.data)
                seeds.append(_split_header([]) + data[:4096])
                seeds.append(_split_header([7, 100, 1000]) + data[:2048])
    vectors = json.loads((ROOT / "firmware_protocol" / "vectors" / "vectors.json").read_text())
    wires: list[bytes] = []

    def collect(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and key.endswith("wire_hex"):
                    try:
                        wires.append(bytes.fromhex(value))
                    except ValueError:
                        pass
                else:
                    collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(vectors)
    seeds.extend(_split_header([3]) + w for w in wires)
    seeds.append(_split_header([]) + b"".join(wires))
    for i, seed in enumerate(seeds):
        (corpus / f"seed{i:03d}").write_bytes(seed)
    return len(seeds)


def one_input(data: bytes) -> None:
    """One fuzz iteration (atheris ``TestOneInput``)."""
    import atheris

    from firmware_protocol import StreamDecoder

    fdp = atheris.FuzzedDataProvider(data)
    n_splits = fdp.ConsumeUInt(1) % (MAX_SPLITS + 1)
    raw_points = [fdp.ConsumeUInt(2) for _ in range(n_splits)]
    stream = fdp.ConsumeBytes(fdp.remaining_bytes())
    points = sorted({p % (len(stream) + 1) for p in raw_points})

    dec = StreamDecoder()
    n_frames = 0
    prev = 0
    for i, end in enumerate([*points, len(stream)]):
        piece = stream[prev:end]
        prev = end
        if i % 2:
            n_frames += len(dec.feed(piece))
        else:
            n_frames += len(dec.feed_table(memoryview(piece)))

    st = dec.stats
    if st.bytes_in != len(stream):
        raise AssertionError(f"bytes_in {st.bytes_in} != {len(stream)}")
    for f in dataclasses.fields(st):
        value = getattr(st, f.name)
        if isinstance(value, int) and value < 0:
            raise AssertionError(f"negative counter {f.name}={value}")
    if any(n < 0 for n in st.lost_by_device.values()):
        raise AssertionError(f"negative lost_by_device {st.lost_by_device}")
    if sum(st.lost_by_device.values()) != st.lost_frames:
        raise AssertionError(f"lost_by_device {st.lost_by_device} != lost {st.lost_frames}")
    if st.discarded_bytes > len(stream):
        raise AssertionError(f"discarded_bytes {st.discarded_bytes} > {len(stream)}")
    if st.frames != st.samples_frames + st.device_info_frames + st.status_frames:
        raise AssertionError(f"frames by type do not add up: {st.as_dict()}")

    whole = StreamDecoder()
    n_whole = len(whole.feed_table(stream))
    if n_whole != n_frames or whole.stats.as_dict() != st.as_dict():
        raise AssertionError(
            f"split {points} changes the result: {n_frames} frames {st.as_dict()} vs "
            f"{n_whole} frames {whole.stats.as_dict()}"
        )
    # The compiled decoder (numba is loaded by `worker`) against the numpy reference.
    ref = StreamDecoder(fast=False)
    n_ref = len(ref.feed_table(stream))
    if n_ref != n_whole or ref.stats.as_dict() != whole.stats.as_dict():
        raise AssertionError(
            f"compiled and reference decoders differ: {n_whole} frames {whole.stats.as_dict()}"
            f" vs {n_ref} frames {ref.stats.as_dict()}"
        )


def worker(argv: list[str]) -> None:
    """Run libFuzzer in this process (never returns)."""
    import atheris

    # The compiled kernels cannot be instrumented (numba compiles the function's bytecode, and
    # atheris's coverage calls are Python): they run uninstrumented, with bounds checks on
    # (`run` sets NUMBA_BOUNDSCHECK=1), so an index out of range is a crash, not silent.
    with atheris.instrument_imports(
        include=["firmware_protocol"], exclude=["firmware_protocol.fast"]
    ):
        import firmware_protocol  # noqa: F401
    from firmware_protocol.jit import load_numba

    load_numba()  # the default decoder then takes its compiled path, as in the analysis
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


#: Executions per fuzzing process: libFuzzer is restarted on the same corpus after this many.
#: atheris 3 keeps a reference to every non-boolean comparison result in instrumented code
#: (numpy array comparisons: kilobytes each), so one long-lived process grows by gigabytes
#: over a 300 s run although no input needs more than about 150 MB (checked by re-running
#: the inputs alone). A fresh process per round keeps the harness's own growth bounded, so the
#: 4 GB limit below still catches an input that really needs that much.
RUNS_PER_PROCESS = 20_000


def run(script: str, name: str, seconds: int, write: object, extra: list[str]) -> int:
    """Seed a temp corpus, fuzz ``script --worker`` in child processes, print the figures.

    The fuzzing runs in rounds of at most `RUNS_PER_PROCESS` executions each, on one corpus,
    until ``seconds`` have passed. Shared by the three fuzz scripts. Returns the exit status:
    0 if no crash.
    """
    import time

    with tempfile.TemporaryDirectory(prefix=f"fuzz_{name}_") as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        n_seeds = write(corpus)  # type: ignore[operator]
        default = Path(tempfile.gettempdir()) / "insole_fuzz_crashes"
        crash_dir = Path(os.environ.get("FUZZ_CRASH_DIR", default))
        crash_dir.mkdir(parents=True, exist_ok=True)
        prefix = f"{crash_dir}/{name}-"
        before = set(crash_dir.iterdir())
        print(f"{name}: {n_seeds} seeds, fuzzing {seconds} s", flush=True)
        # Compiled kernels (numba) check every index while fuzzing; their own cache folder, so
        # that the checked builds never replace the project's.
        env = {**os.environ, "NUMBA_BOUNDSCHECK": "1",
               "NUMBA_CACHE_DIR": str(Path(tempfile.gettempdir()) / "insole_fuzz_numba")}
        runs, secs, rounds, peak, returncode = 0, 0.0, 0, 0, 0
        start = time.monotonic()
        while True:
            left = seconds - (time.monotonic() - start)
            if left < 1 or returncode != 0:
                break
            cmd = [sys.executable, script, "--worker", *extra, str(corpus),
                   f"-max_total_time={max(1, int(left))}", f"-runs={RUNS_PER_PROCESS}",
                   f"-artifact_prefix={prefix}", "-print_final_stats=1", "-timeout=20",
                   "-rss_limit_mb=4096"]
            proc = subprocess.run(
                cmd, stderr=subprocess.PIPE, text=True, errors="replace", env=env
            )
            rounds += 1
            returncode = proc.returncode
            m = re.search(r"stat::number_of_executed_units:\s*(\d+)", proc.stderr)
            t = re.search(r"Done (\d+) runs in (\d+) second", proc.stderr)
            n = int(m.group(1)) if m else int(t.group(1)) if t else 0
            runs += n
            secs += int(t.group(2)) if t else 0
            r = re.search(r"stat::peak_rss_mb:\s*(\d+)", proc.stderr)
            peak = max(peak, int(r.group(1)) if r else 0)
            if returncode != 0 or n == 0:
                sys.stderr.write(proc.stderr)
                if n == 0:
                    break
        crashes = sorted(set(crash_dir.iterdir()) - before)
        rate = f"{runs / max(time.monotonic() - start, 1):.0f}"
        print(f"{name}: executions {runs} ({rate}/s), crashes {len(crashes)}, corpus "
              f"{len(list(corpus.iterdir()))} inputs, {rounds} rounds of at most "
              f"{RUNS_PER_PROCESS}, peak RSS {peak} MB, exit {returncode}")
        for c in crashes:
            print(f"crashing input: {c}")
        if returncode != 0 and not crashes:
            print(f"{name}: libFuzzer exited {returncode} without a crash file")
        return 1 if crashes or returncode != 0 else 0


def single_target_main(
    script: str, name: str, doc: str, work: Any, seeds: Any, extra: list[str]
) -> int:
    """Command line of a one-target fuzz script: ``--worker ARGS`` or ``[--seconds N]``."""
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        work([sys.argv[0], *sys.argv[2:]])
        return 0
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=300, help="fuzzing time (default 300)")
    args = ap.parse_args()
    return run(script, name, args.seconds, seeds, extra)


def main() -> int:
    return single_target_main(__file__, "decoder", __doc__ or "", worker, write_seeds, [])


if __name__ == "__main__":
    sys.exit(main())
