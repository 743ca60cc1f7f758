#!/usr/bin/python3
# SPDX-License-Identifier: MulanPSL-2.0
"""Samples VmSwap of a pid every 0.2 s for DURATION seconds; prints the largest swap-out rate
over any WINDOW-second window, the mean rate from the first to the last growth, and the
total swapped, in MiB(/s): "max_window=7.93 mean=5.10 total=96.2"."""
import sys
import time

pid, duration, window = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
samples = []
end = time.monotonic() + duration
while time.monotonic() < end:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmSwap:"):
                samples.append((time.monotonic(), int(line.split()[1]) * 1024))
    time.sleep(0.2)
mib = 1024 * 1024
best = 0.0
for i, (t0, s0) in enumerate(samples):
    for t1, s1 in samples[i + 1:]:
        if t1 - t0 > window:
            break
        if t1 - t0 >= window - 0.25:
            best = max(best, (s1 - s0) / (t1 - t0))
grew = [k for k in range(1, len(samples)) if samples[k][1] > samples[k - 1][1]]
mean = 0.0
if grew:
    first, last = samples[grew[0] - 1], samples[grew[-1]]
    mean = (last[1] - first[1]) / max(last[0] - first[0], 1e-9)
total = (samples[-1][1] - samples[0][1]) if samples else 0
print(f"max_window={best / mib:.2f} mean={mean / mib:.2f} total={total / mib:.1f}")
