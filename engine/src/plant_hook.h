// planted(): the engine's hook for the planted bugs of freezeframe/plant.h. Private to the
// engine, so the definition of the hook depends on FREEZEFRAME_PLANTS only inside the engine's
// own translation units (the public header has none that does).
//
// With FREEZEFRAME_PLANTS off, planted() is the constant false: `if (planted(...))` branches
// are removed at compile time, and the engine carries no test-only code. With it on, a hook
// is one relaxed atomic load. Every use marks its defect with a comment starting "PLANTED
// DEFECT", so `grep -rn "PLANTED DEFECT" engine/src` lists them.
#pragma once

#include "freezeframe/plant.h"

#if defined(FREEZEFRAME_PLANTS) && FREEZEFRAME_PLANTS
#include <atomic>
#include <cstdint>
#endif

namespace freezeframe::detail {

#if defined(FREEZEFRAME_PLANTS) && FREEZEFRAME_PLANTS
// The active set's bits (PlantSet::bits()); defined in plant.cpp.
extern std::atomic<std::uint32_t> active_plant_bits;

inline bool planted(Plant plant) noexcept {
  return (active_plant_bits.load(std::memory_order_relaxed) &
          (std::uint32_t{1} << static_cast<unsigned>(plant))) != 0;
}
#else
constexpr bool planted(Plant /*plant*/) noexcept {
  return false;
}
#endif

}  // namespace freezeframe::detail
