#!/usr/bin/python3
# SPDX-License-Identifier: MulanPSL-2.0
"""Reads an etmem-workload layout and that process's pagemap: prints the fraction of its
cold pages and of its hot pages that read as swapped ("cold=0.973 hot=0.000")."""
import struct
import sys

layout = {}
with open(sys.argv[1]) as f:
    for line in f:
        key, _, rest = line.strip().partition(" ")
        layout[key] = rest
pid = int(layout["pid"])
base = int(layout["base"], 16)
pages = int(layout["pages"])
hot = {int(i) for i in layout.get("hot", "").split()}
with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
    pagemap.seek(base // 4096 * 8)
    data = pagemap.read(pages * 8)
swapped = [(struct.unpack_from("<Q", data, i * 8)[0] >> 62) & 1 for i in range(pages)]
hot_swapped = sum(swapped[i] for i in hot)
cold_count = pages - len(hot)
cold_swapped = sum(swapped) - hot_swapped
print(f"cold={cold_swapped / max(cold_count, 1):.3f} hot={hot_swapped / max(len(hot), 1):.3f}")
