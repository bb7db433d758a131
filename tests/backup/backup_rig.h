// What the backup repository tests share: a scratch directory per test, memory volumes with
// seeded random content, volume filters that count or hold reads, a simulated clock for
// timestamps, and helpers that back up, restore and compare.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "freezeframe/backup.h"
#include "freezeframe/memory_volume.h"
#include "freezeframe/random.h"
#include "freezeframe/repository.h"
#include "freezeframe/sim/sim_clock.h"
#include "freezeframe/volume_wrapper.h"
#include "temp_path.h"
#include "volume_image.h"

namespace freezeframe::testing {

namespace fs = std::filesystem;

// A fresh directory per test (the repository goes in `path() / "repo"`), removed with
// everything in it at the end.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<unsigned> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "x";
    for (char& c : name) {
      if (c == '/')
        c = '_';
    }
    path_ = temp_directory() / ("backup." + name + "." + std::to_string(::getpid()) + "." +
                                std::to_string(counter.fetch_add(1)));
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
  fs::path repo() const { return path_ / "repo"; }

 private:
  fs::path path_;
};

inline std::unique_ptr<MemoryVolume> memory_volume(std::uint64_t size_bytes,
                                                   const std::string& name = "data") {
  auto made = MemoryVolume::create({.name = name, .size_bytes = size_bytes});
  EXPECT_TRUE(made.ok()) << made.status().to_string();
  return std::move(made).value();
}

inline void write_bytes(Volume& volume, std::uint64_t offset, const Bytes& bytes) {
  Status status = volume.write(offset, bytes);
  ASSERT_TRUE(status.ok()) << status.to_string();
}

// Bytes of every regular file under `dir`.
inline std::uint64_t bytes_on_disk(const fs::path& dir) {
  std::uint64_t total = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file())
      total += entry.file_size();
  }
  return total;
}

inline std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file())
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

inline Bytes file_bytes_of(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Bytes bytes(text.size());
  std::memcpy(bytes.data(), text.data(), text.size());
  return bytes;
}

inline void write_file_bytes(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// Counts the bytes read through it.
class CountingVolume final : public VolumeWrapper {
 public:
  explicit CountingVolume(Volume& base) : VolumeWrapper(base) {}
  std::uint64_t bytes_read() const { return bytes_read_.load(); }

 protected:
  Status do_read(std::uint64_t offset, std::span<std::byte> out) override {
    bytes_read_ += out.size();
    return VolumeWrapper::do_read(offset, out);
  }

 private:
  std::atomic<std::uint64_t> bytes_read_{0};
};

// Holds every read until release() (reports the first held read through wait_held()).
class HoldingVolume final : public VolumeWrapper {
 public:
  explicit HoldingVolume(Volume& base) : VolumeWrapper(base) {}
  void wait_held() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return held_; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }

 protected:
  Status do_read(std::uint64_t offset, std::span<std::byte> out) override {
    {
      std::unique_lock lock(mutex_);
      held_ = true;
      changed_.notify_all();
      changed_.wait(lock, [&] { return released_; });
    }
    return VolumeWrapper::do_read(offset, out);
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool held_ = false;
  bool released_ = false;
};

// A repository and a clock that moves one hour per backup, so backups are ordered in time.
class RepoRig {
 public:
  explicit RepoRig(const fs::path& dir, RepositoryOptions options = {.chunk_bytes = 16 * 1024,
                                                                     .pack_bytes_target = 1 << 20})
      : dir_(dir) {
    auto made = Repository::init(dir, options);
    EXPECT_TRUE(made.ok()) << made.status().to_string();
    if (made.ok())
      repo_ = std::move(made).value();
  }

  Repository& repo() { return *repo_; }
  void close() { repo_.reset(); }
  Status reopen(LockMode mode) {
    repo_.reset();
    auto opened = Repository::open(dir_, {.mode = mode});
    if (!opened.ok())
      return opened.status();
    repo_ = std::move(opened).value();
    return Status();
  }
  sim::SimClock& clock() { return clock_; }

  VolumeBackupRequest request(Volume& source, std::optional<std::string> parent = std::nullopt,
                              std::optional<std::vector<Extent>> changed = std::nullopt) {
    VolumeBackupRequest request;
    request.source = &source;
    request.volume_name = source.name();
    request.volume_id = source.uuid();
    request.snapshot_id = Uuid::from_name("snapshot " + std::to_string(++backups_));
    request.set_id = Uuid::from_name("set " + std::to_string(backups_));
    request.change_id = "change-" + std::to_string(backups_);
    request.parent_backup_id = std::move(parent);
    request.changed = std::move(changed);
    return request;
  }

  Result<BackupSetResult> backup(std::span<const VolumeBackupRequest> requests,
                                 BackupOptions options = {}) {
    clock_.advance(std::chrono::hours(1));
    options.clock = &clock_;
    return backup_set(*repo_, requests, options);
  }
  // Backs up one volume; returns its backup id (empty on failure, which fails the test).
  std::string backup_one(Volume& source, std::optional<std::string> parent = std::nullopt,
                         std::optional<std::vector<Extent>> changed = std::nullopt) {
    VolumeBackupRequest one = request(source, std::move(parent), std::move(changed));
    auto result = backup(std::span(&one, 1));
    EXPECT_TRUE(result.ok()) << result.status().to_string();
    if (!result.ok())
      return {};
    last_result_ = *result;
    return result->set.volumes.at(0).id;
  }
  const BackupSetResult& last_result() const { return last_result_; }

  // Restores `id` to a fresh memory volume of `size` bytes and returns its content.
  Result<Bytes> restore_image(const std::string& id, std::uint64_t size) {
    auto target = memory_volume(size, "target");
    Status status = restore(*repo_, id, *target, {.zeros = ZeroPolicy::kWrite});
    if (!status.ok())
      return status;
    return read_all(*target);
  }

 private:
  fs::path dir_;
  std::unique_ptr<Repository> repo_;
  sim::SimClock clock_;
  unsigned backups_ = 0;
  BackupSetResult last_result_;
};

}  // namespace freezeframe::testing
