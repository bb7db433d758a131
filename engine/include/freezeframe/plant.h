// Planted bugs: real defects in the engine that a test build can switch on at run time, so
// that a test (or `freezeframe sim`) shows that the simulator's general invariant checks catch
// them, and that the same seeds pass with every plant off. No rebuild is needed per plant:
// the set of active plants is chosen with set_plants() / ScopedPlants, or from the
// environment variable FREEZEFRAME_PLANT ("name[,name...]") by plants_from_environment().
//
// Which builds have them. The defects are compiled only when the engine is built with the
// CMake option FREEZEFRAME_PLANTS (by default on exactly when FREEZEFRAME_BUILD_TESTS is).
// Without it, every hook inside the engine is the constant `false`, so the defect code is
// dead at compile time and emitted nowhere: an installed or packaged engine carries no
// test-only branch. Such a build still offers this API, so callers need no #if:
// plants_compiled() is false, set_plants() and plants_from_environment() refuse any plant
// with kUnsupported, and plant_names() still lists them.
//
// Cost. With plants compiled, each hook is one relaxed atomic load on its path.
//
// The plants (plant_infos() has the same text):
//   cow-early-overwrite  CoW lets an origin overwrite reach the origin volume before the
//                        preserved copy and its map record are durable (the commit that is
//                        the barrier of invariant 1 is skipped).
//   row-map-before-data  RoW commits a redirected chunk's map record before it writes the
//                        chunk's data, so a crash can leave a durable record over stale data.
//   journal-skip-last    Journal replay drops the last record of every commit group after
//                        the checkpoint.
//   protocol-skip-thaw   A snapshot set that fails at a provider (a veto, an error, a call
//                        past its deadline) is cleaned up without aborting the writers, so
//                        a writer that froze is left frozen.
//   race-unlocked-write  A live write through a provider runs without the provider's
//                        exclusive lock, racing other requests and snapshot creation on the
//                        provider's state: a data race that ThreadSanitizer reports
//                        (scripts/tsan.sh) and no single-threaded check sees.
//   parser-skip-bound    The journal record decoder skips its check that a record's body
//                        fits in the payload, so a truncated record is read past the end of
//                        its buffer (caught by the diff_area_format fuzz target under
//                        AddressSanitizer; docs/testing.md, "Fuzzing").
//
// Thread-safety: every function may be called from any thread. The active set is one
// process-wide value: global mutable state, which STYLE.md otherwise leaves to SQLite, taken
// here because switching a plant without a rebuild is the point and because only test builds
// can switch anything. A change is seen by hooks on other threads eventually (relaxed), so set
// it before the run it is meant for, and do not run, in one process, a test that sets it
// beside one that expects it clear (CTest runs each test in a process of its own).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "freezeframe/status.h"

namespace freezeframe {

enum class Plant : std::uint8_t {
  kCowEarlyOverwrite,
  kRowMapBeforeData,
  kJournalSkipLast,
  kProtocolSkipThaw,
  kRaceUnlockedWrite,
  kParserSkipBound,
};
inline constexpr std::size_t kPlantCount = 6;

// A set of plants, one bit per Plant.
class PlantSet {
 public:
  constexpr PlantSet() = default;
  static constexpr PlantSet from_bits(std::uint32_t bits) noexcept { return PlantSet(bits); }

  constexpr PlantSet& add(Plant plant) noexcept {
    bits_ |= bit(plant);
    return *this;
  }
  constexpr bool contains(Plant plant) const noexcept { return (bits_ & bit(plant)) != 0; }
  constexpr bool empty() const noexcept { return bits_ == 0; }
  constexpr std::uint32_t bits() const noexcept { return bits_; }
  constexpr bool operator==(const PlantSet&) const = default;

 private:
  constexpr explicit PlantSet(std::uint32_t bits) : bits_(bits) {}
  static constexpr std::uint32_t bit(Plant plant) noexcept {
    return std::uint32_t{1} << static_cast<unsigned>(plant);
  }
  std::uint32_t bits_ = 0;
};

struct PlantInfo {
  Plant plant;
  // As FREEZEFRAME_PLANT and `--plant` spell it: "cow-early-overwrite".
  std::string_view name;
  // One line: what the defect does.
  std::string_view description;
};

// Every plant, in enum order.
std::span<const PlantInfo> plant_infos() noexcept;
std::string_view plant_name(Plant plant) noexcept;
// The plant called `name`, if any.
std::optional<Plant> plant_from_name(std::string_view name) noexcept;
// "cow-early-overwrite, row-map-before-data, ...": for messages and usage text.
std::string plant_names();
// The names of the plants in `plants`, comma-separated; "none" if empty.
std::string plant_set_names(PlantSet plants);

// Whether this build has the defects compiled in (FREEZEFRAME_PLANTS).
bool plants_compiled() noexcept;

// Parses "name[,name...]" (spaces around names ignored; empty: no plant). kInvalidArgument
// for an unknown name, with the message naming it and listing the known ones.
Result<PlantSet> parse_plants(std::string_view list);

// The plants active now.
PlantSet active_plants() noexcept;
// Makes `plants` the active set. kUnsupported (and nothing changes) if `plants` is not empty
// and the build has no plants compiled.
Status set_plants(PlantSet plants);
// Makes the plants named by FREEZEFRAME_PLANT the active set; unset or empty: none.
// kInvalidArgument for an unknown name ("FREEZEFRAME_PLANT: unknown plant 'x'; known plants:
// ..."), kUnsupported as set_plants(); on an error nothing changes. Never aborts: the caller
// (a test, `freezeframe sim`) reports the status. active_plants() then tells what is active.
Status plants_from_environment();
// As plants_from_environment(), from `value` (the variable's text; null: unset).
Status plants_from_environment_value(const char* value);

// Sets the active plants for its lifetime and restores the previous set after. For tests:
// construct it only where plants_compiled() is true (in a build without plants it leaves the
// set empty and status() says why).
class ScopedPlants {
 public:
  explicit ScopedPlants(PlantSet plants);
  ~ScopedPlants();
  ScopedPlants(const ScopedPlants&) = delete;
  ScopedPlants& operator=(const ScopedPlants&) = delete;

  const Status& status() const noexcept { return status_; }

 private:
  PlantSet previous_;
  Status status_;
};

}  // namespace freezeframe
