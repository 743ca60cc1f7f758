// SPDX-License-Identifier: MulanPSL-2.0
// The idle_page scanner, on idle page tracking: /proc/PID/pagemap gives the PFN (and the soft-dirty
// bit) of every present page; /sys/kernel/mm/page_idle/bitmap marks PFNs idle and tells which are
// still idle. Only the target's own anonymous pages (pagemap "swappable") are tracked. One round,
// in batches of at most kBatchPages present pages drawn from all of the target's mappings:
// read pagemap where pages are present (PAGEMAP_SCAN finds them in sparse mappings), read the
// idle bits of those PFNs, report, mark them idle again; then clear soft-dirty through
// clear_refs, which also flushes the target's TLB.
#include <fcntl.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <vector>

#include "etmem/backends/backends.hpp"
#include "etmem/kernel/files.hpp"
#include "etmem/kernel/idle_bitmap.hpp"
#include "etmem/kernel/pagemap.hpp"
#include "etmem/unique_fd.hpp"

namespace etmem::backends {

using namespace etmem::kernel;
namespace {

// A present page of a round: its address and pagemap entry. For a page inside a THP the
// entry's PFN is replaced by the THP's head PFN, the only one idle tracking answers for.
struct PresentPage {
    std::uint64_t address;
    PagemapEntry entry;
};

std::uint64_t withPfn(PagemapEntry entry, std::uint64_t pfn) {
    return (entry.raw & ~PagemapEntry::kPfnMask) | pfn;
}

// A 2 MiB aligned block mapped by 512 consecutive PFNs starting at a 512-aligned PFN is
// taken as one THP (only in mappings where smaps reports AnonHugePages).
void foldHugePages(std::span<PresentPage> pages) {
    std::size_t i = 0;
    while (i + kPagesPerHugePage <= pages.size()) {
        const auto& head = pages[i];
        bool aligned = head.address % kHugePageSize == 0 &&
                       head.entry.pfn() % kPagesPerHugePage == 0 && head.entry.pfn() != 0;
        bool whole = aligned;
        for (std::size_t k = 1; whole && k < kPagesPerHugePage; ++k) {
            const auto& page = pages[i + k];
            whole = page.address == head.address + k * kPageSize &&
                    page.entry.pfn() == head.entry.pfn() + k;
        }
        if (!whole) {
            ++i;
            continue;
        }
        for (std::size_t k = 1; k < kPagesPerHugePage; ++k)
            pages[i + k].entry.raw = withPfn(pages[i + k].entry, head.entry.pfn());
        i += kPagesPerHugePage;
    }
}

// The page_idle bitmap files of a scanner: the kernel serialises every read and write of one
// open file (kernfs takes the open file's mutex, and holds it through the reverse-map walks
// of a whole 4 KiB window), so sessions that work at the same time, on different workers,
// each lease a file of their own. At most one file per worker is ever open; a session holds
// none between rounds, so a target costs two file descriptors, not three.
class BitmapFiles {
  public:
    explicit BitmapFiles(std::filesystem::path path) : path_(std::move(path)) {}

    class Lease {
      public:
        Lease(BitmapFiles& files, UniqueFd fd) : files_(files), fd_(std::move(fd)) {}
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        ~Lease() { files_.giveBack(std::move(fd_)); }
        int get() const { return fd_.get(); }

      private:
        BitmapFiles& files_;
        UniqueFd fd_;
    };

    // A file no other session is using; opens one when all are in use. Throws
    // BackendUnavailable when the bitmap cannot be opened.
    Lease lease() {
        {
            std::lock_guard lock(mutex_);
            if (!free_.empty()) {
                UniqueFd fd = std::move(free_.back());
                free_.pop_back();
                return Lease(*this, std::move(fd));
            }
        }
        UniqueFd fd(::open(path_.c_str(), O_RDWR | O_CLOEXEC));
        if (!fd)
            throw BackendUnavailable(
                "cannot open /sys/kernel/mm/page_idle/bitmap: run etmemd as root on a kernel "
                "with CONFIG_IDLE_PAGE_TRACKING");
        return Lease(*this, std::move(fd));
    }

  private:
    void giveBack(UniqueFd fd) {
        std::lock_guard lock(mutex_);
        free_.push_back(std::move(fd));
    }

    std::filesystem::path path_;
    std::mutex mutex_;
    std::vector<UniqueFd> free_;  // opened on the first lease: making the scanner opens nothing
};

// Pages handled per batch of a round: the batch's buffers (about 40 bytes per page: the
// page list and its bitmap words) stay under ~3 MiB whatever the target's size.
constexpr std::size_t kBatchPages = 65536;

class IdlePageSession final : public ScanSession {
  public:
    // bitmaps: the scanner's page_idle bitmap files, leased for a pass.
    IdlePageSession(const Target& target, std::span<const Vma> vmas, const KernelPaths& paths,
                    BitmapFiles& bitmaps, bool pagemapScan)
        : vmas_(withCandidatePages(vmas)),
          pagemap_(openTargetFile(target, paths.proc, "pagemap", O_RDONLY)),
          clearRefs_(openTargetFile(target, paths.proc, "clear_refs", O_WRONLY)),
          bitmaps_(bitmaps),
          present_(pagemap_.get(), pagemapScan) {}

    void begin(std::stop_token stop) { pass(stop, nullptr); }
    void round(std::stop_token stop, AccessSink& sink) override { pass(stop, &sink); }

  private:
    // A run of the batch's pages from one mapping: THPs are folded per mapping, and the
    // pages kept for the next batch never reach back past the current mapping.
    struct Segment {
        std::size_t begin;  // index of its first page in pages_
        bool mayHaveHugePages;
    };

    // Mappings that smaps shows without anonymous pages and that cannot be written (library
    // code and read-only data) have no page to classify: a pass does not walk them. Their
    // pages could only become anonymous through ptrace or after an mprotect, like a new
    // mapping, which the next cycle's smaps shows.
    static std::vector<Vma> withCandidatePages(std::span<const Vma> vmas) {
        std::vector<Vma> kept;
        for (const auto& vma : vmas)
            if (vma.mayHoldCandidatePages) kept.push_back(vma);
        return kept;
    }

    // Walks the present pages of all mappings and handles them in batches of up to
    // kBatchPages, whatever mapping they come from: per batch, one read of the idle bits of
    // its PFNs, one report, one marking idle again, so a target with many small mappings
    // costs a few bitmap reads and writes per round, not two per mapping. Soft-dirty is
    // cleared once at the end.
    void pass(std::stop_token stop, AccessSink* sink) {
        BitmapFiles::Lease bitmap = bitmaps_.lease();
        bitmap_ = bitmap.get();
        pfnsHidden_ = true;
        pages_.clear();
        segments_.clear();
        bool batchesComplete = true;
        for (const auto& vma : vmas_) {
            segments_.push_back(Segment{pages_.size(), vma.mayHaveHugePages});
            bool walked =
                present_.read(vma.range, readStraight(vma), stop,
                              [&](std::uint64_t address, std::span<const PagemapEntry> entries) {
                                  collect(address, entries);
                                  if (batchesComplete && pages_.size() >= kBatchPages)
                                      batchesComplete = processBatch(stop, sink, false);
                              });
            if (!walked || !batchesComplete) return;
        }
        if (!processBatch(stop, sink, true) || stop.stop_requested()) return;
        clearSoftDirty(clearRefs_.get());
    }

    void collect(std::uint64_t address, std::span<const PagemapEntry> entries) {
        for (std::size_t i = 0; i < entries.size(); ++i) {
            // Only pages the engine can classify: marking or reading shared pages (library
            // code, say) makes the kernel walk every mapper of each, other processes
            // included, and changes their idle state.
            if (!entries[i].swappable()) continue;
            if (entries[i].pfn() != 0) pfnsHidden_ = false;
            pages_.push_back(PresentPage{address + i * kPageSize, entries[i]});
        }
    }

    // Handles the collected pages; unless `last`, keeps the pages of the current mapping's
    // last 2 MiB block for the next batch, so a THP is never split between two batches.
    bool processBatch(std::stop_token stop, AccessSink* sink, bool last) {
        if (pfnsHidden_ && !pages_.empty())
            throw BackendUnavailable(
                "pagemap shows no page frame numbers: idle page tracking needs etmemd to run "
                "with CAP_SYS_ADMIN");
        std::size_t take = pages_.size();
        if (!last && !pages_.empty()) {
            std::size_t mappingStart = segments_.back().begin;
            std::uint64_t block = pages_.back().address / kHugePageSize;
            while (take > mappingStart && pages_[take - 1].address / kHugePageSize == block) --take;
            if (take == 0) take = pages_.size();
        }
        bool complete = true;
        if (take > 0) {
            std::span<PresentPage> batch(pages_.data(), take);
            words_.clear();
            forEachSegment(take, [&](std::span<PresentPage> pages, bool mayHaveHugePages) {
                if (mayHaveHugePages) foldHugePages(pages);
                for (const auto& page : pages) words_.add(page.entry.pfn());
            });
            words_.finish();
            if (sink) {
                complete = words_.readIdle(bitmap_, stop);
                if (complete) report(batch, words_, *sink);
            }
            complete = complete && words_.markIdle(bitmap_, stop);
        }
        dropFirst(take);
        return complete;
    }

    // Calls visit(pages, mayHaveHugePages) for each segment's share of the first `count`
    // pages.
    template <typename Visit>
    void forEachSegment(std::size_t count, Visit visit) {
        for (std::size_t s = 0; s < segments_.size(); ++s) {
            std::size_t from = segments_[s].begin;
            std::size_t to = s + 1 < segments_.size() ? segments_[s + 1].begin : pages_.size();
            to = std::min(to, count);
            if (from < to)
                visit(std::span(pages_.data() + from, to - from), segments_[s].mayHaveHugePages);
        }
    }

    // Removes the handled pages; the current mapping's segment stays, now starting at 0.
    void dropFirst(std::size_t count) {
        pages_.erase(pages_.begin(), pages_.begin() + static_cast<std::ptrdiff_t>(count));
        Segment current = segments_.empty() ? Segment{0, false} : segments_.back();
        current.begin = 0;
        segments_.assign(1, current);
    }

    // Reports runs of consecutive pages with the same access.
    static void report(std::span<const PresentPage> pages, const PfnWordSet& words,
                       AccessSink& sink) {
        std::uint64_t runStart = 0, runPages = 0;
        PageAccess runAccess = PageAccess::Idle;
        auto flush = [&] {
            if (runPages > 0 && runAccess != PageAccess::Idle)
                sink.record(runStart, runPages, runAccess);
            runPages = 0;
        };
        auto idleBits = words.replay();  // the pages come in the order their PFNs were added
        for (const auto& page : pages) {
            bool idle = idleBits.idle(page.entry.pfn());
            PageAccess access = page.entry.softDirty() ? PageAccess::Written
                                : !idle                ? PageAccess::Read
                                                       : PageAccess::Idle;
            if (runPages > 0 && access == runAccess &&
                page.address == runStart + runPages * kPageSize) {
                ++runPages;
                continue;
            }
            flush();
            runStart = page.address;
            runPages = 1;
            runAccess = access;
        }
        flush();
    }

    std::vector<Vma> vmas_;
    UniqueFd pagemap_;
    UniqueFd clearRefs_;
    BitmapFiles& bitmaps_;
    int bitmap_ = -1;  // leased for the pass under way
    PresentPagemap present_;
    // A round's buffers, kept for the next round (their memory is reused, not reallocated).
    std::vector<PresentPage> pages_;  // the batch being collected
    std::vector<Segment> segments_;   // where each mapping's pages start in pages_
    PfnWordSet words_;
    bool pfnsHidden_ = true;
};

class IdlePageScanner final : public AccessScanner {
  public:
    IdlePageScanner(KernelPaths paths, bool pagemapScan)
        : paths_(std::move(paths)),
          pagemapScan_(pagemapScan),
          bitmaps_(paths_.sys / "kernel/mm/page_idle/bitmap") {}
    std::string_view name() const override { return "idle_page"; }
    bool reportsOnlyPresentPages() const override { return true; }
    std::unique_ptr<ScanSession> watch(const Target& target, std::span<const Vma> vmas,
                                       std::stop_token stop) override {
        auto session =
            std::make_unique<IdlePageSession>(target, vmas, paths_, bitmaps_, pagemapScan_);
        session->begin(stop);
        return session;
    }

  private:
    KernelPaths paths_;
    bool pagemapScan_;
    BitmapFiles bitmaps_;
};

}  // namespace

std::string probePageIdleBitmapScanner(const KernelPaths& paths) {
    auto bitmap = paths.sys / "kernel/mm/page_idle/bitmap";
    if (canOpen(bitmap, O_RDWR)) return "";
    return std::filesystem::exists(bitmap)
               ? "no permission on /sys/kernel/mm/page_idle/bitmap: run etmemd as root to use "
                 "the idle_page scanner"
               : "the kernel has no idle page tracking (CONFIG_IDLE_PAGE_TRACKING): the "
                 "idle_page scanner is not available";
}

std::unique_ptr<AccessScanner> makePageIdleBitmapScanner(const BackendSettings& settings) {
    return makeIdlePageScanner(settings.paths, settings.pagemapScan);
}

std::unique_ptr<AccessScanner> makeIdlePageScanner(const KernelPaths& paths, bool pagemapScan) {
    return std::make_unique<IdlePageScanner>(paths, pagemapScan);
}

}  // namespace etmem::backends
