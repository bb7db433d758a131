// Fuzz target: the simulator (sim/include/freezeframe/sim/world.h) as a structured fuzzer.
// The input chooses a world's options: bytes 0-7 the seed (little-endian), byte 8 the steps
// (1 to 48, short so that executions stay fast), byte 9 the volumes (0: drawn from the seed,
// else 1 to 4), byte 10 the volume size (64 to 256 KiB), byte 11 bit 0 whether the world
// backs up into a scratch repository and bit 1 whether it takes snapshot sets. Coverage
// guidance then steers seeds toward engine states that other seeds did not reach. A finding
// (a broken invariant) or a world that cannot run is printed with its replay command and the
// target traps.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "freezeframe/sim/world.h"
#include "fuzz_support.h"

namespace ff = freezeframe;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kStepsMax = 48;

const fs::path& scratch() {
  static const fs::path dir = [] {
    const char* base = std::getenv("FREEZEFRAME_TEST_TMPDIR");
    fs::path path = (base != nullptr ? fs::path(base) : fs::temp_directory_path()) /
                    ("freezeframe-fuzz-sim-" + std::to_string(std::random_device()()));
    fs::create_directories(path);
    return path;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ff::fuzz::Reader in(data, size);
  ff::sim::WorldOptions options;
  options.seed = in.u32();
  options.seed |= std::uint64_t{in.u32()} << 32;
  options.steps = 1 + in.byte() % kStepsMax;
  options.volumes = in.byte() % 5;
  options.volume_bytes = (64 << 10) * (1 + in.byte() % 4);
  options.diff_bytes = 4 << 20;
  const std::uint8_t flags = in.byte();
  if ((flags & 1) != 0)
    options.scratch_dir = scratch();
  options.snapshot_sets = (flags & 2) == 0;
  auto report = ff::sim::run_world(options);
  if (!report.ok()) {
    std::fprintf(stderr, "world did not run: %s\nfreezeframe sim %s\n",
                 report.status().to_string().c_str(), ff::sim::world_arguments(options).c_str());
    __builtin_trap();
  }
  if (report->finding) {
    std::fprintf(stderr, "%s\n", report->finding->to_string().c_str());
    __builtin_trap();
  }
  return 0;
}

std::vector<ff::fuzz::Input> ff::fuzz::seeds() {
  std::vector<Input> out;
  // Seeds 1, 42 and 977 (the demo's), 24 steps, each shape once.
  out.push_back({1, 0, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0});
  out.push_back({42, 0, 0, 0, 0, 0, 0, 0, 23, 3, 3, 0});
  out.push_back({209, 3, 0, 0, 0, 0, 0, 0, 23, 1, 0, 1});
  out.push_back({7, 0, 0, 0, 0, 0, 0, 0, 47, 2, 1, 2});
  return out;
}
