// HoldableVolume: hold() drains writes already inside the base volume and makes new writes,
// discards and flushes wait; reads go on; holds nest; a writer blocked on the hold cannot
// deadlock hold().
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "freezeframe/holdable_volume.h"
#include "freezeframe/memory_volume.h"
#include "protocol_rig.h"

namespace freezeframe {
namespace {

using testing::LatchVolume;

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
  LatchVolume gate(**base);
  gate.close();
  HoldableVolume volume(gate);
  EXPECT_EQ(volume.name(), "data");
  Order order;
  std::vector<std::byte> data(4096, std::byte{1});
  std::thread writer([&] {
    EXPECT_TRUE(volume.write(0, data).ok());
    order.add("write-done");
  });
  gate.wait_until_stopped();
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
