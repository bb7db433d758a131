// Shared machinery of the freezeframe benchmark suites (bench/freezeframe_bench): settings
// from the command line, scratch image files, volume and provider stacks, the timed pass, the
// counters and the reference figures the ratios divide by. Every suite goes through this one
// file, so the write, read, snapshot, space and sweep suites measure alike.
//
// Conventions every suite keeps (the naming and counter contract, see bench/README.md):
// - each benchmark is registered once with RegisterBenchmark under the name
//   `<suite>/<key>:<value>/...`, runs exactly one iteration, and that iteration is one full
//   timed pass whose duration is reported as manual time;
// - counters are plain numbers, except bytes_per_second (SetBytesProcessed);
// - a failed volume or provider call skips the benchmark with the Status message and makes the
//   process exit non-zero (any_benchmark_failed()).
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "freezeframe/file_volume.h"
#include "freezeframe/random.h"
#include "freezeframe/snapshot_provider.h"

namespace freezeframe::bench {

constexpr std::uint64_t kKiB = 1024;
constexpr std::uint64_t kMiB = 1024 * kKiB;
constexpr std::uint64_t kGiB = 1024 * kMiB;

// The chunk size of every provider outside the chunk sweep, and the unit the random write
// offsets are aligned to (so one write touches chunks no other write of the pass touches).
constexpr std::uint32_t kDefaultChunkBytes = 16 * 1024;

struct Settings {
  // Scratch directory for image files; removed at exit when the benchmark made it.
  std::string dir;
  bool remove_dir = false;
  bool direct_io = false;
  bool smoke = false;
  bool full = false;
  // Origin size of the write, read, space and sweep suites.
  std::uint64_t volume_bytes = 256 * kMiB;
  // Requests per timed write pass.
  std::uint64_t ops = 4096;
  // Snapshot creates timed per snapshot/op:create benchmark.
  std::uint32_t snapshot_creates = 50;
  // Fresh setups (and timed operations) per snapshot/op:delete_*, revert, consolidate.
  std::uint32_t snapshot_op_repetitions = 3;
  // Bytes written after the snapshot in the space suite.
  std::uint64_t space_changed_bytes = 64 * kMiB;
  // Backup suite: the mixed image, the sparse volume of the memory measurement and the data
  // it holds, and the tools compared against (any of zstd, restic, borg).
  std::uint64_t backup_image_bytes = kGiB;
  std::uint64_t backup_sparse_bytes = 16 * kGiB;
  std::uint64_t backup_sparse_data_bytes = kGiB;
  std::vector<std::string> backup_tools = {"zstd", "restic", "borg"};
};

Settings& settings();

// Parses the suite's own flags, left in argv by benchmark::Initialize. Returns an error
// message naming the first flag it does not know or cannot read.
std::optional<std::string> parse_flags(int argc, char** argv);
// Prints the suite's own flags (after Google Benchmark's help).
void print_flags_help();

// Creates the scratch directory (mkdtemp under $TMPDIR or /tmp) unless --dir named one.
Status prepare_scratch_dir();
// Closes the shared origins and removes their files and the scratch directory if made here.
void cleanup();

// A failed call: skips the benchmark with the Status message and records the failure.
void skip(benchmark::State& state, const Status& status);
bool any_benchmark_failed();

// Runs `body` as the benchmark's one iteration; a non-OK Status skips the benchmark.
template <typename Body>
void run_once(benchmark::State& state, Body&& body) {
  for (auto _ : state) {
    Status status = body();
    if (!status.ok()) {
      skip(state, status);
    }
  }
}

// Removes the setup the read suite shares between its benchmarks (see read_bench.cpp).
void release_read_setup();

// The suffix Google Benchmark appends to the name of every benchmark registered below (and
// matches --benchmark_filter against); the reporters drop it.
constexpr std::string_view kRegisteredSuffix = "/iterations:1/manual_time";

// Names registered so far, in registration (and run) order.
std::vector<std::string>& registered_names();

// Registers `fn(state)` under `name` with one iteration and manual time, the contract of
// every benchmark of the suite.
template <typename Fn>
void register_benchmark(const std::string& name, Fn fn) {
  registered_names().push_back(name);
  const bool read_suite = name.starts_with("read/");
  benchmark::RegisterBenchmark(name.c_str(),
                               [fn, read_suite](benchmark::State& state) {
                                 if (!read_suite) {
                                   release_read_setup();
                                 }
                                 fn(state);
                               })
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

// `<suite>/<key>:<value>/...`.
class BenchName {
 public:
  explicit BenchName(std::string_view suite) : text_(suite) {}
  BenchName& add(std::string_view key, std::string_view value);
  BenchName& add(std::string_view key, std::uint64_t value);
  const std::string& str() const noexcept { return text_; }

 private:
  std::string text_;
};

enum class Provider { kRaw, kCow, kRow };
constexpr Provider kAllProviders[] = {Provider::kRaw, Provider::kCow, Provider::kRow};
std::string_view provider_name(Provider provider) noexcept;

// A file in the scratch directory, removed when this object goes.
class ScratchFile {
 public:
  explicit ScratchFile(std::string_view stem);
  ~ScratchFile();
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

// A sparse image file of `size_bytes` (direct I/O with --direct).
Result<std::unique_ptr<FileVolume>> create_file_volume(const std::string& path,
                                                       std::uint64_t size_bytes);

// The origin of `size_bytes` shared by the suites: created on first use, written in full (so
// it is allocated and in the page cache), kept until exit. Its content does not matter.
Result<FileVolume*> shared_origin(std::uint64_t size_bytes);

struct StackOptions {
  std::uint32_t chunk_bytes = kDefaultChunkBytes;
  bool compress = false;
  std::uint32_t snapshots_max = 64;
  // 0: three times the origin plus 64 MiB, sparse.
  std::uint64_t diff_bytes = 0;
};

// The volume a benchmark writes: the origin itself (raw) or a provider on it over a fresh
// diff-area image file (unbounded limit), removed with the stack.
struct Stack {
  Provider provider = Provider::kRaw;
  FileVolume* origin = nullptr;
  std::unique_ptr<ScratchFile> diff_file;
  std::unique_ptr<FileVolume> diff;
  std::unique_ptr<SnapshotProvider> snapshots;
  Volume* live = nullptr;

  Stack() = default;
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;
  ~Stack();
};

Result<std::unique_ptr<Stack>> make_stack(Provider provider, FileVolume& origin,
                                          const StackOptions& options = {});

// Fails if the provider's overflow policy acted (a deleted or invalidated snapshot, a refused
// write): the benchmark would not measure what its name says.
Status check_no_overflow(const SnapshotProvider& provider);

// `count` distinct offsets, multiples of `slot_bytes` below `volume_bytes`, in random order.
std::vector<std::uint64_t> random_distinct_offsets(std::uint64_t volume_bytes,
                                                   std::uint64_t slot_bytes, std::uint64_t count,
                                                   Random& random);
// `count` offsets, multiples of `align_bytes` below `volume_bytes`, drawn with replacement.
std::vector<std::uint64_t> random_offsets(std::uint64_t volume_bytes, std::uint64_t align_bytes,
                                          std::uint64_t count, Random& random);
// 0, step, 2 step, ... (`count` of them).
std::vector<std::uint64_t> sequential_offsets(std::uint64_t step_bytes, std::uint64_t count);

// Writes `data` at each offset (untimed), stopping at the first error.
Status write_all(Volume& volume, std::span<const std::uint64_t> offsets,
                 std::span<const std::byte> data);

enum class Io { kRead, kWrite };

struct PassResult {
  std::uint64_t bytes = 0;
  // The whole pass: every request and, for writes, the one flush after them.
  double seconds = 0;
  // One per request, microseconds, sorted; the flush is not among them.
  std::vector<double> latencies_us;
  double flush_ms = 0;
};

// The timed pass: one request of `buffer.size()` bytes at each offset (steady_clock around
// each call), then, for writes, one flush() of `volume`.
Result<PassResult> timed_pass(Volume& volume, Io io, std::span<const std::uint64_t> offsets,
                              std::span<std::byte> buffer);

// Nearest-rank percentile of sorted values, p in (0, 1]; 0 when empty.
double percentile(const std::vector<double>& sorted, double p);
double median(std::vector<double> values);

// Reports a pass: manual time, bytes_per_second, mib_per_s, p50_us, p99_us (and flush_ms for
// writes).
void report_pass(benchmark::State& state, const PassResult& pass, Io io);

// One benchmark of the write suite or the chunk sweep.
struct WriteCase {
  std::string name;
  // ratio_to_one_snapshot divides by this benchmark's ratio_to_raw; "" for none.
  std::string one_snapshot_name;
  Provider provider = Provider::kRaw;
  bool sequential = false;
  bool rewrite = false;
  std::uint64_t request_bytes = 16 * kKiB;
  std::uint32_t snapshots = 1;
  std::uint32_t chunk_bytes = kDefaultChunkBytes;
};

Status run_write_case(benchmark::State& state, const WriteCase& write_case);

// Sets ratio_to_raw = pass / raw and raw_mib_per_s, for a raw pass made just before `pass`
// with the same requests (a paired reference), and remembers the ratio under `name`.
void report_paired_ratio(benchmark::State& state, const std::string& name, const PassResult& pass,
                         const PassResult& raw);

// Suite registration, in the order they run.
void register_write_benchmarks();
void register_read_benchmarks();
void register_snapshot_benchmarks();
void register_space_benchmarks();
void register_sweep_benchmarks();
void register_backup_benchmarks();

}  // namespace freezeframe::bench
