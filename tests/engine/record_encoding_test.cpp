// The journal's record encoding, pinned byte for byte: one record of each type, with a
// distinct value in every field, must encode to exactly these bytes and decode back. A
// reordered or resized field changes the on-disk format and fails here, where a round trip
// alone would not notice.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "diff_area_format.h"

namespace freezeframe {
namespace {

using format::Record;
using format::RecordType;

std::string hex(const std::vector<std::byte>& bytes) {
  std::string out;
  for (std::byte b : bytes) {
    char text[3];
    std::snprintf(text, sizeof text, "%02x", static_cast<unsigned>(b));
    out += text;
  }
  return out;
}

Record sample(RecordType type) {
  Record r;
  r.type = type;
  switch (type) {
    case RecordType::kSnapshotCreate:
      r.tag = 0x11223344;
      r.id = Uuid::from_name("record-id");
      r.set_id = Uuid::from_name("record-set");
      r.created_ns = 0x0102030405060708;
      r.attributes = 0xa0b0c0d0;
      break;
    // An invalidation carries a deletion's fields and a reason; a map addition, a map
    // removal's and the slot.
    case RecordType::kSnapshotInvalidate:
      r.reason = 0x55;
      [[fallthrough]];
    case RecordType::kSnapshotDelete:
    case RecordType::kRevert:
    case RecordType::kRevertDone:
      r.tag = 0x01020304;
      break;
    case RecordType::kMapAdd:
      r.slot = 0x31323334;
      r.stored_bytes = 0x41424344;
      [[fallthrough]];
    case RecordType::kMapToOrigin:
    case RecordType::kMapRemove:
      r.chunk = 0x1112131415161718;
      r.tag = 0x21222324;
      break;
    case RecordType::kLimit:
      r.limit_kind = 2;
      r.limit_value = 0x0a0b0c0d0e0f1011;
      r.policy = 3;
      break;
    case RecordType::kState:
      r.next_tag = 0x01020304;
      r.revert_tag = 0x05060708;
      break;
    // Change tracking: a generation's epoch, number and the generations kept; a mark's first
    // chunk and count; a snapshot's tag and generation.
    case RecordType::kCbtSnapshot:
      r.tag = 0x01020304;
      [[fallthrough]];
    case RecordType::kCbtGeneration:
      r.cbt_epoch = 0x5152535455565758;
      r.cbt_generation = 0x6162636465666768;
      r.cbt_retained = type == RecordType::kCbtGeneration ? 0x71727374 : 0;
      break;
    case RecordType::kCbtMark:
      r.chunk = 0x1112131415161718;
      r.chunk_count = 0x8182838485868788;
      break;
  }
  return r;
}

struct Pinned {
  RecordType type;
  const char* body;  // hex, after the type and length bytes of the header
};

TEST(RecordEncoding, EachTypeEncodesToItsPinnedBytesAndDecodesBack) {
  const std::string create_body =
      "44332211" + hex([] {
        std::vector<std::byte> ids;
        for (const Uuid& id : {Uuid::from_name("record-id"), Uuid::from_name("record-set")})
          for (std::uint8_t byte : id.bytes())
            ids.push_back(static_cast<std::byte>(byte));
        return ids;
      }()) +
      "0807060504030201" + "d0c0b0a0";
  const std::vector<Pinned> pinned = {
      {RecordType::kSnapshotCreate, create_body.c_str()},
      {RecordType::kSnapshotDelete, "04030201"},
      {RecordType::kSnapshotInvalidate, "0403020155"},
      {RecordType::kMapAdd, "1817161514131211242322213433323144434241"},
      {RecordType::kRevert, "04030201"},
      {RecordType::kRevertDone, "04030201"},
      {RecordType::kMapToOrigin, "181716151413121124232221"},
      {RecordType::kLimit, "0211100f0e0d0c0b0a03"},
      {RecordType::kState, "0403020108070605"},
      {RecordType::kMapRemove, "181716151413121124232221"},
      {RecordType::kCbtGeneration, "5857565554535251686766656463626174737271"},
      {RecordType::kCbtMark, "18171615141312118887868584838281"},
      {RecordType::kCbtSnapshot, "0403020158575655545352516867666564636261"},
  };
  for (const Pinned& p : pinned) {
    SCOPED_TRACE("record type " + std::to_string(static_cast<int>(p.type)));
    const Record record = sample(p.type);
    std::vector<std::byte> payload;
    format::append_record(record, payload);
    const std::string body(p.body);
    ASSERT_EQ(payload.size(), format::encoded_record_bytes(p.type));
    const std::size_t header = payload.size() - body.size() / 2;
    EXPECT_EQ(static_cast<int>(payload[0]), static_cast<int>(p.type));
    EXPECT_EQ(static_cast<std::size_t>(payload[1]), body.size() / 2);
    EXPECT_EQ(hex(std::vector<std::byte>(payload.begin() + static_cast<std::ptrdiff_t>(header),
                                         payload.end())),
              body);
    auto decoded = format::decode_records(payload);
    ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
    ASSERT_EQ(decoded.value().size(), 1u);
    EXPECT_TRUE(decoded.value()[0] == record);
  }
}

}  // namespace
}  // namespace freezeframe
