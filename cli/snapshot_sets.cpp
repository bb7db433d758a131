#include "snapshot_sets.h"

#include <algorithm>
#include <ostream>

#include "parse.h"
#include "volume_writer.h"

namespace freezeframe::cli {

std::vector<ProviderRow> store_providers() {
  std::vector<ProviderRow> rows;
  for (ProviderKind kind : {ProviderKind::kCopyOnWrite, ProviderKind::kRedirectOnWrite}) {
    std::string name = kind == ProviderKind::kCopyOnWrite
                           ? "freezeframe copy-on-write provider"
                           : "freezeframe redirect-on-write provider";
    rows.push_back({name, kind, Uuid::from_name(name), "1.0"});
  }
  return rows;
}

Result<ProviderKind> find_provider(std::string_view text) {
  auto kind = parse_provider_kind(text);
  if (kind.ok())
    return kind;
  auto id = Uuid::parse(text);
  for (const ProviderRow& row : store_providers())
    if (equals_ignore_case(row.name, text) || (id.ok() && *id == row.id))
      return row.kind;
  return not_found("provider '" + std::string(text) +
                   "' is not registered (cow, row, or an id from 'providers list')");
}

struct SetEngine::Impl {
  Store& store;
  std::ostream* log;
  VolumeWriter writer;
  WriterState writer_state = WriterState::kStable;
  WriterFailure writer_failure = WriterFailure::kNone;
  std::string writer_message;
  // Auto-release snapshots created and not yet released.
  std::vector<Uuid> auto_release;
  std::vector<WriterSessionInfo> backups_open;

  Impl(Store& s, std::ostream* l) : store(s), log(l), writer(s) {}

  bool writer_matches(std::string_view text) const {
    auto id = Uuid::parse(text);
    return equals_ignore_case(text, VolumeWriter::kName) ||
           (id.ok() && (*id == writer.class_id() || *id == writer.instance_id()));
  }

  // The snapshot-set creation itself: writers prepared and frozen, one snapshot per volume
  // under one set id, writers thawed. On failure, what was made is deleted.
  Result<CreatedSet> create_set(const SetRequest& request) {
    std::vector<OpenVolume*> volumes;
    for (const std::string& name : request.volumes) {
      FF_ASSIGN_OR_RETURN(OpenVolume * opened, store.open_volume(name));
      if (!opened->provider)
        return Status(ErrorCode::kBadState,
                      "volume '" + name + "' has no shadow storage (use 'shadowstorage add')");
      volumes.push_back(opened);
    }
    bool excluded = std::any_of(request.writers_excluded.begin(), request.writers_excluded.end(),
                                [&](const std::string& w) { return writer_matches(w); });
    bool with_writers = !context_has(request.context, kAttrNoWriters) && !excluded;
    CreatedSet set;
    set.id = Uuid::generate();
    set.context = request.context;
    WriterSessionInfo session{set.id, request.context, request.backup_type, request.volumes};
    if (with_writers) {
      auto metadata = writer.identify();
      if (!metadata.ok())
        return metadata.status();
      for (auto step : {&Writer::prepare_backup, &Writer::prepare_snapshot, &Writer::freeze}) {
        WriterResult result = (writer.*step)(session);
        if (!result.ok()) {
          writer.abort(session);
          writer_state = WriterState::kFailedAtFreeze;
          writer_failure = result.failure;
          writer_message = result.message;
          return Status(ErrorCode::kAborted, "writer '" + std::string(VolumeWriter::kName) +
                                                 "' failed: " + result.message);
        }
      }
      if (log)
        *log << "Writer '" << VolumeWriter::kName << "' frozen.\n";
    }
    std::uint32_t attributes = static_cast<std::uint32_t>(request.context);
    Status failure;
    for (OpenVolume* opened : volumes) {
      std::uint32_t bits = attributes;
      if (opened->provider->kind() == ProviderKind::kCopyOnWrite)
        bits |= kAttrDifferential;
      auto info = opened->provider->create_snapshot(set.id, bits);
      if (!info.ok()) {
        failure = info.status().with_context("volume '" + opened->entry->name + "'");
        break;
      }
      set.shadows.push_back({opened->entry, std::move(info).value()});
    }
    if (with_writers) {
      WriterResult thawed = writer.thaw(session);
      if (failure.ok() && !thawed.ok())
        failure = Status(ErrorCode::kAborted, "writer '" + std::string(VolumeWriter::kName) +
                                                  "' failed at thaw: " + thawed.message);
      if (failure.ok())
        writer_state = request.backup_type == BackupType::kCopy
                           ? WriterState::kStable
                           : WriterState::kWaitingForBackupComplete;
    }
    if (!failure.ok()) {
      for (const ShadowRef& made : set.shadows)
        store.delete_shadow(made).ignore_error();  // best effort; the failure is reported
      return failure;
    }
    if (with_writers && request.backup_type != BackupType::kCopy)
      backups_open.push_back(session);
    return set;
  }
};

Result<std::unique_ptr<SetEngine>> SetEngine::open(Store& store, std::ostream* log) {
  auto impl = std::make_unique<Impl>(store, log);
  FF_ASSIGN_OR_RETURN(std::size_t released, store.release_orphans());
  if (released > 0 && log)
    *log << "Released " << released << " auto-release shadow copies left by an earlier run.\n";
  return std::unique_ptr<SetEngine>(new SetEngine(std::move(impl)));
}

SetEngine::SetEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SetEngine::~SetEngine() {
  release().ignore_error();
}

Result<CreatedSet> SetEngine::create(const SetRequest& request) {
  for (const std::string& verified : request.writers_verified)
    FF_TRY(check_writer(verified));
  FF_ASSIGN_OR_RETURN(CreatedSet set, impl_->create_set(request));
  if (!context_has(set.context, kAttrNoAutoRelease))
    for (const ShadowRef& shadow : set.shadows)
      impl_->auto_release.push_back(shadow.info.id);
  return set;
}

Status SetEngine::backup_complete() {
  for (const WriterSessionInfo& session : impl_->backups_open) {
    WriterResult result = impl_->writer.backup_complete(session);
    if (!result.ok())
      return Status(ErrorCode::kAborted, "writer '" + std::string(VolumeWriter::kName) +
                                             "' failed at backup-complete: " + result.message);
  }
  impl_->backups_open.clear();
  impl_->writer_state = WriterState::kStable;
  return Status();
}

Status SetEngine::release() {
  Status first;
  for (const Uuid& id : impl_->auto_release) {
    auto shadow = impl_->store.find_shadow(id);
    if (!shadow.ok())
      continue;  // deleted already
    Status s = impl_->store.delete_shadow(*shadow);
    if (first.ok() && !s.ok())
      first = s;
  }
  impl_->auto_release.clear();
  return first;
}

void SetEngine::forget(const Uuid& shadow_id) {
  auto& ids = impl_->auto_release;
  ids.erase(std::remove(ids.begin(), ids.end(), shadow_id), ids.end());
}

std::vector<WriterRow> SetEngine::writers() {
  return {{std::string(VolumeWriter::kName), impl_->writer.class_id(), impl_->writer.instance_id(),
           impl_->writer_state, impl_->writer_failure, impl_->writer_message}};
}

Status SetEngine::check_writer(std::string_view name_or_id) {
  if (impl_->writer_matches(name_or_id))
    return Status();
  return not_found("writer '" + std::string(name_or_id) +
                   "' is not registered (see 'list writers')");
}

}  // namespace freezeframe::cli
