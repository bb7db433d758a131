// ThreadPoolExecutor and DeterministicExecutor (see executor.h).
#include "freezeframe/executor.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "freezeframe/assert.h"

namespace freezeframe {
namespace {

class BoundedThreadPool final : public ThreadPoolExecutor {
 public:
  explicit BoundedThreadPool(ThreadPoolExecutorOptions options) : options_(options) {
    FF_ASSERT(options_.threads >= 1 && options_.threads <= options_.threads_max);
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < options_.threads; ++i)
      start_thread();
  }

  ~BoundedThreadPool() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      ready_.notify_all();
    }
    for (std::thread& thread : threads_)
      thread.join();
  }

  Result<std::uint64_t> submit(std::function<void()> task) override {
    std::lock_guard lock(mutex_);
    FF_ASSERT(!stopping_);
    // Every thread holds a task nobody waits for, and no more may be started: a queued task
    // could wait forever.
    if (abandoned_running_ == threads_.size())
      return Status(ErrorCode::kLimitExceeded,
                    "executor: all " + std::to_string(threads_.size()) +
                        " threads (the maximum) hold calls that never returned");
    const std::uint64_t ticket = ++last_ticket_;
    queue_.push_back({ticket, std::move(task)});
    ready_.notify_one();
    return ticket;
  }

  void abandon(std::uint64_t ticket) override {
    std::lock_guard lock(mutex_);
    auto running = std::find(running_.begin(), running_.end(), ticket);
    auto queued = std::find_if(queue_.begin(), queue_.end(),
                               [&](const Queued& entry) { return entry.ticket == ticket; });
    if (running == running_.end() && queued == queue_.end())
      return;  // finished
    abandoned_tickets_.push_back(ticket);
    if (running != running_.end())
      ++abandoned_running_;
    // One thread stands in for each abandoned task, up to the cap.
    if (threads_.size() < options_.threads_max &&
        threads_.size() < options_.threads + abandoned_running_)
      start_thread();
  }

  std::size_t threads() const override {
    std::lock_guard lock(mutex_);
    return threads_.size();
  }

  std::size_t busy() const override {
    std::lock_guard lock(mutex_);
    return running_.size();
  }

  std::size_t abandoned() const override {
    std::lock_guard lock(mutex_);
    return abandoned_running_;
  }

 private:
  struct Queued {
    std::uint64_t ticket = 0;
    std::function<void()> task;
  };

  // REQUIRES: mutex_ held.
  void start_thread() {
    threads_.emplace_back([this] { work(); });
  }

  // REQUIRES: mutex_ held.
  bool is_abandoned(std::uint64_t ticket) const {
    return std::find(abandoned_tickets_.begin(), abandoned_tickets_.end(), ticket) !=
           abandoned_tickets_.end();
  }

  void work() {
    std::unique_lock lock(mutex_);
    for (;;) {
      ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        return;  // stopping, nothing left to run
      Queued next = std::move(queue_.front());
      queue_.pop_front();
      running_.push_back(next.ticket);
      if (is_abandoned(next.ticket))
        ++abandoned_running_;
      lock.unlock();
      next.task();
      next.task = nullptr;  // whatever it holds goes before the thread counts as free
      lock.lock();
      std::erase(running_, next.ticket);
      if (is_abandoned(next.ticket)) {
        --abandoned_running_;
        std::erase(abandoned_tickets_, next.ticket);
      }
    }
  }

  const ThreadPoolExecutorOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Queued> queue_;
  std::vector<std::thread> threads_;
  // Tickets of the tasks running now; at most one per thread.
  std::vector<std::uint64_t> running_;
  // Abandoned tickets not yet finished; at most one per queued or running task.
  std::vector<std::uint64_t> abandoned_tickets_;
  std::size_t abandoned_running_ = 0;
  std::uint64_t last_ticket_ = 0;
  bool stopping_ = false;
};

}  // namespace

std::unique_ptr<ThreadPoolExecutor> ThreadPoolExecutor::create(ThreadPoolExecutorOptions options) {
  return std::make_unique<BoundedThreadPool>(options);
}

Result<std::uint64_t> DeterministicExecutor::submit(std::function<void()> task) {
  queue_.push_back(std::move(task));
  return ++last_ticket_;
}

void DeterministicExecutor::run_queued() {
  while (!queue_.empty()) {
    std::size_t index = 0;
    if (random_ != nullptr)
      index = static_cast<std::size_t>(random_->uniform(queue_.size()));
    std::function<void()> task = std::move(queue_[index]);
    queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(index));
    ++tasks_run_;
    task();
  }
}

}  // namespace freezeframe
