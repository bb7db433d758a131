#include "freezeframe/plant.h"

#include <array>
#include <cstdlib>

#include "plant_hook.h"

namespace freezeframe {

namespace {

constexpr std::array<PlantInfo, kPlantCount> kPlants = {{
    {Plant::kCowEarlyOverwrite, "cow-early-overwrite",
     "CoW writes an origin chunk before its preserved copy and map record are durable"},
    {Plant::kRowMapBeforeData, "row-map-before-data",
     "RoW commits a redirected chunk's map record before writing the chunk's data"},
    {Plant::kJournalSkipLast, "journal-skip-last",
     "journal replay drops the last record of every commit group after the checkpoint"},
    {Plant::kProtocolSkipThaw, "protocol-skip-thaw",
     "a snapshot set failed by a provider is cleaned up without aborting its frozen writers"},
    {Plant::kRaceUnlockedWrite, "race-unlocked-write",
     "a live write through a provider runs without the provider's exclusive lock"},
    {Plant::kParserSkipBound, "parser-skip-bound",
     "the journal record decoder reads a record's body without checking it fits the payload"},
}};

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

}  // namespace

#if defined(FREEZEFRAME_PLANTS) && FREEZEFRAME_PLANTS
namespace detail {
std::atomic<std::uint32_t> active_plant_bits{0};  // NOLINT(*-avoid-non-const-global-variables)
}  // namespace detail
#endif

std::span<const PlantInfo> plant_infos() noexcept {
  return kPlants;
}

std::string_view plant_name(Plant plant) noexcept {
  const auto index = static_cast<std::size_t>(plant);
  return index < kPlants.size() ? kPlants[index].name : std::string_view("unknown-plant");
}

std::optional<Plant> plant_from_name(std::string_view name) noexcept {
  for (const PlantInfo& info : kPlants) {
    if (info.name == name)
      return info.plant;
  }
  return std::nullopt;
}

std::string plant_names() {
  std::string names;
  for (const PlantInfo& info : kPlants) {
    if (!names.empty())
      names += ", ";
    names += info.name;
  }
  return names;
}

std::string plant_set_names(PlantSet plants) {
  std::string names;
  for (const PlantInfo& info : kPlants) {
    if (!plants.contains(info.plant))
      continue;
    if (!names.empty())
      names += ",";
    names += info.name;
  }
  return names.empty() ? "none" : names;
}

bool plants_compiled() noexcept {
#if defined(FREEZEFRAME_PLANTS) && FREEZEFRAME_PLANTS
  return true;
#else
  return false;
#endif
}

Result<PlantSet> parse_plants(std::string_view list) {
  PlantSet plants;
  // Bounded by the text: each pass consumes one name and its comma.
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view name = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (name.empty())
      continue;
    const std::optional<Plant> plant = plant_from_name(name);
    if (!plant.has_value()) {
      return Status(ErrorCode::kInvalidArgument,
                    "unknown plant '" + std::string(name) + "'; known plants: " + plant_names());
    }
    plants.add(*plant);
  }
  return plants;
}

PlantSet active_plants() noexcept {
#if defined(FREEZEFRAME_PLANTS) && FREEZEFRAME_PLANTS
  return PlantSet::from_bits(detail::active_plant_bits.load(std::memory_order_relaxed));
#else
  return PlantSet();
#endif
}

Status set_plants(PlantSet plants) {
#if defined(FREEZEFRAME_PLANTS) && FREEZEFRAME_PLANTS
  detail::active_plant_bits.store(plants.bits(), std::memory_order_relaxed);
  return Status();
#else
  if (plants.empty())
    return Status();
  return Status(ErrorCode::kUnsupported,
                "plants " + plant_set_names(plants) +
                    " requested, but this build has none compiled (configure with "
                    "-DFREEZEFRAME_PLANTS=ON)");
#endif
}

Status plants_from_environment_value(const char* value) {
  if (value == nullptr)
    return set_plants(PlantSet());
  Result<PlantSet> plants = parse_plants(value);
  if (!plants.ok())
    return plants.status().with_context("FREEZEFRAME_PLANT");
  return set_plants(plants.value());
}

Status plants_from_environment() {
  // Read once per call, by the caller's choice of when; never cached.
  return plants_from_environment_value(
      std::getenv("FREEZEFRAME_PLANT"));  // NOLINT(concurrency-mt-unsafe)
}

ScopedPlants::ScopedPlants(PlantSet plants)
    : previous_(active_plants()), status_(set_plants(plants)) {}

ScopedPlants::~ScopedPlants() {
  set_plants(previous_).ignore_error();
}

}  // namespace freezeframe
