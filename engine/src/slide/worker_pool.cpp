// SPDX-License-Identifier: MulanPSL-2.0
#include "slide/worker_pool.hpp"

namespace etmem::slide {

WorkerPool::WorkerPool(std::size_t workers) {
    for (std::size_t i = 1; i < workers; ++i) threads_.emplace_back([this] { serve(); });
}

WorkerPool::~WorkerPool() {
    {
        std::lock_guard lock(mutex_);
        quit_ = true;
    }
    wake_.notify_all();
}  // jthreads join

void WorkerPool::run(std::size_t items, const std::function<void(std::size_t)>& work) {
    {
        std::lock_guard lock(mutex_);
        work_ = &work;
        items_ = items;
        next_ = 0;
        pending_ = threads_.size();
        ++generation_;
    }
    wake_.notify_all();
    drain(work, items);
    std::unique_lock lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
    work_ = nullptr;
}

void WorkerPool::drain(const std::function<void(std::size_t)>& work, std::size_t items) {
    for (std::size_t i = next_++; i < items; i = next_++) work(i);
}

void WorkerPool::serve() {
    std::uint64_t seen = 0;
    for (;;) {
        const std::function<void(std::size_t)>* work = nullptr;
        std::size_t items = 0;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return quit_ || generation_ != seen; });
            if (quit_) return;
            seen = generation_;
            work = work_;
            items = items_;
        }
        drain(*work, items);
        std::lock_guard lock(mutex_);
        if (--pending_ == 0) done_.notify_one();
    }
}

}  // namespace etmem::slide
