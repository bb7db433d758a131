// How the command prints VSS's shadow copies (shadow list --provider vss, vssadmin list shadows
// in a Windows build): grouped by set as vssadmin does, with the device, machines, provider,
// type and attributes; and the --json form. Portable: the listing itself needs Windows.
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>

#include "command_context.h"

namespace freezeframe::cli::command {
namespace {

VssShadowCopy shadow(const char* id, const char* set, std::uint32_t set_size, int number) {
  VssShadowCopy copy;
  copy.id = *Uuid::parse(id);
  copy.set_id = *Uuid::parse(set);
  copy.set_size = set_size;
  copy.original_volume = "\\\\?\\Volume{11111111-2222-3333-4444-555555555555}\\";
  copy.device = "\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy" + std::to_string(number);
  copy.originating_machine = "host.example";
  copy.service_machine = "host.example";
  copy.provider_id = *Uuid::parse("b5946137-7b9f-4925-af80-51abd60b20d5");
  copy.attributes = kAttrPersistent | kAttrClientAccessible | kAttrNoAutoRelease | kAttrNoWriters |
                    kAttrDifferential;
  copy.created = std::chrono::seconds(1767225600);  // 2026-01-01T00:00:00Z
  return copy;
}

TEST(VssListing, GroupsBySetAsVssadminDoes) {
  const char* set_a = "aaaaaaaa-0000-0000-0000-000000000001";
  const char* set_b = "bbbbbbbb-0000-0000-0000-000000000002";
  std::vector<VssShadowCopy> shadows = {
      shadow("00000000-0000-0000-0000-0000000000a1", set_a, 2, 1),
      shadow("00000000-0000-0000-0000-0000000000b1", set_b, 1, 2),
      shadow("00000000-0000-0000-0000-0000000000a2", set_a, 2, 3)};
  std::ostringstream out;
  print_vss_shadows(shadows, out);
  const std::string text = out.str();
  const auto set_a_at = text.find("Contents of shadow copy set ID: {" + std::string(set_a) + "}");
  const auto set_b_at = text.find("Contents of shadow copy set ID: {" + std::string(set_b) + "}");
  ASSERT_NE(set_a_at, std::string::npos) << text;
  ASSERT_NE(set_b_at, std::string::npos) << text;
  // Both of set A's shadow copies come before set B's heading.
  EXPECT_LT(text.find("HarddiskVolumeShadowCopy3"), set_b_at);
  EXPECT_NE(text.find("   Contained 2 shadow copies at creation time: 2026-01-01T00:00:00"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("         Shadow Copy Volume: "
                      "\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy2\n"),
            std::string::npos);
  EXPECT_NE(text.find("         Originating Machine: host.example\n"), std::string::npos);
  EXPECT_NE(text.find("         Provider ID: {b5946137-7b9f-4925-af80-51abd60b20d5}\n"),
            std::string::npos);
  EXPECT_NE(text.find("         Type: clientaccessible\n"), std::string::npos) << text;
  EXPECT_NE(text.find("No_Auto_Release Persistent Client_Accessible No_Writers Differential"),
            std::string::npos)
      << text;

  std::ostringstream none;
  print_vss_shadows({}, none);
  EXPECT_EQ(none.str(), "No items found that satisfy the query.\n");
}

TEST(VssListing, JsonNamesEveryProperty) {
  const json entry = vss_shadow_json(
      shadow("00000000-0000-0000-0000-0000000000a1", "aaaaaaaa-0000-0000-0000-000000000001", 1, 7));
  EXPECT_EQ(entry["id"], "00000000-0000-0000-0000-0000000000a1");
  EXPECT_EQ(entry["set_id"], "aaaaaaaa-0000-0000-0000-000000000001");
  EXPECT_EQ(entry["set_size"], 1);
  EXPECT_EQ(entry["device"], "\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy7");
  EXPECT_EQ(entry["original_volume"], "\\\\?\\Volume{11111111-2222-3333-4444-555555555555}\\");
  EXPECT_EQ(entry["provider_id"], "b5946137-7b9f-4925-af80-51abd60b20d5");
  EXPECT_EQ(entry["context"], "clientaccessible");
  EXPECT_EQ(entry["attributes"], 0x2001d);
  EXPECT_EQ(entry["created"].get<std::string>().rfind("2026-01-01T00:00:00", 0), 0u);
}

}  // namespace
}  // namespace freezeframe::cli::command
