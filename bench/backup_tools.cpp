// The mixed image, external tools, disk use and resident memory of the backup suite; see
// backup_tools.h.
#include "backup_tools.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string_view>
#include <system_error>

#include "freezeframe/process.h"

namespace freezeframe::bench {
namespace {

enum class BlockKind { kRandom, kZero, kText };

// A fixed vocabulary: text-like data that compresses about as well as prose or logs.
constexpr std::array<std::string_view, 64> kWords = {
    "the",     "volume", "snapshot", "backup", "chunk",    "of",       "and",      "a",
    "to",      "in",     "is",       "that",   "write",    "read",     "extent",   "journal",
    "index",   "record", "diff",     "area",   "origin",   "provider", "copy",     "redirect",
    "restore", "verify", "pack",     "frame",  "manifest", "set",      "change",   "id",
    "offset",  "length", "sector",   "block",  "device",   "file",     "system",   "error",
    "status",  "ok",     "commit",   "flush",  "barrier",  "crash",    "recovery", "checksum",
    "hash",    "for",    "with",     "on",     "at",       "by",       "from",     "this",
    "it",      "as",     "be",       "was",    "are",      "not",      "or",       "data"};

void fill_text(std::span<std::byte> out, Random& random) {
  std::size_t at = 0;
  std::uint32_t words_on_line = 0;
  while (at < out.size()) {
    std::string_view word = kWords[random.uniform(kWords.size())];
    const char separator = ++words_on_line % 12 == 0 ? '\n' : ' ';
    for (char c : word) {
      if (at == out.size()) {
        return;
      }
      out[at++] = static_cast<std::byte>(c);
    }
    if (at < out.size()) {
      out[at++] = static_cast<std::byte>(separator);
    }
  }
}

std::string last_line_of(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::string last;
  while (std::getline(in, line)) {
    if (!line.empty()) {
      last = line;
    }
  }
  return last;
}

}  // namespace

Status write_mixed(Volume& volume, std::uint64_t offset, std::uint64_t length, Random& random) {
  if (offset % kMixedBlockBytes != 0 || length % kMixedBlockBytes != 0) {
    return Status(ErrorCode::kInvalidArgument,
                  "mixed data: offset and length must be multiples of 1 MiB");
  }
  const std::uint64_t blocks = length / kMixedBlockBytes;
  std::vector<BlockKind> kinds;
  kinds.insert(kinds.end(), (blocks + 1) / 2, BlockKind::kRandom);
  kinds.insert(kinds.end(), blocks / 4, BlockKind::kZero);
  kinds.resize(blocks, BlockKind::kText);
  for (std::uint64_t i = 0; i + 1 < kinds.size(); ++i) {
    std::swap(kinds[i], kinds[i + random.uniform(kinds.size() - i)]);
  }
  std::vector<std::byte> block(kMixedBlockBytes);
  for (std::uint64_t i = 0; i < blocks; ++i) {
    switch (kinds[i]) {
      case BlockKind::kRandom:
        random.fill(block);
        break;
      case BlockKind::kZero:
        std::fill(block.begin(), block.end(), std::byte{0});
        break;
      case BlockKind::kText:
        fill_text(block, random);
        break;
    }
    FF_TRY(volume.write(offset + i * kMixedBlockBytes, block));
  }
  return Status();
}

Status compare_volumes(Volume& expected, Volume& actual, std::uint64_t size_bytes) {
  constexpr std::uint64_t kStepBytes = 4 << 20;
  std::vector<std::byte> a(kStepBytes);
  std::vector<std::byte> b(kStepBytes);
  for (std::uint64_t at = 0; at < size_bytes; at += kStepBytes) {
    const std::size_t n = std::min(kStepBytes, size_bytes - at);
    FF_TRY(expected.read(at, std::span(a.data(), n)));
    FF_TRY(actual.read(at, std::span(b.data(), n)));
    if (std::memcmp(a.data(), b.data(), n) != 0) {
      return Status(ErrorCode::kCorrupt, "volume '" + actual.name() + "' differs from volume '" +
                                             expected.name() + "' in the 4 MiB at offset " +
                                             std::to_string(at));
    }
  }
  return Status();
}

bool tool_found(const std::string& program) {
  return find_program(program).ok();
}

Result<double> timed_tool(const ToolRun& run, const std::string& log_path) {
  if (!tool_found(run.program)) {
    return Status(ErrorCode::kNotFound, run.program +
                                            " is not installed: run "
                                            "scripts/setup_backup_bench.sh (Debian packages "
                                            "restic, borgbackup, zstd)");
  }
  // The tool's output goes to the log, not to the benchmark's own output (which may be
  // JSON): a shell redirects it and then becomes the tool (exec), so the time is the tool's
  // plus a shell start of about a millisecond. Arguments pass as positional parameters,
  // never parsed again.
  ProgramLaunch launch;
  launch.program = "/bin/sh";
  launch.arguments = {"-c", "log=$1; shift; exec \"$@\" >>\"$log\" 2>&1", "sh", log_path,
                      run.program};
  launch.arguments.insert(launch.arguments.end(), run.arguments.begin(), run.arguments.end());
  launch.environment = run.environment;
  const auto start = std::chrono::steady_clock::now();
  FF_ASSIGN_OR_RETURN(int exit_status, run_program(launch));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (exit_status != 0) {
    std::string command = run.program;
    for (const std::string& argument : run.arguments) {
      command += " " + argument;
    }
    return Status(ErrorCode::kIoError, "'" + command + "' exited with status " +
                                           std::to_string(exit_status) + ": " +
                                           last_line_of(log_path) + " (log " + log_path + ")");
  }
  return seconds;
}

std::uint64_t disk_usage_bytes(const std::filesystem::path& dir) {
  std::uint64_t total = 0;
  std::error_code error;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    struct stat info {};
    if (::lstat(it->path().c_str(), &info) == 0) {
      total += static_cast<std::uint64_t>(info.st_blocks) * 512;
    }
  }
  return total;
}

Result<ResidentMemory> resident_memory() {
  std::ifstream in("/proc/self/status");
  if (!in) {
    return Status(ErrorCode::kUnsupported, "cannot read /proc/self/status");
  }
  ResidentMemory memory;
  bool rss = false;
  bool hwm = false;
  std::string line;
  while (std::getline(in, line)) {
    // "VmHWM:     12345 kB"
    auto kib = [&line] { return std::stoull(line.substr(line.find(':') + 1)) * 1024; };
    if (line.starts_with("VmRSS:")) {
      memory.current_bytes = kib();
      rss = true;
    } else if (line.starts_with("VmHWM:")) {
      memory.peak_bytes = kib();
      hwm = true;
    }
  }
  if (!rss || !hwm) {
    return Status(ErrorCode::kUnsupported, "/proc/self/status has no VmRSS or VmHWM");
  }
  return memory;
}

Status reset_peak_resident() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  if (!out) {
    return Status(ErrorCode::kUnsupported,
                  "cannot reset the peak resident size (/proc/self/clear_refs)");
  }
  return Status();
}

}  // namespace freezeframe::bench
