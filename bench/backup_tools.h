// What the backup suite (backup_bench.cpp) needs beside the library: the mixed test image,
// the tools it compares against (zstd, restic, borg: programs run and timed by wall clock),
// the disk use of a directory, and the process's peak resident memory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "freezeframe/random.h"
#include "freezeframe/status.h"
#include "freezeframe/volume.h"

namespace freezeframe::bench {

// Writes `length` bytes of mixed data at `offset` of `volume` (both multiples of
// kMixedBlockBytes), block by block: half the blocks random bytes, a quarter zeros (written,
// not holes) and a quarter text-like data (words of a fixed vocabulary drawn by `random`),
// in an order shuffled by `random`. The same seed gives the same bytes.
constexpr std::uint64_t kMixedBlockBytes = 1 << 20;
Status write_mixed(Volume& volume, std::uint64_t offset, std::uint64_t length, Random& random);

// Byte-wise comparison of [0, size) of two volumes of that size at least, in 4 MiB reads;
// kCorrupt naming the first differing 4 MiB block.
Status compare_volumes(Volume& expected, Volume& actual, std::uint64_t size_bytes);

// An external program run with its output appended to a log file.
struct ToolRun {
  std::string program;
  std::vector<std::string> arguments;
  std::vector<std::pair<std::string, std::string>> environment;
};

// Runs `run` and returns its wall-clock time in seconds (process start to exit). kNotFound
// when the program is not installed (naming scripts/setup_backup_bench.sh); kIoError when it
// exits non-zero, with the last line of its output from `log_path`.
Result<double> timed_tool(const ToolRun& run, const std::string& log_path);

// Whether `program` can be found on PATH.
bool tool_found(const std::string& program);

// Bytes of storage the files under `dir` occupy (allocated blocks, as `du` counts them).
std::uint64_t disk_usage_bytes(const std::filesystem::path& dir);

// The process's resident memory now (VmRSS) and its peak since start or the last
// reset_peak_resident() (VmHWM), from /proc/self/status.
struct ResidentMemory {
  std::uint64_t current_bytes = 0;
  std::uint64_t peak_bytes = 0;
};
Result<ResidentMemory> resident_memory();
// Resets the peak to the current resident size (Linux: /proc/self/clear_refs, value 5).
Status reset_peak_resident();

}  // namespace freezeframe::bench
