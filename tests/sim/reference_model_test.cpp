// ReferenceModel and SectorModel: the expected state the model check holds a provider to,
// and the crash rule it judges a survivor by.
#include "freezeframe/sim/reference_model.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

namespace freezeframe::sim {
namespace {

using Bytes = std::vector<std::byte>;

Bytes filled(std::size_t length, unsigned value) {
  return Bytes(length, static_cast<std::byte>(value));
}

TEST(SectorModel, SurvivorMayHoldDurableOrPendingContentOnly) {
  SectorModel model(4 * SectorModel::kSectorBytes);
  const Bytes first = filled(1024, 0x11);
  model.begin_write(0, first);
  model.complete_write(0, first);
  model.flushed();
  const Bytes second = filled(512, 0x22);
  model.begin_write(512, second);
  model.complete_write(512, second);

  Bytes image = model.live();  // everything written survived
  EXPECT_EQ(model.first_unrecoverable_sector(image), std::nullopt);
  std::fill_n(image.begin() + 512, 512, std::byte{0x11});  // the unflushed write was lost
  EXPECT_EQ(model.first_unrecoverable_sector(image), std::nullopt);
  EXPECT_TRUE(model.check_recovered(image).empty());

  image[1536] = std::byte{0x33};  // never written: neither durable nor pending
  EXPECT_EQ(model.first_unrecoverable_sector(image), 3u);
  EXPECT_NE(model.check_recovered(image).find("sector 3 (offset 1536)"), std::string::npos)
      << model.check_recovered(image);

  // After a flush the lost write may no longer come back.
  model.flushed();
  image = model.live();
  std::fill_n(image.begin() + 512, 512, std::byte{0x11});
  EXPECT_EQ(model.first_unrecoverable_sector(image), 1u);
}

TEST(ReferenceModel, RevertKeepsTheTargetAndDropsLaterSnapshots) {
  ReferenceModel model(2 * SectorModel::kSectorBytes);
  const Bytes a = filled(512, 0xaa);
  model.begin_write(0, a);
  model.complete_write(0, a);
  model.snapshot_created(Uuid::from_name("first"));
  const Bytes b = filled(512, 0xbb);
  model.begin_write(0, b);
  model.complete_write(0, b);
  model.snapshot_created(Uuid::from_name("second"));
  model.snapshot_created(Uuid::from_name("third"));
  ASSERT_EQ(model.snapshots().size(), 3u);

  model.begin_revert(0);
  model.reverted(0);
  ASSERT_EQ(model.snapshots().size(), 1u);
  EXPECT_EQ(model.snapshots()[0].id, Uuid::from_name("first"));
  EXPECT_EQ(model.live()[0], std::byte{0xaa});

  model.snapshot_deleted(0);
  EXPECT_TRUE(model.snapshots().empty());
  model.corrupt_live_byte(3);
  EXPECT_EQ(model.live()[3], std::byte{0x55});
}

}  // namespace
}  // namespace freezeframe::sim
