// Parsing of command-line values: sizes, limits, options and contexts.
#include <gtest/gtest.h>

#include "parse.h"

namespace freezeframe::cli {
namespace {

TEST(ParseBytes, AcceptsTheUnitsVssadminUsersType) {
  EXPECT_EQ(*parse_bytes("4096", "x"), 4096u);
  EXPECT_EQ(*parse_bytes("64K", "x"), 64u << 10);
  EXPECT_EQ(*parse_bytes("64KB", "x"), 64u << 10);
  EXPECT_EQ(*parse_bytes("900MB", "x"), 900ull << 20);
  EXPECT_EQ(*parse_bytes("1g", "x"), 1ull << 30);
  EXPECT_EQ(*parse_bytes("1.5GB", "x"), 3ull << 29);
  EXPECT_EQ(*parse_bytes("2T", "x"), 2ull << 40);
}

TEST(ParseBytes, RejectsGarbageNamingTheValue) {
  for (const char* text : {"", "M", "12Q", "1..5G", "-3", "99999999999999999999", "16E"}) {
    auto parsed = parse_bytes(text, "--size");
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find("--size"), std::string::npos);
  }
}

TEST(ParseLimit, PercentUnboundedAndBytesWithTheOneMegabyteMinimum) {
  EXPECT_EQ(parse_limit("UNBOUNDED", "m")->kind, DiffAreaLimit::Kind::kUnbounded);
  EXPECT_EQ(parse_limit("unbounded", "m")->kind, DiffAreaLimit::Kind::kUnbounded);
  auto percent = parse_limit("20%", "m");
  EXPECT_EQ(percent->kind, DiffAreaLimit::Kind::kPercentOfOrigin);
  EXPECT_EQ(percent->value, 20u);
  EXPECT_EQ(parse_limit("1MB", "m")->value, 1u << 20);
  EXPECT_FALSE(parse_limit("512K", "m").ok());
  EXPECT_FALSE(parse_limit("0%", "m").ok());
  EXPECT_FALSE(parse_limit("101%", "m").ok());
}

TEST(Options, ParsesValuesFlagsAndNamesUnknownOptions) {
  Options::Spec spec{{"for", "maxsize"}, {"quiet"}};
  auto parsed = Options::parse({"--for", "C:", "--maxsize=10%", "--quiet", "extra"}, spec, "cmd");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed->get("for"), "C:");
  EXPECT_EQ(*parsed->get("maxsize"), "10%");
  EXPECT_TRUE(parsed->has("quiet"));
  EXPECT_EQ(parsed->positionals(), std::vector<std::string>{"extra"});
  auto unknown = Options::parse({"--bogus"}, spec, "cmd");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("--bogus"), std::string::npos);
  auto missing = Options::parse({"--for"}, spec, "cmd");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("needs a value"), std::string::npos);
}

TEST(EditDistance, CountsInsertionsDeletionsSubstitutionsAndSwapsIgnoringCase) {
  EXPECT_EQ(edit_distance("volume", "volume"), 0u);
  EXPECT_EQ(edit_distance("VOLUME", "volume"), 0u);
  EXPECT_EQ(edit_distance("volum", "volume"), 1u);
  EXPECT_EQ(edit_distance("craete", "create"), 1u);
  EXPECT_EQ(edit_distance("shdow", "shadow"), 1u);
  EXPECT_EQ(edit_distance("list", "lost"), 1u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(ClosestWord, SuggestsANearWordOrAUniquePrefixAndNothingFarOff) {
  const std::vector<std::string> commands = {"volume", "shadow", "shadowstorage", "vssadmin"};
  EXPECT_EQ(closest_word("volum", commands), "volume");
  EXPECT_EQ(closest_word("Shadwo", commands), "shadow");
  EXPECT_EQ(closest_word("vssadmn", commands), "vssadmin");
  EXPECT_EQ(closest_word("shadowstor", commands), "shadowstorage");  // a unique prefix
  EXPECT_EQ(closest_word("sha", commands), std::nullopt);            // shadow or shadowstorage?
  EXPECT_EQ(closest_word("frobnicate", commands), std::nullopt);
  EXPECT_EQ(closest_word("xy", commands), std::nullopt);
  EXPECT_EQ(closest_word("x", {}), std::nullopt);
}

TEST(Contexts, AttributeBitsMapBackToTheirContext) {
  EXPECT_EQ(context_of_attributes(static_cast<std::uint32_t>(SnapshotContext::kAppRollback) |
                                  kAttrDifferential),
            "approllback");
  EXPECT_EQ(context_of_attributes(0), "backup");
  EXPECT_EQ(*parse_context("persistent"), SnapshotContext::kAppRollback);
  EXPECT_EQ(*parse_context("ClientAccessible"), SnapshotContext::kClientAccessible);
  EXPECT_FALSE(parse_context("sometimes").ok());
}

}  // namespace
}  // namespace freezeframe::cli
