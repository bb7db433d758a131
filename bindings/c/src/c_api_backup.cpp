// The C API (bindings/c/include/freezeframe.h): backup repositories, backup, restore, verify.
#include <cstring>
#include <string>
#include <vector>

#include "c_api_internal.h"
#include "freezeframe/backup.h"
#include "freezeframe/repository.h"

namespace ff = freezeframe;
using ff::c_api::guarded;
using ff::c_api::open_volume;
using ff::c_api::require;

struct ff_repository {
  std::unique_ptr<ff::Repository> repository;
};

namespace {

ff::Result<ff::Repository*> open_repository(ff_repository* handle) {
  if (handle == nullptr || handle->repository == nullptr)
    return ff::invalid_argument("the repository is NULL");
  return handle->repository.get();
}

ff::Status fill_backup_info(const ff::BackupInfo& info, ff_backup_info& out) {
  out = ff_backup_info{};
  FF_TRY(ff::c_api::copy_text(info.id, out.id, sizeof out.id, "a backup id"));
  FF_TRY(ff::c_api::copy_text(info.parent_id.value_or(""), out.parent_id, sizeof out.parent_id,
                              "a parent backup id"));
  FF_TRY(ff::c_api::copy_text(info.volume_name, out.volume_name, sizeof out.volume_name,
                              "a volume name"));
  FF_TRY(ff::c_api::copy_text(info.snapshot_id.to_string(), out.snapshot_id, sizeof out.snapshot_id,
                              "a snapshot id"));
  FF_TRY(ff::c_api::copy_text(info.change_id, out.change_id, sizeof out.change_id, "a change id"));
  out.time_ns = info.time_ns;
  out.volume_bytes = info.volume_bytes;
  out.chunk_bytes = info.chunk_bytes;
  out.data_chunks = info.data_chunks;
  out.zero_chunks = info.zero_chunks;
  return ff::Status();
}

}  // namespace

extern "C" {

int ff_repository_init(const char* dir, uint32_t chunk_bytes, ff_repository** out) {
  return guarded([&]() -> ff::Status {
    FF_TRY(require(out != nullptr, "ff_repository_init: out is NULL"));
    *out = nullptr;
    FF_TRY(require(dir != nullptr, "ff_repository_init: dir is NULL"));
    ff::RepositoryOptions options;
    if (chunk_bytes != 0)
      options.chunk_bytes = chunk_bytes;
    FF_ASSIGN_OR_RETURN(auto repository, ff::Repository::init(dir, options));
    *out = new ff_repository{std::move(repository)};
    return ff::Status();
  });
}

int ff_repository_open(const char* dir, int exclusive, ff_repository** out) {
  return guarded([&]() -> ff::Status {
    FF_TRY(require(out != nullptr, "ff_repository_open: out is NULL"));
    *out = nullptr;
    FF_TRY(require(dir != nullptr, "ff_repository_open: dir is NULL"));
    ff::RepositoryOpenOptions options;
    options.mode = exclusive != 0 ? ff::LockMode::kExclusive : ff::LockMode::kShared;
    FF_ASSIGN_OR_RETURN(auto repository, ff::Repository::open(dir, options));
    *out = new ff_repository{std::move(repository)};
    return ff::Status();
  });
}

void ff_repository_destroy(ff_repository* repository) {
  delete repository;
}

int ff_backup_volume(ff_repository* repository, ff_volume* source, const char* volume_name,
                     const char* snapshot_id, const char* change_id, const char* parent_id,
                     const ff_changed_extents* changed, ff_backup_info* out) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::Repository * r, open_repository(repository));
    FF_ASSIGN_OR_RETURN(ff::Volume * volume, open_volume(source, "ff_backup_volume: the source"));
    FF_TRY(require(volume_name != nullptr && volume_name[0] != '\0',
                   "ff_backup_volume: the backup needs a volume name"));
    FF_TRY(require(changed == nullptr || parent_id != nullptr,
                   "ff_backup_volume: changed extents need the parent backup they are relative "
                   "to"));
    FF_TRY(require(changed == nullptr || changed->reset == 0,
                   "ff_backup_volume: the changed extents are a reset (" +
                       std::string(changed != nullptr && changed->reset_reason != nullptr
                                       ? changed->reset_reason
                                       : "") +
                       "); back up without them"));
    ff::VolumeBackupRequest request;
    request.source = volume;
    request.volume_name = volume_name;
    request.volume_id = volume->identity().uuid;
    if (snapshot_id != nullptr) {
      auto id = ff::Uuid::parse(snapshot_id);
      FF_TRY(require(id.ok(),
                     std::string("ff_backup_volume: '") + snapshot_id + "' is not a snapshot id"));
      request.snapshot_id = *id;
    }
    if (change_id != nullptr)
      request.change_id = change_id;
    if (parent_id != nullptr) {
      FF_ASSIGN_OR_RETURN(ff::BackupInfo parent, r->find(parent_id));
      request.parent_backup_id = parent.id;
    }
    if (changed != nullptr) {
      FF_TRY(require(changed->extents != nullptr || changed->count == 0,
                     "ff_backup_volume: the changed extents' array is NULL"));
      std::vector<ff::Extent> extents;
      for (std::size_t i = 0; i < changed->count; ++i)
        extents.push_back({changed->extents[i].offset, changed->extents[i].length});
      request.changed = std::move(extents);
    }
    FF_ASSIGN_OR_RETURN(ff::BackupSetResult result,
                        ff::backup_set(*r, std::span<const ff::VolumeBackupRequest>(&request, 1)));
    FF_TRY(require(result.set.volumes.size() == 1, "ff_backup_volume: the set holds " +
                                                       std::to_string(result.set.volumes.size()) +
                                                       " volume backups, not 1"));
    return out != nullptr ? fill_backup_info(result.set.volumes.front(), *out) : ff::Status();
  });
}

int ff_repository_backups(ff_repository* repository, ff_backup_info* out, size_t capacity,
                          size_t* count) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::Repository * r, open_repository(repository));
    FF_TRY(require(count != nullptr, "ff_repository_backups: count is NULL"));
    FF_TRY(require(
        out != nullptr || capacity == 0,
        "ff_repository_backups: out is NULL with a capacity of " + std::to_string(capacity)));
    FF_ASSIGN_OR_RETURN(std::vector<ff::BackupSetInfo> sets, r->list());
    std::size_t total = 0;
    for (const ff::BackupSetInfo& set : sets) {
      for (const ff::BackupInfo& info : set.volumes) {
        if (total < capacity)
          FF_TRY(fill_backup_info(info, out[total]));
        ++total;
      }
    }
    *count = total;
    return ff::Status();
  });
}

int ff_restore(ff_repository* repository, const char* backup_id, ff_volume* target) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::Repository * r, open_repository(repository));
    FF_TRY(require(backup_id != nullptr, "ff_restore: the backup id is NULL"));
    FF_ASSIGN_OR_RETURN(ff::Volume * volume, open_volume(target, "ff_restore: the target"));
    return ff::restore(*r, backup_id, *volume);
  });
}

int ff_verify(ff_repository* repository, const char* backup_id, ff_verify_report* out) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::Repository * r, open_repository(repository));
    FF_TRY(require(backup_id != nullptr, "ff_verify: the backup id is NULL"));
    FF_TRY(require(out != nullptr, "ff_verify: out is NULL"));
    FF_ASSIGN_OR_RETURN(ff::VerifyReport report, ff::verify(*r, backup_id));
    ff_verify_report result{};
    result.ok = report.ok() ? 1 : 0;
    result.chunks_checked = report.chunks_checked;
    result.bytes_checked = report.bytes_checked;
    result.bad_chunks = report.bad_chunks;
    result.bad_packs = report.bad_packs;
    if (!report.first_problem.ok()) {
      const std::string problem = report.first_problem.to_string();
      const std::size_t length = std::min(problem.size(), sizeof result.first_problem - 1);
      std::memcpy(result.first_problem, problem.data(), length);
    }
    *out = result;
    return ff::Status();
  });
}

}  // extern "C"
