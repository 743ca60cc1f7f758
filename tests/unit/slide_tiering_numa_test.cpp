// SPDX-License-Identifier: MulanPSL-2.0
// The slide engine with memory tiers against the real move_pages(2) and the machine's own
// nodes: on a machine (or test guest) with a node slower than the fastest, a child's cold
// pages go there and its hot pages stay; hot pages found there come back; every byte holds.
// A machine without a slower node skips (a single-node host has nothing to tier).
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <vector>

#include "etmem/kernel/memory_tiers.hpp"
#include "etmem/movers/node_pages.hpp"
#include "etmem/slide/slide_engine.hpp"

using namespace etmem;
using namespace etmem::backends;
using namespace etmem::kernel;
using namespace etmem::slide;

namespace {

constexpr std::size_t kPages = 4096;  // 16 MiB; every fourth page hot

class Child {
  public:
    Child() {
        void* memory = ::mmap(nullptr, kPages * kPageSize, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        // Small pages: the scripted scanner scores each page on its own, while move_pages
        // moves a transparent huge page whole (idle page tracking scores it whole too).
        ::madvise(memory, kPages * kPageSize, MADV_NOHUGEPAGE);
        base_ = reinterpret_cast<std::uint64_t>(memory);
        int ready[2];
        if (::pipe(ready) != 0) std::abort();
        pid_ = ::fork();
        if (pid_ == 0) {
            ::close(ready[0]);
            auto* bytes = static_cast<unsigned char*>(memory);
            for (std::size_t i = 0; i < kPages * kPageSize; ++i)
                bytes[i] = static_cast<unsigned char>(i * 7 + i / kPageSize);
            char byte = 'r';
            if (::write(ready[1], &byte, 1) != 1) ::_exit(1);
            for (;;) ::pause();
        }
        ::close(ready[1]);
        char byte = 0;
        if (::read(ready[0], &byte, 1) != 1) std::abort();
        ::close(ready[0]);
        ::munmap(memory, kPages * kPageSize);
    }
    ~Child() {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    Target target() const {
        Target target;
        target.pid = pid_;
        target.comm = "tier-numa";
        target.pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
        return target;
    }
    std::uint64_t page(std::size_t index) const { return base_ + index * kPageSize; }
    // Every byte as the child wrote it, read through process_vm_readv.
    bool intact() const {
        std::vector<unsigned char> copy(kPages * kPageSize);
        iovec local{copy.data(), copy.size()};
        iovec remote{reinterpret_cast<void*>(base_), copy.size()};
        if (::process_vm_readv(pid_, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(copy.size()))
            return false;
        for (std::size_t i = 0; i < copy.size(); ++i)
            if (copy[i] != static_cast<unsigned char>(i * 7 + i / kPageSize)) return false;
        return true;
    }

  private:
    pid_t pid_ = 0;
    std::uint64_t base_ = 0;
};

// The child's pages i % 4 == 0 written in every round, or all of them while `allHot`.
class ScriptedScanner final : public AccessScanner {
  public:
    explicit ScriptedScanner(std::uint64_t base) : base_(base) {}
    std::string_view name() const override { return "scripted"; }
    std::unique_ptr<ScanSession> watch(const Target&, std::span<const Vma>,
                                       std::stop_token) override {
        return std::make_unique<Session>(base_, allHot);
    }
    std::shared_ptr<std::atomic<bool>> allHot = std::make_shared<std::atomic<bool>>(false);

  private:
    class Session final : public ScanSession {
      public:
        Session(std::uint64_t base, std::shared_ptr<std::atomic<bool>> allHot)
            : base_(base), allHot_(std::move(allHot)) {}
        void round(std::stop_token, AccessSink& sink) override {
            for (std::size_t i = 0; i < kPages; i += *allHot_ ? 1 : 4)
                sink.record(base_ + i * kPageSize, 1, PageAccess::Written);
        }

      private:
        std::uint64_t base_;
        std::shared_ptr<std::atomic<bool>> allHot_;
    };
    std::uint64_t base_;
};

class QuietLogger final : public Logger {
  public:
    void log(LogLevel, const LogContext&, std::string_view) override {}
};

// Pages of the child on `node`: hot ones (i % 4 == 0) and cold ones.
struct Placement {
    std::size_t hot = 0, cold = 0;
};
Placement onNode(const Child& child, int node) {
    std::vector<std::uint64_t> pages;
    for (std::size_t i = 0; i < kPages; ++i) pages.push_back(child.page(i));
    std::vector<int> status(kPages);
    const Target target = child.target();
    movers::queryNodes(*movers::kernelPageNodes(), target, pages, status, {});
    Placement placement;
    for (std::size_t i = 0; i < kPages; ++i)
        if (status[i] == node) ++(i % 4 == 0 ? placement.hot : placement.cold);
    return placement;
}

}  // namespace

TEST(SlideTieringNuma, ColdPagesGoToTheSlowNodeAndHotOnesComeBack) {
    const MemoryTiers tiers = discoverMemoryTiers({});
    const auto nodes = tiers.fastestFirst();
    if (nodes.size() < 2 || !tiers.slower(nodes.back()->id, nodes.front()->id))
        GTEST_SKIP() << "no node slower than the fastest here: " << tiers.describe();
    const int fast = nodes.front()->id, slow = nodes.back()->id;
    Child child;
    auto scanner = std::make_shared<ScriptedScanner>(child.page(0));
    ProjectConfig project;
    project.loop = 2;
    TaskConfig task;
    task.slide.T = 3;
    task.slide.coldNode = slow;
    QuietLogger logger;
    SlideOptions options;
    options.scannerOverride = scanner;
    auto engine =
        makeSlideEngine(EngineContext{project, task, LogContext{"p", "pid:x", 0}, logger}, options);
    std::vector<Target> targets;
    targets.push_back(child.target());
    const auto cycle = [&] {
        engine->beginCycle(targets, {});
        for (unsigned i = 0; i < project.loop; ++i) engine->scan({});
        return engine->act({});
    };

    CycleReport report = cycle();
    EXPECT_EQ(report.error, "");
    const Placement onFast = onNode(child, fast), onSlow = onNode(child, slow);
    std::printf(
        "FIGURE tier demotion: hot on node %d %zu/%zu, cold on node %d %zu/%zu, "
        "pages_demoted %llu\n",
        fast, onFast.hot, kPages / 4, slow, onSlow.cold, kPages * 3 / 4,
        static_cast<unsigned long long>(report.figures().count("pages_demoted")));
    EXPECT_GE(onFast.hot * 100, kPages / 4 * 99);
    EXPECT_GE(onSlow.cold * 100, kPages * 3 / 4 * 95);
    EXPECT_TRUE(child.intact());

    // Steady state: almost nothing moves.
    report = cycle();
    EXPECT_LE(report.figures().count("pages_demoted") + report.figures().count("pages_promoted"),
              kPages / 100);

    // Every page hot: the ones on the slow node come back.
    *scanner->allHot = true;
    report = cycle();
    const Placement back = onNode(child, fast);
    std::printf("FIGURE tier promotion: on node %d %zu/%zu, pages_promoted %llu\n", fast,
                back.hot + back.cold, kPages,
                static_cast<unsigned long long>(report.figures().count("pages_promoted")));
    EXPECT_GE((back.hot + back.cold) * 100, kPages * 99);
    EXPECT_TRUE(child.intact());
}
