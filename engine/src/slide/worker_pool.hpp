// SPDX-License-Identifier: MulanPSL-2.0
// A fixed set of workers for one cycle: every stage of the cycle hands them the targets, so
// no thread is made per round. The calling thread works too.
//
// How it stops: run() returns once every item's work returned; the work itself checks the
// stop token (each stage returns within about 100 ms of a stop request). The destructor
// wakes the idle workers and joins them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace etmem::slide {

class WorkerPool {
  public:
    explicit WorkerPool(std::size_t workers);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // Runs work(i) for i in [0, items) and returns when all are done.
    void run(std::size_t items, const std::function<void(std::size_t)>& work);

  private:
    void drain(const std::function<void(std::size_t)>& work, std::size_t items);
    void serve();

    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    const std::function<void(std::size_t)>* work_ = nullptr;
    std::size_t items_ = 0;
    std::atomic<std::size_t> next_{0};
    std::size_t pending_ = 0;
    std::uint64_t generation_ = 0;
    bool quit_ = false;
    std::vector<std::jthread> threads_;
};

}  // namespace etmem::slide
