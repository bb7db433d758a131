// HoldableVolume: hold() drains writes already inside the base volume and makes new writes,
// discards and flushes wait; reads go on; holds nest; a writer blocked on the hold cannot
// deadlock hold().
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "freezeframe/holdable_volume.h"
#include "freezeframe/memory_volume.h"

namespace freezeframe {
namespace {

// A Volume whose writes stop inside the base until let go, to have one in flight.
class GateVolume final : public Volume {
 public:
  explicit GateVolume(Volume& base) : base_(base) {}
  const VolumeIdentity& identity() const noexcept override { return base_.identity(); }
  std::uint64_t size_bytes() const noexcept override { return base_.size_bytes(); }
  std::uint32_t sector_bytes() const noexcept override { return base_.sector_bytes(); }
  bool read_only() const noexcept override { return false; }

  void wait_until_entered() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return entered_; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 protected:
  Status do_read(std::uint64_t offset, std::span<std::byte> out) override {
    return base_.read(offset, out);
  }
  Status do_write(std::uint64_t offset, std::span<const std::byte> data) override {
    {
      std::unique_lock lock(mutex_);
      entered_ = true;
      changed_.notify_all();
      changed_.wait(lock, [&] { return open_; });
    }
    return base_.write(offset, data);
  }
  Status do_flush() override { return base_.flush(); }
  Status do_discard(std::uint64_t offset, std::uint64_t length) override {
    return base_.discard(offset, length);
  }

 private:
  Volume& base_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool entered_ = false;
  bool open_ = false;
};

class Order {
 public:
  void add(std::string entry) {
    std::lock_guard lock(mutex_);
    entries_.push_back(std::move(entry));
  }
  std::vector<std::string> entries() {
    std::lock_guard lock(mutex_);
    return entries_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> entries_;
};

TEST(HoldableVolume, HoldDrainsAWriteInFlight) {
  auto base = MemoryVolume::create({.name = "data", .size_bytes = 1 << 20});
  ASSERT_TRUE(base.ok());
  GateVolume gate(**base);
  HoldableVolume volume(gate);
  EXPECT_EQ(volume.name(), "data");
  Order order;
  std::vector<std::byte> data(4096, std::byte{1});
  std::thread writer([&] {
    EXPECT_TRUE(volume.write(0, data).ok());
    order.add("write-done");
  });
  gate.wait_until_entered();
  std::vector<std::byte> seen_at_hold(4096);
  std::thread holder([&] {
    volume.hold();
    order.add("held");
    // The write in flight reached the base before hold() returned.
    EXPECT_TRUE((*base)->read(0, seen_at_hold).ok());
  });
  while (!volume.held())
    std::this_thread::yield();
  EXPECT_TRUE(order.entries().empty());  // the write is still in flight: no hold yet
  gate.open();
  holder.join();
  writer.join();
  EXPECT_EQ(seen_at_hold, data);
  EXPECT_EQ(order.entries().size(), 2u);
  volume.release();
}

TEST(HoldableVolume, WritesDiscardsAndFlushesWaitReadsDoNot) {
  auto base = MemoryVolume::create({.name = "data", .size_bytes = 1 << 20});
  ASSERT_TRUE(base.ok());
  HoldableVolume volume(**base, "renamed");
  EXPECT_EQ(volume.name(), "renamed");
  volume.hold();
  volume.hold();  // nested
  std::vector<std::byte> data(4096, std::byte{2});
  std::thread writer([&] { EXPECT_TRUE(volume.write(0, data).ok()); });
  std::thread discarder([&] { EXPECT_TRUE(volume.discard(8192, 4096).ok()); });
  std::thread flusher([&] { EXPECT_TRUE(volume.flush().ok()); });
  while (volume.waiting() < 3)
    std::this_thread::yield();
  // A second hold() while requests wait on the first does not deadlock: they are not in
  // flight.
  volume.hold();
  std::vector<std::byte> read(4096);
  EXPECT_TRUE(volume.read(0, read).ok());
  EXPECT_NE(read, data);
  volume.release();
  volume.release();
  EXPECT_TRUE(volume.held());
  EXPECT_EQ(volume.waiting(), 3u);
  volume.release();
  writer.join();
  discarder.join();
  flusher.join();
  EXPECT_FALSE(volume.held());
  EXPECT_TRUE(volume.read(0, read).ok());
  EXPECT_EQ(read, data);
}

}  // namespace
}  // namespace freezeframe
