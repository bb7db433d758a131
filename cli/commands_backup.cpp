// The backup group of the freezeframe command: `backup` takes an application-consistent
// snapshot set through the protocol (backup context, so the snapshots are released when the
// command ends) and backs each volume up into a deduplicated repository (backup/), reading
// only the chunks change tracking lists since the volume's previous backup; `backup list`,
// `restore`, `verify` and `prune` work on the repository. See docs/cli.md, "Backups".
#include <algorithm>
#include <charconv>

#include "command_context.h"
#include "commands.h"
#include "freezeframe/backup.h"
#include "freezeframe/clock.h"
#include "freezeframe/file_volume.h"
#include "freezeframe/repository.h"
#include "output.h"

namespace freezeframe::cli::command {
namespace {

namespace fs = std::filesystem;

enum class Kind { kFull, kIncremental, kDifferential };

Result<Kind> kind_option(const Context& ctx) {
  const std::string text = ctx.options.get("type").value_or("incremental");
  if (text == "full")
    return Kind::kFull;
  if (text == "incremental")
    return Kind::kIncremental;
  if (text == "differential")
    return Kind::kDifferential;
  return usage_error(ctx, "--type '" + text + "' is not full, incremental or differential");
}

Result<unsigned> count_option(const Context& ctx, const std::string& name, unsigned low,
                              unsigned high, unsigned fallback) {
  auto text = ctx.options.get(name);
  if (!text)
    return fallback;
  unsigned value = 0;
  auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size() || value < low || value > high)
    return usage_error(ctx, "--" + name + " '" + *text + "' is not a whole number from " +
                                std::to_string(low) + " to " + std::to_string(high));
  return value;
}

Result<std::unique_ptr<Repository>> open_repository(const Context& ctx, LockMode mode,
                                                    bool create) {
  FF_ASSIGN_OR_RETURN(std::string dir, required(ctx, "repo"));
  std::error_code error;
  const bool exists = fs::exists(fs::path(dir) / "config", error);
  if (!exists && create) {
    RepositoryOptions options;
    if (ctx.options.get("chunk-size")) {
      FF_ASSIGN_OR_RETURN(std::uint64_t bytes, bytes_option(ctx, "chunk-size"));
      if (bytes < kRepositoryChunkBytesMin || bytes > kRepositoryChunkBytesMax ||
          (bytes & (bytes - 1)) != 0)
        return usage_error(ctx, "--chunk-size must be a power of two from 4K to 4M");
      options.chunk_bytes = static_cast<std::uint32_t>(bytes);
    }
    return Repository::init(dir, options);
  }
  auto chunk_wait = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.wait);
  return Repository::open(dir, {.mode = mode, .lock_wait = chunk_wait});
}

std::string time_text(std::int64_t ns) {
  return format_iso8601_utc(Nanoseconds(ns));
}

// "12.3 MiB/s, 0:42 left" for the progress bar.
std::string rate_text(const BackupProgress& progress) {
  if (progress.bytes_per_second <= 0)
    return {};
  std::string text = format_bytes(static_cast<std::uint64_t>(progress.bytes_per_second)) + "/s";
  if (progress.time_left) {
    const auto seconds = progress.time_left->count();
    const std::string two = std::to_string(seconds % 60);
    text += ", " + std::to_string(seconds / 60) + ":" + (two.size() < 2 ? "0" : "") + two + " left";
  }
  return text;
}

json backup_json(const BackupInfo& info) {
  return {{"id", info.id},
          {"volume", info.volume_name},
          {"volume_id", info.volume_id.to_string()},
          {"snapshot_id", info.snapshot_id.to_string()},
          {"set_id", info.set_id.to_string()},
          {"time", time_text(info.time_ns)},
          {"change_id", info.change_id},
          {"volume_bytes", info.volume_bytes},
          {"chunk_bytes", info.chunk_bytes},
          {"kind", backup_kind_name(info.kind)},
          {"parent", info.parent_id ? json(*info.parent_id) : json(nullptr)},
          {"data_chunks", info.data_chunks},
          {"zero_chunks", info.zero_chunks}};
}

// The backup an incremental (newest of the volume) or differential (newest full one, which
// has no parent) counts from; none for a full backup or a volume never backed up.
std::optional<BackupInfo> base_backup(const std::vector<BackupSetInfo>& sets, Kind kind,
                                      const SnapshotInfo& snapshot, const std::string& name) {
  if (kind == Kind::kFull)
    return std::nullopt;
  std::optional<BackupInfo> found;
  for (const BackupSetInfo& set : sets) {  // oldest first
    for (const BackupInfo& info : set.volumes) {
      const bool same = snapshot.origin_id.is_nil() ? info.volume_name == name
                                                    : info.volume_id == snapshot.origin_id;
      if (same && (kind == Kind::kIncremental || !info.parent_id))
        found = info;
    }
  }
  return found;
}

// What one volume of a backup read, for the report.
struct Planned {
  std::string volume;
  std::string mode;  // "full", "incremental", "differential"
  std::string reason;
  std::uint64_t changed_bytes = 0;
};

Status backup_command(Context& ctx) {
  FF_TRY(no_positionals(ctx));
  FF_ASSIGN_OR_RETURN(std::string names, required(ctx, "for"));
  FF_ASSIGN_OR_RETURN(Kind kind, kind_option(ctx));
  FF_ASSIGN_OR_RETURN(unsigned threads, count_option(ctx, "threads", 1, 64, 2));
  std::optional<int> level;
  if (ctx.options.get("compression")) {
    FF_ASSIGN_OR_RETURN(unsigned parsed, count_option(ctx, "compression", 1, 19, 1));
    level = static_cast<int>(parsed);
  }
  FF_ASSIGN_OR_RETURN(auto repository, open_repository(ctx, LockMode::kShared, true));
  FF_ASSIGN_OR_RETURN(std::vector<BackupSetInfo> sets, repository->list());

  SetRequest request;
  request.context = SnapshotContext::kBackup;
  request.backup_type = kind == Kind::kFull          ? BackupType::kFull
                        : kind == Kind::kIncremental ? BackupType::kIncremental
                                                     : BackupType::kDifferential;
  FF_ASSIGN_OR_RETURN(TakenSet taken, take_set(ctx, names, std::nullopt, std::move(request)));

  std::vector<std::unique_ptr<Volume>> sources;
  std::vector<VolumeBackupRequest> requests;
  std::vector<Planned> planned;
  std::uint64_t total_bytes = 0;
  for (const ShadowRef& shadow : taken.set.shadows) {
    FF_ASSIGN_OR_RETURN(OpenVolume * opened, taken.store->open_volume(*shadow.volume));
    FF_ASSIGN_OR_RETURN(auto source, opened->provider->open_snapshot(shadow.info.id));
    VolumeBackupRequest backup;
    backup.source = source.get();
    backup.volume_name = shadow.volume->name;
    backup.volume_id = shadow.info.origin_id;
    backup.snapshot_id = shadow.info.id;
    backup.set_id = taken.set.id;
    backup.change_id = shadow.info.change_id;
    backup.compression_level = level;
    Planned plan{shadow.volume->name, "full", "", source->size_bytes()};
    std::optional<BackupInfo> base = base_backup(sets, kind, shadow.info, shadow.volume->name);
    if (kind != Kind::kFull && !base) {
      plan.reason = "no earlier backup of the volume in the repository";
    } else if (base && base->volume_bytes != source->size_bytes()) {
      plan.reason = "the volume's size changed since backup " + base->id;
    } else if (base && base->change_id.empty()) {
      plan.reason = "backup " + base->id + " recorded no change id";
    } else if (base) {
      FF_ASSIGN_OR_RETURN(ChangedExtents changed, opened->provider->changed_extents(
                                                      base->change_id, shadow.info.change_id));
      if (changed.reset) {
        plan.reason =
            "change tracking cannot answer since backup " + base->id + ": " + changed.reset_reason;
      } else {
        plan.mode = kind == Kind::kIncremental ? "incremental" : "differential";
        plan.changed_bytes = extent_bytes(changed.extents);
        backup.parent_backup_id = base->id;
        backup.differential = kind == Kind::kDifferential;
        backup.changed = std::move(changed.extents);
      }
    }
    total_bytes += plan.changed_bytes;
    planned.push_back(plan);
    requests.push_back(std::move(backup));
    sources.push_back(std::move(source));
  }

  BackupOptions options;
  options.threads = threads;
  Progress progress("backing up " + names, total_bytes);
  options.on_progress = [&](const BackupProgress& p) {
    progress.update(p.bytes_done, rate_text(p));
  };
  FF_ASSIGN_OR_RETURN(BackupSetResult result, backup_set(*repository, requests, options));
  progress.finish();
  sources.clear();
  FF_TRY(taken.engine->backup_complete());

  if (ctx.json) {
    json volumes = json::array();
    for (std::size_t i = 0; i < result.set.volumes.size() && i < planned.size(); ++i) {
      json entry = backup_json(result.set.volumes[i]);
      entry["mode"] = planned[i].mode;
      entry["full_because"] = planned[i].reason.empty() ? json(nullptr) : json(planned[i].reason);
      entry["planned_read_bytes"] = planned[i].changed_bytes;
      volumes.push_back(std::move(entry));
    }
    ctx.out << json{{"set", result.set.id},
                    {"snapshot_set_id", taken.set.id.to_string()},
                    {"time", time_text(result.set.time_ns)},
                    {"backups", std::move(volumes)},
                    {"bytes_read", result.bytes_read},
                    {"new_chunks", result.new_chunks},
                    {"new_stored_bytes", result.new_stored_bytes},
                    {"repository_chunk_bytes", repository->chunk_bytes()}}
                   .dump(2)
            << "\n";
    return Status();
  }
  ctx.out << "Backed up snapshot set " << braced(taken.set.id) << " as backup set " << result.set.id
          << "\n";
  for (std::size_t i = 0; i < result.set.volumes.size() && i < planned.size(); ++i) {
    const BackupInfo& info = result.set.volumes[i];
    ctx.out << "   " << info.volume_name << ": backup " << info.id << " (" << planned[i].mode;
    if (info.parent_id)
      ctx.out << " on " << *info.parent_id;
    ctx.out << ")\n";
    if (!planned[i].reason.empty())
      ctx.out << "      read in full: " << planned[i].reason << "\n";
  }
  ctx.out << "   read " << format_bytes(result.bytes_read) << ", stored "
          << format_bytes(result.new_stored_bytes) << " in " << result.new_chunks
          << " new chunks\n";
  return Status();
}

Status backup_list_command(Context& ctx) {
  FF_TRY(no_positionals(ctx));
  FF_ASSIGN_OR_RETURN(auto repository, open_repository(ctx, LockMode::kShared, false));
  FF_ASSIGN_OR_RETURN(std::vector<BackupSetInfo> sets, repository->list());
  if (ctx.json) {
    json out = json::array();
    for (const BackupSetInfo& set : sets) {
      json volumes = json::array();
      for (const BackupInfo& info : set.volumes)
        volumes.push_back(backup_json(info));
      out.push_back({{"set", set.id},
                     {"snapshot_set_id", set.set_id.to_string()},
                     {"time", time_text(set.time_ns)},
                     {"backups", std::move(volumes)}});
    }
    ctx.out << out.dump(2) << "\n";
    return Status();
  }
  if (sets.empty())
    ctx.out << "No backups in " << repository->path().string() << "\n";
  for (const BackupSetInfo& set : sets) {
    ctx.out << "Backup set " << set.id << " at " << time_text(set.time_ns) << "\n";
    for (const BackupInfo& info : set.volumes) {
      ctx.out << "   " << info.id << "  " << info.volume_name << "  "
              << format_bytes(info.volume_bytes) << "  " << backup_kind_name(info.kind)
              << (info.parent_id ? " on " + *info.parent_id : "") << "\n";
    }
  }
  return Status();
}

Status restore_command(Context& ctx) {
  FF_ASSIGN_OR_RETURN(std::string id, one_positional(ctx, "a backup id"));
  auto to = ctx.options.get("to");
  auto volume_name = ctx.options.get("volume");
  if (to.has_value() == volume_name.has_value())
    return usage_error(ctx, "restore needs exactly one of --to FILE and --volume NAME");
  FF_ASSIGN_OR_RETURN(auto repository, open_repository(ctx, LockMode::kShared, false));
  FF_ASSIGN_OR_RETURN(BackupInfo info, repository->find(id));
  RestoreOptions options;
  Progress progress("restoring " + info.id.substr(0, 8), info.volume_bytes);
  options.on_progress = [&](const BackupProgress& p) {
    progress.update(p.bytes_done, rate_text(p));
  };
  std::string target_text;
  if (to) {
    // A new image file: it reads as zeros, so zero runs are left as holes.
    FF_ASSIGN_OR_RETURN(auto store, open_store(ctx, StoreAccess::kRead));
    FF_TRY(store->check_output_path(*to));
    FF_ASSIGN_OR_RETURN(auto file, FileVolume::create(*to, {.size_bytes = info.volume_bytes}));
    options.zeros = ZeroPolicy::kSkip;
    Status restored = restore(*repository, info.id, *file, options);
    if (!restored.ok()) {
      file.reset();
      std::error_code ignored;
      fs::remove(*to, ignored);  // never leave a half-restored image behind
      return restored;
    }
    target_text = "file " + *to;
  } else {
    // Through the volume's provider: the restore is a change like any other write.
    FF_ASSIGN_OR_RETURN(auto store, open_store(ctx));
    FF_ASSIGN_OR_RETURN(OpenVolume * opened, store->open_volume(*volume_name));
    Volume& live = opened->live();
    if (live.size_bytes() != info.volume_bytes)
      return Status(ErrorCode::kInvalidArgument, "volume '" + *volume_name + "' holds " +
                                                     std::to_string(live.size_bytes()) +
                                                     " bytes; backup " + info.id + " holds " +
                                                     std::to_string(info.volume_bytes));
    options.zeros = ZeroPolicy::kWrite;
    // The volume holds data of its own: every chunk is checked before the first write, so a
    // damaged repository leaves it as it was.
    options.verify_before_writing = true;
    FF_TRY(restore(*repository, info.id, live, options));
    target_text = "volume '" + *volume_name + "'";
  }
  progress.finish();
  if (ctx.json) {
    ctx.out << json{{"restored", info.id}, {"to", target_text}, {"bytes", info.volume_bytes}}.dump(
                   2)
            << "\n";
  } else {
    ctx.out << "Restored backup " << info.id << " of '" << info.volume_name << "' to "
            << target_text << "\n";
  }
  return Status();
}

Status verify_command(Context& ctx) {
  FF_ASSIGN_OR_RETURN(std::string id, one_positional(ctx, "a backup id"));
  FF_ASSIGN_OR_RETURN(auto repository, open_repository(ctx, LockMode::kShared, false));
  FF_ASSIGN_OR_RETURN(BackupInfo info, repository->find(id));
  FF_ASSIGN_OR_RETURN(VerifyReport report, verify(*repository, info.id));
  if (!report.ok())
    ctx.exit_code = kExitDamaged;
  if (ctx.json) {
    ctx.out << json{{"backup", info.id},
                    {"status", report.ok() ? "ok" : "damaged"},
                    {"chunks_checked", report.chunks_checked},
                    {"bytes_checked", report.bytes_checked},
                    {"bad_chunks", report.bad_chunks},
                    {"bad_packs", report.bad_packs},
                    {"first_problem", report.first_problem.ok()
                                          ? json(nullptr)
                                          : json(report.first_problem.to_string())}}
                   .dump(2)
            << "\n";
    return Status();
  }
  ctx.out << "Backup " << info.id << " of '" << info.volume_name
          << "': " << (report.ok() ? "OK" : "DAMAGED") << " (" << report.chunks_checked
          << " chunks, " << format_bytes(report.bytes_checked) << " checked";
  if (!report.ok())
    ctx.out << "; " << report.bad_chunks << " bad chunks, " << report.bad_packs << " bad packs";
  ctx.out << ")\n";
  if (!report.first_problem.ok())
    ctx.out << "   first problem: " << report.first_problem.to_string() << "\n";
  return Status();
}

Status backup_check_command(Context& ctx) {
  FF_TRY(no_positionals(ctx));
  FF_ASSIGN_OR_RETURN(auto repository, open_repository(ctx, LockMode::kShared, false));
  CheckOptions options;
  options.read_data = !ctx.options.has("metadata-only");
  FF_ASSIGN_OR_RETURN(CheckReport report, check_repository(*repository, options));
  if (!report.ok())
    ctx.exit_code = kExitDamaged;
  if (ctx.json) {
    json problems = json::array();
    for (const Status& problem : report.problems)
      problems.push_back(problem.to_string());
    ctx.out << json{{"repository", repository->path().string()},
                    {"status", report.ok() ? "ok" : "damaged"},
                    {"read_data", options.read_data},
                    {"index_files_checked", report.index_files_checked},
                    {"packs_checked", report.packs_checked},
                    {"frames_checked", report.frames_checked},
                    {"chunks_checked", report.chunks_checked},
                    {"bytes_checked", report.bytes_checked},
                    {"set_records_checked", report.set_records_checked},
                    {"manifests_checked", report.manifests_checked},
                    {"damaged_backups", report.damaged_backups},
                    {"unindexed_packs", report.unindexed_packs},
                    {"uncommitted_manifests", report.uncommitted_manifests},
                    {"unreferenced_chunks", report.unreferenced_chunks},
                    {"temporary_files", report.temporary_files},
                    {"problems_total", report.problems_total},
                    {"problems", std::move(problems)}}
                   .dump(2)
            << "\n";
    return Status();
  }
  ctx.out << "Repository " << repository->path().string() << ": "
          << (report.ok() ? "OK" : "DAMAGED") << "\n"
          << "   " << report.packs_checked << " packs, " << report.index_files_checked
          << " index files, " << report.set_records_checked << " set records, "
          << report.manifests_checked << " manifests checked";
  if (options.read_data)
    ctx.out << "; " << report.chunks_checked << " chunks (" << format_bytes(report.bytes_checked)
            << ") read back";
  ctx.out << "\n";
  if (report.unindexed_packs + report.uncommitted_manifests + report.unreferenced_chunks +
          report.temporary_files !=
      0)
    ctx.out << "   left for prune: " << report.unindexed_packs << " unindexed packs, "
            << report.uncommitted_manifests << " uncommitted manifests, "
            << report.unreferenced_chunks << " unreferenced chunks, " << report.temporary_files
            << " temporary files\n";
  if (!report.ok()) {
    ctx.out << "   " << report.problems_total << " problems, " << report.damaged_backups
            << " backups cannot be restored:\n";
    for (const Status& problem : report.problems)
      ctx.out << "   " << problem.to_string() << "\n";
  }
  return Status();
}

Status prune_command(Context& ctx) {
  FF_TRY(no_positionals(ctx));
  FF_ASSIGN_OR_RETURN(unsigned keep, count_option(ctx, "keep-last", 1, 1000000, 0));
  if (!ctx.options.get("keep-last"))
    return usage_error(ctx, "prune needs --keep-last N");
  FF_ASSIGN_OR_RETURN(auto repository, open_repository(ctx, LockMode::kExclusive, false));
  FF_ASSIGN_OR_RETURN(PruneReport report, prune(*repository, {.keep_last = keep}));
  if (ctx.json) {
    ctx.out << json{{"backups_forgotten", report.backups_forgotten},
                    {"packs_removed", report.packs_removed},
                    {"packs_repacked", report.packs_repacked},
                    {"bytes_freed", report.bytes_freed}}
                   .dump(2)
            << "\n";
    return Status();
  }
  ctx.out << "Forgot " << report.backups_forgotten << " backups; removed " << report.packs_removed
          << " packs (" << report.packs_repacked << " repacked), freed "
          << format_bytes(report.bytes_freed) << "\n";
  return Status();
}

}  // namespace

std::vector<CommandSpec> backup_commands() {
  const OptionSpec repo{"repo", "DIR", "the backup repository (created on first backup)", true};
  return {
      // `backup` is also the group of `backup list`: its options cannot be required by the
      // parser (they would be demanded of `backup list` too); the command checks them.
      {"backup",
       "",
       "Takes an application-consistent snapshot set of the volumes and backs each one up "
       "into the repository, reading only what changed since its last backup.",
       {{"for", "NAME[,NAME...]", "the volumes of the set (required)"},
        {"repo", "DIR", "the backup repository, created on first use (required)"},
        {"type", "full|incremental|differential",
         "incremental (default): since the volume's last backup; differential: since its last "
         "full one; full: read everything"},
        {"compression", "LEVEL", "zstd level, 1 (fast, the default) to 19"},
        {"threads", "N", "hash-and-compress threads (default 2)"},
        {"chunk-size", "SIZE",
         "chunk size of a repository this backup creates: a power of two from 4K to 4M "
         "(default 16K, for volumes up to 256 GiB; 64K: 1 TiB)"}},
       backup_command,
       "The snapshots are taken through the protocol with the backup context and released\n"
       "when the command ends; change tracking outlives them, so the next incremental backup\n"
       "reads only the chunks written since. A volume is read in full when the repository has\n"
       "no earlier backup of it, or change tracking cannot answer (the output says why).\n"},
      {"backup list",
       "",
       "Lists the backup sets in the repository.",
       {repo},
       backup_list_command,
       ""},
      {"backup check",
       "",
       "Checks the whole repository: every pack, index file, set record and manifest.",
       {repo, {"metadata-only", "", "skip reading the packs' data (headers and trailers only)"}},
       backup_check_command,
       "Every frame is read, decompressed and re-hashed unless --metadata-only. Exit status 5\n"
       "when anything is damaged or missing; each problem names its file and offset.\n"},
      {"restore",
       "ID",
       "Restores a backup (ID or a unique prefix) to a new image file or over a volume.",
       {repo,
        {"to", "FILE", "a new image file (refused if it exists)"},
        {"volume", "NAME", "a store volume of the same size, written through its provider"}},
       restore_command,
       ""},
      {"verify",
       "ID",
       "Re-reads and re-hashes every chunk of a backup.",
       {repo},
       verify_command,
       "Exit status 5 when the backup is damaged; the output names the first bad file and\n"
       "offset.\n"},
      {"prune",
       "",
       "Forgets all but the newest backups of each volume and frees their unreferenced chunks.",
       {repo, {"keep-last", "N", "backups to keep per volume", true}},
       prune_command,
       ""},
  };
}

}  // namespace freezeframe::cli::command
