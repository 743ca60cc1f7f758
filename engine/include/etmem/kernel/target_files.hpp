// SPDX-License-Identifier: MulanPSL-2.0
// A target's files under /proc/PID, opened so that they are the target's own.
#pragma once

#include <filesystem>

#include "etmem/process.hpp"

namespace etmem::kernel {

// Opens /proc/PID/<file> of the target and checks afterwards that the pidfd's process still
// runs, so the file belongs to it and not to a process that reused the pid.
// Throws TargetGone, BackendUnavailable (EACCES/EPERM/ENODEV/ENOENT of the file itself).
int openTargetFile(const Target& target, const std::filesystem::path& procRoot, const char* file,
                   int flags);

// Writes "4" to the target's clear_refs: clears the soft-dirty bits (so pagemap bit 55
// marks pages written from now on) and makes the kernel flush the target's TLB
// (fs/proc/task_mmu.c clear_refs_write: flush_tlb_mm for CLEAR_REFS_SOFT_DIRTY), so
// accesses through translations cached before the pages were marked idle are seen.
void clearSoftDirty(int clearRefsFd);

}  // namespace etmem::kernel
