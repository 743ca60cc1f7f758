// Idle page tracking: /proc/PID/pagemap gives the PFN (and the soft-dirty bit) of every
// present page; /sys/kernel/mm/page_idle/bitmap marks PFNs idle and tells which are still
// idle. One round: read pagemap, read the idle bits of those PFNs, report, mark them idle
// again, then clear soft-dirty through clear_refs, which also flushes the target's TLB.
#include <fcntl.h>

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

class IdlePageSession final : public ScanSession {
  public:
    IdlePageSession(const Target& target, std::span<const Vma> vmas, const KernelPaths& paths)
        : vmas_(vmas.begin(), vmas.end()),
          pagemap_(openTargetFile(target, paths.proc, "pagemap", O_RDONLY)),
          clearRefs_(openTargetFile(target, paths.proc, "clear_refs", O_WRONLY)),
          bitmap_(::open((paths.sys / "kernel/mm/page_idle/bitmap").c_str(), O_RDWR | O_CLOEXEC)) {
        if (!bitmap_)
            throw BackendUnavailable(
                "cannot open /sys/kernel/mm/page_idle/bitmap: run etmemd as root on a kernel "
                "with CONFIG_IDLE_PAGE_TRACKING");
    }

    void begin(std::stop_token stop) { pass(stop, nullptr); }
    void round(std::stop_token stop, AccessSink& sink) override { pass(stop, &sink); }

  private:
    void pass(std::stop_token stop, AccessSink* sink) {
        std::vector<PresentPage> pages;
        if (!collectPresent(stop, pages)) return;
        std::vector<std::uint64_t> pfns;
        pfns.reserve(pages.size());
        for (const auto& page : pages) pfns.push_back(page.entry.pfn());
        PfnWordSet words(std::move(pfns));
        if (sink) {
            if (!words.readIdle(bitmap_.get(), stop)) return;
            report(pages, words, *sink);
        }
        if (!words.markIdle(bitmap_.get(), stop)) return;
        clearSoftDirty(clearRefs_.get());
    }

    bool collectPresent(std::stop_token stop, std::vector<PresentPage>& pages) {
        bool pfnsHidden = true;
        for (const auto& vma : vmas_) {
            std::size_t first = pages.size();
            bool complete = readPagemap(
                pagemap_.get(), vma.range, stop,
                [&](std::uint64_t address, std::span<const PagemapEntry> entries) {
                    for (std::size_t i = 0; i < entries.size(); ++i) {
                        if (!entries[i].present()) continue;
                        if (entries[i].pfn() != 0) pfnsHidden = false;
                        pages.push_back(PresentPage{address + i * kPageSize, entries[i]});
                    }
                });
            if (!complete) return false;
            if (vma.mayHaveHugePages) foldHugePages(std::span<PresentPage>(pages).subspan(first));
        }
        if (pfnsHidden && !pages.empty())
            throw BackendUnavailable(
                "pagemap shows no page frame numbers: idle page tracking needs etmemd to run "
                "with CAP_SYS_ADMIN");
        return true;
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
        for (const auto& page : pages) {
            PageAccess access = page.entry.softDirty()            ? PageAccess::Written
                                : !words.isIdle(page.entry.pfn()) ? PageAccess::Read
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
    UniqueFd bitmap_;
};

class IdlePageScanner final : public AccessScanner {
  public:
    explicit IdlePageScanner(KernelPaths paths) : paths_(std::move(paths)) {}
    std::string_view name() const override { return "idle_page"; }
    std::unique_ptr<ScanSession> watch(const Target& target, std::span<const Vma> vmas,
                                       std::stop_token stop) override {
        auto session = std::make_unique<IdlePageSession>(target, vmas, paths_);
        session->begin(stop);
        return session;
    }

  private:
    KernelPaths paths_;
};

}  // namespace

std::unique_ptr<AccessScanner> makeIdlePageScanner(const KernelPaths& paths) {
    return std::make_unique<IdlePageScanner>(paths);
}

}  // namespace etmem::slide
