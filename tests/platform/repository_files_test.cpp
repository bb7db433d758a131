// Repository files: positioned reads (short only at the end of the file), directory listings
// (regular files only, sorted), creation, renaming and removal with the error codes the
// header promises.
#include "freezeframe/repository_files.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "freezeframe/process.h"
#include "temp_path.h"

namespace freezeframe {
namespace {

namespace fs = std::filesystem;

class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<unsigned> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = testing::temp_directory() /
            ("repository_files." + std::string(info->name()) + "." +
             std::to_string(current_process_id()) + "." + std::to_string(counter.fetch_add(1)));
    std::error_code ignored;
    fs::remove_all(path_, ignored);
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

TEST(RepositoryFiles, ReadsArePositionedAndShortOnlyAtTheEnd) {
  ScratchDir dir;
  write_text(dir.path() / "f", "0123456789");
  auto file = RandomAccessFile::open(dir.path() / "f");
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  EXPECT_EQ((*file)->size_bytes(), 10u);
  std::vector<std::byte> out(4);
  auto got = (*file)->read_at(3, out);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, 4u);
  EXPECT_EQ(static_cast<char>(out[0]), '3');
  got = (*file)->read_at(8, out);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, 2u);
  got = (*file)->read_at(20, out);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, 0u);
  EXPECT_EQ(RandomAccessFile::open(dir.path() / "missing").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(RandomAccessFile::open(dir.path()).status().code(), ErrorCode::kInvalidArgument);
}

TEST(RepositoryFiles, ListingHoldsRegularFilesSorted) {
  ScratchDir dir;
  write_text(dir.path() / "b", "x");
  write_text(dir.path() / "a", "x");
  fs::create_directory(dir.path() / "c");
  testing::make_symlink(dir.path() / "a", dir.path() / "d");  // where links exist
  auto names = list_directory(dir.path());
  ASSERT_TRUE(names.ok()) << names.status().to_string();
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(list_directory(dir.path() / "missing").status().code(), ErrorCode::kNotFound);
}

TEST(RepositoryFiles, CreateRenameRemoveAndSize) {
  ScratchDir dir;
  ASSERT_TRUE(make_directory(dir.path() / "sub").ok());
  EXPECT_EQ(make_directory(dir.path() / "sub").code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(make_directory(dir.path() / "no" / "sub").code(), ErrorCode::kNotFound);
  write_text(dir.path() / "sub" / "from", "12345");
  ASSERT_TRUE(rename_file(dir.path() / "sub" / "from", dir.path() / "sub" / "to").ok());
  auto size = file_bytes(dir.path() / "sub" / "to");
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 5u);
  EXPECT_EQ(file_bytes(dir.path() / "sub" / "from").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(rename_file(dir.path() / "sub" / "from", dir.path() / "x").code(),
            ErrorCode::kNotFound);
  ASSERT_TRUE(remove_file(dir.path() / "sub" / "to").ok());
  EXPECT_EQ(remove_file(dir.path() / "sub" / "to").code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace freezeframe
