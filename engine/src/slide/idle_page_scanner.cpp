// Idle page tracking: /proc/PID/pagemap gives the PFN (and the soft-dirty bit) of every
// present page; /sys/kernel/mm/page_idle/bitmap marks PFNs idle and tells which are still
// idle. Only the target's own anonymous pages (pagemap "swappable") are tracked. One round,
// in batches of at most kBatchPages present pages: read pagemap where pages
// are present (PAGEMAP_SCAN finds them in sparse mappings), read the idle bits of those PFNs,
// report, mark them idle again; then clear soft-dirty through clear_refs, which also flushes
// the target's TLB.
#include <fcntl.h>

#include <mutex>
#include <vector>

#include "etmem/slide/backends.hpp"
#include "etmem/slide/idle_bitmap.hpp"
#include "etmem/slide/pagemap.hpp"
#include "etmem/unique_fd.hpp"

namespace etmem::slide {
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

// Pages handled per batch of a round: the batch's buffers (about 40 bytes per page: the
// page list, its PFNs and their bitmap words) stay under ~3 MiB whatever the target's size.
constexpr std::size_t kBatchPages = 65536;

class IdlePageSession final : public ScanSession {
  public:
    // bitmapFd: the scanner's one page_idle bitmap file, shared by its sessions (pread and
    // pwrite at explicit offsets), so a target costs two file descriptors, not three.
    IdlePageSession(const Target& target, std::span<const Vma> vmas, const KernelPaths& paths,
                    int bitmapFd, bool pagemapScan)
        : vmas_(vmas.begin(), vmas.end()),
          pagemap_(openTargetFile(target, paths.proc, "pagemap", O_RDONLY)),
          clearRefs_(openTargetFile(target, paths.proc, "clear_refs", O_WRONLY)),
          bitmap_(bitmapFd),
          present_(pagemap_.get(), pagemapScan) {}

    void begin(std::stop_token stop) { pass(stop, nullptr); }
    void round(std::stop_token stop, AccessSink& sink) override { pass(stop, &sink); }

  private:
    // Walks the present pages mapping by mapping in batches: per batch, read the idle bits
    // of its PFNs, report, mark them idle again. Soft-dirty is cleared once at the end.
    void pass(std::stop_token stop, AccessSink* sink) {
        pfnsHidden_ = true;
        for (const auto& vma : vmas_) {
            pages_.clear();
            bool complete = present_.read(
                vma.range, isDense(vma), stop,
                [&](std::uint64_t address, std::span<const PagemapEntry> entries) {
                    for (std::size_t i = 0; i < entries.size(); ++i) {
                        // Only pages the engine can classify: marking or reading shared
                        // pages (library code, say) makes the kernel walk every mapper of
                        // each, other processes included, and changes their idle state.
                        if (!entries[i].swappable()) continue;
                        if (entries[i].pfn() != 0) pfnsHidden_ = false;
                        pages_.push_back(PresentPage{address + i * kPageSize, entries[i]});
                    }
                    if (pages_.size() >= kBatchPages) processBatch(vma, stop, sink, false);
                });
            if (!complete || !processBatch(vma, stop, sink, true)) return;
        }
        if (stop.stop_requested()) return;
        clearSoftDirty(clearRefs_.get());
    }

    // Handles the collected pages; unless `last`, keeps the pages of the last 2 MiB block
    // for the next batch, so a THP is never split between two batches.
    bool processBatch(const Vma& vma, std::stop_token stop, AccessSink* sink, bool last) {
        if (pfnsHidden_ && !pages_.empty())
            throw BackendUnavailable(
                "pagemap shows no page frame numbers: idle page tracking needs etmemd to run "
                "with CAP_SYS_ADMIN");
        std::size_t take = pages_.size();
        if (!last) {
            std::uint64_t block = pages_.back().address / kHugePageSize;
            while (take > 0 && pages_[take - 1].address / kHugePageSize == block) --take;
            if (take == 0) take = pages_.size();
        }
        std::span<PresentPage> batch(pages_.data(), take);
        bool complete = true;
        if (!batch.empty()) {
            if (vma.mayHaveHugePages) foldHugePages(batch);
            pfns_.clear();
            for (const auto& page : batch) pfns_.push_back(page.entry.pfn());
            PfnWordSet words(std::move(pfns_));
            pfns_ = {};
            if (sink) {
                complete = words.readIdle(bitmap_, stop);
                if (complete) report(batch, words, *sink);
            }
            complete = complete && words.markIdle(bitmap_, stop);
        }
        pages_.erase(pages_.begin(), pages_.begin() + static_cast<std::ptrdiff_t>(take));
        return complete;
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
        std::uint64_t cachedWord = ~std::uint64_t{0}, cachedBits = 0;
        for (const auto& page : pages) {
            std::uint64_t pfn = page.entry.pfn();
            if (pfn / 64 != cachedWord) {
                cachedWord = pfn / 64;
                cachedBits = words.idleBitsOfWord(cachedWord);
            }
            bool idle = (cachedBits >> (pfn % 64)) & 1;
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
    int bitmap_;
    PresentPagemap present_;
    std::vector<PresentPage> pages_;  // the batch being collected
    std::vector<std::uint64_t> pfns_;
    bool pfnsHidden_ = true;
};

class IdlePageScanner final : public AccessScanner {
  public:
    IdlePageScanner(KernelPaths paths, bool pagemapScan)
        : paths_(std::move(paths)), pagemapScan_(pagemapScan) {}
    std::string_view name() const override { return "idle_page"; }
    bool reportsOnlyPresentPages() const override { return true; }
    std::unique_ptr<ScanSession> watch(const Target& target, std::span<const Vma> vmas,
                                       std::stop_token stop) override {
        auto session =
            std::make_unique<IdlePageSession>(target, vmas, paths_, bitmapFd(), pagemapScan_);
        session->begin(stop);
        return session;
    }

  private:
    int bitmapFd() {
        std::lock_guard lock(mutex_);
        if (!bitmap_)
            bitmap_ = UniqueFd(
                ::open((paths_.sys / "kernel/mm/page_idle/bitmap").c_str(), O_RDWR | O_CLOEXEC));
        if (!bitmap_)
            throw BackendUnavailable(
                "cannot open /sys/kernel/mm/page_idle/bitmap: run etmemd as root on a kernel "
                "with CONFIG_IDLE_PAGE_TRACKING");
        return bitmap_.get();
    }

    KernelPaths paths_;
    bool pagemapScan_;
    std::mutex mutex_;
    UniqueFd bitmap_;  // opened on first watch: making the scanner opens nothing
};

}  // namespace

std::unique_ptr<AccessScanner> makeIdlePageScanner(const KernelPaths& paths, bool pagemapScan) {
    return std::make_unique<IdlePageScanner>(paths, pagemapScan);
}

}  // namespace etmem::slide
