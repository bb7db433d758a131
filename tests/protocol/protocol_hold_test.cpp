// HoldableVolume: hold() drains writes already inside the base volume and makes new writes,
// discards and flushes wait; reads go on; holds nest; a writer blocked on the hold cannot
// deadlock hold().
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "freezeframe/coordinator.h"
#include "freezeframe/holdable_volume.h"
#include "freezeframe/memory_volume.h"
#include "protocol_rig.h"

namespace freezeframe {
namespace {

using testing::LatchVolume;

// A provider that holds its volumes' I/O itself (as VSS does): the inner adapter's calls,
// with holds_io_itself() true.
class SelfHoldingProvider final : public ProtocolProvider {
 public:
  explicit SelfHoldingProvider(ProtocolProvider& inner) : inner_(inner) {}
  const Uuid& id() const noexcept override { return inner_.id(); }
  const std::string& name() const noexcept override { return inner_.name(); }
  ProviderKind kind() const noexcept override { return inner_.kind(); }
  bool is_volume_supported(std::string_view volume) const override {
    return inner_.is_volume_supported(volume);
  }
  bool holds_io_itself() const noexcept override { return true; }
  Status begin_prepare(const Uuid& set_id, std::string_view volume,
                       std::uint32_t attributes) override {
    return inner_.begin_prepare(set_id, volume, attributes);
  }
  Status end_prepare(const Uuid& set_id) override { return inner_.end_prepare(set_id); }
  Status pre_commit(const Uuid& set_id) override { return inner_.pre_commit(set_id); }
  Status commit(const Uuid& set_id) override { return inner_.commit(set_id); }
  Status post_commit(const Uuid& set_id) override { return inner_.post_commit(set_id); }
  Status abort(const Uuid& set_id) override { return inner_.abort(set_id); }
  Status delete_snapshot(const Uuid& snapshot_id) override {
    return inner_.delete_snapshot(snapshot_id);
  }
  std::vector<SnapshotInfo> query() const override { return inner_.query(); }
  Result<std::unique_ptr<Volume>> open_snapshot(const Uuid& snapshot_id) override {
    return inner_.open_snapshot(snapshot_id);
  }

 private:
  ProtocolProvider& inner_;
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

// A volume the coordinator has no HoldableVolume for is refused, unless the provider that
// takes it holds I/O itself; then the set is taken without holding that volume.
TEST(SelfHoldingProvider, TakesAVolumeTheCoordinatorDoesNotHold) {
  auto rig = testing::make_protocol_rig({.volume_count = 2, .provider_count = 2});
  std::vector<std::byte> before(4096, std::byte{7});
  std::vector<std::byte> after(4096, std::byte{9});
  ASSERT_TRUE(rig->volumes[1].provider->write(0, before).ok());
  auto pool = ThreadPoolExecutor::create({});
  auto make_coordinator = [&] {
    CoordinatorOptions options;
    options.events = rig->sink.get();
    options.executor = pool.get();
    return std::make_unique<Coordinator>(rig->clock, options);
  };
  {
    // The plain adapter: vol1 is unknown to this coordinator.
    auto plain = make_coordinator();
    ASSERT_TRUE(plain->register_provider(*rig->more_block_providers[0]).ok());
    auto session = plain->create_session();
    ASSERT_TRUE(session->gather_writer_metadata().ok());
    ASSERT_TRUE(session->start_snapshot_set().ok());
    Status added = session->add_to_snapshot_set("vol1");
    EXPECT_EQ(added.code(), ErrorCode::kNotFound);
    EXPECT_NE(added.message().find("not known to the coordinator"), std::string::npos);
    EXPECT_TRUE(session->abort().ok());
  }
  SelfHoldingProvider self_holding(*rig->more_block_providers[0]);
  auto coordinator = make_coordinator();
  ASSERT_TRUE(coordinator->register_provider(*rig->block_provider).ok());
  ASSERT_TRUE(coordinator->register_provider(self_holding).ok());
  ASSERT_TRUE(coordinator->add_volume(*rig->volumes[0].holdable).ok());
  auto session = coordinator->create_session();
  ASSERT_TRUE(session->gather_writer_metadata().ok());
  ASSERT_TRUE(session->start_snapshot_set().ok());
  ASSERT_TRUE(session->add_to_snapshot_set("vol0").ok());
  ASSERT_TRUE(session->add_to_snapshot_set("vol1").ok());
  ASSERT_TRUE(session->prepare_for_backup().ok());
  ASSERT_TRUE(session->do_snapshot_set().ok());
  // vol0 was held and released; vol1 never.
  const std::vector<std::string> trace = rig->trace.entries();
  auto seen = [&](const std::string& entry) {
    return std::find(trace.begin(), trace.end(), entry) != trace.end();
  };
  EXPECT_TRUE(seen("io:hold-io:vol0"));
  EXPECT_TRUE(seen("io:release-io:vol0"));
  EXPECT_FALSE(seen("io:hold-io:vol1"));
  EXPECT_FALSE(seen("io:release-io:vol1"));
  // vol1's snapshot shows the bytes of the commit, not the ones written afterwards.
  ASSERT_TRUE(rig->volumes[1].provider->write(0, after).ok());
  auto snapshot = session->open_snapshot("vol1");
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().to_string();
  std::vector<std::byte> read(4096);
  ASSERT_TRUE((*snapshot)->read(0, read).ok());
  EXPECT_EQ(read, before);
  snapshot->reset();
  EXPECT_TRUE(session->backup_complete().ok());
}

}  // namespace
}  // namespace freezeframe
