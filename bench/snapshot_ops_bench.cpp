// Snapshot suite: the cost of snapshot management operations of the CoW and RoW providers
// over image files.
//
//   snapshot/op:create/provider:{cow,row}/volume_gib:{1,64}
//     Sparse origin of that size with 8 MiB written, then K creates back to back (K = 50,
//     smoke 3; the oldest snapshots are deleted, untimed, near snapshots_max). Invariant 4
//     says the time does not grow with the volume size. A create flushes the origin and
//     commits one journal group on the diff volume: flush_median_us is the median time of
//     two (4 KiB write + flush()) on a scratch image file in the same directory, one sample
//     after each create, and median_excl_flush_us = max(0, median_us - flush_median_us).
//   snapshot/op:{delete_oldest,delete_middle,revert,consolidate}/provider:{cow,row}/
//            changed_mib:{16,64}                     (--full adds 256; consolidate: row only)
//     1 GiB sparse origin; three snapshots, each followed by changed_mib of 16 KiB writes at
//     distinct random offsets; then one timed operation: delete the oldest or the middle
//     snapshot, revert to the newest (so changed_mib changed since it), or delete every
//     snapshot (untimed) and consolidate(). Repeated with a fresh setup (3 times, smoke 1);
//     ms_per_changed_gib = median time / changed_mib in GiB.
// The reported time of each benchmark is the median operation. Counters: bench/README.md.
//
// Run: build-bench/bench/freezeframe_bench --benchmark_filter='^snapshot/' [--full]
//      [--direct] [--dir=PATH]
#include <algorithm>
#include <chrono>

#include "common.h"
#include "freezeframe/enum_names.h"

namespace freezeframe::bench {
namespace {

using Clock = std::chrono::steady_clock;

double elapsed_us(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

void report_median(benchmark::State& state, std::vector<double> samples_us) {
  std::sort(samples_us.begin(), samples_us.end());
  const double median_us = percentile(samples_us, 0.5);
  state.SetIterationTime(median_us / 1e6);
  state.counters["median_us"] = median_us;
  state.counters["p99_us"] = percentile(samples_us, 0.99);
  state.counters["samples"] = static_cast<double>(samples_us.size());
}

// Time of (write 4 KiB + flush(), twice) on a scratch image file: what the two flushes inside
// a snapshot create cost on this file system at that moment.
Result<double> flush_pair_us(FileVolume& volume) {
  std::vector<std::byte> data(4096, std::byte{0x5a});
  const Clock::time_point start = Clock::now();
  for (std::uint64_t offset : {std::uint64_t{0}, std::uint64_t{4096}}) {
    FF_TRY(volume.write(offset, data));
    FF_TRY(volume.flush());
  }
  return elapsed_us(start);
}

Status run_create(benchmark::State& state, Provider provider, std::uint64_t volume_gib) {
  const Settings& s = settings();
  ScratchFile origin_file("origin-sparse");
  FF_ASSIGN_OR_RETURN(std::unique_ptr<FileVolume> origin,
                      create_file_volume(origin_file.path(), volume_gib * kGiB));
  ScratchFile flush_file("flush");
  FF_ASSIGN_OR_RETURN(std::unique_ptr<FileVolume> flush_volume,
                      create_file_volume(flush_file.path(), kMiB));
  const std::uint32_t snapshots_max = 64;
  FF_ASSIGN_OR_RETURN(
      std::unique_ptr<Stack> stack,
      make_stack(provider, *origin, {.snapshots_max = snapshots_max, .diff_bytes = 256 * kMiB}));
  Random random(derive_seed(4, "create"));
  std::vector<std::byte> data(kMiB);
  random.fill(data);
  FF_TRY(write_all(*stack->live, sequential_offsets(kMiB, 8), data));
  FF_TRY(stack->live->flush());

  // Each create is followed by one flush-pair sample, so both see the same load on a shared
  // disk, whose flush latency can change tenfold within a minute.
  std::vector<double> samples_us;
  std::vector<double> flush_samples_us;
  for (std::uint32_t i = 0; i < s.snapshot_creates; ++i) {
    std::vector<SnapshotInfo> existing = stack->snapshots->snapshots();
    if (existing.size() + 1 >= snapshots_max) {
      FF_TRY(stack->snapshots->delete_snapshot(existing.front().id));
    }
    const Clock::time_point start = Clock::now();
    Result<SnapshotInfo> created = stack->snapshots->create_snapshot();
    const double took_us = elapsed_us(start);
    FF_TRY(created.status());
    samples_us.push_back(took_us);
    FF_ASSIGN_OR_RETURN(double flush_us, flush_pair_us(*flush_volume));
    flush_samples_us.push_back(flush_us);
  }
  FF_TRY(check_no_overflow(*stack->snapshots));
  const double median_us = median(samples_us);
  const double flush_median_us = median(std::move(flush_samples_us));
  report_median(state, std::move(samples_us));
  state.counters["flush_median_us"] = flush_median_us;
  state.counters["median_excl_flush_us"] = std::max(0.0, median_us - flush_median_us);
  return Status();
}

enum class Op { kDeleteOldest, kDeleteMiddle, kRevert, kConsolidate };

std::string_view op_name(Op op) {
  static constexpr EnumName<Op> kNames[] = {{Op::kDeleteOldest, "delete_oldest"},
                                            {Op::kDeleteMiddle, "delete_middle"},
                                            {Op::kRevert, "revert"},
                                            {Op::kConsolidate, "consolidate"}};
  return name_of(kNames, op, "?");
}

// One fresh setup and one timed operation; returns its time in microseconds.
Result<double> time_op_once(Provider provider, Op op, std::uint64_t changed_bytes,
                            std::uint32_t repetition, ProviderStats& stats) {
  ScratchFile origin_file("origin-sparse");
  FF_ASSIGN_OR_RETURN(std::unique_ptr<FileVolume> origin,
                      create_file_volume(origin_file.path(), kGiB));
  FF_ASSIGN_OR_RETURN(
      std::unique_ptr<Stack> stack,
      make_stack(provider, *origin, {.diff_bytes = kGiB + 3 * changed_bytes + 64 * kMiB}));
  SnapshotProvider& snapshots = *stack->snapshots;
  Random random(derive_seed(5 + repetition, op_name(op)));
  std::vector<std::byte> data(kDefaultChunkBytes);
  random.fill(data);
  for (int i = 0; i < 3; ++i) {
    FF_TRY(snapshots.create_snapshot().status());
    FF_TRY(write_all(snapshots,
                     random_distinct_offsets(kGiB, kDefaultChunkBytes,
                                             changed_bytes / kDefaultChunkBytes, random),
                     data));
  }
  FF_TRY(snapshots.flush());
  FF_TRY(check_no_overflow(snapshots));
  std::vector<SnapshotInfo> existing = snapshots.snapshots();
  if (op == Op::kConsolidate) {
    for (const SnapshotInfo& info : existing) {
      FF_TRY(snapshots.delete_snapshot(info.id));
    }
  }
  const Clock::time_point start = Clock::now();
  Status status;
  switch (op) {
    case Op::kDeleteOldest:
      status = snapshots.delete_snapshot(existing.at(0).id);
      break;
    case Op::kDeleteMiddle:
      status = snapshots.delete_snapshot(existing.at(1).id);
      break;
    case Op::kRevert:
      status = snapshots.revert_to_snapshot(existing.at(2).id);
      break;
    case Op::kConsolidate:
      status = snapshots.as_row() != nullptr
                   ? snapshots.as_row()->consolidate()
                   : unsupported("consolidate needs a redirect-on-write provider");
      break;
  }
  const double took_us = elapsed_us(start);
  FF_TRY(status);
  stats = snapshots.stats();
  return took_us;
}

Status run_op(benchmark::State& state, Provider provider, Op op, std::uint64_t changed_mib) {
  const Settings& s = settings();
  std::vector<double> samples_us;
  ProviderStats stats;
  for (std::uint32_t i = 0; i < s.snapshot_op_repetitions; ++i) {
    FF_ASSIGN_OR_RETURN(double took_us, time_op_once(provider, op, changed_mib * kMiB, i, stats));
    samples_us.push_back(took_us);
  }
  const double median_us = median(samples_us);
  report_median(state, std::move(samples_us));
  state.counters["ms_per_changed_gib"] =
      median_us / 1e3 / (static_cast<double>(changed_mib) / 1024.0);
  if (op == Op::kConsolidate) {
    state.counters["chunks_consolidated"] = static_cast<double>(stats.chunks_consolidated);
  }
  return Status();
}

}  // namespace

void register_snapshot_benchmarks() {
  for (Provider provider : {Provider::kCow, Provider::kRow}) {
    for (std::uint64_t gib : {1, 64}) {
      std::string name = BenchName("snapshot")
                             .add("op", "create")
                             .add("provider", provider_name(provider))
                             .add("volume_gib", gib)
                             .str();
      register_benchmark(name, [provider, gib](benchmark::State& state) {
        run_once(state, [&] { return run_create(state, provider, gib); });
      });
    }
  }
  std::vector<std::uint64_t> changed_sizes = {16, 64};
  if (settings().full) {
    changed_sizes.push_back(256);
  }
  for (Op op : {Op::kDeleteOldest, Op::kDeleteMiddle, Op::kRevert, Op::kConsolidate}) {
    for (Provider provider : {Provider::kCow, Provider::kRow}) {
      if (op == Op::kConsolidate && provider == Provider::kCow) {
        continue;
      }
      for (std::uint64_t changed_mib : changed_sizes) {
        std::string name = BenchName("snapshot")
                               .add("op", op_name(op))
                               .add("provider", provider_name(provider))
                               .add("changed_mib", changed_mib)
                               .str();
        register_benchmark(name, [provider, op, changed_mib](benchmark::State& state) {
          run_once(state, [&] { return run_op(state, provider, op, changed_mib); });
        });
      }
    }
  }
}

}  // namespace freezeframe::bench
