"""LSL publishing on loopback: samples and markers sent/received, delay, timestamp regularity.

Runs simulated insoles through `insole.live.runtime.LiveRuntime` with an
`insole.live.lsl.LslPublisher` and receives every stream with inlets in this process, under the
loopback-only liblsl configuration (written to a temporary file and loaded through LSLAPICFG before
pylsl is imported). At real-time pace it also reports the delay from a sample's LSL timestamp to its
arrival at the inlet, and how far the timestamps stray from a regular grid.

    python bench/lsl_throughput.py [--duration 20] [--speed 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from insole.live.lsl import write_loopback_config

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--duration", type=float, default=20.0, help="simulated seconds")
parser.add_argument("--speed", type=float, default=1.0, help="pace factor (default 1)")
parser.add_argument("--seed", type=int, default=3)
args = parser.parse_args()

if "pylsl" in sys.modules:
    raise SystemExit("pylsl imported before LSLAPICFG was set")
cfg = write_loopback_config(Path(tempfile.mkdtemp()) / "lsl_api.cfg", log_level=-3)
os.environ["LSLAPICFG"] = str(cfg)
import pylsl  # noqa: E402

from insole.live.lsl import LslPublisher, realtime_source  # noqa: E402
from insole.live.runtime import LiveRuntime  # noqa: E402

source = f"sim:?seed={args.seed}&duration={args.duration:g}&speed={args.speed:g}"
runtime = LiveRuntime(source)
pub = LslPublisher(source=source, realtime=realtime_source(runtime.reader),
                   devices=runtime.header["devices"])
runtime.publisher = pub
ids = {d["side"]: f"insole-{d['device_id']}-{d['side']}" for d in runtime.header["devices"]}
ids["events"] = f"insole-events:{source}"
inlets = {}
for key, sid in ids.items():
    (info,) = pylsl.resolve_byprop("source_id", sid, 1, 5.0)
    inlets[key] = pylsl.StreamInlet(info, max_buflen=360)
    inlets[key].open_stream(timeout=5.0)

got: dict[str, list[float]] = {k: [] for k in inlets}
delay: dict[str, list[float]] = {"left": [], "right": []}
markers: list[str] = []
done = threading.Event()


def pull() -> None:
    while True:
        idle = True
        for key, inlet in inlets.items():
            data, ts = inlet.pull_chunk(timeout=0.0, max_samples=1024)
            if ts:
                idle = False
                now = pylsl.local_clock()
                got[key] += ts
                if key == "events":
                    markers.extend(m[0] for m in data)
                else:
                    delay[key].append(now - ts[-1])
        if idle:
            if done.is_set():
                return
            time.sleep(0.005)


thread = threading.Thread(target=pull)
thread.start()
t0 = time.monotonic()
runtime.start()
runtime.wait_ended(args.duration / args.speed + 120)
runtime.stop()
wall = time.monotonic() - t0
time.sleep(0.5)
done.set()
thread.join()
for inlet in inlets.values():
    inlet.close_stream()
pub.close()

print(f"{source}: {wall:.2f} s wall")
for side in ("left", "right"):
    ts = np.asarray(got[side])
    fs = runtime.header["devices"][0]["sample_rate_hz"]
    k = np.arange(len(ts))
    resid = ts - np.polyval(np.polyfit(k, ts, 1), k) if len(ts) > 2 else np.zeros(1)
    d = np.asarray(delay[side]) * 1e3
    period = np.polyfit(k, ts, 1)[0] * fs
    print(f"  {side}: samples sent {pub.samples_pushed.get(side, 0)} received {len(ts)}; "
          f"timestamps increasing {bool(np.all(np.diff(ts) > 0))}, off a regular grid by "
          f"max {np.max(np.abs(resid)) * 1e3:.3f} ms; fitted period {period:.6f}"
          f"/fs; newest-sample delay at the inlet median {np.median(d):.1f} ms, p95 "
          f"{np.percentile(d, 95):.1f} ms; clock refits {pub.clocks[side].refits}")
hs = sum(m.startswith("heel_strike/") for m in markers)
to = sum(m.startswith("toe_off/") for m in markers)
print(f"  markers: heel strikes sent {pub.markers_pushed['heel_strike']} received {hs}; "
      f"toe-offs sent {pub.markers_pushed['toe_off']} received {to}; steps {len(runtime.steps)}")
