// Durable files: replace_file leaves the new content whole and no temporary behind, an
// exclusive OutputFile never writes over anything (a symbolic link included), finish() makes
// the bytes readable, and the errors carry their codes and the path.
#include "freezeframe/durable_file.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "temp_path.h"

namespace freezeframe {
namespace {

namespace fs = std::filesystem;

std::string contents(const fs::path& path) {
  auto text = read_file(path);
  EXPECT_TRUE(text.ok()) << text.status().message();
  return text.ok() ? *text : std::string();
}

std::vector<std::byte> bytes_of(const std::string& text) {
  std::vector<std::byte> out(text.size());
  for (std::size_t i = 0; i < text.size(); ++i)
    out[i] = static_cast<std::byte>(text[i]);
  return out;
}

TEST(DurableFile, ReplaceFileSwapsTheWholeContentAndLeavesNoTemporary) {
  testing::TempPath file("catalog");
  ASSERT_TRUE(replace_file(file.path(), "first version, longer than the second").ok());
  EXPECT_EQ(contents(file.path()), "first version, longer than the second");
  ASSERT_TRUE(replace_file(file.path(), "second").ok());
  EXPECT_EQ(contents(file.path()), "second");
  fs::path temp = file.path();
  temp += ".tmp";
  EXPECT_FALSE(fs::exists(temp));
}

TEST(DurableFile, ReplaceFileInAMissingDirectoryFailsNamingThePath) {
  testing::TempPath dir("missing");
  Status status = replace_file(dir.path() / "catalog.json", "x");
  EXPECT_EQ(status.code(), ErrorCode::kIoError);
  EXPECT_NE(status.message().find("catalog.json"), std::string::npos) << status.message();
}

TEST(DurableFile, OutputFileWritesWhatFinishMakesDurable) {
  testing::TempPath file("export");
  auto out = OutputFile::create(file.path(), /*exclusive=*/true);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->path(), file.path());
  ASSERT_TRUE(out->write(bytes_of("hello, ")).ok());
  ASSERT_TRUE(out->write(bytes_of("world")).ok());
  ASSERT_TRUE(out->finish().ok());
  EXPECT_EQ(contents(file.path()), "hello, world");
  // Finished means closed: a further write is refused, naming the file.
  Status late = out->write(bytes_of("!"));
  EXPECT_EQ(late.code(), ErrorCode::kIoError);
  EXPECT_NE(late.message().find(file.str()), std::string::npos);
  EXPECT_EQ(contents(file.path()), "hello, world");
}

TEST(DurableFile, ExclusiveCreateNeverWritesOverAFileOrALink) {
  testing::TempPath file("existing");
  { std::ofstream(file.path()) << "keep me"; }
  auto refused = OutputFile::create(file.path(), /*exclusive=*/true);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kAlreadyExists);
  EXPECT_NE(refused.status().message().find(file.str()), std::string::npos);
  testing::TempPath link("link");
  if (testing::make_symlink(file.path(), link.path())) {
    auto through_link = OutputFile::create(link.path(), /*exclusive=*/true);
    ASSERT_FALSE(through_link.ok());
    EXPECT_EQ(through_link.status().code(), ErrorCode::kAlreadyExists);
    EXPECT_EQ(contents(file.path()), "keep me");
  }
  // Not exclusive: the file is truncated and rewritten.
  auto replaced = OutputFile::create(file.path(), /*exclusive=*/false);
  ASSERT_TRUE(replaced.ok());
  ASSERT_TRUE(replaced->write(bytes_of("new")).ok());
  ASSERT_TRUE(replaced->finish().ok());
  EXPECT_EQ(contents(file.path()), "new");
}

TEST(DurableFile, ErrorsCarryTheirCodes) {
  testing::TempPath dir("no-such-dir");
  auto missing_dir = OutputFile::create(dir.path() / "out.img", /*exclusive=*/true);
  ASSERT_FALSE(missing_dir.ok());
  EXPECT_EQ(missing_dir.status().code(), ErrorCode::kNotFound);
  auto unreadable = read_file(dir.path());
  ASSERT_FALSE(unreadable.ok());
  EXPECT_EQ(unreadable.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(unreadable.status().message().find(dir.str()), std::string::npos);
  EXPECT_EQ(sync_directory(dir.path()).code(), ErrorCode::kIoError);
  EXPECT_TRUE(sync_directory(testing::temp_directory()).ok());
}

TEST(DurableFile, ReserveSpaceAllocatesAndReleaseGivesItBack) {
  testing::TempPath reserve("reserve");
  ASSERT_TRUE(reserve_space(reserve.path(), std::uint64_t{256} * 1024).ok());
  EXPECT_EQ(std::filesystem::file_size(reserve.path()), 256u * 1024);
  ASSERT_TRUE(release_reserved_space(reserve.path()).ok());
  EXPECT_EQ(std::filesystem::file_size(reserve.path()), 0u);
}

TEST(DurableFile, ReserveRefusesLinksSoNothingElseIsTruncated) {
  testing::TempPath victim("victim");
  testing::TempPath symlink("symlink");
  testing::TempPath hardlink("hardlink");
  {
    std::ofstream out(victim.path());
    out << "not the store's";
  }
  if (testing::make_symlink(victim.path(), symlink.path())) {
    EXPECT_EQ(release_reserved_space(symlink.path()).code(), ErrorCode::kInvalidArgument);
  }
  std::filesystem::create_hard_link(victim.path(), hardlink.path());
  EXPECT_EQ(release_reserved_space(hardlink.path()).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(reserve_space(hardlink.path(), 4096).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(std::filesystem::file_size(victim.path()), 15u);
}

}  // namespace
}  // namespace freezeframe
