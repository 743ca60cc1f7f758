#!/usr/bin/python3
# SPDX-License-Identifier: MulanPSL-2.0
"""Senpai's control loop as its README describes it, driving memory.reclaim: every INTERVAL
seconds, read the cgroup's stall time (memory.pressure some total); while the stall of the
last interval is under the target, reclaim up to PROBE of the cgroup's use, scaled down
linearly as the stall nears the target; at or over it, back off (reclaim nothing). Written
for etmem's tests from that description, not from Senpai's code.
Prints "saved=<MiB> stall=<percent> backoffs=<n>" after SECONDS.
Usage: senpai_repro.py CGROUP-DIR SECONDS INTERVAL TARGET-PERCENT PROBE"""
import errno
import os
import sys
import time

cgroup, seconds, interval = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
target, probe = float(sys.argv[4]), float(sys.argv[5])


def stall_us():
    with open(os.path.join(cgroup, "memory.pressure")) as f:
        some = f.readline().split()
    return int(some[-1].split("=")[1])


def current():
    with open(os.path.join(cgroup, "memory.current")) as f:
        return int(f.read())


start_use, start_stall, start = current(), stall_us(), time.monotonic()
last_stall, last = start_stall, start
backoffs = 0
while time.monotonic() - start < seconds:
    time.sleep(interval)
    now, stalled = time.monotonic(), stall_us()
    pressure = 100.0 * (stalled - last_stall) / ((now - last) * 1e6)
    last_stall, last = stalled, now
    if pressure >= target:
        backoffs += 1
        continue
    amount = int(current() * probe * (1 - pressure / target)) // 4096 * 4096
    if amount == 0:
        continue
    try:
        with open(os.path.join(cgroup, "memory.reclaim"), "w") as f:
            f.write(str(amount))
    except OSError as e:
        if e.errno != errno.EAGAIN:
            raise
elapsed = time.monotonic() - start
print("saved=%.1f stall=%.3f backoffs=%d" % ((start_use - current()) / 2**20,
      100.0 * (stall_us() - start_stall) / (elapsed * 1e6), backoffs))
