// Fuzz target: the simulator (sim/include/freezeframe/sim/world.h) as a structured fuzzer.
// The input chooses a world and then its choices: bytes 0-7 the seed (little-endian), byte 8
// the steps (1 to 48, short so that executions stay fast), byte 9 the volumes (0: drawn from
// the seed, else 1 to 4), byte 10 the volume size (64 to 256 KiB), byte 11 bit 0 whether the
// world backs up into a scratch repository and bit 1 whether it takes snapshot sets. Every
// byte after those is the world's choice tape (WorldOptions::choices, random.h ChoiceTape):
// the steps, the volumes they act on, each volume's operations and extents, crash outcomes,
// I/O faults, writer faults and the interleavings of concurrent steps, in the order the
// world draws them; the seed decides what the tape leaves open. Coverage guidance therefore
// steers the schedule and the faults, not only the seed. A finding (a broken invariant) or a
// world that cannot run is printed with its replay command (`freezeframe sim ... --choices
// HEX`) and the target traps.
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
  const std::uint8_t flags = in.byte();
  if ((flags & 1) != 0)
    options.scratch_dir = scratch();
  options.snapshot_sets = (flags & 2) == 0;
  const auto tape = in.rest();
  options.choices.assign(reinterpret_cast<const std::uint8_t*>(tape.data()),
                         reinterpret_cast<const std::uint8_t*>(tape.data()) + tape.size());
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
  // The same shapes with short choice tapes, for the mutator to start from.
  out.push_back({5, 0, 0, 0, 0, 0, 0, 0, 15, 2, 1, 0, 0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5});
  out.push_back({11, 0, 0, 0, 0, 0, 0, 0, 15, 3, 0, 1, 40, 60, 41, 61, 42, 62, 43, 63});
  out.push_back({13, 0, 0, 0, 0, 0, 0, 0, 7, 2, 0, 0, 99, 1, 2, 3, 99, 4, 5, 6, 99, 7, 8, 9});
  return out;
}
