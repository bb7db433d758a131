// Scratch file paths for tests that touch the file system. Files live in the directory named
// by FREEZEFRAME_TEST_TMPDIR (CTest sets it to a directory in the build tree), or the system's
// temporary directory. Each path is unique to the test, the process and the call, so tests may run
// in parallel; the file is removed when the TempPath goes out of scope.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "freezeframe/process.h"

namespace freezeframe::testing {

inline std::filesystem::path temp_directory() {
  const char* dir = std::getenv("FREEZEFRAME_TEST_TMPDIR");
  std::error_code ignored;
  std::filesystem::path path = (dir != nullptr && *dir != '\0')
                                   ? std::filesystem::path(dir)
                                   : std::filesystem::temp_directory_path(ignored);
  std::filesystem::create_directories(path, ignored);
  return path;
}

// Changes the working directory for one test and changes it back.
class WorkingDirectory {
 public:
  explicit WorkingDirectory(const std::filesystem::path& dir)
      : saved_(std::filesystem::current_path()) {
    std::filesystem::current_path(dir);
  }
  ~WorkingDirectory() {
    std::error_code ignored;
    std::filesystem::current_path(saved_, ignored);
  }
  WorkingDirectory(const WorkingDirectory&) = delete;
  WorkingDirectory& operator=(const WorkingDirectory&) = delete;

 private:
  std::filesystem::path saved_;
};

// Makes `link` a symbolic link to `target`. Where the system will not (Windows without the
// privilege to, and Wine), it prints why and returns false, and the caller leaves out only the
// case that needs the link; on POSIX that is a test failure.
inline bool make_symlink(const std::filesystem::path& target, const std::filesystem::path& link) {
  std::error_code error;
  std::filesystem::create_symlink(target, link, error);
  if (!error)
    return true;
#if defined(_WIN32)
  std::printf("symbolic links are unavailable here (%s): the case with a link is not run\n",
              error.message().c_str());
#else
  ADD_FAILURE() << "cannot make a symbolic link " << link << ": " << error.message();
#endif
  return false;
}

class TempPath {
 public:
  explicit TempPath(const std::string& label = "volume") {
    static std::atomic<unsigned> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string test = info ? std::string(info->test_suite_name()) + "." + info->name() : "none";
    for (char& c : test) {
      if (c == '/' || c == ' ')
        c = '_';
    }
    path_ = temp_directory() / (test + "." + std::to_string(current_process_id()) + "." +
                                std::to_string(counter.fetch_add(1)) + "." + label + ".img");
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  ~TempPath() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  TempPath(const TempPath&) = delete;
  TempPath& operator=(const TempPath&) = delete;

  std::string str() const { return path_.string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace freezeframe::testing
