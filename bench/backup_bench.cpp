// Backup suite: freezeframe's changed-block-tracking (CBT) backups against zstd, restic and
// borg, every figure from one run (the machine is shared and noisy, so the ratios divide
// figures measured minutes apart at most).
//
//   backup/image_mib:N/sparse_mib:M/tools:{none|zstd+restic+borg|...}
//
// One benchmark, one pass, in this order:
//  1. Peak memory: a sparse image file of M MiB (16 GiB; smoke 64 MiB) holding 1 GiB (smoke
//     1 MiB) of mixed data in four regions, the rest never written, backed up into a fresh
//     repository; peak_memory_mib is the peak resident memory of the process during
//     backup_set() less its resident memory before (the peak is reset first).
//  2. An image file of N MiB (1024; smoke 32) of mixed data (backup_tools.h: half random, a
//     quarter zeros, a quarter text), a CoW provider on it (16 KiB chunks, a diff image file
//     beside it), one snapshot (snapshot_ms) and a full backup of it into a fresh repository:
//     full_s is backup_set() from the snapshot volume to the durable set record.
//  3. The same bytes (the origin image file, unchanged since the snapshot) through
//     `zstd -1 -T2` to an output file, made durable after it by `sync --data` (as our
//     backup makes its repository durable; zstd_s is the command alone, zstd_durable_s
//     both), and full backups by restic and borg.
//  4. 1% of the 16 KiB chunks, at distinct random offsets, rewritten with new random data
//     through the provider, which is then flushed.
//  5. A second snapshot; incremental_s is changed_extents(first, second) plus backup_set()
//     with the full backup as parent and those extents as `changed`. The extents must not be
//     a reset and must cover every rewritten chunk and at most 1.5 times as much, or the
//     benchmark fails. Then restic's and borg's incremental backups of the origin image file,
//     which now holds the second snapshot's bytes.
//  6. A raw sequential write of N MiB to a fresh image file (4 MiB writes, then flush), and
//     right after it the restore of the incremental backup to another fresh image file
//     (restore() ends with a flush). The restored bytes must equal the second snapshot's and
//     the origin file's, or the benchmark fails.
//
// The tools run as programs (wall clock of the command, output to backup-tools.log in the
// scratch directory): zstd writes its output file; restic encrypts (it always does; the
// password is $RESTIC_PASSWORD, or a fixed one); borg runs with --encryption=none and
// --compression zstd,1. Each timed step starts after a sync(), so earlier writeback does not
// weigh on it. Counters: bench/README.md.
//
// Run: build-bench/bench/freezeframe_bench --benchmark_filter='^backup/' [--dir=PATH]
//      [--backup-image-mib=N] [--backup-tools=none|zstd,restic,borg]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "backup_tools.h"
#include "common.h"
#include "freezeframe/backup.h"
#include "freezeframe/extent.h"
#include "freezeframe/process.h"
#include "freezeframe/repository.h"

namespace freezeframe::bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double mib(std::uint64_t bytes) {
  return static_cast<double>(bytes) / static_cast<double>(kMiB);
}

// A directory in the scratch directory, removed with everything under it when this goes
// (and before use, should an earlier run have left it).
class ScratchTree {
 public:
  explicit ScratchTree(std::string_view stem) : path_(settings().dir + "/" + std::string(stem)) {
    std::error_code error;
    std::filesystem::remove_all(path_, error);
  }
  ~ScratchTree() {
    std::error_code error;
    std::filesystem::remove_all(path_, error);
  }
  ScratchTree(const ScratchTree&) = delete;
  ScratchTree& operator=(const ScratchTree&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }
  std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

bool uses(std::string_view tool) {
  const std::vector<std::string>& tools = settings().backup_tools;
  return std::find(tools.begin(), tools.end(), tool) != tools.end();
}

std::string tools_label() {
  std::string label;
  for (const std::string& tool : settings().backup_tools) {
    label += (label.empty() ? "" : "+") + tool;
  }
  return label.empty() ? "none" : label;
}

Result<BackupSetResult> backup_snapshot(Repository& repository, Volume& source,
                                        const SnapshotInfo& snapshot, const Uuid& volume_id,
                                        std::optional<std::string> parent,
                                        std::optional<std::vector<Extent>> changed) {
  VolumeBackupRequest request;
  request.source = &source;
  request.volume_name = "image";
  request.volume_id = volume_id;
  request.snapshot_id = snapshot.id;
  request.set_id = snapshot.set_id.is_nil() ? snapshot.id : snapshot.set_id;
  request.change_id = snapshot.change_id;
  request.parent_backup_id = std::move(parent);
  request.changed = std::move(changed);
  return backup_set(repository, std::span(&request, 1));
}

// Step 1: the peak resident memory of backing up a large sparse volume.
Status measure_peak_memory(benchmark::State& state) {
  const Settings& s = settings();
  ScratchFile sparse_file("backup-sparse");
  FF_ASSIGN_OR_RETURN(std::unique_ptr<FileVolume> sparse,
                      create_file_volume(sparse_file.path(), s.backup_sparse_bytes));
  const std::uint64_t data_blocks = s.backup_sparse_data_bytes / kMixedBlockBytes;
  const std::uint64_t regions = std::clamp<std::uint64_t>(data_blocks, 1, 4);
  const std::uint64_t region_bytes = data_blocks / regions * kMixedBlockBytes;
  const std::uint64_t stride =
      s.backup_sparse_bytes / regions / kMixedBlockBytes * kMixedBlockBytes;
  if (region_bytes == 0 || region_bytes > stride) {
    return Status(ErrorCode::kInvalidArgument, "sparse volume too small for its data");
  }
  Random random(derive_seed(6, "backup-sparse"));
  for (std::uint64_t i = 0; i < regions; ++i) {
    FF_TRY(write_mixed(*sparse, i * stride, region_bytes, random));
  }
  FF_TRY(sparse->flush());
  ScratchTree repository_dir("backup-sparse-repo");
  FF_ASSIGN_OR_RETURN(std::unique_ptr<Repository> repository,
                      Repository::init(repository_dir.path(), {}));
  ::sync();
  FF_TRY(reset_peak_resident());
  FF_ASSIGN_OR_RETURN(ResidentMemory before, resident_memory());
  const Clock::time_point start = Clock::now();
  VolumeBackupRequest request;
  request.source = sparse.get();
  request.volume_name = "sparse";
  request.volume_id = sparse->uuid();
  FF_TRY(backup_set(*repository, std::span(&request, 1)).status());
  const double seconds = seconds_since(start);
  FF_ASSIGN_OR_RETURN(ResidentMemory after, resident_memory());
  state.counters["peak_memory_mib"] =
      mib(after.peak_bytes - std::min(after.peak_bytes, before.current_bytes));
  state.counters["peak_resident_mib"] = mib(after.peak_bytes);
  state.counters["sparse_backup_s"] = seconds;
  state.counters["sparse_data_mib"] = mib(regions * region_bytes);
  return Status();
}

// The tools of steps 3 and 5, each with its own repository (or output) under `dir`.
class OtherTools {
 public:
  OtherTools(const ScratchTree& dir, std::string image_path)
      : dir_(dir), image_(std::move(image_path)), log_(settings().dir + "/backup-tools.log") {
    const std::optional<std::string> password = environment_variable("RESTIC_PASSWORD");
    restic_env_ = {{"RESTIC_REPOSITORY", dir_.file("restic-repo")},
                   {"RESTIC_CACHE_DIR", dir_.file("restic-cache")},
                   {"RESTIC_PASSWORD", password.value_or("freezeframe-bench")}};
    borg_env_ = {{"BORG_BASE_DIR", dir_.file("borg-home")},
                 {"BORG_CACHE_DIR", dir_.file("borg-home/cache")},
                 {"BORG_CONFIG_DIR", dir_.file("borg-home/config")},
                 {"BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK", "yes"},
                 {"BORG_RELOCATED_REPO_ACCESS_IS_OK", "yes"}};
  }

  // zstd, then the full backups of restic and borg (those in use).
  Status full(benchmark::State& state) {
    if (uses("zstd")) {
      const std::string out = dir_.file("image.zst");
      ::sync();
      FF_ASSIGN_OR_RETURN(double seconds,
                          timed_tool({"zstd", {"-1", "-T2", "-q", "-f", image_, "-o", out}}, log_));
      state.counters["zstd_s"] = seconds;
      // Our backup returns with its repository durable; zstd leaves its output in the page
      // cache. zstd_durable_s adds an fdatasync of the output (`sync --data`), which the
      // throughput ratio divides by.
      FF_ASSIGN_OR_RETURN(double sync_seconds, timed_tool({"sync", {"--data", out}}, log_));
      state.counters["zstd_sync_s"] = sync_seconds;
      state.counters["zstd_durable_s"] = seconds + sync_seconds;
      std::error_code error;
      state.counters["zstd_output_bytes"] =
          static_cast<double>(std::filesystem::file_size(out, error));
      std::filesystem::remove(out, error);
    }
    if (uses("restic")) {
      FF_TRY(timed_tool({"restic", {"init"}, restic_env_}, log_).status());
      FF_ASSIGN_OR_RETURN(double seconds, restic_backup());
      state.counters["restic_full_s"] = seconds;
    }
    if (uses("borg")) {
      FF_TRY(timed_tool({"borg", {"init", "--encryption=none", borg_repo()}, borg_env_}, log_)
                 .status());
      FF_ASSIGN_OR_RETURN(double seconds, borg_create("full"));
      state.counters["borg_full_s"] = seconds;
      borg_full_bytes_ = disk_usage_bytes(borg_repo());
    }
    return Status();
  }

  Status incremental(benchmark::State& state) {
    if (uses("restic")) {
      FF_ASSIGN_OR_RETURN(double seconds, restic_backup());
      state.counters["restic_incremental_s"] = seconds;
      state.counters["restic_repository_bytes"] =
          static_cast<double>(disk_usage_bytes(dir_.file("restic-repo")));
    }
    if (uses("borg")) {
      FF_ASSIGN_OR_RETURN(double seconds, borg_create("incremental"));
      state.counters["borg_incremental_s"] = seconds;
      state.counters["borg_full_repository_bytes"] = static_cast<double>(borg_full_bytes_);
      state.counters["borg_repository_bytes"] = static_cast<double>(disk_usage_bytes(borg_repo()));
    }
    return Status();
  }

 private:
  std::string borg_repo() const { return dir_.file("borg-repo"); }

  Result<double> restic_backup() {
    ::sync();
    return timed_tool({"restic", {"backup", image_}, restic_env_}, log_);
  }

  Result<double> borg_create(const std::string& archive) {
    ::sync();
    return timed_tool({"borg",
                       {"create", "--compression", "zstd,1", borg_repo() + "::" + archive, image_},
                       borg_env_},
                      log_);
  }

  const ScratchTree& dir_;
  std::string image_;
  std::string log_;
  std::vector<std::pair<std::string, std::string>> restic_env_;
  std::vector<std::pair<std::string, std::string>> borg_env_;
  std::uint64_t borg_full_bytes_ = 0;
};

// Step 6: `bytes` written sequentially to a fresh image file in 4 MiB writes, then flushed.
Result<double> raw_sequential_write_seconds(std::uint64_t bytes) {
  ScratchFile file("backup-raw");
  FF_ASSIGN_OR_RETURN(std::unique_ptr<FileVolume> volume, create_file_volume(file.path(), bytes));
  std::vector<std::byte> data(std::min<std::uint64_t>(bytes, 4 * kMiB));
  Random random(derive_seed(7, "backup-raw"));
  random.fill(data);
  ::sync();
  const Clock::time_point start = Clock::now();
  for (std::uint64_t at = 0; at < bytes; at += data.size()) {
    FF_TRY(volume->write(at, std::span(data.data(), std::min(data.size(), bytes - at))));
  }
  FF_TRY(volume->flush());
  return seconds_since(start);
}

double ratio(const benchmark::State& state, const char* numerator, const char* denominator) {
  const auto top = state.counters.find(numerator);
  const auto bottom = state.counters.find(denominator);
  if (top == state.counters.end() || bottom == state.counters.end() || bottom->second == 0) {
    return -1;
  }
  return top->second / bottom->second;
}

void set_ratio(benchmark::State& state, const char* name, const char* numerator,
               const char* denominator) {
  const double value = ratio(state, numerator, denominator);
  if (value >= 0) {
    state.counters[name] = value;
  }
}

Status run_backup(benchmark::State& state) {
  const Settings& s = settings();
  const std::uint64_t image_bytes = s.backup_image_bytes;
  FF_TRY(measure_peak_memory(state));

  // Step 2: the image, the provider, the first snapshot and the full backup.
  ScratchFile origin_file("backup-image");
  FF_ASSIGN_OR_RETURN(std::unique_ptr<FileVolume> origin,
                      create_file_volume(origin_file.path(), image_bytes));
  Random random(derive_seed(6, "backup-image"));
  FF_TRY(write_mixed(*origin, 0, image_bytes, random));
  FF_TRY(origin->flush());
  FF_ASSIGN_OR_RETURN(
      std::unique_ptr<Stack> stack,
      make_stack(Provider::kCow, *origin,
                 {.chunk_bytes = kDefaultChunkBytes, .diff_bytes = image_bytes / 4 + 64 * kMiB}));
  SnapshotProvider& provider = *stack->snapshots;
  ScratchTree ours_dir("backup-repo");
  FF_ASSIGN_OR_RETURN(std::unique_ptr<Repository> repository,
                      Repository::init(ours_dir.path(), {}));

  Clock::time_point start = Clock::now();
  FF_ASSIGN_OR_RETURN(SnapshotInfo first, provider.create_snapshot());
  state.counters["snapshot_ms"] = seconds_since(start) * 1e3;
  FF_ASSIGN_OR_RETURN(std::unique_ptr<Volume> first_volume, provider.open_snapshot(first.id));
  ::sync();
  start = Clock::now();
  FF_ASSIGN_OR_RETURN(BackupSetResult full,
                      backup_snapshot(*repository, *first_volume, first, origin->uuid(),
                                      std::nullopt, std::nullopt));
  const double full_s = seconds_since(start);
  state.counters["full_s"] = full_s;
  state.counters["full_mib_per_s"] = mib(image_bytes) / full_s;
  state.counters["repository_full_bytes"] = static_cast<double>(disk_usage_bytes(ours_dir.path()));

  // Step 3: the other tools over the origin image file, which holds the snapshot's bytes
  // (nothing was written since it was taken, and the provider was flushed).
  ScratchTree tools_dir("backup-tools");
  std::filesystem::create_directories(tools_dir.path());
  OtherTools tools(tools_dir, origin_file.path());
  FF_TRY(tools.full(state));

  // Step 4: change 1% of the chunks.
  const std::uint64_t chunks = image_bytes / kDefaultChunkBytes;
  const std::uint64_t changed_chunks = std::max<std::uint64_t>(1, chunks / 100);
  std::vector<std::uint64_t> offsets =
      random_distinct_offsets(image_bytes, kDefaultChunkBytes, changed_chunks, random);
  std::vector<std::byte> chunk(kDefaultChunkBytes);
  for (std::uint64_t offset : offsets) {
    random.fill(chunk);
    FF_TRY(provider.write(offset, chunk));
  }
  FF_TRY(provider.flush());

  // Step 5: the incremental backup from change tracking.
  start = Clock::now();
  FF_ASSIGN_OR_RETURN(SnapshotInfo second, provider.create_snapshot());
  state.counters["second_snapshot_ms"] = seconds_since(start) * 1e3;
  FF_ASSIGN_OR_RETURN(std::unique_ptr<Volume> second_volume, provider.open_snapshot(second.id));
  ::sync();
  start = Clock::now();
  FF_ASSIGN_OR_RETURN(ChangedExtents changed,
                      provider.changed_extents(first.change_id, second.change_id));
  const double cbt_s = seconds_since(start);
  const std::uint64_t changed_bytes = extent_bytes(changed.extents);
  const std::uint64_t written_bytes = changed_chunks * kDefaultChunkBytes;
  if (changed.reset) {
    return Status(
        ErrorCode::kBadState,
        "change tracking answered a reset between the two snapshots: " + changed.reset_reason);
  }
  if (changed_bytes < written_bytes || changed_bytes > written_bytes + written_bytes / 2) {
    return Status(ErrorCode::kBadState, "change tracking lists " + std::to_string(changed_bytes) +
                                            " bytes, but " + std::to_string(written_bytes) +
                                            " were rewritten (1% of the chunks)");
  }
  const std::string full_id = full.set.volumes.at(0).id;
  FF_ASSIGN_OR_RETURN(BackupSetResult incremental,
                      backup_snapshot(*repository, *second_volume, second, origin->uuid(), full_id,
                                      std::move(changed.extents)));
  const double incremental_s = seconds_since(start);
  state.counters["cbt_ms"] = cbt_s * 1e3;
  state.counters["incremental_s"] = incremental_s;
  state.counters["changed_fraction"] =
      static_cast<double>(changed_bytes) / static_cast<double>(image_bytes);
  state.counters["incremental_bytes_read"] = static_cast<double>(incremental.bytes_read);
  state.counters["repository_bytes"] = static_cast<double>(disk_usage_bytes(ours_dir.path()));
  state.counters["repository_chunk_bytes"] = repository->chunk_bytes();
  FF_TRY(tools.incremental(state));

  // Step 6: a raw sequential write, then the restore, verified.
  FF_ASSIGN_OR_RETURN(double raw_s, raw_sequential_write_seconds(image_bytes));
  state.counters["raw_write_s"] = raw_s;
  state.counters["raw_write_mib_per_s"] = mib(image_bytes) / raw_s;
  ScratchFile restored_file("backup-restored");
  FF_ASSIGN_OR_RETURN(std::unique_ptr<FileVolume> restored,
                      create_file_volume(restored_file.path(), image_bytes));
  ::sync();
  start = Clock::now();
  FF_TRY(restore(*repository, incremental.set.volumes.at(0).id, *restored));
  const double restore_s = seconds_since(start);
  state.counters["restore_s"] = restore_s;
  state.counters["restore_mib_per_s"] = mib(image_bytes) / restore_s;
  FF_TRY(compare_volumes(*second_volume, *restored, image_bytes));
  FF_TRY(compare_volumes(*origin, *restored, image_bytes));
  FF_TRY(check_no_overflow(provider));

  state.counters["image_bytes"] = static_cast<double>(image_bytes);
  state.counters["provider_chunk_bytes"] = kDefaultChunkBytes;
  state.counters["changed_chunks"] = static_cast<double>(changed_chunks);
  if (uses("zstd")) {
    state.counters["zstd_mib_per_s"] = mib(image_bytes) / state.counters["zstd_durable_s"];
  }
  set_ratio(state, "ratio_full_to_zstd", "zstd_durable_s", "full_s");
  set_ratio(state, "ratio_full_to_zstd_command", "zstd_s", "full_s");
  set_ratio(state, "ratio_restic_incremental_to_ours", "restic_incremental_s", "incremental_s");
  set_ratio(state, "ratio_borg_incremental_to_ours", "borg_incremental_s", "incremental_s");
  set_ratio(state, "ratio_restore_to_raw_write", "raw_write_s", "restore_s");
  set_ratio(state, "ratio_repository_to_borg", "repository_bytes", "borg_repository_bytes");
  set_ratio(state, "ratio_repository_full_to_borg", "repository_full_bytes",
            "borg_full_repository_bytes");
  state.SetIterationTime(full_s);
  state.SetBytesProcessed(static_cast<std::int64_t>(image_bytes));
  return Status();
}

}  // namespace

void register_backup_benchmarks() {
  const Settings& s = settings();
  std::string name = BenchName("backup")
                         .add("image_mib", s.backup_image_bytes / kMiB)
                         .add("sparse_mib", s.backup_sparse_bytes / kMiB)
                         .add("tools", tools_label())
                         .str();
  register_benchmark(
      name, [](benchmark::State& state) { run_once(state, [&] { return run_backup(state); }); });
}

}  // namespace freezeframe::bench
