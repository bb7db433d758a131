#include "freezeframe/clock.h"

#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace freezeframe {

struct SystemClock::Impl {
  std::mutex mutex;
  std::condition_variable wake;
  // Ordered by (deadline, id): equal deadlines fire in scheduling order.
  std::map<std::pair<Nanoseconds, TimerId>, std::function<void()>> timers;
  std::map<TimerId, Nanoseconds> deadline_of;
  TimerId next_id = 1;
  bool stopping = false;
  std::thread thread;

  void run(const SystemClock& clock) {
    std::unique_lock lock(mutex);
    while (!stopping) {
      if (timers.empty()) {
        wake.wait(lock);
        continue;
      }
      auto first = timers.begin();
      Nanoseconds now = clock.now();
      if (first->first.first > now) {
        wake.wait_for(lock, first->first.first - now);
        continue;
      }
      std::function<void()> callback = std::move(first->second);
      deadline_of.erase(first->first.second);
      timers.erase(first);
      lock.unlock();
      callback();
      lock.lock();
    }
  }
};

SystemClock::SystemClock() : impl_(std::make_unique<Impl>()) {}

SystemClock::~SystemClock() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable())
    impl_->thread.join();
}

Nanoseconds SystemClock::now() const {
  return std::chrono::duration_cast<Nanoseconds>(
      std::chrono::steady_clock::now().time_since_epoch());
}

Nanoseconds SystemClock::wall_time() const {
  return std::chrono::duration_cast<Nanoseconds>(
      std::chrono::system_clock::now().time_since_epoch());
}

TimerId SystemClock::schedule_at(Nanoseconds deadline, std::function<void()> callback) {
  TimerId id;
  {
    std::lock_guard lock(impl_->mutex);
    id = impl_->next_id++;
    impl_->timers.emplace(std::make_pair(deadline, id), std::move(callback));
    impl_->deadline_of.emplace(id, deadline);
    if (!impl_->thread.joinable()) {
      impl_->thread = std::thread([this] { impl_->run(*this); });
    }
  }
  impl_->wake.notify_all();
  return id;
}

bool SystemClock::cancel(TimerId id) {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->deadline_of.find(id);
  if (it == impl_->deadline_of.end())
    return false;
  impl_->timers.erase(std::make_pair(it->second, id));
  impl_->deadline_of.erase(it);
  return true;
}

std::string format_iso8601_utc(Nanoseconds wall_time) {
  // Calendar arithmetic from <chrono>, so the engine needs no OS time functions.
  using namespace std::chrono;
  auto micros_total = duration_cast<microseconds>(wall_time);
  auto days_since_epoch = floor<days>(micros_total);
  year_month_day date{sys_days{days_since_epoch}};
  auto in_day = micros_total - days_since_epoch;
  auto h = duration_cast<hours>(in_day);
  auto m = duration_cast<minutes>(in_day - h);
  auto s = duration_cast<seconds>(in_day - h - m);
  auto us = in_day - h - m - s;
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<long long>(h.count()),
                static_cast<long long>(m.count()), static_cast<long long>(s.count()),
                static_cast<long long>(us.count()));
  return buffer;
}

}  // namespace freezeframe
