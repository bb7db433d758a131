// StoreLock: exclusion between holders in one process (flock locks belong to open
// descriptions, and LockFileEx locks to handles, so two acquires conflict exactly as two
// processes would), survival of a replaced lock file (on Windows: a lock file or directory that
// cannot be removed or renamed while held), waiting for a holder, read-only stores and
// lock_holders() (POSIX).
#include "freezeframe/store_lock.h"

#include <gtest/gtest.h>

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <initializer_list>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "freezeframe/process.h"
#include "temp_path.h"

namespace freezeframe {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

// A fresh directory per test, removed with everything in it at the end.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<unsigned> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = testing::temp_directory() /
            ("store_lock." + std::string(info->name()) + "." +
             std::to_string(current_process_id()) + "." + std::to_string(counter.fetch_add(1)));
    std::error_code ignored;
    fs::remove_all(path_, ignored);
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ignored);
    fs::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const fs::path& path() const { return path_; }
  fs::path lock_file() const { return path_ / "lock"; }

 private:
  fs::path path_;
};

StoreLockOptions mode(LockMode lock_mode, milliseconds wait = milliseconds{0}) {
  StoreLockOptions options;
  options.mode = lock_mode;
  options.wait = wait;
  return options;
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Destroys the lock a Result holds, releasing it, while keeping the variable for later use.
void release(Result<StoreLock>& lock) {
  lock = Status(ErrorCode::kAborted, "released by the test");
}

// Releases `lock`, the last holder of `dir`'s lock, after which a writer is admitted.
void expect_writer_admitted_after_releasing(Result<StoreLock>& lock, const ScratchDir& dir) {
  release(lock);
  auto writer = StoreLock::acquire(dir.path(), mode(LockMode::kExclusive));
  EXPECT_TRUE(writer.ok()) << writer.status().to_string();
}

const std::string kOurPid = std::to_string(current_process_id());

// `status` has `code`, and its message names each of `parts`.
void expect_error_naming(const Status& status, ErrorCode code,
                         std::initializer_list<std::string> parts) {
  EXPECT_EQ(status.code(), code) << status.to_string();
  for (const std::string& part : parts)
    EXPECT_NE(status.message().find(part), std::string::npos) << status.message();
}

// The holders' pids, where the operating system tells them (not on Windows).
#if defined(_WIN32)
const std::vector<long> kHolderPids{};
#else
const std::vector<long> kHolderPids{current_process_id()};
#endif

void expect_busy_naming_us(const Result<StoreLock>& result) {
  ASSERT_FALSE(result.ok());
  expect_error_naming(result.status(), ErrorCode::kBusy, {"store busy", "--wait"});
  if (!kHolderPids.empty())
    expect_error_naming(result.status(), ErrorCode::kBusy, {"pid " + kOurPid});
}

TEST(StoreLock, ExclusiveExcludesExclusiveAndSharedAtOnceNamingTheHolder) {
  ScratchDir dir;
  auto holder = StoreLock::acquire(dir.path(), mode(LockMode::kExclusive));
  ASSERT_TRUE(holder.ok()) << holder.status().to_string();
  EXPECT_EQ(holder->mode(), LockMode::kExclusive);
  EXPECT_TRUE(holder->verify().ok());
  // The exclusive holder created the lock file and wrote its pid there for humans.
  EXPECT_EQ(read_all(dir.lock_file()), kOurPid + "\n");

  StoreLockOptions no_wait = mode(LockMode::kExclusive);
  bool notified = false;
  no_wait.on_wait = [&](const std::vector<long>&) { notified = true; };
  expect_busy_naming_us(StoreLock::acquire(dir.path(), no_wait));
  expect_busy_naming_us(StoreLock::acquire(dir.path(), mode(LockMode::kShared)));
  // wait 0 fails at once: no waiting begins, so there is nothing to announce.
  EXPECT_FALSE(notified);

  // Released on destruction: the next acquire succeeds.
  expect_writer_admitted_after_releasing(holder, dir);
}

TEST(StoreLock, SharedAdmitsSharedAndExcludesExclusive) {
  ScratchDir dir;
  auto first = StoreLock::acquire(dir.path(), mode(LockMode::kShared));
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  auto second = StoreLock::acquire(dir.path(), mode(LockMode::kShared));
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  EXPECT_EQ(second->mode(), LockMode::kShared);

  expect_busy_naming_us(StoreLock::acquire(dir.path(), mode(LockMode::kExclusive)));

  // One shared holder left still excludes a writer; none left admits it.
  release(second);
  expect_busy_naming_us(StoreLock::acquire(dir.path(), mode(LockMode::kExclusive)));
  expect_writer_admitted_after_releasing(first, dir);
}

#if defined(_WIN32)
// Windows refuses to remove or rename what a holder has open, so nothing can be replaced under
// it; verify() stays OK and the lock keeps excluding.
TEST(StoreLock, TheLockFileAndDirectoryCannotBeRemovedOrRenamedWhileHeld) {
  ScratchDir dir;
  auto holder = StoreLock::acquire(dir.path(), mode(LockMode::kShared));
  ASSERT_TRUE(holder.ok()) << holder.status().to_string();
  std::error_code error;
  EXPECT_FALSE(fs::remove(dir.lock_file(), error));
  EXPECT_TRUE(fs::exists(dir.lock_file()));
  fs::rename(dir.path(), dir.path().string() + ".moved", error);
  EXPECT_TRUE(error);
  EXPECT_TRUE(fs::exists(dir.path()));
  EXPECT_TRUE(holder->verify().ok());
  EXPECT_TRUE(holder->verify_directory().ok());
  expect_busy_naming_us(StoreLock::acquire(dir.path(), mode(LockMode::kExclusive)));
  expect_writer_admitted_after_releasing(holder, dir);
}
#else
TEST(StoreLock, StillExcludesAfterTheLockFileIsReplacedAndVerifyReportsIt) {
  ScratchDir dir;
  auto holder = StoreLock::acquire(dir.path(), mode(LockMode::kExclusive));
  ASSERT_TRUE(holder.ok()) << holder.status().to_string();

  // Someone deletes the lock file and makes a new one: a lock on the file alone would now
  // admit a second writer.
  ASSERT_TRUE(fs::remove(dir.lock_file()));
  std::ofstream(dir.lock_file()).put('\n');
  ASSERT_TRUE(fs::exists(dir.lock_file()));

  expect_busy_naming_us(StoreLock::acquire(dir.path(), mode(LockMode::kExclusive)));
  expect_busy_naming_us(StoreLock::acquire(dir.path(), mode(LockMode::kShared)));

  expect_error_naming(holder->verify(), ErrorCode::kBadState,
                      {dir.lock_file().string(), "removed or replaced"});
}

TEST(StoreLock, VerifyReportsARemovedLockFile) {
  ScratchDir dir;
  auto holder = StoreLock::acquire(dir.path(), mode(LockMode::kShared));
  ASSERT_TRUE(holder.ok()) << holder.status().to_string();
  ASSERT_TRUE(fs::remove(dir.lock_file()));
  expect_error_naming(holder->verify(), ErrorCode::kBadState, {dir.lock_file().string()});
}

TEST(StoreLock, VerifyDirectoryIgnoresTheLockFileAndReportsAMovedStore) {
  ScratchDir dir;
  auto holder = StoreLock::acquire(dir.path(), mode(LockMode::kExclusive));
  ASSERT_TRUE(holder.ok()) << holder.status().to_string();
  ASSERT_TRUE(fs::remove(dir.lock_file()));
  EXPECT_TRUE(holder->verify_directory().ok());  // the directory lock still excludes
  const fs::path moved = dir.path().string() + ".moved";
  fs::rename(dir.path(), moved);
  fs::create_directory(dir.path());  // someone makes a new store at the old path
  Status verified = holder->verify_directory();
  fs::remove(dir.path());
  fs::rename(moved, dir.path());
  expect_error_naming(verified, ErrorCode::kBadState, {"renamed or replaced"});
}
#endif

TEST(StoreLock, WaitingRunsOutAfterTheWaitAndNotifiesOnceWithTheHolder) {
  ScratchDir dir;
  auto holder = StoreLock::acquire(dir.path(), mode(LockMode::kExclusive));
  ASSERT_TRUE(holder.ok()) << holder.status().to_string();

  int notices = 0;
  std::vector<long> noticed_pids;
  StoreLockOptions options = mode(LockMode::kExclusive, milliseconds{200});
  options.on_wait = [&](const std::vector<long>& pids) {
    ++notices;
    noticed_pids = pids;
  };
  auto start = std::chrono::steady_clock::now();
  auto waited = StoreLock::acquire(dir.path(), options);
  auto elapsed = std::chrono::steady_clock::now() - start;

  expect_busy_naming_us(waited);
  EXPECT_GE(elapsed, milliseconds{200});
  EXPECT_EQ(notices, 1);
  EXPECT_EQ(noticed_pids, kHolderPids);
}

TEST(StoreLock, WaitingSucceedsOnceTheHolderLetsGo) {
  ScratchDir dir;
  std::optional<StoreLock> holder;
  {
    auto acquired = StoreLock::acquire(dir.path(), mode(LockMode::kExclusive));
    ASSERT_TRUE(acquired.ok()) << acquired.status().to_string();
    holder.emplace(std::move(acquired).value());
  }

  std::promise<void> waiting;
  std::future<void> waiting_started = waiting.get_future();
  int notices = 0;
  StoreLockOptions options = mode(LockMode::kShared, std::chrono::seconds{30});
  options.on_wait = [&](const std::vector<long>&) {
    ++notices;
    waiting.set_value();
  };
  // The holder lets go only once the waiter has seen it held, so the wait is certain to have
  // begun; no timing in the test.
  std::thread releaser([&] {
    waiting_started.wait();
    holder.reset();
  });
  auto waited = StoreLock::acquire(dir.path(), options);
  releaser.join();

  ASSERT_TRUE(waited.ok()) << waited.status().to_string();
  EXPECT_EQ(waited->mode(), LockMode::kShared);
  EXPECT_EQ(notices, 1);
}

TEST(StoreLock, SharedNeverCreatesOrWritesAnExistingLockFile) {
  ScratchDir dir;
  std::ofstream(dir.lock_file()).flush();
  // An old mtime, so any write by the lock would show plainly.
  auto old_time = fs::last_write_time(dir.lock_file()) - std::chrono::hours{1};
  fs::last_write_time(dir.lock_file(), old_time);

  {
    auto reader = StoreLock::acquire(dir.path(), mode(LockMode::kShared));
    ASSERT_TRUE(reader.ok()) << reader.status().to_string();
    EXPECT_TRUE(reader->verify().ok());
  }

  EXPECT_EQ(fs::file_size(dir.lock_file()), 0u);
  EXPECT_EQ(fs::last_write_time(dir.lock_file()), old_time);
}

#if !defined(_WIN32)
// A directory nobody can write: a read-only bind mount for root (who ignores permission
// bits), mode 0555 for anyone else. Undone on destruction.
class ReadOnlyDirectory {
 public:
  explicit ReadOnlyDirectory(const fs::path& dir) : dir_(dir) {
    if (::geteuid() == 0) {
      view_ = dir.string() + ".ro";
      fs::create_directory(view_);
      mounted_ = ::mount(dir.c_str(), view_.c_str(), nullptr, MS_BIND, nullptr) == 0;
      EXPECT_TRUE(mounted_) << "bind mount: " << std::strerror(errno);
      EXPECT_EQ(::mount(nullptr, view_.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr),
                0)
          << "read-only remount: " << std::strerror(errno);
    } else {
      view_ = dir;
      fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                               fs::perms::group_exec | fs::perms::others_read |
                               fs::perms::others_exec);
    }
  }
  ~ReadOnlyDirectory() {
    if (mounted_)
      ::umount(view_.c_str());
    if (view_ != dir_) {
      std::error_code ignored;
      fs::remove(view_, ignored);
    } else {
      fs::permissions(dir_, fs::perms::owner_all);
    }
  }
  const fs::path& path() const { return view_; }

 private:
  fs::path dir_;
  fs::path view_;
  bool mounted_ = false;
};

TEST(StoreLock, SharedLocksAReadOnlyStoreWithoutLockFile) {
  ScratchDir dir;
  ReadOnlyDirectory read_only(dir.path());
  ASSERT_FALSE(HasFailure());
  const fs::path store = read_only.path();
  // Nobody can create the lock file there.
  EXPECT_LT(::open((store / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644), 0);

  auto reader = StoreLock::acquire(store, mode(LockMode::kShared));
  ASSERT_TRUE(reader.ok()) << reader.status().to_string();
  EXPECT_FALSE(fs::exists(store / "lock"));
  EXPECT_TRUE(reader->verify().ok());
  // The directory lock alone still excludes a writer, through either path.
  auto writer = StoreLock::acquire(dir.path(), mode(LockMode::kExclusive));
  ASSERT_FALSE(writer.ok());
  EXPECT_EQ(writer.status().code(), ErrorCode::kBusy) << writer.status().to_string();
}
#endif

TEST(StoreLock, MissingDirectoryIsNotFound) {
  ScratchDir dir;
  auto result = StoreLock::acquire(dir.path() / "absent", mode(LockMode::kExclusive));
  ASSERT_FALSE(result.ok());
  expect_error_naming(result.status(), ErrorCode::kNotFound, {"absent"});
}

#if !defined(_WIN32)
TEST(StoreLock, LockHoldersNamesUsForAHeldLockAndNobodyForAFreeOne) {
  ScratchDir dir;
  EXPECT_TRUE(lock_holders(dir.path()).empty());
  EXPECT_TRUE(lock_holders(dir.path() / "absent").empty());
  {
    auto holder = StoreLock::acquire(dir.path(), mode(LockMode::kExclusive));
    ASSERT_TRUE(holder.ok()) << holder.status().to_string();
    EXPECT_EQ(lock_holders(dir.path()), std::vector<long>{current_process_id()});
    EXPECT_EQ(lock_holders(dir.lock_file()), std::vector<long>{current_process_id()});
  }
  EXPECT_TRUE(lock_holders(dir.path()).empty());
  EXPECT_TRUE(lock_holders(dir.lock_file()).empty());
}
#endif

}  // namespace
}  // namespace freezeframe
