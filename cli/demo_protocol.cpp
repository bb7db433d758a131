// The demo's main part: application-consistent snapshot sets of a running transactional
// database through the protocol, on image files in a fresh scratch directory, with CoW and
// then RoW; each set checked by the application checker, one snapshot exported and checked
// again from the exported files; the write overhead of CoW and RoW against the raw volume,
// measured in this run; diff-area use. Every figure printed is measured here.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "demo.h"
#include "freezeframe/clock.h"
#include "freezeframe/coordinator.h"
#include "freezeframe/file_volume.h"
#include "freezeframe/holdable_volume.h"
#include "freezeframe/protocol_log.h"
#include "freezeframe/protocol_provider.h"
#include "freezeframe/random.h"
#include "freezeframe/repository_files.h"
#include "freezeframe/sim/transactional_app.h"
#include "freezeframe/snapshot_provider.h"

namespace freezeframe::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kDataBytes = 32ull << 20;
constexpr std::uint64_t kLogBytes = 8ull << 20;
constexpr std::uint64_t kDiffBytes = 64ull << 20;
constexpr std::uint64_t kBenchBytes = 32ull << 20;
constexpr std::uint64_t kBenchRequest = std::uint64_t{16} * 1024;
constexpr int kBenchWrites = 600;

// Collects the protocol's events; summed per phase for the report.
class PhaseTimes final : public EventSink {
 public:
  void record(const ProtocolEvent& event) override {
    std::lock_guard lock(mutex_);
    auto& [count, total] = phases_[std::string(protocol_phase_name(event.phase))];
    ++count;
    total += event.duration;
    if (event.outcome != EventOutcome::kOk)
      ++failures_;
  }
  std::string summary() const {
    std::lock_guard lock(mutex_);
    std::ostringstream text;
    text << std::fixed << std::setprecision(2);
    for (const char* phase :
         {"identify", "prepare-backup", "prepare-snapshot", "freeze", "pre-commit", "hold-io",
          "commit", "thaw", "post-snapshot", "snapshot-set"}) {
      auto it = phases_.find(phase);
      if (it == phases_.end())
        continue;
      text << "        " << std::left << std::setw(18) << phase << std::right << std::setw(9)
           << std::chrono::duration<double, std::milli>(it->second.second).count() << " ms"
           << (it->second.first > 1 ? "  (" + std::to_string(it->second.first) + " calls)" : "")
           << "\n";
    }
    return text.str();
  }
  std::uint64_t failures() const {
    std::lock_guard lock(mutex_);
    return failures_;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::pair<std::uint64_t, Nanoseconds>> phases_;
  std::uint64_t failures_ = 0;
};

// Reports a failed Status and returns false, for the demo's straight-line checks.
struct Check {
  std::ostream& out;
  bool operator()(const Status& status, std::string_view what) const {
    if (!status.ok())
      out << "error: " << what << ": " << status.to_string() << "\n";
    return status.ok();
  }
};

Result<std::unique_ptr<FileVolume>> image(const fs::path& path, std::uint64_t bytes,
                                          std::string name) {
  return FileVolume::create(path.string(), {.size_bytes = bytes, .name = std::move(name)});
}

// Copies a whole volume into a new image file.
Status export_volume(Volume& volume, const fs::path& path) {
  FF_ASSIGN_OR_RETURN(auto target, image(path, volume.size_bytes(), path.filename().string()));
  std::vector<std::byte> buffer(1 << 20);
  for (std::uint64_t at = 0; at < volume.size_bytes(); at += buffer.size()) {
    std::span<std::byte> piece(buffer.data(),
                               std::min<std::uint64_t>(buffer.size(), volume.size_bytes() - at));
    FF_TRY(volume.read(at, piece));
    FF_TRY(target->write(at, piece));
  }
  return target->flush();
}

// One provider kind: a running database, one snapshot set through the protocol, checks.
bool snapshot_set_demo(ProviderKind kind, std::uint64_t seed, const fs::path& dir,
                       std::ostream& out) {
  Check check{out};
  const std::string tag(provider_kind_name(kind));
  auto data_image = image(dir / (tag + "-data.img"), kDataBytes, "data");
  auto log_image = image(dir / (tag + "-log.img"), kLogBytes, "log");
  auto data_diff = image(dir / (tag + "-data.diff"), kDiffBytes, "data-diff");
  auto log_diff = image(dir / (tag + "-log.diff"), kDiffBytes, "log-diff");
  for (auto* created : {&data_image, &log_image, &data_diff, &log_diff}) {
    if (!check(created->status(), "create image"))
      return false;
  }
  Random uuids = Random(seed).fork("uuids-" + tag);
  ProviderOptions options;
  options.random = &uuids;
  // Room for every chunk the database changes while the set is live (the log volume is
  // rewritten in circles); the policies are shown by the tests, not here.
  options.limit = DiffAreaLimit::unbounded();
  auto data_provider =
      SnapshotProvider::create(kind, *data_image.value(), *data_diff.value(), options);
  auto log_provider =
      SnapshotProvider::create(kind, *log_image.value(), *log_diff.value(), options);
  if (!check(data_provider.status(), "data provider") ||
      !check(log_provider.status(), "log provider"))
    return false;
  HoldableVolume data(*data_provider.value(), "data");
  HoldableVolume log(*log_provider.value(), "log");
  auto block = BlockSnapshotAdapter::create("freezeframe-" + tag, kind);
  if (!check(block->add_volume(*data_provider.value(), "data"), "provider") ||
      !check(block->add_volume(*log_provider.value(), "log"), "provider"))
    return false;
  sim::TransactionalAppOptions app_options;
  app_options.seed = seed;
  app_options.name = "sim-database";
  auto app = sim::TransactionalApp::create(data, log, app_options);
  if (!check(app.status(), "transactional app"))
    return false;

  SystemClock clock;
  PhaseTimes phases;
  CoordinatorOptions coordinator_options;
  coordinator_options.events = &phases;
  bool ok = true;
  {
    Coordinator coordinator(clock, coordinator_options);
    ok = check(coordinator.register_provider(*block), "register provider") &&
         check(coordinator.add_volume(data), "add volume") &&
         check(coordinator.add_volume(log), "add volume") &&
         check(coordinator.set_default_provider("data", block->id()), "default provider") &&
         check(coordinator.set_default_provider("log", block->id()), "default provider") &&
         check(coordinator.register_writer(*app.value()), "register writer");
    if (!ok)
      return false;

    // The database runs transactions on its own thread while the set is taken.
    Status run_status;
    std::thread load([&] { run_status = app.value()->run(1'000'000'000); });
    app.value()->wait_until_completed(300);
    auto session = coordinator.take_snapshot_set({"data", "log"});
    std::uint64_t at_set = app.value()->stats().transactions_completed;
    app.value()->wait_until_completed(at_set + 300);
    app.value()->stop();
    load.join();
    if (!check(session.status(), "snapshot set") || !check(run_status, "database"))
      return false;
    auto set = session.value()->snapshot_set();
    if (!check(set.status(), "snapshot set"))
      return false;
    const SnapshotInfo& data_snapshot = set.value().snapshots.at(0);
    const SnapshotInfo& log_snapshot = set.value().snapshots.at(1);

    auto data_view = data_provider.value()->open_snapshot(data_snapshot.id);
    auto log_view = log_provider.value()->open_snapshot(log_snapshot.id);
    if (!check(data_view.status(), "open snapshot") || !check(log_view.status(), "open snapshot"))
      return false;
    auto report = sim::ConsistencyChecker::check(*data_view.value(), *log_view.value());
    if (!check(report.status(), "checker"))
      return false;
    // The exported images are checked again, as a backup would restore them.
    fs::path data_export = dir / (tag + "-data-export.img");
    fs::path log_export = dir / (tag + "-log-export.img");
    if (!check(export_volume(*data_view.value(), data_export), "export") ||
        !check(export_volume(*log_view.value(), log_export), "export"))
      return false;
    auto data_copy = FileVolume::open(data_export.string(), {.read_only = true});
    auto log_copy = FileVolume::open(log_export.string(), {.read_only = true});
    if (!check(data_copy.status(), "open export") || !check(log_copy.status(), "open export"))
      return false;
    auto exported = sim::ConsistencyChecker::check(*data_copy.value(), *log_copy.value());
    if (!check(exported.status(), "checker"))
      return false;

    DiffAreaUsage data_use = data_provider.value()->usage();
    DiffAreaUsage log_use = log_provider.value()->usage();
    ProviderStats data_stats = data_provider.value()->stats();
    out << "   " << tag << ": set " << set.value().id.to_string() << "\n"
        << "        taken after " << at_set << " transactions, "
        << (app.value()->stats().transactions_completed - at_set)
        << " more ran while the snapshots were live\n"
        << "        protocol phases (time spent, this run):\n"
        << phases.summary()
        << "        checker on the snapshots: " << sim::consistency_name(report.value().verdict)
        << " (" << report.value().committed_transactions << " committed transactions in the log)\n"
        << "        checker on the exported images: "
        << sim::consistency_name(exported.value().verdict) << "\n"
        << "        diff area: data " << (data_use.used_bytes >> 10) << " KiB, log "
        << (log_use.used_bytes >> 10) << " KiB ("
        << (kind == ProviderKind::kCopyOnWrite ? data_stats.chunks_preserved
                                               : data_stats.chunks_redirected)
        << (kind == ProviderKind::kCopyOnWrite ? " data chunks preserved" : " chunks redirected")
        << ")\n";
    ok = report.value().verdict == sim::Consistency::kConsistent &&
         exported.value().verdict == sim::Consistency::kConsistent && phases.failures() == 0;
    ok = check(session.value()->backup_complete(), "backup complete") && ok;
  }
  ok = ok && data_provider.value()->snapshots().empty();
  return ok;
}

// Random 16 KiB writes to `volume`, flushed at the end; returns MiB/s.
Result<double> write_rate(Volume& volume, std::uint64_t seed) {
  Random random(seed);
  std::vector<std::byte> data(kBenchRequest);
  random.fill(data);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kBenchWrites; ++i) {
    FF_TRY(volume.write(random.uniform(kBenchBytes / kBenchRequest) * kBenchRequest, data));
  }
  FF_TRY(volume.flush());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return static_cast<double>(kBenchWrites * kBenchRequest) / (1 << 20) / seconds;
}

// The same writes to a raw image, and through CoW and RoW with one snapshot, in this run.
bool overhead_demo(std::uint64_t seed, const fs::path& dir, std::ostream& out) {
  Check check{out};
  std::vector<std::byte> fill(1 << 20, std::byte{0x33});
  double rates[3] = {0, 0, 0};
  for (int mode = 0; mode < 3; ++mode) {
    std::string tag = mode == 0 ? "raw" : mode == 1 ? "cow" : "row";
    auto origin = image(dir / ("bench-" + tag + ".img"), kBenchBytes, "bench-" + tag);
    if (!check(origin.status(), "bench image"))
      return false;
    for (std::uint64_t at = 0; at < kBenchBytes; at += fill.size()) {
      if (!check(origin.value()->write(at, fill), "fill"))
        return false;
    }
    if (!check(origin.value()->flush(), "flush"))
      return false;
    std::unique_ptr<FileVolume> diff;
    std::unique_ptr<SnapshotProvider> provider;
    Volume* target = origin.value().get();
    if (mode > 0) {
      auto diff_image = image(dir / ("bench-" + tag + ".diff"), kDiffBytes, "bench-diff");
      if (!check(diff_image.status(), "bench diff"))
        return false;
      diff = std::move(diff_image).value();
      ProviderOptions options;
      options.limit = DiffAreaLimit::unbounded();
      auto created = SnapshotProvider::create(
          mode == 1 ? ProviderKind::kCopyOnWrite : ProviderKind::kRedirectOnWrite, *origin.value(),
          *diff, options);
      if (!check(created.status(), "bench provider"))
        return false;
      provider = std::move(created).value();
      if (!check(provider->create_snapshot().status(), "bench snapshot"))
        return false;
      target = provider.get();
    }
    auto rate = write_rate(*target, seed);
    if (!check(rate.status(), "bench writes"))
      return false;
    rates[mode] = rate.value();
  }
  out << std::fixed << std::setprecision(0) << "   " << kBenchWrites
      << " random 16 KiB writes + flush after a snapshot, image files, this run:\n"
      << "        raw " << rates[0] << " MiB/s, CoW " << rates[1] << " MiB/s ("
      << std::setprecision(2) << rates[1] / rates[0] << " of raw), RoW " << std::setprecision(0)
      << rates[2] << " MiB/s (" << std::setprecision(2) << rates[2] / rates[0] << " of raw)\n"
      << "        (first writes after a snapshot: CoW copies each chunk before overwriting it\n"
      << "        and makes the copy durable first; RoW writes each to a new chunk)\n";
  return true;
}

}  // namespace

bool protocol_demo(std::uint64_t seed, std::ostream& out) {
  std::error_code error;
  fs::path base = fs::temp_directory_path(error);
  if (error)
    base = ".";
  auto made = make_unique_directory(base, "freezeframe-demo.");
  if (!made.ok()) {
    out << "error: cannot create a scratch directory: " << made.status().message() << "\n";
    return false;
  }
  const fs::path dir = *made;
  out << "1. a transactional database (data + log volume, image files in " << dir.string()
      << ")\n   runs under load; one snapshot set through the protocol with each provider:\n";
  bool ok = snapshot_set_demo(ProviderKind::kCopyOnWrite, seed, dir, out);
  ok = snapshot_set_demo(ProviderKind::kRedirectOnWrite, seed, dir, out) && ok;
  out << "\n2. write overhead:\n";
  ok = overhead_demo(seed, dir, out) && ok;
  fs::remove_all(dir, error);
  return ok;
}

}  // namespace freezeframe::cli
