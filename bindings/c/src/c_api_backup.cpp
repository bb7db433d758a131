// The C API (bindings/c/include/freezeframe_backup.h): backup repositories, backups of one
// volume or of a set, restore, verify, forget and prune.
#include <cstdint>
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

ff::Status fill_backup_set_info(const ff::BackupSetInfo& info, ff_backup_set_info& out) {
  out = ff_backup_set_info{};
  FF_TRY(ff::c_api::copy_text(info.id, out.id, sizeof out.id, "a backup set id"));
  FF_TRY(ff::c_api::copy_text(info.set_id.to_string(), out.set_id, sizeof out.set_id,
                              "a snapshot set id"));
  out.time_ns = info.time_ns;
  out.volume_count = info.volumes.size();
  return ff::Status();
}

// The engine's request for the C one; `call` names the caller in messages.
ff::Result<ff::VolumeBackupRequest> backup_request(const ff::Repository& repository,
                                                   const ff_backup_request& c, const ff::Uuid& set,
                                                   const char* call) {
  const std::string name(call);
  FF_ASSIGN_OR_RETURN(ff::Volume * volume, open_volume(c.source, (name + ": the source").c_str()));
  FF_TRY(require(c.volume_name != nullptr && c.volume_name[0] != '\0',
                 name + ": the backup needs a volume name"));
  FF_TRY(require(c.changed == nullptr || c.parent_id != nullptr,
                 name + ": changed extents need the parent backup they are relative to"));
  FF_TRY(require(c.changed == nullptr || c.changed->reset == 0,
                 name + ": the changed extents are a reset (" +
                     std::string(c.changed != nullptr && c.changed->reset_reason != nullptr
                                     ? c.changed->reset_reason
                                     : "") +
                     "); back up without them"));
  ff::VolumeBackupRequest request;
  request.source = volume;
  request.volume_name = c.volume_name;
  request.volume_id = c.source->origin_id.is_nil() ? volume->identity().uuid : c.source->origin_id;
  request.set_id = set;
  if (c.snapshot_id != nullptr) {
    auto id = ff::Uuid::parse(c.snapshot_id);
    FF_TRY(require(id.ok(), name + ": '" + c.snapshot_id + "' is not a snapshot id"));
    request.snapshot_id = *id;
  }
  if (c.change_id != nullptr)
    request.change_id = c.change_id;
  if (c.parent_id != nullptr) {
    FF_ASSIGN_OR_RETURN(ff::BackupInfo parent, repository.find(c.parent_id));
    request.parent_backup_id = parent.id;
  }
  if (c.changed != nullptr) {
    FF_TRY(require(c.changed->extents != nullptr || c.changed->count == 0,
                   name + ": the changed extents' array is NULL"));
    std::vector<ff::Extent> extents;
    extents.reserve(c.changed->count);
    for (std::size_t i = 0; i < c.changed->count; ++i)
      extents.push_back({c.changed->extents[i].offset, c.changed->extents[i].length});
    request.changed = std::move(extents);
  }
  return request;
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
    ff_backup_request c;
    ff_backup_request_init(&c);
    c.source = source;
    c.volume_name = volume_name;
    c.snapshot_id = snapshot_id;
    c.change_id = change_id;
    c.parent_id = parent_id;
    c.changed = changed;
    FF_ASSIGN_OR_RETURN(ff::VolumeBackupRequest request,
                        backup_request(*r, c, ff::Uuid(), "ff_backup_volume"));
    FF_ASSIGN_OR_RETURN(ff::BackupSetResult result,
                        ff::backup_set(*r, std::span<const ff::VolumeBackupRequest>(&request, 1)));
    FF_TRY(require(result.set.volumes.size() == 1, "ff_backup_volume: the set holds " +
                                                       std::to_string(result.set.volumes.size()) +
                                                       " volume backups, not 1"));
    return out != nullptr ? fill_backup_info(result.set.volumes.front(), *out) : ff::Status();
  });
}

void ff_backup_request_init(ff_backup_request* request) {
  if (request == nullptr)
    return;
  *request = ff_backup_request{};
  request->version = FF_BACKUP_REQUEST_VERSION;
}

int ff_backup_set(ff_repository* repository, const ff_backup_request* requests, size_t count,
                  const char* set_id, ff_backup_set_info* out, ff_backup_info* volumes_out) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::Repository * r, open_repository(repository));
    FF_TRY(require(requests != nullptr && count > 0,
                   "ff_backup_set: a backup set needs at least one volume"));
    ff::Uuid set{};
    if (set_id != nullptr) {
      auto id = ff::Uuid::parse(set_id);
      FF_TRY(require(id.ok(), std::string("ff_backup_set: '") + set_id + "' is not a set id"));
      set = *id;
    }
    std::vector<ff::VolumeBackupRequest> engine;
    for (std::size_t i = 0; i < count; ++i) {
      const std::string call = "ff_backup_set: volume " + std::to_string(i);
      FF_TRY(require(requests[i].version == FF_BACKUP_REQUEST_VERSION,
                     call + ": request version " + std::to_string(requests[i].version) +
                         " is not one this library knows; use ff_backup_request_init"));
      for (const ff::VolumeBackupRequest& earlier : engine) {
        FF_TRY(require(
            requests[i].volume_name == nullptr || earlier.volume_name != requests[i].volume_name,
            call + ": '" + earlier.volume_name + "' is in the set twice"));
      }
      FF_ASSIGN_OR_RETURN(ff::VolumeBackupRequest request,
                          backup_request(*r, requests[i], set, call.c_str()));
      engine.push_back(std::move(request));
    }
    FF_ASSIGN_OR_RETURN(ff::BackupSetResult result, ff::backup_set(*r, engine));
    FF_TRY(require(result.set.volumes.size() == count,
                   "ff_backup_set: the set holds " + std::to_string(result.set.volumes.size()) +
                       " volume backups, not " + std::to_string(count)));
    if (out != nullptr)
      FF_TRY(fill_backup_set_info(result.set, *out));
    if (volumes_out != nullptr) {
      for (std::size_t i = 0; i < count; ++i)
        FF_TRY(fill_backup_info(result.set.volumes[i], volumes_out[i]));
    }
    return ff::Status();
  });
}

int ff_repository_backup_sets(ff_repository* repository, ff_backup_set_info* out, size_t capacity,
                              size_t* count) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::Repository * r, open_repository(repository));
    FF_TRY(require(count != nullptr, "ff_repository_backup_sets: count is NULL"));
    FF_TRY(require(
        out != nullptr || capacity == 0,
        "ff_repository_backup_sets: out is NULL with a capacity of " + std::to_string(capacity)));
    FF_ASSIGN_OR_RETURN(std::vector<ff::BackupSetInfo> sets, r->list());
    for (std::size_t i = 0; i < sets.size() && i < capacity; ++i)
      FF_TRY(fill_backup_set_info(sets[i], out[i]));
    *count = sets.size();
    return ff::Status();
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

int ff_forget(ff_repository* repository, const char* backup_id) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::Repository * r, open_repository(repository));
    FF_TRY(require(backup_id != nullptr, "ff_forget: the backup id is NULL"));
    return ff::forget(*r, backup_id);
  });
}

void ff_prune_options_init(ff_prune_options* options) {
  if (options == nullptr)
    return;
  const ff::PruneOptions defaults;
  *options = ff_prune_options{};
  options->version = FF_PRUNE_OPTIONS_VERSION;
  options->keep_last = -1;
  options->repack_unused_percent_min = defaults.repack_unused_percent_min;
}

int ff_prune(ff_repository* repository, const ff_prune_options* options, ff_prune_report* report) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::Repository * r, open_repository(repository));
    ff_prune_options o;
    ff_prune_options_init(&o);
    if (options != nullptr)
      o = *options;
    FF_TRY(require(o.version == FF_PRUNE_OPTIONS_VERSION,
                   "ff_prune: options version " + std::to_string(o.version) +
                       " is not one this library knows; use ff_prune_options_init"));
    FF_TRY(require(o.keep_last >= -1 && o.keep_last <= std::int64_t{UINT32_MAX},
                   "ff_prune: keep_last " + std::to_string(o.keep_last) +
                       " is out of range (-1 to 4294967295)"));
    FF_TRY(require(o.repack_unused_percent_min <= 100,
                   "ff_prune: repack_unused_percent_min " +
                       std::to_string(o.repack_unused_percent_min) + " is over 100"));
    ff::PruneOptions engine;
    if (o.keep_last >= 0)
      engine.keep_last = static_cast<std::uint32_t>(o.keep_last);
    engine.repack_unused_percent_min = o.repack_unused_percent_min;
    FF_ASSIGN_OR_RETURN(ff::PruneReport result, ff::prune(*r, engine));
    if (report != nullptr) {
      ff_prune_report c{};
      c.backups_forgotten = result.backups_forgotten;
      c.manifests_removed = result.manifests_removed;
      c.packs_removed = result.packs_removed;
      c.packs_repacked = result.packs_repacked;
      c.packs_written = result.packs_written;
      c.index_files_removed = result.index_files_removed;
      c.temporary_files_removed = result.temporary_files_removed;
      c.bytes_freed = result.bytes_freed;
      *report = c;
    }
    return ff::Status();
  });
}

}  // extern "C"
