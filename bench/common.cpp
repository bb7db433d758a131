// Shared machinery of the freezeframe benchmark suites; see common.h.
#include "common.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <utility>

#include "freezeframe/enum_names.h"

namespace freezeframe::bench {
namespace {

using Clock = std::chrono::steady_clock;

std::atomic<bool> g_failed{false};

struct SharedOrigin {
  std::unique_ptr<FileVolume> volume;
  std::string path;
};

std::map<std::uint64_t, SharedOrigin>& shared_origins() {
  static std::map<std::uint64_t, SharedOrigin> origins;
  return origins;
}

double seconds_between(Clock::time_point start, Clock::time_point end) {
  return std::chrono::duration<double>(end - start).count();
}

bool parse_u64(std::string_view text, std::uint64_t& out) {
  const char* end = text.data() + text.size();
  auto [ptr, error] = std::from_chars(text.data(), end, out);
  return error == std::errc() && ptr == end && out > 0;
}

// "none", or a comma-separated list of known tools (each once).
std::optional<std::vector<std::string>> parse_tools(std::string_view text) {
  std::vector<std::string> tools;
  if (text == "none") {
    return tools;
  }
  while (true) {
    const std::size_t comma = text.find(',');
    const std::string tool(text.substr(0, comma));
    if ((tool != "zstd" && tool != "restic" && tool != "borg") ||
        std::find(tools.begin(), tools.end(), tool) != tools.end()) {
      return std::nullopt;
    }
    tools.push_back(tool);
    if (comma == std::string_view::npos) {
      return tools;
    }
    text.remove_prefix(comma + 1);
  }
}

}  // namespace

Settings& settings() {
  static Settings value;
  return value;
}

std::optional<std::string> parse_flags(int argc, char** argv) {
  Settings& s = settings();
  std::optional<std::uint64_t> volume_mib;
  std::optional<std::uint64_t> ops;
  std::optional<std::uint64_t> backup_image_mib;
  std::optional<std::vector<std::string>> backup_tools;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::uint64_t number = 0;
    if (arg.starts_with("--dir=") && arg.size() > 6) {
      s.dir = std::string(arg.substr(6));
    } else if (arg == "--direct") {
      s.direct_io = true;
    } else if (arg == "--smoke") {
      s.smoke = true;
    } else if (arg == "--full") {
      s.full = true;
    } else if (arg.starts_with("--volume-mib=")) {
      if (!parse_u64(arg.substr(13), number)) {
        return "flag " + std::string(arg) + ": expected a positive whole number of MiB";
      }
      volume_mib = number;
    } else if (arg.starts_with("--ops=")) {
      if (!parse_u64(arg.substr(6), number)) {
        return "flag " + std::string(arg) + ": expected a positive whole number";
      }
      ops = number;
    } else if (arg.starts_with("--backup-image-mib=")) {
      if (!parse_u64(arg.substr(19), number)) {
        return "flag " + std::string(arg) + ": expected a positive whole number of MiB";
      }
      backup_image_mib = number;
    } else if (arg.starts_with("--backup-tools=")) {
      std::optional<std::vector<std::string>> tools = parse_tools(arg.substr(15));
      if (!tools) {
        return "flag " + std::string(arg) +
               ": expected none or a comma-separated list of zstd, restic, borg";
      }
      backup_tools = std::move(tools);
    } else {
      return "unknown flag " + std::string(arg) + " (see --help)";
    }
  }
  if (s.smoke && s.full) {
    return "flags --smoke and --full exclude each other";
  }
  if (s.smoke) {
    s.volume_bytes = 16 * kMiB;
    s.ops = 64;
    s.snapshot_creates = 3;
    s.snapshot_op_repetitions = 1;
    s.space_changed_bytes = 4 * kMiB;
    s.backup_image_bytes = 32 * kMiB;
    s.backup_sparse_bytes = 64 * kMiB;
    s.backup_sparse_data_bytes = kMiB;
    s.backup_tools.clear();
  } else if (s.full) {
    s.volume_bytes = 1024 * kMiB;
    s.ops = 16384;
    s.snapshot_creates = 50;
    s.snapshot_op_repetitions = 3;
    s.space_changed_bytes = 256 * kMiB;
  }
  if (volume_mib) {
    s.volume_bytes = *volume_mib * kMiB;
  }
  if (ops) {
    s.ops = *ops;
  }
  if (backup_image_mib) {
    s.backup_image_bytes = *backup_image_mib * kMiB;
  }
  if (backup_tools) {
    s.backup_tools = std::move(*backup_tools);
  }
  s.space_changed_bytes = std::min(s.space_changed_bytes, s.volume_bytes / 2);
  return std::nullopt;
}

void print_flags_help() {
  std::printf(
      "\nfreezeframe flags:\n"
      "  --dir=PATH        scratch directory for image files (default: a fresh directory\n"
      "                    under $TMPDIR or /tmp, removed at exit)\n"
      "  --direct          open every image file with direct I/O (bypass the page cache)\n"
      "  --volume-mib=N    origin size of the write, read, space and sweep suites (256)\n"
      "  --ops=N           writes per timed write pass (4096)\n"
      "  --smoke           tiny sizes: every benchmark once, quickly (CI); the backup suite\n"
      "                    runs a 32 MiB image and no other tool\n"
      "  --full            larger sizes (1024 MiB, 16384 ops) and bigger parameter sets\n"
      "  --backup-image-mib=N  image size of the backup suite (1024; smoke 32)\n"
      "  --backup-tools=LIST   tools the backup suite compares with: none or a comma-\n"
      "                    separated list of zstd, restic, borg (all three; smoke none)\n");
}

Status prepare_scratch_dir() {
  Settings& s = settings();
  if (!s.dir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(s.dir, error);
    if (error) {
      return Status(ErrorCode::kIoError,
                    "cannot create scratch directory " + s.dir + ": " + error.message());
    }
    return Status();
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/freezeframe-bench-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) {
    return Status(ErrorCode::kIoError, "cannot create a scratch directory like " + pattern);
  }
  s.dir = buffer.data();
  s.remove_dir = true;
  return Status();
}

void cleanup() {
  for (auto& [size, origin] : shared_origins()) {
    origin.volume.reset();
    std::error_code error;
    std::filesystem::remove(origin.path, error);
  }
  shared_origins().clear();
  Settings& s = settings();
  if (s.remove_dir && !s.dir.empty()) {
    std::error_code error;
    std::filesystem::remove_all(s.dir, error);
  }
}

void skip(benchmark::State& state, const Status& status) {
  g_failed = true;
  std::string message = status.to_string();
  state.SkipWithError(message.c_str());
}

bool any_benchmark_failed() {
  return g_failed;
}

std::vector<std::string>& registered_names() {
  static std::vector<std::string> names;
  return names;
}

BenchName& BenchName::add(std::string_view key, std::string_view value) {
  text_ += '/';
  text_ += key;
  text_ += ':';
  text_ += value;
  return *this;
}

BenchName& BenchName::add(std::string_view key, std::uint64_t value) {
  return add(key, std::to_string(value));
}

std::string_view provider_name(Provider provider) noexcept {
  static constexpr EnumName<Provider> kNames[] = {
      {Provider::kRaw, "raw"}, {Provider::kCow, "cow"}, {Provider::kRow, "row"}};
  return name_of(kNames, provider, "?");
}

ScratchFile::ScratchFile(std::string_view stem) {
  static std::uint64_t counter = 0;
  path_ = settings().dir + "/" + std::string(stem) + "-" + std::to_string(++counter) + ".img";
}

ScratchFile::~ScratchFile() {
  std::error_code error;
  std::filesystem::remove(path_, error);
}

Result<std::unique_ptr<FileVolume>> create_file_volume(const std::string& path,
                                                       std::uint64_t size_bytes) {
  return FileVolume::create(path, {.size_bytes = size_bytes,
                                   .sector_bytes = 512,
                                   .direct_io = settings().direct_io,
                                   .overwrite = true});
}

Result<FileVolume*> shared_origin(std::uint64_t size_bytes) {
  auto found = shared_origins().find(size_bytes);
  if (found != shared_origins().end()) {
    return found->second.volume.get();
  }
  std::string path = settings().dir + "/origin-" + std::to_string(size_bytes >> 20) + "mib.img";
  auto fill = [&]() -> Result<std::unique_ptr<FileVolume>> {
    FF_ASSIGN_OR_RETURN(std::unique_ptr<FileVolume> volume, create_file_volume(path, size_bytes));
    Random random(0x0419);
    std::vector<std::byte> block(std::min<std::uint64_t>(size_bytes, 4 * kMiB));
    random.fill(block);
    for (std::uint64_t at = 0; at < size_bytes; at += block.size()) {
      std::span<const std::byte> piece(block.data(), std::min(block.size(), size_bytes - at));
      FF_TRY(volume->write(at, piece));
    }
    FF_TRY(volume->flush());
    return volume;
  };
  Result<std::unique_ptr<FileVolume>> filled = fill();
  if (!filled.ok()) {
    std::error_code error;
    std::filesystem::remove(path, error);
    return filled.status();
  }
  SharedOrigin& origin = shared_origins()[size_bytes];
  origin.path = path;
  origin.volume = std::move(filled).value();
  return origin.volume.get();
}

Stack::~Stack() {
  // The provider goes before the volumes it stacks on, the diff volume before its file.
  snapshots.reset();
  diff.reset();
  diff_file.reset();
}

Result<std::unique_ptr<Stack>> make_stack(Provider provider, FileVolume& origin,
                                          const StackOptions& options) {
  auto stack = std::make_unique<Stack>();
  stack->provider = provider;
  stack->origin = &origin;
  stack->live = &origin;
  if (provider == Provider::kRaw) {
    return stack;
  }
  std::uint64_t diff_bytes =
      options.diff_bytes != 0 ? options.diff_bytes : 3 * origin.size_bytes() + 64 * kMiB;
  stack->diff_file = std::make_unique<ScratchFile>("diff");
  FF_ASSIGN_OR_RETURN(stack->diff, create_file_volume(stack->diff_file->path(), diff_bytes));
  ProviderOptions provider_options;
  provider_options.chunk_bytes = options.chunk_bytes;
  provider_options.limit = DiffAreaLimit::unbounded();
  provider_options.snapshots_max = options.snapshots_max;
  provider_options.compress = options.compress;
  FF_ASSIGN_OR_RETURN(
      stack->snapshots,
      SnapshotProvider::create(
          provider == Provider::kCow ? ProviderKind::kCopyOnWrite : ProviderKind::kRedirectOnWrite,
          origin, *stack->diff, provider_options));
  stack->live = stack->snapshots.get();
  return stack;
}

Status check_no_overflow(const SnapshotProvider& provider) {
  std::vector<ProviderEvent> events = provider.events();
  // A usage warning is no overflow.
  std::erase_if(events, [](const ProviderEvent& event) {
    return event.kind == ProviderEventKind::kUsageAboveWarning;
  });
  if (!events.empty()) {
    return Status(ErrorCode::kNoSpace, "the diff area overflowed during the benchmark (" +
                                           std::to_string(events.size()) +
                                           " events), first: " + events.front().message);
  }
  return Status();
}

std::vector<std::uint64_t> random_distinct_offsets(std::uint64_t volume_bytes,
                                                   std::uint64_t slot_bytes, std::uint64_t count,
                                                   Random& random) {
  std::uint64_t slots = volume_bytes / slot_bytes;
  std::vector<std::uint64_t> offsets(slots);
  for (std::uint64_t i = 0; i < slots; ++i) {
    offsets[i] = i * slot_bytes;
  }
  count = std::min(count, slots);
  // The first `count` steps of a Fisher-Yates shuffle.
  for (std::uint64_t i = 0; i < count; ++i) {
    std::swap(offsets[i], offsets[i + random.uniform(slots - i)]);
  }
  offsets.resize(count);
  return offsets;
}

std::vector<std::uint64_t> random_offsets(std::uint64_t volume_bytes, std::uint64_t align_bytes,
                                          std::uint64_t count, Random& random) {
  std::uint64_t slots = volume_bytes / align_bytes;
  std::vector<std::uint64_t> offsets(count);
  for (auto& offset : offsets) {
    offset = random.uniform(slots) * align_bytes;
  }
  return offsets;
}

std::vector<std::uint64_t> sequential_offsets(std::uint64_t step_bytes, std::uint64_t count) {
  std::vector<std::uint64_t> offsets(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    offsets[i] = i * step_bytes;
  }
  return offsets;
}

Status write_all(Volume& volume, std::span<const std::uint64_t> offsets,
                 std::span<const std::byte> data) {
  for (std::uint64_t offset : offsets) {
    FF_TRY(volume.write(offset, data));
  }
  return Status();
}

Result<PassResult> timed_pass(Volume& volume, Io io, std::span<const std::uint64_t> offsets,
                              std::span<std::byte> buffer) {
  PassResult pass;
  pass.latencies_us.resize(offsets.size());
  // Untimed: write back every dirty page of the system, so that the writeback of the setup
  // (filling volumes, earlier passes) does not run during, and weigh on, this pass.
  ::sync();
  const Clock::time_point start = Clock::now();
  Clock::time_point before = start;
  for (std::size_t i = 0; i < offsets.size(); ++i) {
    Status status =
        io == Io::kWrite ? volume.write(offsets[i], buffer) : volume.read(offsets[i], buffer);
    const Clock::time_point after = Clock::now();
    FF_TRY(status);
    pass.latencies_us[i] = seconds_between(before, after) * 1e6;
    before = after;
  }
  if (io == Io::kWrite) {
    FF_TRY(volume.flush());
    const Clock::time_point after = Clock::now();
    pass.flush_ms = seconds_between(before, after) * 1e3;
    before = after;
  }
  pass.seconds = seconds_between(start, before);
  pass.bytes = offsets.size() * buffer.size();
  std::sort(pass.latencies_us.begin(), pass.latencies_us.end());
  return pass;
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) {
    return 0;
  }
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return percentile(values, 0.5);
}

double bytes_per_second(const PassResult& pass) {
  return static_cast<double>(pass.bytes) / std::max(pass.seconds, 1e-9);
}

void report_pass(benchmark::State& state, const PassResult& pass, Io io) {
  state.SetIterationTime(std::max(pass.seconds, 1e-9));
  state.SetBytesProcessed(static_cast<std::int64_t>(pass.bytes));
  state.counters["mib_per_s"] = bytes_per_second(pass) / static_cast<double>(kMiB);
  state.counters["p50_us"] = percentile(pass.latencies_us, 0.50);
  state.counters["p99_us"] = percentile(pass.latencies_us, 0.99);
  state.counters["ops"] = static_cast<double>(pass.latencies_us.size());
  if (io == Io::kWrite) {
    state.counters["flush_ms"] = pass.flush_ms;
  }
}

std::map<std::string, double>& paired_ratios() {
  static std::map<std::string, double> ratios;
  return ratios;
}

void report_paired_ratio(benchmark::State& state, const std::string& name, const PassResult& pass,
                         const PassResult& raw) {
  const double ratio = bytes_per_second(pass) / std::max(bytes_per_second(raw), 1e-9);
  state.counters["ratio_to_raw"] = ratio;
  state.counters["raw_mib_per_s"] = bytes_per_second(raw) / static_cast<double>(kMiB);
  paired_ratios()[name] = ratio;
}

Status run_write_case(benchmark::State& state, const WriteCase& write_case) {
  const Settings& s = settings();
  FF_ASSIGN_OR_RETURN(FileVolume * origin, shared_origin(s.volume_bytes));
  const std::uint64_t request = write_case.request_bytes;
  // Random writes land on distinct slots of at least a default chunk, so each one is the
  // first write to the chunks it touches (with the default chunk size).
  const std::uint64_t slot = std::max<std::uint64_t>(request, kDefaultChunkBytes);
  Random random(derive_seed(1, write_case.name));
  std::vector<std::uint64_t> offsets =
      write_case.sequential ? sequential_offsets(request, std::min(s.ops, s.volume_bytes / request))
                            : random_distinct_offsets(s.volume_bytes, slot, s.ops, random);
  std::vector<std::byte> data(request);
  random.fill(data);

  // The raw reference of a provider's pass: the same writes on the origin itself, measured
  // just before the provider is set up. Passes minutes apart drift on a shared machine (page
  // cache and disk state, other load); a ratio of two passes made seconds apart does not.
  PassResult raw_pair;
  if (write_case.provider != Provider::kRaw) {
    FF_ASSIGN_OR_RETURN(raw_pair, timed_pass(*origin, Io::kWrite, offsets, data));
  }

  // Older snapshots are each followed by ops/8 untimed one-chunk writes at random chunk
  // offsets, so the index holds chunks with several versions; the newest comes right before
  // the pass. The diff file (sparse) holds every chunk those writes and the passes can copy
  // or redirect, so the overflow policy never acts.
  const std::uint64_t between = std::max<std::uint64_t>(1, s.ops / 8);
  const std::uint64_t between_bytes =
      write_case.snapshots > 1 ? (write_case.snapshots - 1) * between * write_case.chunk_bytes : 0;
  FF_ASSIGN_OR_RETURN(
      std::unique_ptr<Stack> stack,
      make_stack(write_case.provider, *origin,
                 {.chunk_bytes = write_case.chunk_bytes,
                  .snapshots_max = std::max<std::uint32_t>(64, write_case.snapshots),
                  .diff_bytes = 2 * s.volume_bytes + between_bytes + 64 * kMiB}));
  if (stack->snapshots) {
    std::vector<std::byte> chunk(write_case.chunk_bytes);
    random.fill(chunk);
    for (std::uint32_t i = 1; i < write_case.snapshots; ++i) {
      FF_TRY(stack->snapshots->create_snapshot().status());
      FF_TRY(write_all(*stack->live,
                       random_offsets(s.volume_bytes, write_case.chunk_bytes, between, random),
                       chunk));
    }
    FF_TRY(stack->snapshots->create_snapshot().status());
  }
  if (write_case.rewrite) {
    FF_TRY(write_all(*stack->live, offsets, data));
  }
  FF_TRY(stack->live->flush());

  ProviderStats before;
  if (stack->snapshots) {
    before = stack->snapshots->stats();
  }
  FF_ASSIGN_OR_RETURN(PassResult pass, timed_pass(*stack->live, Io::kWrite, offsets, data));
  report_pass(state, pass, Io::kWrite);
  if (write_case.provider == Provider::kRaw) {
    state.counters["ratio_to_raw"] = 1.0;
  } else {
    report_paired_ratio(state, write_case.name, pass, raw_pair);
    // Each side divided by its own raw pass, so drift between the two benchmarks cancels.
    auto one = paired_ratios().find(write_case.one_snapshot_name);
    if (!write_case.one_snapshot_name.empty() && one != paired_ratios().end() && one->second > 0)
      state.counters["ratio_to_one_snapshot"] = paired_ratios()[write_case.name] / one->second;
  }
  if (stack->snapshots) {
    FF_TRY(check_no_overflow(*stack->snapshots));
    ProviderStats after = stack->snapshots->stats();
    state.counters["chunks_preserved"] =
        static_cast<double>(after.chunks_preserved - before.chunks_preserved);
    state.counters["chunks_redirected"] =
        static_cast<double>(after.chunks_redirected - before.chunks_redirected);
    state.counters["read_modify_writes"] =
        static_cast<double>(after.read_modify_writes - before.read_modify_writes);
  }
  return Status();
}

}  // namespace freezeframe::bench
