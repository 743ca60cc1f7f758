#!/usr/bin/python3
# SPDX-License-Identifier: MulanPSL-2.0
"""A workload whose working set changes phase: SIZE MiB of anonymous memory filled with
incompressible data (a random MiB repeated), then the first HOT MiB written every 50 ms
while the rest stays cold, until PHASE-FILE exists; from then on the last HOT MiB (pages that
were cold) are the ones written. READY-FILE is created once every page holds data.
Usage: phase_workload.py SIZE HOT READY-FILE PHASE-FILE"""
import os
import sys
import time

PAGE = 4096
size, hot = int(sys.argv[1]) << 20, int(sys.argv[2]) << 20
ready, phase = sys.argv[3], sys.argv[4]
memory = bytearray(os.urandom(1 << 20)) * (size >> 20)
open(ready, "w").close()
stamp = 0
window = (0, hot)
while True:
    if window[0] == 0 and os.path.exists(phase):
        window = (size - hot, size)
    stamp = (stamp + 1) & 0xFF
    memory[window[0]:window[1]:PAGE] = bytes([stamp]) * (hot // PAGE)
    time.sleep(0.05)
