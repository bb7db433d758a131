// BackupSession: the requestor's API over a BackupBackend (see backup_session.h).
#include "freezeframe/backup_session.h"

#include <utility>

#include "freezeframe/assert.h"

namespace freezeframe {

BackupSession::BackupSession(std::unique_ptr<BackupBackend> backend)
    : backend_(std::move(backend)) {
  FF_ASSERT(backend_ != nullptr);
}

BackupSession::~BackupSession() = default;

Status BackupSession::set_context(SnapshotContext context) {
  return backend_->set_context(context);
}

Status BackupSession::set_backup_type(BackupType type) {
  return backend_->set_backup_type(type);
}

Result<std::vector<WriterMetadata>> BackupSession::gather_writer_metadata() {
  return backend_->gather_writer_metadata();
}

Result<Uuid> BackupSession::start_snapshot_set() {
  return backend_->start_snapshot_set();
}

Status BackupSession::add_to_snapshot_set(const std::string& volume, const Uuid& provider_id) {
  return backend_->add_to_snapshot_set(volume, provider_id);
}

Status BackupSession::prepare_for_backup() {
  return backend_->prepare_for_backup();
}

Status BackupSession::do_snapshot_set() {
  return backend_->do_snapshot_set();
}

std::vector<WriterStatus> BackupSession::gather_writer_status() const {
  return backend_->gather_writer_status();
}

Status BackupSession::backup_complete(bool backup_succeeded) {
  return backend_->backup_complete(backup_succeeded);
}

Status BackupSession::abort() {
  return backend_->abort();
}

Result<SnapshotSet> BackupSession::snapshot_set() const {
  return backend_->snapshot_set();
}

Uuid BackupSession::snapshot_set_id() const {
  return backend_->snapshot_set_id();
}

std::optional<SetFailure> BackupSession::failure() const {
  return backend_->failure();
}

Result<std::unique_ptr<Volume>> BackupSession::open_snapshot(const std::string& volume) {
  return backend_->open_snapshot(volume);
}

Result<ChangedExtents> BackupSession::changed_extents(const std::string& volume,
                                                      std::string_view since_change_id) const {
  return backend_->changed_extents(volume, since_change_id);
}

}  // namespace freezeframe
