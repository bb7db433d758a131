// Chunk sweep: random first-write throughput of the CoW and RoW providers by chunk size,
// against the raw volume.
//
//   sweep/provider:{raw,cow,row}/chunk:{4096,8192,16384,65536,262144,1048576}/bytes:16384
//                                                                    (raw: chunk:0)
//
// The write suite's method with one snapshot: 16 KiB writes at distinct 16 KiB-aligned
// offsets in random order, then one flush, timed together. With chunks larger than 16 KiB
// several writes can fall into one chunk, and only the first of them preserves or redirects
// it; a larger chunk costs more per first write and is paid less often. Counters as the
// write suite (ratio_to_raw against sweep/provider:raw/chunk:0/bytes:16384).
//
// Run: build-bench/bench/freezeframe_bench --benchmark_filter='^sweep/' [--volume-mib=N]
//      [--ops=N] [--direct] [--dir=PATH]
#include "common.h"

namespace freezeframe::bench {

void register_sweep_benchmarks() {
  const std::uint32_t chunk_sizes[] = {4096, 8192, 16384, 65536, 262144, 1048576};
  const std::uint64_t request = 16384;
  auto name_for = [&](Provider provider, std::uint32_t chunk) {
    return BenchName("sweep")
        .add("provider", provider_name(provider))
        .add("chunk", chunk)
        .add("bytes", request)
        .str();
  };
  for (Provider provider : kAllProviders) {
    for (std::uint32_t chunk : chunk_sizes) {
      WriteCase write_case;
      write_case.provider = provider;
      write_case.request_bytes = request;
      write_case.snapshots = provider == Provider::kRaw ? 0 : 1;
      write_case.chunk_bytes = provider == Provider::kRaw ? kDefaultChunkBytes : chunk;
      write_case.name = name_for(provider, provider == Provider::kRaw ? 0 : chunk);
      register_benchmark(write_case.name, [write_case](benchmark::State& state) {
        run_once(state, [&] { return run_write_case(state, write_case); });
      });
      if (provider == Provider::kRaw) {
        break;
      }
    }
  }
}

}  // namespace freezeframe::bench
