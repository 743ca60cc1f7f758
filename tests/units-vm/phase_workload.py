#!/usr/bin/python3
# SPDX-License-Identifier: MulanPSL-2.0
"""A workload whose working set changes phase: SIZE MiB of anonymous memory filled with
incompressible data (a random MiB repeated), then HOT MiB of it written every 50 ms while the
rest stays cold: the first HOT MiB while PHASE-FILE is absent or says 1, the last HOT MiB
while it says 2. READY-FILE is created once every page holds data.

Going 1 -> 2 -> 1 makes the workload stall: pages hot in phase 1 and reclaimed during phase 2
refault as the kernel's working set (PSI counts that as memory stall), where pages that were
only ever cold refault without a stall.
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
while True:
    try:
        with open(phase) as f:
            second = f.read().strip() == "2"
    except OSError:
        second = False
    window = (size - hot, size) if second else (0, hot)
    stamp = (stamp + 1) & 0xFF
    memory[window[0]:window[1]:PAGE] = bytes([stamp]) * (hot // PAGE)
    time.sleep(0.05)
