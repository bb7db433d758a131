// Writer vocabulary: names of states, failures, events and contexts, and the JSON form of
// writer metadata (schema in docs/protocol.md).
//
// nlohmann-json is used here without exceptions: documents are parsed with
// allow_exceptions = false and every field is checked by hand, so a malformed document
// becomes a kInvalidArgument Status naming the field.
#include "freezeframe/writer.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "freezeframe/enum_names.h"

namespace freezeframe {
namespace {

using Json = nlohmann::json;

constexpr EnumName<WriterState> kStateNames[] = {
    {WriterState::kUnknown, "unknown"},
    {WriterState::kStable, "stable"},
    {WriterState::kWaitingForFreeze, "waiting-for-freeze"},
    {WriterState::kWaitingForThaw, "waiting-for-thaw"},
    {WriterState::kWaitingForPostSnapshot, "waiting-for-post-snapshot"},
    {WriterState::kWaitingForBackupComplete, "waiting-for-backup-complete"},
};

// The failed-at states follow the writer events' order (protocol_phase.h), from identify to
// backup-shutdown: the state of event e is kFailedAtIdentify + (e - kIdentify).
constexpr int kFailedAtCount =
    static_cast<int>(WriterEvent::kBackupShutdown) - static_cast<int>(WriterEvent::kIdentify) + 1;
static_assert(static_cast<int>(WriterState::kFailedAtBackupShutdown) -
                  static_cast<int>(WriterState::kFailedAtIdentify) + 1 ==
              kFailedAtCount);
static_assert(static_cast<int>(WriterState::kFailedAtFreeze) -
                  static_cast<int>(WriterState::kFailedAtIdentify) ==
              static_cast<int>(WriterEvent::kFreeze) - static_cast<int>(WriterEvent::kIdentify));

constexpr EnumName<WriterFailure> kFailureNames[] = {
    {WriterFailure::kNone, "none"},
    {WriterFailure::kRetryable, "retryable"},
    {WriterFailure::kNonRetryable, "non-retryable"},
    {WriterFailure::kTimeout, "timeout"},
    {WriterFailure::kInconsistentSnapshot, "inconsistent-snapshot"},
    {WriterFailure::kOutOfResources, "out-of-resources"},
    {WriterFailure::kRecoveryFailed, "recovery-failed"},
    {WriterFailure::kNotResponding, "not-responding"},
};

constexpr EnumName<BackupType> kBackupTypeNames[] = {
    {BackupType::kFull, "full"},
    {BackupType::kIncremental, "incremental"},
    {BackupType::kDifferential, "differential"},
    {BackupType::kLog, "log"},
    {BackupType::kCopy, "copy"},
    {BackupType::kOther, "other"},
};

constexpr EnumName<SnapshotContext> kContextNames[] = {
    {SnapshotContext::kBackup, "backup"},
    {SnapshotContext::kFileShareBackup, "filesharebackup"},
    {SnapshotContext::kNasRollback, "nasrollback"},
    {SnapshotContext::kAppRollback, "approllback"},
    {SnapshotContext::kClientAccessible, "clientaccessible"},
    {SnapshotContext::kClientAccessibleWriters, "clientaccessiblewriters"},
};

constexpr EnumName<WriterUsage> kUsageNames[] = {
    {WriterUsage::kUndefined, "undefined"},
    {WriterUsage::kBootableSystemState, "bootable-system-state"},
    {WriterUsage::kSystemService, "system-service"},
    {WriterUsage::kUserData, "user-data"},
    {WriterUsage::kOther, "other"},
};

constexpr EnumName<WriterSource> kSourceNames[] = {
    {WriterSource::kUndefined, "undefined"},
    {WriterSource::kTransactedDatabase, "transacted-database"},
    {WriterSource::kNonTransactedDatabase, "non-transacted-database"},
    {WriterSource::kOther, "other"},
};

constexpr EnumName<ComponentType> kComponentTypeNames[] = {
    {ComponentType::kUndefined, "undefined"},
    {ComponentType::kDatabase, "database"},
    {ComponentType::kFileGroup, "file-group"},
};

constexpr EnumName<RestoreMethod> kRestoreMethodNames[] = {
    {RestoreMethod::kUndefined, "undefined"},
    {RestoreMethod::kRestoreIfNotThere, "restore-if-not-there"},
    {RestoreMethod::kRestoreIfCanReplace, "restore-if-can-replace"},
    {RestoreMethod::kStopRestoreStart, "stop-restore-start"},
    {RestoreMethod::kRestoreToAlternateLocation, "restore-to-alternate-location"},
    {RestoreMethod::kRestoreAtReboot, "restore-at-reboot"},
    {RestoreMethod::kRestoreAtRebootIfCannotReplace, "restore-at-reboot-if-cannot-replace"},
    {RestoreMethod::kCustom, "custom"},
    {RestoreMethod::kRestoreStopStart, "restore-stop-start"},
};

constexpr EnumName<ApplicationLevel> kLevelNames[] = {
    {ApplicationLevel::kSystem, "system"},
    {ApplicationLevel::kBackEnd, "back-end"},
    {ApplicationLevel::kFrontEnd, "front-end"},
};

template <typename Enum, std::size_t N>
std::optional<Enum> value_of(const EnumName<Enum> (&table)[N], std::string_view name) noexcept {
  for (const auto& [value, value_name] : table) {
    if (value_name == name)
      return value;
  }
  return std::nullopt;
}

// ---- JSON writing ----

Json file_spec_to_json(const FileSpec& spec) {
  return Json{{"path", spec.path},
              {"filespec", spec.filespec},
              {"recursive", spec.recursive},
              {"alternate_location", spec.alternate_location},
              {"backup_type_mask", spec.backup_type_mask}};
}

Json file_specs_to_json(const std::vector<FileSpec>& specs) {
  Json array = Json::array();
  for (const FileSpec& spec : specs)
    array.push_back(file_spec_to_json(spec));
  return array;
}

Json component_to_json(const WriterComponent& component) {
  return Json{{"type", name_of(kComponentTypeNames, component.type, "undefined")},
              {"logical_path", component.logical_path},
              {"name", component.name},
              {"caption", component.caption},
              {"selectable", component.selectable},
              {"notify_on_backup_complete", component.notify_on_backup_complete},
              {"volumes", component.volumes},
              {"files", file_specs_to_json(component.files)},
              {"database_logs", file_specs_to_json(component.database_logs)}};
}

// ---- JSON reading: every accessor names the field path on error ----

class Reader {
 public:
  Reader(const Json& object, std::string path) : object_(object), path_(std::move(path)) {}

  Status check_object() const {
    if (!object_.is_object())
      return invalid_argument("writer metadata: " + path_ + " must be a JSON object");
    return Status();
  }

  Status string(const char* key, std::string& out, bool required) const {
    const Json* field = find(key);
    if (field == nullptr)
      return required ? missing(key) : Status();
    if (!field->is_string())
      return wrong_type(key, "a string");
    out = field->get<std::string>();
    return Status();
  }

  Status boolean(const char* key, bool& out) const {
    const Json* field = find(key);
    if (field == nullptr)
      return Status();
    if (!field->is_boolean())
      return wrong_type(key, "true or false");
    out = field->get<bool>();
    return Status();
  }

  Status uint32(const char* key, std::uint32_t& out) const {
    const Json* field = find(key);
    if (field == nullptr)
      return Status();
    if (!field->is_number_unsigned() || field->get<std::uint64_t>() > UINT32_MAX)
      return wrong_type(key, "an unsigned 32-bit integer");
    out = field->get<std::uint32_t>();
    return Status();
  }

  Status uuid(const char* key, Uuid& out, bool required) const {
    std::string text;
    FF_TRY(string(key, text, required));
    if (text.empty() && !required)
      return Status();
    auto parsed = Uuid::parse(text);
    if (!parsed.ok())
      return invalid_argument("writer metadata: " + field_path(key) + ": '" + text +
                              "' is not a UUID");
    out = parsed.value();
    return Status();
  }

  template <typename Enum, std::size_t N>
  Status enumeration(const char* key, const EnumName<Enum> (&table)[N], Enum& out) const {
    std::string text;
    const Json* field = find(key);
    if (field == nullptr)
      return Status();
    FF_TRY(string(key, text, true));
    auto value = value_of(table, text);
    if (!value.has_value()) {
      std::string known;
      for (const auto& entry : table)
        known += (known.empty() ? "" : ", ") + std::string(entry.second);
      return invalid_argument("writer metadata: " + field_path(key) + ": unknown value '" + text +
                              "' (one of: " + known + ")");
    }
    out = *value;
    return Status();
  }

  Status strings(const char* key, std::vector<std::string>& out) const {
    const Json* field = find(key);
    if (field == nullptr)
      return Status();
    if (!field->is_array())
      return wrong_type(key, "an array of strings");
    out.clear();
    for (std::size_t i = 0; i < field->size(); ++i) {
      if (!(*field)[i].is_string())
        return invalid_argument("writer metadata: " + field_path(key) + "[" + std::to_string(i) +
                                "] must be a string");
      out.push_back((*field)[i].get<std::string>());
    }
    return Status();
  }

  // Calls parse(element, element_path) for each element of the array `key`.
  template <typename Parse>
  Status array(const char* key, Parse&& parse) const {
    const Json* field = find(key);
    if (field == nullptr)
      return Status();
    if (!field->is_array())
      return wrong_type(key, "an array");
    for (std::size_t i = 0; i < field->size(); ++i)
      FF_TRY(parse((*field)[i], field_path(key) + "[" + std::to_string(i) + "]"));
    return Status();
  }

 private:
  const Json* find(const char* key) const {
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }
  std::string field_path(const char* key) const {
    return path_.empty() ? std::string(key) : path_ + "." + key;
  }
  Status missing(const char* key) const {
    return invalid_argument("writer metadata: required field '" + field_path(key) + "' is missing");
  }
  Status wrong_type(const char* key, const char* expected) const {
    return invalid_argument("writer metadata: " + field_path(key) + " must be " + expected);
  }

  const Json& object_;
  std::string path_;
};

Status parse_file_spec(const Json& json, const std::string& path, FileSpec& spec) {
  Reader reader(json, path);
  FF_TRY(reader.check_object());
  FF_TRY(reader.string("path", spec.path, true));
  FF_TRY(reader.string("filespec", spec.filespec, true));
  FF_TRY(reader.boolean("recursive", spec.recursive));
  FF_TRY(reader.string("alternate_location", spec.alternate_location, false));
  FF_TRY(reader.uint32("backup_type_mask", spec.backup_type_mask));
  return Status();
}

Status parse_file_specs(const Reader& reader, const char* key, std::vector<FileSpec>& out) {
  return reader.array(key, [&](const Json& element, const std::string& path) {
    FileSpec spec;
    FF_TRY(parse_file_spec(element, path, spec));
    out.push_back(std::move(spec));
    return Status();
  });
}

Status parse_component(const Json& json, const std::string& path, WriterComponent& component) {
  Reader reader(json, path);
  FF_TRY(reader.check_object());
  FF_TRY(reader.enumeration("type", kComponentTypeNames, component.type));
  FF_TRY(reader.string("logical_path", component.logical_path, false));
  FF_TRY(reader.string("name", component.name, true));
  FF_TRY(reader.string("caption", component.caption, false));
  FF_TRY(reader.boolean("selectable", component.selectable));
  FF_TRY(reader.boolean("notify_on_backup_complete", component.notify_on_backup_complete));
  FF_TRY(reader.strings("volumes", component.volumes));
  FF_TRY(parse_file_specs(reader, "files", component.files));
  FF_TRY(parse_file_specs(reader, "database_logs", component.database_logs));
  if (component.name.empty())
    return invalid_argument("writer metadata: " + path + ".name must not be empty");
  return Status();
}

}  // namespace

std::string_view writer_state_name(WriterState state) noexcept {
  // The failed-at names, built once from the event names.
  static const std::array<std::string, kFailedAtCount> failed_names = [] {
    std::array<std::string, kFailedAtCount> names;
    for (int i = 0; i < kFailedAtCount; ++i)
      names[static_cast<std::size_t>(i)] =
          "failed-at-" + std::string(writer_event_name(static_cast<WriterEvent>(
                             static_cast<int>(WriterEvent::kIdentify) + i)));
    return names;
  }();
  const int failed = static_cast<int>(state) - static_cast<int>(WriterState::kFailedAtIdentify);
  if (failed >= 0 && failed < kFailedAtCount)
    return failed_names[static_cast<std::size_t>(failed)];
  return name_of(kStateNames, state);
}

bool is_failed(WriterState state) noexcept {
  return static_cast<std::uint8_t>(state) >=
         static_cast<std::uint8_t>(WriterState::kFailedAtIdentify);
}

std::string_view writer_failure_name(WriterFailure failure) noexcept {
  return name_of(kFailureNames, failure, "unknown");
}

std::string_view writer_event_name(WriterEvent event) noexcept {
  return protocol_phase_name(event);
}

WriterState failed_state_for(WriterEvent event) noexcept {
  const int index = static_cast<int>(event) - static_cast<int>(WriterEvent::kIdentify);
  if (index < 0 || index >= kFailedAtCount)
    return WriterState::kUnknown;  // abort cannot fail; the other phases are no writer events
  return static_cast<WriterState>(static_cast<int>(WriterState::kFailedAtIdentify) + index);
}

std::vector<std::string> WriterMetadata::volumes() const {
  std::vector<std::string> result;
  for (const WriterComponent& component : components) {
    for (const std::string& volume : component.volumes) {
      if (std::find(result.begin(), result.end(), volume) == result.end())
        result.push_back(volume);
    }
  }
  return result;
}

std::string writer_metadata_to_json(const WriterMetadata& metadata) {
  Json components = Json::array();
  for (const WriterComponent& component : metadata.components)
    components.push_back(component_to_json(component));
  Json document{
      {"format", "freezeframe-writer-metadata"},
      {"version", 1},
      {"name", metadata.name},
      {"class_id", metadata.class_id.to_string()},
      {"instance_id", metadata.instance_id.to_string()},
      {"instance_name", metadata.instance_name},
      {"usage", name_of(kUsageNames, metadata.usage, "undefined")},
      {"source", name_of(kSourceNames, metadata.source, "undefined")},
      {"level", name_of(kLevelNames, metadata.level, "front-end")},
      {"restore_method", name_of(kRestoreMethodNames, metadata.restore_method, "undefined")},
      {"restore_service", metadata.restore_service},
      {"reboot_required", metadata.reboot_required},
      {"components", std::move(components)},
      {"excluded_files", file_specs_to_json(metadata.excluded_files)}};
  // Invalid UTF-8 in a name becomes U+FFFD instead of an exception.
  return document.dump(2, ' ', false, Json::error_handler_t::replace);
}

Result<WriterMetadata> writer_metadata_from_json(std::string_view json) {
  Json document = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded())
    return invalid_argument("writer metadata: not a well-formed JSON document");
  Reader reader(document, "");
  if (!document.is_object())
    return invalid_argument("writer metadata: the document must be a JSON object");
  std::string format;
  FF_TRY(reader.string("format", format, true));
  if (format != "freezeframe-writer-metadata")
    return invalid_argument("writer metadata: format is '" + format +
                            "', expected 'freezeframe-writer-metadata'");
  auto version = document.find("version");
  if (version == document.end())
    return invalid_argument("writer metadata: required field 'version' is missing");
  if (!version->is_number_unsigned())
    return invalid_argument("writer metadata: version must be an unsigned integer");
  if (version->get<std::uint64_t>() != 1)
    return Status(ErrorCode::kUnsupportedVersion,
                  "writer metadata: version " + std::to_string(version->get<std::uint64_t>()) +
                      " is not supported (this reader knows version 1)");

  WriterMetadata metadata;
  FF_TRY(reader.string("name", metadata.name, true));
  if (metadata.name.empty())
    return invalid_argument("writer metadata: name must not be empty");
  FF_TRY(reader.uuid("class_id", metadata.class_id, true));
  FF_TRY(reader.uuid("instance_id", metadata.instance_id, true));
  FF_TRY(reader.string("instance_name", metadata.instance_name, false));
  FF_TRY(reader.enumeration("usage", kUsageNames, metadata.usage));
  FF_TRY(reader.enumeration("source", kSourceNames, metadata.source));
  FF_TRY(reader.enumeration("level", kLevelNames, metadata.level));
  FF_TRY(reader.enumeration("restore_method", kRestoreMethodNames, metadata.restore_method));
  FF_TRY(reader.string("restore_service", metadata.restore_service, false));
  FF_TRY(reader.boolean("reboot_required", metadata.reboot_required));
  Status components = reader.array("components", [&](const Json& element, const std::string& path) {
    WriterComponent component;
    FF_TRY(parse_component(element, path, component));
    metadata.components.push_back(std::move(component));
    return Status();
  });
  FF_TRY(components);
  FF_TRY(parse_file_specs(reader, "excluded_files", metadata.excluded_files));
  return metadata;
}

std::string_view backup_type_name(BackupType type) noexcept {
  return name_of(kBackupTypeNames, type, "unknown");
}

std::string_view snapshot_context_name(SnapshotContext context) noexcept {
  return name_of(kContextNames, context, "unknown");
}

Result<SnapshotContext> parse_snapshot_context(std::string_view name) {
  std::string lowered(name);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  lowered.erase(
      std::remove_if(lowered.begin(), lowered.end(), [](char c) { return c == '-' || c == '_'; }),
      lowered.end());
  auto context = value_of(kContextNames, lowered);
  if (!context.has_value())
    return invalid_argument("unknown snapshot context '" + std::string(name) +
                            "' (one of: backup, filesharebackup, nasrollback, approllback, "
                            "clientaccessible, clientaccessiblewriters)");
  return *context;
}

}  // namespace freezeframe
