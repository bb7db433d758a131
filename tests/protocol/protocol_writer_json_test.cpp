// Writer vocabulary: names of states, failures, events and contexts, and writer metadata's
// JSON form, round trip and rejection of malformed documents.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "freezeframe/writer.h"

namespace freezeframe {
namespace {

WriterMetadata sample_metadata() {
  WriterMetadata metadata;
  metadata.name = "mail";
  metadata.class_id = Uuid::from_name("class/mail");
  metadata.instance_id = Uuid::from_name("instance/mail");
  metadata.instance_name = "mail server \"first\" \xc3\xa9";
  metadata.usage = WriterUsage::kUserData;
  metadata.source = WriterSource::kTransactedDatabase;
  metadata.level = ApplicationLevel::kBackEnd;
  metadata.restore_method = RestoreMethod::kStopRestoreStart;
  metadata.restore_service = "mail-svc";
  metadata.reboot_required = true;
  WriterComponent store;
  store.type = ComponentType::kDatabase;
  store.logical_path = "stores\\first";
  store.name = "store1";
  store.caption = "Mailbox store";
  store.selectable = false;
  store.notify_on_backup_complete = true;
  store.volumes = {"data", "log"};
  store.files = {{.path = "/data", .filespec = "*.edb", .recursive = false}};
  store.database_logs = {{.path = "/log",
                          .filespec = "*.log",
                          .recursive = true,
                          .alternate_location = "/alt",
                          .backup_type_mask = 0x3}};
  WriterComponent config;
  config.name = "config";
  config.volumes = {"data", "system"};
  metadata.components = {store, config};
  metadata.excluded_files = {{.path = "/data/tmp", .filespec = "*", .recursive = true}};
  return metadata;
}

TEST(WriterMetadataJson, RoundTripsEveryField) {
  const WriterMetadata metadata = sample_metadata();
  const std::string json = writer_metadata_to_json(metadata);
  auto parsed = writer_metadata_from_json(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_EQ(*parsed, metadata);
  EXPECT_EQ(writer_metadata_to_json(*parsed), json);
}

TEST(WriterMetadataJson, VolumesAreListedOnceInFirstSeenOrder) {
  EXPECT_EQ(sample_metadata().volumes(), (std::vector<std::string>{"data", "log", "system"}));
}

TEST(WriterMetadataJson, OptionalFieldsTakeTheirDefaults) {
  auto parsed = writer_metadata_from_json(R"({"format":"freezeframe-writer-metadata","version":1,
      "name":"w","class_id":"00000000-0000-0000-0000-000000000001",
      "instance_id":"00000000-0000-0000-0000-000000000002",
      "components":[{"name":"c"}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->level, ApplicationLevel::kFrontEnd);
  EXPECT_EQ(parsed->components.at(0).type, ComponentType::kFileGroup);
  EXPECT_TRUE(parsed->components.at(0).selectable);
}

struct Malformed {
  const char* what;
  std::function<void(nlohmann::json&)> edit;
  const char* expected_in_message;
  ErrorCode code = ErrorCode::kInvalidArgument;
};

TEST(WriterMetadataJson, RejectsMalformedDocumentsNamingTheField) {
  const std::vector<Malformed> cases = {
      {"missing name", [](auto& j) { j.erase("name"); }, "'name' is missing"},
      {"empty name", [](auto& j) { j["name"] = ""; }, "name must not be empty"},
      {"name not a string", [](auto& j) { j["name"] = 3; }, "name must be a string"},
      {"bad class id", [](auto& j) { j["class_id"] = "xyz"; }, "class_id: 'xyz' is not a UUID"},
      {"unknown level", [](auto& j) { j["level"] = "middle"; }, "level: unknown value 'middle'"},
      {"unknown restore method", [](auto& j) { j["restore_method"] = "pray"; },
       "restore_method: unknown value 'pray'"},
      {"components not an array", [](auto& j) { j["components"] = "x"; },
       "components must be an array"},
      {"component without name", [](auto& j) { j["components"][1].erase("name"); },
       "'components[1].name' is missing"},
      {"volume not a string", [](auto& j) { j["components"][0]["volumes"][1] = 5; },
       "components[0].volumes[1] must be a string"},
      {"file without path", [](auto& j) { j["components"][0]["files"][0].erase("path"); },
       "'components[0].files[0].path' is missing"},
      {"mask too big", [](auto& j) { j["excluded_files"][0]["backup_type_mask"] = 1ULL << 40; },
       "excluded_files[0].backup_type_mask must be an unsigned 32-bit integer"},
      {"recursive not bool", [](auto& j) { j["excluded_files"][0]["recursive"] = "yes"; },
       "recursive must be true or false"},
      {"wrong format", [](auto& j) { j["format"] = "other"; }, "format is 'other'"},
      {"missing version", [](auto& j) { j.erase("version"); }, "'version' is missing"},
      {"newer version", [](auto& j) { j["version"] = 2; }, "version 2 is not supported",
       ErrorCode::kUnsupportedVersion},
  };
  const auto good = nlohmann::json::parse(writer_metadata_to_json(sample_metadata()));
  for (const Malformed& c : cases) {
    nlohmann::json document = good;
    c.edit(document);
    auto parsed = writer_metadata_from_json(document.dump());
    ASSERT_FALSE(parsed.ok()) << c.what;
    EXPECT_EQ(parsed.status().code(), c.code) << c.what;
    EXPECT_NE(parsed.status().message().find(c.expected_in_message), std::string::npos)
        << c.what << ": " << parsed.status().message();
  }
}

TEST(WriterMetadataJson, RejectsTextThatIsNotAJsonObject) {
  for (const char* text : {"", "{", "not json", "[1,2]", "\"string\"", "{\"a\":}", "null"}) {
    auto parsed = writer_metadata_from_json(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), ErrorCode::kInvalidArgument) << text;
  }
}

TEST(WriterVocabulary, NamesFollowVss) {
  EXPECT_EQ(writer_state_name(WriterState::kWaitingForThaw), "waiting-for-thaw");
  EXPECT_EQ(writer_state_name(WriterState::kFailedAtBackupShutdown), "failed-at-backup-shutdown");
  EXPECT_TRUE(is_failed(WriterState::kFailedAtIdentify));
  EXPECT_FALSE(is_failed(WriterState::kWaitingForBackupComplete));
  EXPECT_EQ(writer_failure_name(WriterFailure::kInconsistentSnapshot), "inconsistent-snapshot");
  EXPECT_EQ(writer_event_name(WriterEvent::kPostSnapshot), "post-snapshot");
  EXPECT_EQ(failed_state_for(WriterEvent::kThaw), WriterState::kFailedAtThaw);
  EXPECT_EQ(failed_state_for(WriterEvent::kAbort), WriterState::kUnknown);
  EXPECT_EQ(backup_type_name(BackupType::kCopy), "copy");
}

TEST(WriterVocabulary, EveryFailedAtStateIsNamedForItsEvent) {
  const std::pair<WriterState, const char*> expected[] = {
      {WriterState::kFailedAtIdentify, "failed-at-identify"},
      {WriterState::kFailedAtPrepareBackup, "failed-at-prepare-backup"},
      {WriterState::kFailedAtPrepareSnapshot, "failed-at-prepare-snapshot"},
      {WriterState::kFailedAtFreeze, "failed-at-freeze"},
      {WriterState::kFailedAtThaw, "failed-at-thaw"},
      {WriterState::kFailedAtPostSnapshot, "failed-at-post-snapshot"},
      {WriterState::kFailedAtBackupComplete, "failed-at-backup-complete"},
      {WriterState::kFailedAtPreRestore, "failed-at-pre-restore"},
      {WriterState::kFailedAtPostRestore, "failed-at-post-restore"},
      {WriterState::kFailedAtBackupShutdown, "failed-at-backup-shutdown"},
  };
  for (const auto& [state, name] : expected) {
    EXPECT_EQ(writer_state_name(state), name);
    EXPECT_TRUE(is_failed(state)) << name;
  }
  EXPECT_EQ(writer_state_name(WriterState::kStable), "stable");
  EXPECT_EQ(failed_state_for(WriterEvent::kPostRestore), WriterState::kFailedAtPostRestore);
  EXPECT_EQ(failed_state_for(ProtocolPhase::kCommit), WriterState::kUnknown);  // no writer event
  EXPECT_EQ(writer_state_name(static_cast<WriterState>(200)), "unknown");
}

TEST(WriterVocabulary, ContextsParseByName) {
  for (SnapshotContext context :
       {SnapshotContext::kBackup, SnapshotContext::kFileShareBackup, SnapshotContext::kNasRollback,
        SnapshotContext::kAppRollback, SnapshotContext::kClientAccessible,
        SnapshotContext::kClientAccessibleWriters}) {
    auto parsed = parse_snapshot_context(snapshot_context_name(context));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, context);
  }
  auto dashed = parse_snapshot_context("App-Rollback");
  ASSERT_TRUE(dashed.ok());
  EXPECT_EQ(*dashed, SnapshotContext::kAppRollback);
  EXPECT_EQ(parse_snapshot_context("forever").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(context_has(SnapshotContext::kNasRollback, kAttrNoWriters));
  EXPECT_FALSE(context_has(SnapshotContext::kBackup, kAttrNoAutoRelease));
}

}  // namespace
}  // namespace freezeframe
