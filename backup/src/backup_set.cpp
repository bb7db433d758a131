// backup_set(): checks the requests, runs the pipeline over each volume, then commits in
// order: packs (durable as each closes), one index file, the manifests, the set record.
#include <algorithm>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "backup_pipeline.h"
#include "freezeframe/backup.h"
#include "freezeframe/durable_file.h"
#include "pack_writer.h"
#include "progress_meter.h"
#include "repository_impl.h"

namespace freezeframe {

using namespace backup_detail;

namespace {

constexpr unsigned kThreadsMax = 64;
constexpr std::uint64_t kMemoryBytesMin = std::uint64_t{8} << 20;

struct VolumePlan {
  const VolumeBackupRequest* request = nullptr;
  std::optional<ChunkHash> parent_id{};
  bool differential = false;
  std::vector<ChunkHash> chunks{};  // the parent's, or zero hashes
  std::vector<ChunkRun> runs{};
  std::uint64_t bytes_to_read = 0;
  int compression_level = 1;
};

std::string describe(const VolumeBackupRequest& request) {
  return "backup of volume '" + request.volume_name + "'";
}

// The chunk runs that cover `changed` (every chunk an extent overlaps).
Result<std::vector<ChunkRun>> runs_of_changes(const std::vector<Extent>& changed,
                                              std::uint64_t volume_bytes,
                                              std::uint32_t chunk_bytes) {
  std::vector<ChunkRun> runs;
  for (const Extent& extent : normalize_extents(changed)) {
    if (extent.offset > volume_bytes || extent.length > volume_bytes - extent.offset)
      return invalid_argument("changed extent [" + std::to_string(extent.offset) + ", +" +
                              std::to_string(extent.length) + ") lies outside the volume's " +
                              std::to_string(volume_bytes) + " bytes");
    std::uint64_t first = extent.offset / chunk_bytes;
    std::uint64_t end = (extent.end() + chunk_bytes - 1) / chunk_bytes;
    if (!runs.empty() && first <= runs.back().first + runs.back().count) {
      runs.back().count = std::max(runs.back().count, end - runs.back().first);
    } else {
      runs.push_back(ChunkRun{first, end - first});
    }
  }
  return runs;
}

Result<VolumePlan> plan_volume(Repository& repository, const VolumeBackupRequest& request) {
  const std::uint32_t chunk_bytes = repository.chunk_bytes();
  VolumePlan plan;
  plan.request = &request;
  if (request.source == nullptr)
    return invalid_argument(describe(request) + ": no source volume given");
  if (request.volume_name.size() > kVolumeNameBytesMax ||
      request.change_id.size() > kChangeIdBytesMax)
    return invalid_argument(describe(request) +
                            ": volume name or change id longer than 4096 bytes");
  const std::uint64_t size = request.source->size_bytes();
  const std::uint64_t count = chunk_count_of(size, chunk_bytes);
  if (size == 0 || count > kManifestChunksMax)
    return invalid_argument(describe(request) + ": volume size " + std::to_string(size) +
                            " is zero or more than " + std::to_string(kManifestChunksMax) +
                            " chunks");
  if (request.source->sector_bytes() == 0 || chunk_bytes % request.source->sector_bytes() != 0)
    return invalid_argument(describe(request) +
                            ": the volume's sector size does not divide the chunk size");
  plan.compression_level = request.compression_level.value_or(repository.compression_level());
  if (plan.compression_level < 1 || plan.compression_level > 19)
    return invalid_argument(describe(request) + ": compression level " +
                            std::to_string(plan.compression_level) + " is not from 1 to 19");
  if (request.changed && !request.parent_backup_id)
    return invalid_argument(describe(request) + ": changed extents need a parent backup");
  if (request.differential && !request.parent_backup_id)
    return invalid_argument(describe(request) + ": a differential backup needs a parent backup");
  if (request.parent_backup_id) {
    FF_ASSIGN_OR_RETURN(ChunkHash parent, resolve_backup(repository, *request.parent_backup_id));
    FF_ASSIGN_OR_RETURN(Manifest manifest, load_manifest(repository.impl(), parent));
    if (request.differential && manifest.parent)
      return invalid_argument(describe(request) + ": a differential backup counts from a full " +
                              "backup, and parent backup " + parent.hex() + " is not one");
    plan.differential = request.differential;
    if (manifest.volume_bytes != size || manifest.chunk_bytes != chunk_bytes)
      return invalid_argument(describe(request) + ": parent backup " + parent.hex() + " holds " +
                              std::to_string(manifest.volume_bytes) + " bytes in " +
                              std::to_string(manifest.chunk_bytes) +
                              "-byte chunks; the volume has " + std::to_string(size) +
                              " bytes (back it up without a parent)");
    plan.parent_id = parent;
    if (request.changed)
      plan.chunks = std::move(manifest.chunks);
  }
  if (request.changed) {
    FF_ASSIGN_OR_RETURN(plan.runs, runs_of_changes(*request.changed, size, chunk_bytes));
  } else {
    plan.chunks.assign(count, ChunkHash{});
    plan.runs.push_back(ChunkRun{0, count});
  }
  for (const ChunkRun& run : plan.runs)
    plan.bytes_to_read +=
        std::min(size, (run.first + run.count) * chunk_bytes) - run.first * chunk_bytes;
  return plan;
}

// The index file of this backup: the chunks of the packs it wrote and of the packs it
// adopted. Empty when there are none.
IndexFile new_index_file(const PackWriter& packs, const LoadedIndex& loaded,
                         const std::vector<ChunkHash>& adopted) {
  RepositoryIndex fresh;
  for (const WrittenPack& pack : packs.packs()) {
    std::uint32_t ordinal = fresh.add_pack(pack.id);
    for (const PackEntry& entry : pack.entries)
      fresh.add(entry.hash, ordinal, entry.location);
  }
  if (!adopted.empty()) {
    std::unordered_set<std::uint32_t> adopted_ordinals;
    for (std::uint32_t ordinal = 0; ordinal < loaded.index.packs().size(); ++ordinal) {
      if (std::find(adopted.begin(), adopted.end(), loaded.index.pack_id(ordinal)) != adopted.end())
        adopted_ordinals.insert(ordinal);
    }
    for (const IndexedChunk& chunk : loaded.index.entries()) {
      if (adopted_ordinals.count(chunk.pack) != 0)
        fresh.add(chunk.hash, fresh.add_pack(loaded.index.pack_id(chunk.pack)), chunk.location);
    }
  }
  fresh.finish();
  return index_file_of(fresh, fresh.entries());
}

}  // namespace

Result<BackupSetResult> backup_set(Repository& repository,
                                   std::span<const VolumeBackupRequest> requests,
                                   const BackupOptions& options) {
  Repository::Impl& repo = repository.impl();
  if (requests.empty() || requests.size() > kSetVolumesMax)
    return invalid_argument("a backup set needs 1 to " + std::to_string(kSetVolumesMax) +
                            " volumes, not " + std::to_string(requests.size()));
  if (options.threads < 1 || options.threads > kThreadsMax)
    return invalid_argument("backup threads " + std::to_string(options.threads) +
                            " is not from 1 to 64");
  if (options.memory_bytes_max < kMemoryBytesMin)
    return invalid_argument("backup memory bound " + std::to_string(options.memory_bytes_max) +
                            " is below 8 MiB");
  std::vector<VolumePlan> plans;
  std::uint64_t bytes_total = 0;
  for (const VolumeBackupRequest& request : requests) {
    FF_ASSIGN_OR_RETURN(VolumePlan plan, plan_volume(repository, request));
    bytes_total += plan.bytes_to_read;
    plans.push_back(std::move(plan));
  }

  FF_ASSIGN_OR_RETURN(LoadedIndex loaded, load_index(repo));
  FF_ASSIGN_OR_RETURN(std::vector<ChunkHash> adopted, adopt_unindexed_packs(repo, loaded));

  // Each block in flight holds up to three frames' worth of bytes: read, plain, compressed.
  PipelineSettings settings;
  settings.chunk_bytes = repo.config.chunk_bytes;
  settings.frame_plain_bytes = repo.config.frame_plain_bytes;
  settings.threads = options.threads;
  settings.blocks_in_flight_max = static_cast<std::uint32_t>(std::clamp<std::uint64_t>(
      options.memory_bytes_max / (3 * std::uint64_t{settings.frame_plain_bytes}), 2, 256));

  PackWriter packs(repo.packs_dir(), repo.config.pack_bytes_target);
  std::unordered_set<ChunkHash, ChunkHashHasher> written;
  ProgressMeter meter(options.on_progress, options.progress_interval, options.clock, bytes_total);
  PipelineCounters counters;
  std::vector<Manifest> manifests;
  for (VolumePlan& plan : plans) {
    const VolumeBackupRequest& request = *plan.request;
    Manifest manifest;
    manifest.volume_name = request.volume_name;
    manifest.volume_id = request.volume_id;
    manifest.snapshot_id = request.snapshot_id;
    manifest.set_id = request.set_id;
    manifest.time_ns = meter.clock().wall_time().count();
    manifest.change_id = request.change_id;
    manifest.volume_bytes = request.source->size_bytes();
    manifest.chunk_bytes = repo.config.chunk_bytes;
    manifest.parent = plan.parent_id;
    manifest.differential = plan.differential;
    manifest.chunks = std::move(plan.chunks);
    settings.compression_level = plan.compression_level;
    const std::uint64_t done_before = counters.bytes_read;
    Status ran = run_backup_pipeline(
        *request.source, plan.runs, settings, loaded.index, written, packs, manifest.chunks,
        counters, [&](std::uint64_t bytes) { meter.update(done_before + bytes); });
    if (!ran.ok()) {
      // Keep what was stored: the next backup adopts the finished packs.
      packs.finish().ignore_error();
      return ran;
    }
    manifests.push_back(std::move(manifest));
  }
  FF_TRY(packs.close());

  // Commit: packs, index, manifests, set record, each durable before the next becomes
  // visible. The index, manifests and set record are written and flushed under temporary
  // names while the last pack's flush runs, so the commit waits for one file flush and then
  // for the directory flushes, in order.
  FF_TRY(repo.lock.verify_directory());
  IndexFile index = new_index_file(packs, loaded, adopted);
  const std::vector<std::byte> index_bytes = encode_index(index);
  std::vector<std::vector<std::byte>> manifest_bytes;
  manifest_bytes.reserve(manifests.size());
  for (const Manifest& manifest : manifests)
    manifest_bytes.push_back(encode_manifest(manifest));
  StagedFiles staged;
  std::optional<std::size_t> staged_index;
  if (!index.entries.empty())
    staged_index = staged.add(repo.index_dir(), kIndexSuffix, index_bytes).first;
  SetRecord record;
  record.set_id = requests.front().set_id;
  record.time_ns = manifests.front().time_ns;
  std::vector<std::size_t> staged_manifests;
  for (const std::vector<std::byte>& bytes : manifest_bytes) {
    auto [at, id] = staged.add(repo.manifests_dir(), kManifestSuffix, bytes);
    staged_manifests.push_back(at);
    record.manifests.push_back(id);
  }
  const std::vector<std::byte> record_bytes = encode_set_record(record);
  auto [staged_set, set_id] = staged.add(repo.sets_dir(), kSetSuffix, record_bytes);
  FF_TRY(staged.write_all(std::max(options.threads, 2u)));

  FF_TRY(packs.finish());
  if (staged_index) {
    FF_TRY(staged.publish(*staged_index));
    FF_TRY(sync_directory(repo.index_dir()));
  }
  for (std::size_t at : staged_manifests)
    FF_TRY(staged.publish(at));
  FF_TRY(sync_directory(repo.manifests_dir()));
  FF_TRY(repo.lock.verify_directory());
  FF_TRY(staged.publish(staged_set));
  FF_TRY(sync_directory(repo.sets_dir()));
  meter.finish();

  BackupSetResult result;
  result.set.id = set_id.hex();
  result.set.set_id = record.set_id;
  result.set.time_ns = record.time_ns;
  for (std::size_t i = 0; i < manifests.size(); ++i) {
    result.set.volumes.push_back(backup_info_of(record.manifests[i], set_id, manifests[i]));
  }
  result.new_chunks = counters.new_chunks;
  result.new_stored_bytes = packs.stored_bytes();
  result.bytes_read = counters.bytes_read;
  result.adopted_packs = adopted.size();
  return result;
}

}  // namespace freezeframe
