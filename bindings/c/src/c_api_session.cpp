// The C API (bindings/c/include/freezeframe_protocol.h): a backup session driven step by
// step (context, backup type, writer metadata and status, volumes one by one, abort, the
// set's failure, changed extents).
#include <deque>
#include <string>
#include <type_traits>
#include <vector>

#include "c_api_protocol.h"

namespace ff = freezeframe;
using ff::c_api::guarded;
using ff::c_api::open_session;
using ff::c_api::require;
using ff::c_api::SessionHolder;

// The C enums are the C++ enums (the header promises it).
static_assert(FF_CONTEXT_BACKUP == static_cast<int>(ff::SnapshotContext::kBackup));
static_assert(FF_CONTEXT_FILE_SHARE_BACKUP ==
              static_cast<int>(ff::SnapshotContext::kFileShareBackup));
static_assert(FF_CONTEXT_NAS_ROLLBACK == static_cast<int>(ff::SnapshotContext::kNasRollback));
static_assert(FF_CONTEXT_APP_ROLLBACK == static_cast<int>(ff::SnapshotContext::kAppRollback));
static_assert(FF_CONTEXT_CLIENT_ACCESSIBLE ==
              static_cast<int>(ff::SnapshotContext::kClientAccessible));
static_assert(FF_CONTEXT_CLIENT_ACCESSIBLE_WRITERS ==
              static_cast<int>(ff::SnapshotContext::kClientAccessibleWriters));
static_assert(FF_ATTR_PERSISTENT == ff::kAttrPersistent);
static_assert(FF_ATTR_NO_AUTO_RECOVERY == ff::kAttrNoAutoRecovery);
static_assert(FF_ATTR_CLIENT_ACCESSIBLE == ff::kAttrClientAccessible);
static_assert(FF_ATTR_NO_AUTO_RELEASE == ff::kAttrNoAutoRelease);
static_assert(FF_ATTR_NO_WRITERS == ff::kAttrNoWriters);
static_assert(FF_ATTR_DIFFERENTIAL == ff::kAttrDifferential);

static_assert(FF_BACKUP_FULL == static_cast<int>(ff::BackupType::kFull));
static_assert(FF_BACKUP_INCREMENTAL == static_cast<int>(ff::BackupType::kIncremental));
static_assert(FF_BACKUP_DIFFERENTIAL == static_cast<int>(ff::BackupType::kDifferential));
static_assert(FF_BACKUP_LOG == static_cast<int>(ff::BackupType::kLog));
static_assert(FF_BACKUP_COPY == static_cast<int>(ff::BackupType::kCopy));
static_assert(FF_BACKUP_OTHER == static_cast<int>(ff::BackupType::kOther));

static_assert(FF_USAGE_UNDEFINED == static_cast<int>(ff::WriterUsage::kUndefined));
static_assert(FF_USAGE_BOOTABLE_SYSTEM_STATE ==
              static_cast<int>(ff::WriterUsage::kBootableSystemState));
static_assert(FF_USAGE_SYSTEM_SERVICE == static_cast<int>(ff::WriterUsage::kSystemService));
static_assert(FF_USAGE_USER_DATA == static_cast<int>(ff::WriterUsage::kUserData));
static_assert(FF_USAGE_OTHER == static_cast<int>(ff::WriterUsage::kOther));
static_assert(FF_SOURCE_UNDEFINED == static_cast<int>(ff::WriterSource::kUndefined));
static_assert(FF_SOURCE_TRANSACTED_DATABASE ==
              static_cast<int>(ff::WriterSource::kTransactedDatabase));
static_assert(FF_SOURCE_NON_TRANSACTED_DATABASE ==
              static_cast<int>(ff::WriterSource::kNonTransactedDatabase));
static_assert(FF_SOURCE_OTHER == static_cast<int>(ff::WriterSource::kOther));
static_assert(FF_COMPONENT_UNDEFINED == static_cast<int>(ff::ComponentType::kUndefined));
static_assert(FF_COMPONENT_DATABASE == static_cast<int>(ff::ComponentType::kDatabase));
static_assert(FF_COMPONENT_FILE_GROUP == static_cast<int>(ff::ComponentType::kFileGroup));
static_assert(FF_RESTORE_UNDEFINED == static_cast<int>(ff::RestoreMethod::kUndefined));
static_assert(FF_RESTORE_IF_NOT_THERE == static_cast<int>(ff::RestoreMethod::kRestoreIfNotThere));
static_assert(FF_RESTORE_IF_CAN_REPLACE ==
              static_cast<int>(ff::RestoreMethod::kRestoreIfCanReplace));
static_assert(FF_RESTORE_STOP_RESTORE_START ==
              static_cast<int>(ff::RestoreMethod::kStopRestoreStart));
static_assert(FF_RESTORE_TO_ALTERNATE_LOCATION ==
              static_cast<int>(ff::RestoreMethod::kRestoreToAlternateLocation));
static_assert(FF_RESTORE_AT_REBOOT == static_cast<int>(ff::RestoreMethod::kRestoreAtReboot));
static_assert(FF_RESTORE_AT_REBOOT_IF_CANNOT_REPLACE ==
              static_cast<int>(ff::RestoreMethod::kRestoreAtRebootIfCannotReplace));
static_assert(FF_RESTORE_CUSTOM == static_cast<int>(ff::RestoreMethod::kCustom));
static_assert(FF_RESTORE_STOP_START == static_cast<int>(ff::RestoreMethod::kRestoreStopStart));
static_assert(FF_LEVEL_SYSTEM == static_cast<int>(ff::ApplicationLevel::kSystem));
static_assert(FF_LEVEL_BACK_END == static_cast<int>(ff::ApplicationLevel::kBackEnd));
static_assert(FF_LEVEL_FRONT_END == static_cast<int>(ff::ApplicationLevel::kFrontEnd));

static_assert(FF_WRITER_STATE_UNKNOWN == static_cast<int>(ff::WriterState::kUnknown));
static_assert(FF_WRITER_STATE_STABLE == static_cast<int>(ff::WriterState::kStable));
static_assert(FF_WRITER_STATE_WAITING_FOR_FREEZE ==
              static_cast<int>(ff::WriterState::kWaitingForFreeze));
static_assert(FF_WRITER_STATE_WAITING_FOR_THAW ==
              static_cast<int>(ff::WriterState::kWaitingForThaw));
static_assert(FF_WRITER_STATE_WAITING_FOR_POST_SNAPSHOT ==
              static_cast<int>(ff::WriterState::kWaitingForPostSnapshot));
static_assert(FF_WRITER_STATE_WAITING_FOR_BACKUP_COMPLETE ==
              static_cast<int>(ff::WriterState::kWaitingForBackupComplete));
static_assert(FF_WRITER_STATE_FAILED_AT_IDENTIFY ==
              static_cast<int>(ff::WriterState::kFailedAtIdentify));
static_assert(FF_WRITER_STATE_FAILED_AT_PREPARE_BACKUP ==
              static_cast<int>(ff::WriterState::kFailedAtPrepareBackup));
static_assert(FF_WRITER_STATE_FAILED_AT_PREPARE_SNAPSHOT ==
              static_cast<int>(ff::WriterState::kFailedAtPrepareSnapshot));
static_assert(FF_WRITER_STATE_FAILED_AT_FREEZE ==
              static_cast<int>(ff::WriterState::kFailedAtFreeze));
static_assert(FF_WRITER_STATE_FAILED_AT_THAW == static_cast<int>(ff::WriterState::kFailedAtThaw));
static_assert(FF_WRITER_STATE_FAILED_AT_POST_SNAPSHOT ==
              static_cast<int>(ff::WriterState::kFailedAtPostSnapshot));
static_assert(FF_WRITER_STATE_FAILED_AT_BACKUP_COMPLETE ==
              static_cast<int>(ff::WriterState::kFailedAtBackupComplete));
static_assert(FF_WRITER_STATE_FAILED_AT_PRE_RESTORE ==
              static_cast<int>(ff::WriterState::kFailedAtPreRestore));
static_assert(FF_WRITER_STATE_FAILED_AT_POST_RESTORE ==
              static_cast<int>(ff::WriterState::kFailedAtPostRestore));
static_assert(FF_WRITER_STATE_FAILED_AT_BACKUP_SHUTDOWN ==
              static_cast<int>(ff::WriterState::kFailedAtBackupShutdown));

static_assert(FF_PARTICIPANT_WRITER == static_cast<int>(ff::Participant::kWriter));
static_assert(FF_PARTICIPANT_PROVIDER == static_cast<int>(ff::Participant::kProvider));
static_assert(FF_PARTICIPANT_VOLUME == static_cast<int>(ff::Participant::kVolume));
static_assert(FF_PARTICIPANT_REQUESTOR == static_cast<int>(ff::Participant::kRequestor));
static_assert(FF_PARTICIPANT_COORDINATOR == static_cast<int>(ff::Participant::kCoordinator));

static_assert(FF_PHASE_IDENTIFY == static_cast<int>(ff::ProtocolPhase::kIdentify));
static_assert(FF_PHASE_PREPARE_BACKUP == static_cast<int>(ff::ProtocolPhase::kPrepareBackup));
static_assert(FF_PHASE_PREPARE_SNAPSHOT == static_cast<int>(ff::ProtocolPhase::kPrepareSnapshot));
static_assert(FF_PHASE_FREEZE == static_cast<int>(ff::ProtocolPhase::kFreeze));
static_assert(FF_PHASE_THAW == static_cast<int>(ff::ProtocolPhase::kThaw));
static_assert(FF_PHASE_POST_SNAPSHOT == static_cast<int>(ff::ProtocolPhase::kPostSnapshot));
static_assert(FF_PHASE_BACKUP_COMPLETE == static_cast<int>(ff::ProtocolPhase::kBackupComplete));
static_assert(FF_PHASE_PRE_RESTORE == static_cast<int>(ff::ProtocolPhase::kPreRestore));
static_assert(FF_PHASE_POST_RESTORE == static_cast<int>(ff::ProtocolPhase::kPostRestore));
static_assert(FF_PHASE_BACKUP_SHUTDOWN == static_cast<int>(ff::ProtocolPhase::kBackupShutdown));
static_assert(FF_PHASE_ABORT == static_cast<int>(ff::ProtocolPhase::kAbort));
static_assert(FF_PHASE_BEGIN_PREPARE == static_cast<int>(ff::ProtocolPhase::kBeginPrepare));
static_assert(FF_PHASE_END_PREPARE == static_cast<int>(ff::ProtocolPhase::kEndPrepare));
static_assert(FF_PHASE_PRE_COMMIT == static_cast<int>(ff::ProtocolPhase::kPreCommit));
static_assert(FF_PHASE_COMMIT == static_cast<int>(ff::ProtocolPhase::kCommit));
static_assert(FF_PHASE_POST_COMMIT == static_cast<int>(ff::ProtocolPhase::kPostCommit));
static_assert(FF_PHASE_DELETE_SNAPSHOT == static_cast<int>(ff::ProtocolPhase::kDeleteSnapshot));
static_assert(FF_PHASE_AUTO_RELEASE == static_cast<int>(ff::ProtocolPhase::kAutoRelease));
static_assert(FF_PHASE_QUERY == static_cast<int>(ff::ProtocolPhase::kQuery));
static_assert(FF_PHASE_HOLD_IO == static_cast<int>(ff::ProtocolPhase::kHoldIo));
static_assert(FF_PHASE_RELEASE_IO == static_cast<int>(ff::ProtocolPhase::kReleaseIo));
static_assert(FF_PHASE_INITIAL == static_cast<int>(ff::ProtocolPhase::kInitial));
static_assert(FF_PHASE_START_SNAPSHOT_SET ==
              static_cast<int>(ff::ProtocolPhase::kStartSnapshotSet));
static_assert(FF_PHASE_PREPARE_FOR_BACKUP ==
              static_cast<int>(ff::ProtocolPhase::kPrepareForBackup));
static_assert(FF_PHASE_DO_SNAPSHOT_SET == static_cast<int>(ff::ProtocolPhase::kDoSnapshotSet));
static_assert(FF_PHASE_SNAPSHOT_SET == static_cast<int>(ff::ProtocolPhase::kSnapshotSet));
static_assert(FF_PHASE_BACKUP == static_cast<int>(ff::ProtocolPhase::kBackup));

namespace {

// What an ff_writer_metadata_list points to. Containers whose elements never move once
// added (deques), or that are filled before anything points into them.
struct MetadataStorage {
  std::deque<std::string> strings;
  std::deque<std::vector<const char*>> string_arrays;
  std::deque<std::vector<ff_file_spec>> file_specs;
  std::deque<std::vector<ff_writer_component>> components;
  std::vector<ff_writer_metadata> writers;

  const char* text(const std::string& value) { return strings.emplace_back(value).c_str(); }

  const char* const* names(const std::vector<std::string>& values) {
    std::vector<const char*>& array = string_arrays.emplace_back();
    for (const std::string& value : values)
      array.push_back(text(value));
    return array.data();
  }

  const ff_file_spec* specs(const std::vector<ff::FileSpec>& values) {
    std::vector<ff_file_spec>& array = file_specs.emplace_back();
    for (const ff::FileSpec& spec : values) {
      ff_file_spec c{};
      c.path = text(spec.path);
      c.filespec = text(spec.filespec);
      c.recursive = spec.recursive ? 1 : 0;
      c.alternate_location = text(spec.alternate_location);
      c.backup_type_mask = spec.backup_type_mask;
      array.push_back(c);
    }
    return array.data();
  }

  void add(const ff::WriterMetadata& metadata) {
    ff_writer_metadata c{};
    c.name = text(metadata.name);
    ff::c_api::copy_text_cut(metadata.class_id.to_string(), c.class_id, sizeof c.class_id);
    ff::c_api::copy_text_cut(metadata.instance_id.to_string(), c.instance_id, sizeof c.instance_id);
    c.instance_name = text(metadata.instance_name);
    c.usage = static_cast<int>(metadata.usage);
    c.source = static_cast<int>(metadata.source);
    c.level = static_cast<int>(metadata.level);
    c.restore_method = static_cast<int>(metadata.restore_method);
    c.restore_service = text(metadata.restore_service);
    c.reboot_required = metadata.reboot_required ? 1 : 0;
    std::vector<ff_writer_component>& array = components.emplace_back();
    for (const ff::WriterComponent& component : metadata.components) {
      ff_writer_component item{};
      item.type = static_cast<int>(component.type);
      item.logical_path = text(component.logical_path);
      item.name = text(component.name);
      item.caption = text(component.caption);
      item.selectable = component.selectable ? 1 : 0;
      item.notify_on_backup_complete = component.notify_on_backup_complete ? 1 : 0;
      item.volumes = names(component.volumes);
      item.volume_count = component.volumes.size();
      item.files = specs(component.files);
      item.file_count = component.files.size();
      item.database_logs = specs(component.database_logs);
      item.database_log_count = component.database_logs.size();
      array.push_back(item);
    }
    c.components = array.data();
    c.component_count = array.size();
    c.excluded_files = specs(metadata.excluded_files);
    c.excluded_file_count = metadata.excluded_files.size();
    writers.push_back(c);
  }
};

// The block behind an ff_writer_metadata_list: the list is its first member, so a pointer to
// one is a pointer to the other.
struct MetadataBlock {
  ff_writer_metadata_list list;
  MetadataStorage* storage;
};
static_assert(std::is_standard_layout_v<MetadataBlock>);

// Checks that `value` is one of `allowed`.
template <typename Enum, std::size_t N>
bool one_of(int value, const Enum (&allowed)[N]) {
  for (Enum candidate : allowed) {
    if (static_cast<int>(candidate) == value)
      return true;
  }
  return false;
}

}  // namespace

extern "C" {

int ff_coordinator_create_session(ff_coordinator* coordinator, ff_backup_session** out) {
  return guarded([&]() -> ff::Status {
    FF_TRY(require(out != nullptr, "ff_coordinator_create_session: out is NULL"));
    *out = nullptr;
    FF_ASSIGN_OR_RETURN(ff::c_api::CoordinatorHolder * c, ff::c_api::open_coordinator(coordinator));
    auto holder = std::make_shared<SessionHolder>();
    holder->coordinator = coordinator->holder;
    holder->session = c->coordinator->create_session();
    *out = new ff_backup_session{std::move(holder)};
    return ff::Status();
  });
}

int ff_session_set_context(ff_backup_session* session, int context) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(SessionHolder * s, open_session(session));
    constexpr ff::SnapshotContext kContexts[] = {
        ff::SnapshotContext::kBackup,           ff::SnapshotContext::kFileShareBackup,
        ff::SnapshotContext::kNasRollback,      ff::SnapshotContext::kAppRollback,
        ff::SnapshotContext::kClientAccessible, ff::SnapshotContext::kClientAccessibleWriters};
    FF_TRY(require(
        one_of(context, kContexts),
        "ff_session_set_context: " + std::to_string(context) + " is not an ff_snapshot_context"));
    return s->session->set_context(static_cast<ff::SnapshotContext>(context));
  });
}

int ff_session_set_backup_type(ff_backup_session* session, int backup_type) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(SessionHolder * s, open_session(session));
    FF_TRY(require(backup_type >= FF_BACKUP_FULL && backup_type <= FF_BACKUP_OTHER,
                   "ff_session_set_backup_type: " + std::to_string(backup_type) +
                       " is not an ff_backup_type"));
    return s->session->set_backup_type(static_cast<ff::BackupType>(backup_type));
  });
}

int ff_session_gather_writer_metadata(ff_backup_session* session, ff_writer_metadata_list** out) {
  return guarded([&]() -> ff::Status {
    FF_TRY(require(out != nullptr, "ff_session_gather_writer_metadata: out is NULL"));
    *out = nullptr;
    FF_ASSIGN_OR_RETURN(SessionHolder * s, open_session(session));
    FF_ASSIGN_OR_RETURN(std::vector<ff::WriterMetadata> metadata,
                        s->session->gather_writer_metadata());
    auto storage = std::make_unique<MetadataStorage>();
    storage->writers.reserve(metadata.size());
    for (const ff::WriterMetadata& writer : metadata)
      storage->add(writer);
    auto block = std::make_unique<MetadataBlock>();
    block->list.count = storage->writers.size();
    block->list.writers = storage->writers.data();
    block->storage = storage.release();
    *out = &block.release()->list;
    return ff::Status();
  });
}

void ff_writer_metadata_free(ff_writer_metadata_list* list) {
  if (list == nullptr)
    return;
  auto* block = reinterpret_cast<MetadataBlock*>(list);
  delete block->storage;
  delete block;
}

int ff_session_start_snapshot_set(ff_backup_session* session, char* set_id, size_t set_id_bytes) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(SessionHolder * s, open_session(session));
    FF_TRY(require(set_id != nullptr || set_id_bytes == 0,
                   "ff_session_start_snapshot_set: set_id is NULL with " +
                       std::to_string(set_id_bytes) + " bytes"));
    FF_TRY(require(set_id == nullptr || set_id_bytes >= FF_UUID_STRING_BYTES,
                   "ff_session_start_snapshot_set: the set id needs " +
                       std::to_string(FF_UUID_STRING_BYTES) + " bytes, the buffer has " +
                       std::to_string(set_id_bytes)));
    FF_ASSIGN_OR_RETURN(ff::Uuid id, s->session->start_snapshot_set());
    if (set_id != nullptr)
      return ff::c_api::copy_text(id.to_string(), set_id, set_id_bytes, "the set id");
    return ff::Status();
  });
}

int ff_session_add_to_snapshot_set(ff_backup_session* session, const char* volume) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(SessionHolder * s, open_session(session));
    FF_TRY(require(volume != nullptr && volume[0] != '\0',
                   "ff_session_add_to_snapshot_set: the volume name is NULL or empty"));
    return s->session->add_to_snapshot_set(volume);
  });
}

int ff_session_prepare_for_backup(ff_backup_session* session) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(SessionHolder * s, open_session(session));
    return s->session->prepare_for_backup();
  });
}

int ff_session_do_snapshot_set(ff_backup_session* session) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(SessionHolder * s, open_session(session));
    return s->session->do_snapshot_set();
  });
}

int ff_session_abort(ff_backup_session* session) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(SessionHolder * s, open_session(session));
    return s->session->abort();
  });
}

int ff_session_gather_writer_status(ff_backup_session* session, ff_writer_status* out,
                                    size_t capacity, size_t* count) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(SessionHolder * s, open_session(session));
    FF_TRY(require(count != nullptr, "ff_session_gather_writer_status: count is NULL"));
    FF_TRY(require(out != nullptr || capacity == 0,
                   "ff_session_gather_writer_status: out is NULL with a capacity of " +
                       std::to_string(capacity)));
    const std::vector<ff::WriterStatus> statuses = s->session->gather_writer_status();
    for (std::size_t i = 0; i < statuses.size() && i < capacity; ++i) {
      const ff::WriterStatus& status = statuses[i];
      ff_writer_status c{};
      ff::c_api::copy_text_cut(status.name, c.name, sizeof c.name);
      ff::c_api::copy_text_cut(status.class_id.to_string(), c.class_id, sizeof c.class_id);
      ff::c_api::copy_text_cut(status.instance_id.to_string(), c.instance_id, sizeof c.instance_id);
      c.state = static_cast<int>(status.state);
      c.failure = static_cast<int>(status.failure);
      ff::c_api::copy_text_cut(status.message, c.message, sizeof c.message);
      out[i] = c;
    }
    *count = statuses.size();
    return ff::Status();
  });
}

int ff_session_failure(ff_backup_session* session, ff_set_failure* out) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(SessionHolder * s, open_session(session));
    FF_TRY(require(out != nullptr, "ff_session_failure: out is NULL"));
    ff_set_failure c{};
    if (const std::optional<ff::SetFailure> failure = s->session->failure()) {
      c.failed = 1;
      c.participant = static_cast<int>(failure->participant);
      ff::c_api::copy_text_cut(failure->name, c.name, sizeof c.name);
      c.phase = static_cast<int>(failure->phase);
      c.writer_failure = static_cast<int>(failure->writer_failure);
      c.code = static_cast<int>(failure->status.code());
      ff::c_api::copy_text_cut(failure->status.message(), c.message, sizeof c.message);
    }
    *out = c;
    return ff::Status();
  });
}

int ff_session_changed_extents(ff_backup_session* session, const char* volume, const char* since,
                               ff_changed_extents** out) {
  return guarded([&]() -> ff::Status {
    FF_TRY(require(out != nullptr, "ff_session_changed_extents: out is NULL"));
    *out = nullptr;
    FF_ASSIGN_OR_RETURN(SessionHolder * s, open_session(session));
    FF_TRY(require(volume != nullptr, "ff_session_changed_extents: the volume name is NULL"));
    FF_TRY(require(since != nullptr, "ff_session_changed_extents: since is NULL"));
    FF_ASSIGN_OR_RETURN(ff::ChangedExtents changed, s->session->changed_extents(volume, since));
    *out = ff::c_api::new_changed_extents(changed);
    if (*out == nullptr)
      return ff::Status(ff::ErrorCode::kNoSpace, "out of memory");
    return ff::Status();
  });
}

}  // extern "C"
