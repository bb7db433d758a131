// The vendor harness example as a libFuzzer target: the fuzzer's input runs the kv log
// (kv_log.h) through the harness, and coverage guidance chooses where snapshots, power
// losses, kills and I/O errors land, which unflushed sectors survive, and the log's own
// random keys and values. A vendor's fuzz target looks like this one.
//
// Input: byte 0 bit 0 the mode (0 app, 1 writer); bytes 1-8 the seed (little-endian); every
// byte after them is the harness's choice tape (harness.h, "Fuzzing"). KV_LOG_BUGGY=1 in the
// environment runs the buggy log, which the fuzzer must find (scripts/fuzz.sh --ci).
//
// A finding prints the harness's report and traps; libFuzzer saves the input, and running
// this program on that file replays the run.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "freezeframe/sim/harness.h"
#include "kv_log.h"

namespace {

// Short runs keep executions fast; the tape decides what happens in them.
constexpr std::uint64_t kSteps = 30;
constexpr std::uint64_t kVolumeBytes = 256 << 10;

bool buggy() {
  static const bool value = [] {
    const char* text = std::getenv("KV_LOG_BUGGY");
    return text != nullptr && text[0] == '1';
  }();
  return value;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bool writer = size > 0 && (data[0] & 1) != 0;
  std::uint64_t seed = 0;
  for (std::size_t i = 1; i < 9 && i < size; ++i)
    seed |= std::uint64_t{data[i]} << (8 * (i - 1));
  const std::vector<std::uint8_t> tape(size > 9 ? data + 9 : data + size, data + size);
  const bool bug = buggy();
  freezeframe::Result<freezeframe::sim::HarnessReport> report =
      freezeframe::invalid_argument("no run");
  if (writer) {
    freezeframe::sim::WriterHarnessOptions options;
    options.seed = seed;
    options.steps = kSteps;
    options.volume_bytes = kVolumeBytes;
    options.choices = tape;
    options.replay_command = "vendor_harness_fuzz <the saved input> (seed {seed})";
    options.make_writer = [bug](std::size_t index, freezeframe::Volume& volume)
        -> freezeframe::Result<std::unique_ptr<freezeframe::sim::HarnessWriter>> {
      return std::unique_ptr<freezeframe::sim::HarnessWriter>(
          std::make_unique<kv_log::KvLogWriter>(index, volume, bug));
    };
    report = freezeframe::sim::run_writer_harness(options);
  } else {
    freezeframe::sim::ApplicationHarnessOptions options;
    options.seed = seed;
    options.steps = kSteps;
    options.volume_bytes = kVolumeBytes;
    options.choices = tape;
    options.replay_command = "vendor_harness_fuzz <the saved input> (seed {seed})";
    options.make_application = [bug] { return std::make_unique<kv_log::KvLogApp>(bug); };
    report = freezeframe::sim::run_application_harness(options);
  }
  if (!report.ok()) {
    std::fprintf(stderr, "vendor_harness_fuzz: %s\n", report.status().to_string().c_str());
    __builtin_trap();
  }
  if (!report->ok()) {
    std::fprintf(stderr, "%s\n", report->to_string().c_str());
    __builtin_trap();
  }
  return 0;
}
