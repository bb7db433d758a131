// The planted-bug switches (freezeframe/plant.h): names, parsing of FREEZEFRAME_PLANT, and the
// active set. Whether the plants are caught is tests/sim/planted_bug_test.cpp.
#include "freezeframe/plant.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <string>

namespace freezeframe {
namespace {

TEST(Plants, EveryPlantHasADistinctNameThatParsesBackAndADescription) {
  ASSERT_EQ(plant_infos().size(), kPlantCount);
  std::set<std::string_view> names;
  for (const PlantInfo& info : plant_infos()) {
    EXPECT_EQ(plant_name(info.plant), info.name);
    EXPECT_EQ(plant_from_name(info.name), info.plant);
    EXPECT_FALSE(info.description.empty()) << info.name;
    names.insert(info.name);
  }
  EXPECT_EQ(names.size(), kPlantCount);
  EXPECT_EQ(names, (std::set<std::string_view>{"cow-early-overwrite", "row-map-before-data",
                                               "journal-skip-last", "protocol-skip-thaw",
                                               "race-unlocked-write", "parser-skip-bound"}));
  EXPECT_FALSE(plant_from_name("cow").has_value());
}

TEST(Plants, ListParsesCommaSeparatedNamesIgnoringSpacesAndEmptyItems) {
  auto parsed = parse_plants(" cow-early-overwrite ,, journal-skip-last,");
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_EQ(*parsed, PlantSet().add(Plant::kCowEarlyOverwrite).add(Plant::kJournalSkipLast));
  EXPECT_EQ(plant_set_names(*parsed), "cow-early-overwrite,journal-skip-last");
  auto empty = parse_plants("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(plant_set_names(*empty), "none");
}

TEST(Plants, UnknownNameIsRefusedNamingItAndTheKnownOnes) {
  const PlantSet before = active_plants();
  Status status = plants_from_environment_value("cow-early-overwrite,row-map-after-data");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
  const std::string message = status.to_string();
  EXPECT_NE(message.find("FREEZEFRAME_PLANT"), std::string::npos) << message;
  EXPECT_NE(message.find("unknown plant 'row-map-after-data'"), std::string::npos) << message;
  for (const PlantInfo& info : plant_infos())
    EXPECT_NE(message.find(info.name), std::string::npos) << message;
  EXPECT_EQ(active_plants(), before) << "a refused list changed the active plants";
}

TEST(Plants, EnvironmentValueActivatesTheNamedPlantsWhereCompiled) {
  ScopedPlants restore{PlantSet()};
  Status status = plants_from_environment_value("row-map-before-data,protocol-skip-thaw");
  if (!plants_compiled()) {
    EXPECT_EQ(status.code(), ErrorCode::kUnsupported) << status.to_string();
    EXPECT_TRUE(active_plants().empty());
    return;
  }
  ASSERT_TRUE(status.ok()) << status.to_string();
  EXPECT_EQ(active_plants(),
            PlantSet().add(Plant::kRowMapBeforeData).add(Plant::kProtocolSkipThaw));
  // Unset or empty: none.
  ASSERT_TRUE(plants_from_environment_value(nullptr).ok());
  EXPECT_TRUE(active_plants().empty());
  ASSERT_TRUE(plants_from_environment_value("journal-skip-last").ok());
  ASSERT_TRUE(plants_from_environment_value("").ok());
  EXPECT_TRUE(active_plants().empty());
}

TEST(Plants, EnvironmentIsReadFromFreezeframePlant) {
  ScopedPlants restore{PlantSet()};
  const char* value = std::getenv("FREEZEFRAME_PLANT");  // NOLINT(concurrency-mt-unsafe)
  Status from_variable = plants_from_environment();
  const PlantSet active = active_plants();
  Status from_value = plants_from_environment_value(value);
  EXPECT_EQ(from_variable.code(), from_value.code());
  EXPECT_EQ(active, active_plants());
}

TEST(Plants, ScopedPlantsRestoresThePreviousSet) {
  if (!plants_compiled()) {
    ScopedPlants refused(PlantSet().add(Plant::kJournalSkipLast));
    EXPECT_EQ(refused.status().code(), ErrorCode::kUnsupported);
    EXPECT_TRUE(active_plants().empty());
    return;  // nothing to nest in a build without plants
  }
  ScopedPlants outer(PlantSet().add(Plant::kCowEarlyOverwrite));
  ASSERT_TRUE(outer.status().ok());
  {
    ScopedPlants inner(PlantSet().add(Plant::kJournalSkipLast));
    EXPECT_EQ(active_plants(), PlantSet().add(Plant::kJournalSkipLast));
  }
  EXPECT_EQ(active_plants(), PlantSet().add(Plant::kCowEarlyOverwrite));
}

}  // namespace
}  // namespace freezeframe
