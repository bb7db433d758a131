// The engine's basic vocabulary: Status/Result, Uuid, Random, MemoryVolume and time formatting.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "freezeframe/clock.h"
#include "freezeframe/diff_area_settings.h"
#include "freezeframe/enum_names.h"
#include "freezeframe/memory_volume.h"
#include "freezeframe/random.h"
#include "freezeframe/status.h"
#include "freezeframe/uuid.h"
#include "freezeframe/volume.h"

namespace freezeframe {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(Status, OkByDefaultWithNoMessage) {
  Status status;
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.code(), ErrorCode::kOk);
  EXPECT_EQ(status.message(), "");
  EXPECT_EQ(status.to_string(), "ok");
  EXPECT_TRUE(Status::ok_status().ok());
  // A Status built with kOk is OK whatever the message.
  EXPECT_TRUE(Status(ErrorCode::kOk, "ignored").ok());
}

TEST(Status, CarriesCodeAndMessage) {
  Status status =
      invalid_argument("volume 'data' read offset 4096 length 512: out of range: past the end");
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "volume 'data' read offset 4096 length 512: out of range: past the end");
  EXPECT_EQ(status.to_string(),
            "invalid-argument: volume 'data' read offset 4096 length 512: out of range: past the "
            "end");
  EXPECT_EQ(io_error("x").code(), ErrorCode::kIoError);
  EXPECT_EQ(corrupt("x").code(), ErrorCode::kCorrupt);
  EXPECT_EQ(not_found("x").code(), ErrorCode::kNotFound);
  EXPECT_EQ(bad_state("x").code(), ErrorCode::kBadState);
}

TEST(Status, CopiesAreIndependentAndContextPrefixes) {
  Status original = io_error("disk gone");
  Status copy = original;
  EXPECT_EQ(copy.code(), ErrorCode::kIoError);
  EXPECT_EQ(copy.message(), "disk gone");
  Status contextual = original.with_context("snapshot 3");
  EXPECT_EQ(contextual.message(), "snapshot 3: disk gone");
  EXPECT_EQ(contextual.code(), ErrorCode::kIoError);
  EXPECT_EQ(original.message(), "disk gone");
  EXPECT_TRUE(Status().with_context("anything").ok());
  copy = Status();
  EXPECT_TRUE(copy.ok());
  EXPECT_FALSE(original.ok());
}

TEST(Status, EveryCodeHasAStableName) {
  EXPECT_EQ(error_code_name(ErrorCode::kOk), "ok");
  EXPECT_EQ(error_code_name(ErrorCode::kInvalidArgument), "invalid-argument");
  EXPECT_EQ(error_code_name(ErrorCode::kReadOnly), "read-only");
  EXPECT_EQ(error_code_name(ErrorCode::kIoError), "io-error");
  EXPECT_EQ(error_code_name(ErrorCode::kNotFound), "not-found");
  EXPECT_EQ(error_code_name(ErrorCode::kAlreadyExists), "already-exists");
  EXPECT_EQ(error_code_name(ErrorCode::kCorrupt), "corrupt");
  EXPECT_EQ(error_code_name(ErrorCode::kUnsupportedVersion), "unsupported-version");
  EXPECT_EQ(error_code_name(ErrorCode::kNoSpace), "no-space");
  EXPECT_EQ(error_code_name(ErrorCode::kLimitExceeded), "limit-exceeded");
  EXPECT_EQ(error_code_name(ErrorCode::kInvalidated), "invalidated");
  EXPECT_EQ(error_code_name(ErrorCode::kBusy), "busy");
  EXPECT_EQ(error_code_name(ErrorCode::kTimeout), "timeout");
  EXPECT_EQ(error_code_name(ErrorCode::kAborted), "aborted");
  EXPECT_EQ(error_code_name(ErrorCode::kBadState), "bad-state");
  EXPECT_EQ(error_code_name(ErrorCode::kUnsupported), "unsupported");
}

TEST(Result, HoldsAValueOrAnError) {
  Result<int> value(42);
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, 42);
  EXPECT_TRUE(value.status().ok());

  Result<int> error(not_found("snapshot 7"));
  EXPECT_FALSE(error.ok());
  EXPECT_EQ(error.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(error.status().message(), "snapshot 7");

  Result<std::unique_ptr<int>> moved(std::make_unique<int>(5));
  std::unique_ptr<int> taken = std::move(moved).value();
  EXPECT_EQ(*taken, 5);
}

TEST(Result, FromAnOkStatusIsABadStateError) {
  // An OK Status carries no value; the Result must not pretend to hold one.
  Result<int> result{Status()};
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kBadState);
}

TEST(Status, EveryCodeHasAConstructor) {
  const std::pair<Status (*)(std::string), ErrorCode> constructors[] = {
      {invalid_argument, ErrorCode::kInvalidArgument},
      {read_only, ErrorCode::kReadOnly},
      {io_error, ErrorCode::kIoError},
      {not_found, ErrorCode::kNotFound},
      {already_exists, ErrorCode::kAlreadyExists},
      {corrupt, ErrorCode::kCorrupt},
      {unsupported_version, ErrorCode::kUnsupportedVersion},
      {no_space, ErrorCode::kNoSpace},
      {limit_exceeded, ErrorCode::kLimitExceeded},
      {invalidated, ErrorCode::kInvalidated},
      {busy, ErrorCode::kBusy},
      {timeout, ErrorCode::kTimeout},
      {aborted, ErrorCode::kAborted},
      {bad_state, ErrorCode::kBadState},
      {unsupported, ErrorCode::kUnsupported},
  };
  std::set<ErrorCode> covered;
  for (const auto& [make, code] : constructors) {
    Status status = make("what went wrong");
    EXPECT_EQ(status.code(), code);
    EXPECT_EQ(status.message(), "what went wrong");
    covered.insert(code);
  }
  EXPECT_EQ(covered.size(), static_cast<std::size_t>(ErrorCode::kUnsupported));
}

TEST(ResultDeathTest, ValueOfAnErrorDiesPrintingTheStatus) {
  // An unchecked value() must stop the process and say why, in release builds too, never
  // throw std::bad_variant_access.
  Result<int> error(not_found("snapshot 7 is gone"));
  EXPECT_DEATH((void)error.value(),
               "value\\(\\) called on an error: not-found: snapshot 7 is gone");
  const Result<std::string> text(corrupt("superblock checksum"));
  EXPECT_DEATH((void)text->size(), "corrupt: superblock checksum");
  EXPECT_DEATH((void)std::move(error).value(), "not-found");
}

Status fails_when(bool fail) {
  return fail ? io_error("inner failure") : Status();
}

Status chain(bool fail, int* reached) {
  FF_TRY(fails_when(fail));
  *reached = 1;
  return Status();
}

Result<int> parse_positive(int value) {
  if (value <= 0)
    return invalid_argument(std::to_string(value) + " is not positive");
  return value;
}

Result<int> doubled(int input) {
  FF_ASSIGN_OR_RETURN(int value, parse_positive(input));
  return value * 2;
}

Status doubled_into(int input, int* out) {
  FF_ASSIGN_OR_RETURN(*out, doubled(input));
  return Status();
}

TEST(Status, TryReturnsTheFirstError) {
  int reached = 0;
  Status failed = chain(true, &reached);
  EXPECT_EQ(failed.code(), ErrorCode::kIoError);
  EXPECT_EQ(failed.message(), "inner failure");
  EXPECT_EQ(reached, 0);
  EXPECT_TRUE(chain(false, &reached).ok());
  EXPECT_EQ(reached, 1);
}

TEST(Result, AssignOrReturnUnwrapsOrPropagates) {
  Result<int> good = doubled(21);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 42);
  Result<int> bad = doubled(-3);
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "-3 is not positive");
  int out = 0;
  EXPECT_TRUE(doubled_into(4, &out).ok());
  EXPECT_EQ(out, 8);
  EXPECT_EQ(doubled_into(0, &out).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(out, 8);
}

TEST(Uuid, ParseAndToStringRoundTrip) {
  const std::string text = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
  auto parsed = Uuid::parse(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->to_string(), text);
  EXPECT_EQ(parsed->bytes()[0], 0x0f);
  EXPECT_EQ(parsed->bytes()[15], 0xf0);
  // Upper case and braces are accepted; the canonical form is lower case.
  auto braced = Uuid::parse("{0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}");
  ASSERT_TRUE(braced.ok()) << braced.status().to_string();
  EXPECT_EQ(*braced, *parsed);
  // Round trip of generated UUIDs.
  Random random(77);
  for (int i = 0; i < 20; ++i) {
    Uuid uuid = Uuid::generate(random);
    auto again = Uuid::parse(uuid.to_string());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, uuid);
  }
}

TEST(Uuid, ParseRejectsMalformedText) {
  for (const char* bad :
       {"", "not-a-uuid", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f",
        "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0a", "0f1e2d3c+4b5a-6978-8796-a5b4c3d2e1f0",
        "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fg", "{0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}) {
    auto parsed = Uuid::parse(bad);
    EXPECT_FALSE(parsed.ok()) << "'" << bad << "' parsed";
    EXPECT_EQ(parsed.status().code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_NE(parsed.status().message().find("is not a UUID"), std::string::npos)
        << parsed.status().message();
  }
}

TEST(Uuid, NilIsAllZero) {
  Uuid nil;
  EXPECT_TRUE(nil.is_nil());
  EXPECT_EQ(nil.to_string(), "00000000-0000-0000-0000-000000000000");
  EXPECT_FALSE(Uuid::from_name("x").is_nil());
}

TEST(Uuid, FromNameIsAStableVersion5Uuid) {
  // Independently computed: Python's uuid.uuid5(UUID('3f0c6e5e-8a41-5b2d-9c17-4e63d10a72b5'),
  // 'volume:data'). A change here renames every name-derived object.
  Uuid uuid = Uuid::from_name("volume:data");
  EXPECT_EQ(uuid.to_string(), "d4f4f1aa-fedc-54a0-a82c-29c89eea1ee4");
  EXPECT_EQ(uuid.bytes()[6] >> 4, 5) << "version nibble";
  EXPECT_EQ(uuid.bytes()[8] & 0xc0, 0x80) << "RFC 4122 variant";
  EXPECT_EQ(Uuid::from_name("volume:data"), uuid);
  EXPECT_NE(Uuid::from_name("volume:logs"), uuid);
  EXPECT_EQ(Uuid::from_name("").to_string(), "d591e3b8-9746-528c-a547-7dc2e2bd40df");
}

TEST(Uuid, SeededGenerationIsDeterministicVersion4) {
  Random a(5);
  Random b(5);
  Uuid first = Uuid::generate(a);
  EXPECT_EQ(first, Uuid::generate(b));
  EXPECT_EQ(first.bytes()[6] >> 4, 4);
  EXPECT_EQ(first.bytes()[8] & 0xc0, 0x80);
  EXPECT_NE(Uuid::generate(a), first);
  EXPECT_NE(Uuid::generate(), Uuid::generate());
}

TEST(Random, SameSeedSameSequence) {
  Random a(123);
  Random b(123);
  Random c(124);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    std::uint64_t x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    differs |= x != c.next_u64();
  }
  EXPECT_TRUE(differs);
  EXPECT_EQ(a.seed(), 123u);
}

TEST(Random, MatchesTheStandardMersenneTwister) {
  // std::mt19937_64's output is fixed by the C++ standard; its first output for the default
  // seed 5489 is 14514284786278117030 on every standard library. A seed therefore replays
  // everywhere.
  Random random(5489);
  EXPECT_EQ(random.next_u64(), 14514284786278117030ull);
}

TEST(Random, MappingsStayInRange) {
  Random random(9);
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 2000; ++i) {
    std::uint64_t value = random.uniform(10);
    ASSERT_LT(value, 10u);
    seen.insert(value);
    std::uint64_t ranged = random.uniform_range(5, 7);
    ASSERT_GE(ranged, 5u);
    ASSERT_LE(ranged, 7u);
    double real = random.uniform_real();
    ASSERT_GE(real, 0.0);
    ASSERT_LT(real, 1.0);
  }
  EXPECT_EQ(seen.size(), 10u);
  EXPECT_FALSE(random.chance(0.0));
  EXPECT_TRUE(random.chance(1.0));
  EXPECT_FALSE(random.chance(-1.0));
  EXPECT_TRUE(random.chance(2.0));
}

TEST(Random, FillIsDeterministicLittleEndian) {
  Random a(11);
  Random b(11);
  std::vector<std::byte> bytes(13);
  a.fill(bytes);
  std::uint64_t first = b.next_u64();
  for (std::size_t k = 0; k < 8; ++k)
    EXPECT_EQ(bytes[k], static_cast<std::byte>(first >> (8 * k))) << "byte " << k;
  std::uint64_t second = b.next_u64();
  for (std::size_t k = 0; k < 5; ++k)
    EXPECT_EQ(bytes[8 + k], static_cast<std::byte>(second >> (8 * k))) << "byte " << 8 + k;
}

TEST(Random, ForkDependsOnSeedAndLabelNotPosition) {
  Random parent(1000);
  Random before = parent.fork("faults");
  for (int i = 0; i < 50; ++i)
    parent.next_u64();
  Random after = parent.fork("faults");
  EXPECT_EQ(before.seed(), after.seed());
  EXPECT_EQ(before.next_u64(), after.next_u64());
  EXPECT_EQ(parent.fork("faults").seed(), derive_seed(1000, "faults"));
  EXPECT_NE(parent.fork("faults").seed(), parent.fork("workload").seed());
  EXPECT_NE(Random(1001).fork("faults").seed(), parent.fork("faults").seed());
  EXPECT_NE(parent.fork("faults").next_u64(), Random(1000).next_u64());
}

TEST(ChoiceTape, DecidesEachChoiceWithTheFewestBytesThenTheSeedTakesOver) {
  // uniform(6): 1 byte; uniform(1000): 2 bytes; uniform_real: 2 bytes; next_u64: 8 bytes.
  ChoiceTape tape({9, 0x34, 0x12, 0x00, 0x80, 1, 2, 3, 4, 5, 6, 7, 8, 0xff});
  Random random(42, &tape);
  EXPECT_EQ(random.uniform(6), 9u % 6);
  EXPECT_EQ(random.uniform(1000), 0x1234u % 1000);
  EXPECT_DOUBLE_EQ(random.uniform_real(), 0.5);
  EXPECT_EQ(random.next_u64(), 0x0807060504030201ull);
  EXPECT_EQ(tape.consumed(), 13u);
  // One byte left: a 2-byte choice takes it zero-padded; then the tape is used up and the
  // seed's generator answers, exactly as a Random without a tape would from the start.
  EXPECT_EQ(random.uniform(1000), 0xffu);
  EXPECT_EQ(tape.consumed(), tape.size());
  Random seeded(42);
  EXPECT_EQ(random.next_u64(), seeded.next_u64());
  EXPECT_EQ(random.uniform(1000), seeded.uniform(1000));
}

TEST(ChoiceTape, ForksShareItAndFillNeverReadsIt) {
  ChoiceTape tape({3, 4, 5});
  Random parent(7, &tape);
  Random child = parent.fork("faults");
  EXPECT_EQ(child.tape(), &tape);
  EXPECT_EQ(child.seed(), derive_seed(7, "faults"));
  std::vector<std::byte> payload(64);
  child.fill(payload);
  EXPECT_EQ(tape.consumed(), 0u);
  EXPECT_EQ(parent.uniform(10), 3u);
  EXPECT_EQ(child.uniform(10), 4u);
  EXPECT_EQ(parent.uniform(10), 5u);
  // A bound of 1 has one answer and reads nothing.
  ChoiceTape one({200});
  Random single(1, &one);
  EXPECT_EQ(single.uniform(1), 0u);
  EXPECT_EQ(one.consumed(), 0u);
  EXPECT_EQ(single.uniform_range(10, 12), 10u + 200u % 3);
}

TEST(ChoiceTape, ChanceFollowsTheTapeAndAnEmptyTapeIsTheSeed) {
  ChoiceTape tape({0x00, 0x00, 0xff, 0xff});
  Random random(3, &tape);
  EXPECT_TRUE(random.chance(0.01));   // 0 / 65536
  EXPECT_FALSE(random.chance(0.99));  // 65535 / 65536
  ChoiceTape empty({});
  Random a(3, &empty);
  Random b(3);
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(a.uniform(97), b.uniform(97));
}

TEST(MemoryVolume, AllocatesPagesOnlyWhereWritten) {
  auto created = MemoryVolume::create({.name = "sparse", .size_bytes = 1ull << 30});
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  MemoryVolume& volume = **created;
  EXPECT_EQ(volume.allocated_bytes(), 0u);
  EXPECT_EQ(volume.size_bytes(), 1ull << 30);
  EXPECT_EQ(volume.sector_bytes(), 512u);
  EXPECT_EQ(volume.name(), "sparse");
  EXPECT_FALSE(volume.uuid().is_nil());

  // Unwritten space reads as zeros without allocating.
  std::vector<std::byte> buffer(4096, std::byte{0xee});
  ASSERT_TRUE(volume.read(512ull << 20, buffer).ok());
  EXPECT_EQ(buffer, std::vector<std::byte>(4096));
  EXPECT_EQ(volume.allocated_bytes(), 0u);

  // A write straddling a page boundary allocates the two pages it touches.
  std::vector<std::byte> data(1024, std::byte{0x42});
  const std::uint64_t straddle = MemoryVolume::kPageBytes - 512;
  ASSERT_TRUE(volume.write(straddle, data).ok());
  EXPECT_EQ(volume.allocated_bytes(), 2 * MemoryVolume::kPageBytes);
  std::vector<std::byte> back(1024);
  ASSERT_TRUE(volume.read(straddle, back).ok());
  EXPECT_EQ(back, data);

  // A partial discard zeroes but keeps the page; a whole-page discard frees it.
  ASSERT_TRUE(volume.discard(straddle, 512).ok());
  EXPECT_EQ(volume.allocated_bytes(), 2 * MemoryVolume::kPageBytes);
  ASSERT_TRUE(volume.discard(0, MemoryVolume::kPageBytes).ok());
  EXPECT_EQ(volume.allocated_bytes(), MemoryVolume::kPageBytes);
  ASSERT_TRUE(volume.read(straddle, back).ok());
  EXPECT_EQ(std::vector<std::byte>(back.begin(), back.begin() + 512), std::vector<std::byte>(512));
  EXPECT_EQ(std::vector<std::byte>(back.begin() + 512, back.end()),
            std::vector<std::byte>(512, std::byte{0x42}));
  EXPECT_TRUE(volume.flush().ok());
}

TEST(MemoryVolume, RejectsBadGeometryAndBadRequests) {
  EXPECT_EQ(MemoryVolume::create({.size_bytes = 0}).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(MemoryVolume::create({.size_bytes = 1000}).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(MemoryVolume::create({.size_bytes = 1 << 20, .sector_bytes = 1024}).status().code(),
            ErrorCode::kInvalidArgument);

  auto volume = MemoryVolume::create({.name = "v", .size_bytes = 1 << 20}).value();
  std::vector<std::byte> buffer(512);
  Status misaligned = volume->read(100, buffer);
  EXPECT_EQ(misaligned.code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(misaligned.message(),
              AllOf(HasSubstr("volume 'v'"), HasSubstr("read offset 100 length 512"),
                    HasSubstr("misaligned")));
  EXPECT_THAT(misaligned.message(), Not(HasSubstr("out of range")));
  Status past_end = volume->write(1 << 20, buffer);
  EXPECT_EQ(past_end.code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(past_end.message(),
              AllOf(HasSubstr("volume 'v'"), HasSubstr("write offset 1048576 length 512"),
                    HasSubstr("out of range")));
  EXPECT_THAT(past_end.message(), Not(HasSubstr("misaligned")));
  EXPECT_TRUE(volume->read(0, std::span<std::byte>()).ok());

  auto read_only =
      MemoryVolume::create({.name = "ro", .size_bytes = 1 << 20, .read_only = true}).value();
  EXPECT_EQ(read_only->write(0, buffer).code(), ErrorCode::kReadOnly);
  EXPECT_EQ(read_only->discard(0, 512).code(), ErrorCode::kReadOnly);
  EXPECT_TRUE(read_only->flush().ok());
  EXPECT_EQ(read_only->allocated_bytes(), 0u);
}

// Names are stable: they appear in the command's output, the catalog and the benchmark JSON.
TEST(EnumNames, EveryValueHasItsNameAndAnUnknownValueTheFallback) {
  EXPECT_EQ(provider_kind_name(ProviderKind::kCopyOnWrite), "cow");
  EXPECT_EQ(provider_kind_name(ProviderKind::kRedirectOnWrite), "row");
  EXPECT_EQ(provider_kind_name(static_cast<ProviderKind>(0x7f)), "unknown");
  EXPECT_EQ(overflow_policy_name(OverflowPolicy::kDeleteOldest), "delete-oldest");
  EXPECT_EQ(overflow_policy_name(OverflowPolicy::kFailWrites), "fail-writes");
  EXPECT_EQ(overflow_policy_name(OverflowPolicy::kInvalidateSnapshot), "invalidate-snapshot");
  EXPECT_EQ(overflow_policy_name(static_cast<OverflowPolicy>(0x7f)), "unknown");

  enum class Color { kRed, kGreen, kBlue };
  static constexpr EnumName<Color> kNames[] = {{Color::kRed, "red"}, {Color::kGreen, "green"}};
  static_assert(name_of(kNames, Color::kGreen) == "green");
  EXPECT_EQ(name_of(kNames, Color::kRed), "red");
  EXPECT_EQ(name_of(kNames, Color::kBlue), "unknown");
  EXPECT_EQ(name_of(kNames, Color::kBlue, "?"), "?");
}

TEST(DeviceProperties, ValidationNamesEachBrokenRule) {
  EXPECT_TRUE(validate_device_properties({}).ok());
  EXPECT_TRUE(validate_device_properties({512, 4096, 4096, 1 << 20}).ok());
  EXPECT_TRUE(validate_device_properties({4096, 4096, 512, 64 * 1024}).ok())
      << "a device may tear inside its logical sector";
  struct Case {
    DeviceProperties properties;
    const char* rule;
  };
  for (const Case& c : {
           Case{{1024, 1024, 1024, 65536}, "logical sector"},
           Case{{4096, 512, 512, 65536}, "physical sector"},
           Case{{512, 3072, 512, 65536}, "physical sector"},
           Case{{512, 128 * 1024, 512, 1 << 20}, "physical sector"},
           Case{{512, 512, 256, 65536}, "atomic write"},
           Case{{512, 4096, 8192, 65536}, "atomic write"},
           Case{{512, 4096, 1536, 65536}, "atomic write"},
           Case{{512, 4096, 512, 2048}, "optimal I/O"},
           Case{{512, 512, 512, 96 * 1024}, "optimal I/O"},
           Case{{512, 512, 512, 32 << 20}, "optimal I/O"},
       }) {
    Status status = validate_device_properties(c.properties);
    EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument) << c.rule;
    EXPECT_NE(status.message().find(c.rule), std::string::npos) << status.message();
  }
}

TEST(MemoryVolume, ReportsTheDevicePropertiesItIsGiven) {
  auto plain = MemoryVolume::create({.size_bytes = 1 << 20, .sector_bytes = 4096}).value();
  EXPECT_EQ(plain->properties(), (DeviceProperties{4096, 4096, 4096, 64 * 1024}));
  auto big_physical =
      MemoryVolume::create({.size_bytes = 1 << 20, .physical_sector_bytes = 64 * 1024}).value();
  EXPECT_EQ(big_physical->properties(), (DeviceProperties{512, 64 * 1024, 512, 64 * 1024}));
  auto given = MemoryVolume::create({.size_bytes = 1 << 20,
                                     .physical_sector_bytes = 4096,
                                     .atomic_write_bytes = 4096,
                                     .optimal_io_bytes = 1 << 20})
                   .value();
  EXPECT_EQ(given->properties(), (DeviceProperties{512, 4096, 4096, 1 << 20}));
  Result<std::unique_ptr<MemoryVolume>> bad =
      MemoryVolume::create({.name = "odd", .size_bytes = 1 << 20, .atomic_write_bytes = 4096});
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("'odd'"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("atomic write"), std::string::npos);
}

TEST(Clock, FormatsAKnownInstantAsIso8601Utc) {
  using std::chrono::microseconds;
  using std::chrono::nanoseconds;
  using std::chrono::seconds;
  EXPECT_EQ(format_iso8601_utc(nanoseconds(0)), "1970-01-01T00:00:00.000000Z");
  // 2000-02-29T12:34:56Z (a leap day), plus 123456 microseconds and 789 ns that are dropped.
  EXPECT_EQ(format_iso8601_utc(seconds(951827696) + microseconds(123456) + nanoseconds(789)),
            "2000-02-29T12:34:56.123456Z");
  EXPECT_EQ(format_iso8601_utc(seconds(1767225600)), "2026-01-01T00:00:00.000000Z");
}

}  // namespace
}  // namespace freezeframe
