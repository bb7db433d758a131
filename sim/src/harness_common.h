// What both harness entry points share: option checks, the finding, image copies. Private
// to the sim library.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "freezeframe/memory_volume.h"
#include "freezeframe/sim/harness.h"
#include "freezeframe/status.h"
#include "freezeframe/volume.h"

namespace freezeframe::sim::harness_detail {

// Simulated time each request of a SimVolume costs: enough that freeze and commit windows
// see I/O take time, small next to every deadline.
inline constexpr Nanoseconds kRequestLatency = std::chrono::microseconds(100);
inline constexpr std::uint64_t kVolumeBytesMin = std::uint64_t{64} * 1024;
inline constexpr std::uint64_t kVolumeBytesMax = 64ull << 20;
// The diff volume: room for the journal and for every kept snapshot's chunks several times
// over (RoW redirects each rewrite after a snapshot), so the diff area never fills.
inline std::uint64_t diff_bytes_for(std::uint64_t volume_bytes, std::uint32_t snapshots_max) {
  return (16ull << 20) + 4 * volume_bytes * (std::uint64_t{snapshots_max} + 1);
}
inline constexpr std::uint32_t kChunkBytes = 4096;

// kInvalidArgument naming `entry` and `what` when `condition` is false.
Status require(bool condition, std::string_view entry, std::string_view what);
// The checks shared by both entry points' options.
Status check_common(std::string_view entry, std::uint64_t steps, std::uint64_t volume_bytes,
                    std::uint32_t sector_bytes, double fault_probability,
                    const std::string& replay_command);
bool in_unit_interval(double value) noexcept;

// Records the first finding of a run.
class FindingSink {
 public:
  FindingSink(std::uint64_t seed, std::string replay_command)
      : seed_(seed), replay_command_(std::move(replay_command)) {}

  // Keeps the first finding only; later ones are consequences of it.
  void fail(std::uint64_t step, std::string operation, std::string what);
  bool failed() const noexcept { return finding_.has_value(); }
  std::optional<HarnessFinding>& finding() noexcept { return finding_; }

 private:
  std::uint64_t seed_;
  std::string replay_command_;
  std::optional<HarnessFinding> finding_{};
};

// Reads all of `volume`.
Result<std::vector<std::byte>> read_image(Volume& volume);
// A writable memory volume holding `image`, with `source`'s name and sector size.
Result<std::unique_ptr<MemoryVolume>> copy_of(const Volume& source,
                                              const std::vector<std::byte>& image);
// A memory volume of `bytes` with a UUID derived from the name, so runs are reproducible.
Result<std::unique_ptr<MemoryVolume>> memory_volume(const std::string& name, std::uint64_t bytes,
                                                    std::uint32_t sector_bytes);
// The provider kind of a run: the option, else drawn from the seed.
ProviderKind choose_kind(const std::optional<ProviderKind>& kind, std::uint64_t seed);

}  // namespace freezeframe::sim::harness_detail
