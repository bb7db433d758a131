// Random-write throughput of the raw volume, the CoW provider and the RoW provider over
// memory volumes, with one snapshot taken before the timed writes. Run:
//   build/bench/provider_bench --benchmark_counters_tabular=true
// and compare bytes_per_second across the rows of one run; the ratios (CoW / raw,
// RoW / raw) are what carries across machines.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "freezeframe/memory_volume.h"
#include "freezeframe/random.h"
#include "freezeframe/snapshot_provider.h"

namespace freezeframe {
namespace {

constexpr std::uint64_t kOriginBytes = 256ull << 20;
constexpr std::uint64_t kDiffBytes = 512ull << 20;

enum Mode { kRaw = 0, kCow = 1, kRow = 2 };

void random_writes(benchmark::State& state) {
  const auto mode = static_cast<Mode>(state.range(0));
  const auto request = static_cast<std::uint64_t>(state.range(1));
  auto origin = MemoryVolume::create({.name = "origin", .size_bytes = kOriginBytes});
  auto diff = MemoryVolume::create({.name = "diff", .size_bytes = kDiffBytes});
  if (!origin.ok() || !diff.ok()) {
    state.SkipWithError("cannot create memory volumes");
    return;
  }
  std::vector<std::byte> fill(1 << 20, std::byte{0x11});
  for (std::uint64_t at = 0; at < kOriginBytes; at += fill.size()) {
    if (!origin.value()->write(at, fill).ok()) {
      state.SkipWithError("cannot fill the origin");
      return;
    }
  }
  std::unique_ptr<SnapshotProvider> provider;
  Volume* target = origin.value().get();
  if (mode != kRaw) {
    ProviderOptions options;
    options.limit = DiffAreaLimit::unbounded();
    auto created = SnapshotProvider::create(
        mode == kCow ? ProviderKind::kCopyOnWrite : ProviderKind::kRedirectOnWrite, *origin.value(),
        *diff.value(), options);
    if (!created.ok() || !created.value()->create_snapshot().ok()) {
      state.SkipWithError("cannot create the provider or its snapshot");
      return;
    }
    provider = std::move(created).value();
    target = provider.get();
  }
  Random random(1);
  std::vector<std::byte> data(request);
  random.fill(data);
  const std::uint64_t slots = kOriginBytes / request;
  for (auto _ : state) {
    std::uint64_t at = random.uniform(slots) * request;
    if (!target->write(at, data).ok()) {
      state.SkipWithError("write failed");
      return;
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * request));
  if (provider) {
    ProviderStats stats = provider->stats();
    state.counters["chunks_copied"] =
        static_cast<double>(stats.chunks_preserved + stats.chunks_redirected);
  }
}

BENCHMARK(random_writes)
    ->ArgNames({"mode(0raw,1cow,2row)", "bytes"})
    ->ArgsProduct({{kRaw, kCow, kRow}, {4096, 16384, 65536}})
    ->Iterations(4000);

}  // namespace
}  // namespace freezeframe

BENCHMARK_MAIN();
