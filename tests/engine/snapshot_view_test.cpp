// VersionReader and SnapshotView on their own, over hand-built lower layers (layer_rig.h)
// and a memory origin: a snapshot reads preserved chunks from the diff area and the rest from
// the origin, and refuses to be read once deleted or invalidated, or to be written.
// White-box: engine/src headers.
#include "snapshot_view.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <shared_mutex>
#include <vector>

#include "layer_rig.h"

namespace freezeframe::testing {
namespace {

using format::RecordType;
using ::testing::HasSubstr;

class SnapshotViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(layers.state.write_checkpoint().ok());
    ASSERT_TRUE(origin->write(0, std::vector<std::byte>(layout.origin_bytes, kNew)).ok());
    layers.state.log(snapshot_create(1));
    // Chunk 2 as it was when snapshot 1 was taken, preserved into slot 0 (CoW).
    auto slot = layers.diff_area.allocate_slot(layers.state);
    ASSERT_TRUE(slot.ok());
    ASSERT_TRUE(
        layers.diff_area.write_chunk(slot.value(), 2, std::vector<std::byte>(kRigChunkBytes, kOld))
            .ok());
    layers.state.map_written_slot(2, 1, slot.value(), kRigChunkBytes);
  }

  // Logs `type` for the view's snapshot; a read then fails with `code`, saying `why`.
  void expect_read_refused_after(RecordType type, ErrorCode code, const char* why) {
    layers.state.log(tagged(type, 1));
    std::vector<std::byte> out(512);
    Status status = view.read(0, out);
    EXPECT_EQ(status.code(), code) << status.to_string();
    EXPECT_THAT(status.message(), HasSubstr(why));
  }

  static constexpr std::byte kOld{0x01};
  static constexpr std::byte kNew{0x02};
  RigLayout layout;
  format::Superblock formatted = rig_superblock(layout);
  std::unique_ptr<MemoryVolume> volume = rig_volume(formatted.volume_bytes, "diff");
  std::unique_ptr<MemoryVolume> origin = rig_volume(layout.origin_bytes, "origin");
  Layers layers{*volume, formatted};
  std::shared_mutex mutex;
  detail::VersionReader reader{layers.state, layers.diff_area, *origin};
  detail::OverflowGuard guard{layers.state, layers.diff_area};
  VolumeIdentity identity{"snap", Uuid::generate()};
  detail::SnapshotView view{mutex,    layers.state,        guard, reader, *origin, 1,
                            identity, origin->properties()};
};

TEST_F(SnapshotViewTest, ReadsPreservedChunksFromTheDiffAreaAndTheRestFromTheOrigin) {
  // Chunks 1 to 3: origin, diff area, origin.
  std::vector<std::byte> out(3 * kRigChunkBytes);
  ASSERT_TRUE(view.read(kRigChunkBytes, out).ok());
  for (std::size_t i = 0; i < out.size(); ++i) {
    const bool preserved = i >= kRigChunkBytes && i < 2 * kRigChunkBytes;
    ASSERT_EQ(out[i], preserved ? kOld : kNew) << "byte " << i;
  }
  EXPECT_EQ(view.size_bytes(), origin->size_bytes());
  EXPECT_TRUE(view.read_only());
}

TEST_F(SnapshotViewTest, WritesAndDiscardsAreRefused) {
  std::vector<std::byte> data(512);
  Status write = view.write(0, data);
  EXPECT_EQ(write.code(), ErrorCode::kReadOnly);
  EXPECT_THAT(write.message(), HasSubstr("volume 'snap'"));
  EXPECT_EQ(view.discard(0, 512).code(), ErrorCode::kReadOnly);
  EXPECT_TRUE(view.flush().ok());
}

TEST_F(SnapshotViewTest, AnInvalidatedSnapshotCannotBeRead) {
  expect_read_refused_after(RecordType::kSnapshotInvalidate, ErrorCode::kInvalidated,
                            "the snapshot was invalidated");
}

TEST_F(SnapshotViewTest, ADeletedSnapshotIsNotFound) {
  expect_read_refused_after(RecordType::kSnapshotDelete, ErrorCode::kNotFound,
                            "the snapshot was deleted");
}

}  // namespace
}  // namespace freezeframe::testing
