#include "demo.h"

#include <cstring>
#include <filesystem>
#include <vector>

#include "freezeframe/memory_volume.h"
#include "freezeframe/random.h"
#include "freezeframe/sim/sim_clock.h"
#include "freezeframe/sim/sim_volume.h"
#include "freezeframe/sim/world.h"
#include "freezeframe/snapshot_provider.h"

namespace freezeframe::cli {
namespace {

constexpr std::uint64_t kVolumeBytes = 16ull << 20;
constexpr std::uint64_t kSector = 512;
constexpr std::uint64_t kFlushedBytes = 4ull << 20;
constexpr int kUnflushedWrites = 64;
constexpr std::uint64_t kDiffBytes = 64ull << 20;

// Snapshots across a power loss: a provider over two simulated disks takes two snapshots
// while the data changes, loses power with writes in flight, reopens, and every snapshot
// and every flushed write reads back exactly.
bool snapshot_demo(ProviderKind kind, std::uint64_t seed, std::ostream& out) {
  auto fail = [&](const Status& status) {
    out << "error: " << status.to_string() << "\n";
    return false;
  };
  auto origin_base = MemoryVolume::create({.name = "data", .size_bytes = kVolumeBytes});
  auto diff_base = MemoryVolume::create({.name = "shadow", .size_bytes = kDiffBytes});
  if (!origin_base.ok() || !diff_base.ok())
    return fail(origin_base.ok() ? diff_base.status() : origin_base.status());
  auto origin = sim::SimVolume::create(*origin_base.value(), {.seed = seed});
  auto diff = sim::SimVolume::create(*diff_base.value(), {.seed = seed + 1});
  if (!origin.ok() || !diff.ok())
    return fail(origin.ok() ? diff.status() : origin.status());
  Random uuids = Random(seed).fork("uuids");
  ProviderOptions options;
  options.random = &uuids;
  options.limit = DiffAreaLimit::percent_of_origin(50);
  auto created = SnapshotProvider::create(kind, *origin.value(), *diff.value(), options);
  if (!created.ok())
    return fail(created.status());
  std::unique_ptr<SnapshotProvider> provider = std::move(created).value();

  Random random = Random(seed).fork(provider_kind_name(kind));
  std::vector<std::byte> live(kFlushedBytes);
  random.fill(live);
  if (Status s = provider->write(0, live); !s.ok())
    return fail(s);
  std::vector<std::vector<std::byte>> expected;
  std::vector<Uuid> ids;
  auto overwrite = [&](int count) -> Status {
    for (int i = 0; i < count; ++i) {
      std::uint64_t sectors = random.uniform_range(1, 96);
      std::uint64_t first = random.uniform(kFlushedBytes / kSector - sectors + 1);
      std::vector<std::byte> data(sectors * kSector);
      random.fill(data);
      FF_TRY(provider->write(first * kSector, data));
      std::memcpy(live.data() + first * kSector, data.data(), data.size());
    }
    return Status();
  };
  for (int round = 0; round < 2; ++round) {
    auto info = provider->create_snapshot();
    if (!info.ok())
      return fail(info.status());
    ids.push_back(info.value().id);
    expected.push_back(live);
    if (Status s = overwrite(200); !s.ok())
      return fail(s);
    if (Status s = provider->flush(); !s.ok())
      return fail(s);
  }
  std::vector<std::byte> flushed = live;
  if (Status s = overwrite(50); !s.ok())
    return fail(s);
  for (const ProviderEvent& event : provider->events())
    out << "        event: " << event.message << "\n";
  ProviderStats stats = provider->stats();
  DiffAreaUsage usage = provider->usage();
  provider.reset();
  std::uint64_t lost = origin.value()->crash() + diff.value()->crash();

  auto reopened = SnapshotProvider::open(*origin.value(), *diff.value(), {.random = &uuids});
  if (!reopened.ok())
    return fail(reopened.status());
  provider = std::move(reopened).value();
  std::vector<std::byte> image(kFlushedBytes);
  std::uint64_t snapshots_exact = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto volume = provider->open_snapshot(ids[i]);
    if (!volume.ok())
      return fail(volume.status());
    if (Status s = volume.value()->read(0, image); !s.ok())
      return fail(s);
    snapshots_exact += image == expected[i];
  }
  // Sectors not written after the last flush must hold the flushed data.
  if (Status s = provider->read(0, image); !s.ok())
    return fail(s);
  std::uint64_t flushed_intact = 0;
  std::uint64_t flushed_total = 0;
  for (std::uint64_t sector = 0; sector < kFlushedBytes / kSector; ++sector) {
    const std::byte* want = flushed.data() + sector * kSector;
    if (std::memcmp(want, live.data() + sector * kSector, kSector) != 0)
      continue;  // overwritten after the flush: old or new content are both allowed
    ++flushed_total;
    flushed_intact += std::memcmp(want, image.data() + sector * kSector, kSector) == 0;
  }
  out << "   " << provider_kind_name(kind) << ": 2 snapshots while 400 extents changed; "
      << (kind == ProviderKind::kCopyOnWrite ? stats.chunks_preserved : stats.chunks_redirected)
      << (kind == ProviderKind::kCopyOnWrite ? " chunks preserved, " : " chunks redirected, ")
      << (usage.used_bytes >> 10) << " KiB of diff area; power loss dropped " << lost
      << " sectors\n"
      << "        after reopen: snapshots exact " << snapshots_exact << " / " << ids.size()
      << ", flushed sectors intact " << flushed_intact << " / " << flushed_total << "\n";
  return snapshots_exact == ids.size() && flushed_intact == flushed_total;
}

// The simulator (sim/world.h) over the demo's seed: everything above, and backups, at once.
bool simulator_demo(std::uint64_t seed, std::ostream& out) {
  out << "\n4. the simulator: one seeded world of CoW and RoW volumes, snapshot sets with writer\n"
         "   faults, crashes, I/O errors, backups, restores and prunes, checked after every "
         "step:\n";
  sim::WorldOptions options;
  options.seed = seed;
  options.steps = 600;
  options.scratch_dir = std::filesystem::temp_directory_path();
  auto report = sim::run_world(options);
  if (!report.ok()) {
    out << "error: " << report.status().to_string() << "\n";
    return false;
  }
  out << "   " << report->counts.to_string() << "\n";
  if (report->finding) {
    out << "   FAILED: " << report->finding->to_string() << "\n";
    return false;
  }
  out << "   every invariant held (more seeds: freezeframe sim --seeds 1-200 --jobs 2)\n";
  return true;
}

}  // namespace

int run_demo(std::uint64_t seed, std::ostream& out) {
  out << "freezeframe demo, seed " << seed << "\n\n";
  bool protocol_ok = protocol_demo(seed, out);
  out << "\n3. power loss on simulated disks:\n";
  sim::SimClock clock;
  auto base_result =
      MemoryVolume::create({.name = "demo", .size_bytes = kVolumeBytes, .sector_bytes = kSector});
  if (!base_result.ok()) {
    out << "error: " << base_result.status().to_string() << "\n";
    return 1;
  }
  auto base = std::move(base_result).value();
  auto disk_result =
      sim::SimVolume::create(*base, {.seed = seed,
                                     .clock = &clock,
                                     .latency_per_operation = std::chrono::microseconds(80),
                                     .latency_per_mib = std::chrono::microseconds(2500)});
  if (!disk_result.ok()) {
    out << "error: " << disk_result.status().to_string() << "\n";
    return 1;
  }
  auto disk = std::move(disk_result).value();
  out << "   a. volume '" << disk->name() << "': " << (kVolumeBytes >> 20) << " MiB, " << kSector
      << "-byte sectors, a simulated disk with a volatile write cache\n";

  Random random = Random(seed).fork("demo");
  std::vector<std::byte> flushed(kFlushedBytes);
  random.fill(flushed);
  auto check = [&](const Status& status) {
    if (!status.ok())
      out << "error: " << status.to_string() << "\n";
    return status.ok();
  };
  if (!check(disk->write(0, flushed)) || !check(disk->flush()))
    return 1;
  out << "   b. wrote " << (kFlushedBytes >> 20) << " MiB and flushed it: durable\n";

  // Overwrite random extents inside the flushed region, without a flush.
  std::vector<std::byte> latest = flushed;
  std::vector<int> writes_per_sector(kFlushedBytes / kSector, 0);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> extents;
  for (int i = 0; i < kUnflushedWrites; ++i) {
    std::uint64_t sectors = random.uniform_range(8, 64);
    std::uint64_t first = random.uniform(kFlushedBytes / kSector - sectors + 1);
    std::vector<std::byte> data(sectors * kSector);
    random.fill(data);
    if (!check(disk->write(first * kSector, data)))
      return 1;
    std::memcpy(latest.data() + first * kSector, data.data(), data.size());
    for (std::uint64_t s = first; s < first + sectors; ++s)
      ++writes_per_sector[s];
    extents.emplace_back(first, sectors);
  }
  out << "   c. overwrote " << kUnflushedWrites << " extents (" << (disk->unflushed_bytes() >> 10)
      << " KiB) without a flush\n";
  std::uint64_t dropped = disk->crash();
  out << "   d. power loss at t="
      << std::chrono::duration_cast<std::chrono::microseconds>(clock.now()).count()
      << " us of simulated time: " << dropped << " unflushed sectors lost\n";

  std::vector<std::byte> image(kFlushedBytes);
  if (!check(disk->read(0, image)))
    return 1;
  std::uint64_t intact = 0;
  std::uint64_t flushed_sectors = 0;
  std::uint64_t kept_new = 0;
  std::uint64_t kept_old = 0;
  std::uint64_t torn_sectors = 0;
  for (std::uint64_t s = 0; s < kFlushedBytes / kSector; ++s) {
    const std::byte* got = image.data() + s * kSector;
    bool is_old = std::memcmp(got, flushed.data() + s * kSector, kSector) == 0;
    bool is_new = std::memcmp(got, latest.data() + s * kSector, kSector) == 0;
    if (writes_per_sector[s] == 0) {
      ++flushed_sectors;
      intact += is_old;
    } else if (is_new) {
      ++kept_new;
    } else if (is_old) {
      ++kept_old;
    } else {
      ++torn_sectors;
    }
  }
  std::uint64_t torn_requests = 0;
  for (auto [first, sectors] : extents) {
    bool any_new = false;
    bool any_old = false;
    for (std::uint64_t s = first; s < first + sectors; ++s) {
      if (writes_per_sector[s] != 1)
        continue;
      bool is_new =
          std::memcmp(image.data() + s * kSector, latest.data() + s * kSector, kSector) == 0;
      any_new |= is_new;
      any_old |= !is_new;
    }
    torn_requests += any_new && any_old;
  }
  out << "   e. after restart:\n"
      << "        flushed sectors intact            " << intact << " / " << flushed_sectors << "\n"
      << "        unflushed sectors with new data   " << kept_new << "\n"
      << "        unflushed sectors with old data   " << kept_old << "\n"
      << "        sectors holding a mix of writes   " << torn_sectors << "\n"
      << "        requests torn across sectors      " << torn_requests << " of " << kUnflushedWrites
      << "\n";
  bool ok = intact == flushed_sectors && torn_sectors == 0;
  out << "        "
      << (ok ? "every flushed sector survived; every other sector is whole, old or new"
             : "FAILED: the crash left data a real disk could not have")
      << "\n   f. snapshots on a simulated data disk with a diff area on a second one:\n";
  for (ProviderKind kind : {ProviderKind::kCopyOnWrite, ProviderKind::kRedirectOnWrite}) {
    ok = snapshot_demo(kind, seed, out) && ok;
  }
  ok = simulator_demo(seed, out) && ok;
  ok = ok && protocol_ok;
  out << "\n"
      << (ok ? "every check held: application-consistent sets, exports, flushed writes and "
               "snapshots across power loss"
             : "FAILED: see the errors above")
      << "\nreplay: freezeframe demo --seed " << seed << "\n";
  return ok ? 0 : 1;
}

}  // namespace freezeframe::cli
