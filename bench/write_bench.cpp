// Write suite: write throughput and per-write latency of the raw volume, the CoW provider and
// the RoW provider over image files, by pattern, phase, request size and number of live
// snapshots.
//
//   write/pattern:{random,sequential}/provider:{raw,cow,row}/phase:{first,rewrite}/
//         bytes:{4096,16384,65536}/snapshots:{1,8,64}          (raw: snapshots:0)
//
// phase:first: every timed write is the first write to its chunks since the newest snapshot.
//   random: distinct chunk-aligned offsets in random order (slots of max(bytes, 16 KiB));
//   sequential: consecutive request-sized offsets from 0, so with 4 KiB requests only one
//   write in four is the first write to its 16 KiB chunk.
// phase:rewrite: an untimed pass writes the same offsets first; the timed pass rewrites them.
// snapshots:N: N - 1 older snapshots, each followed by ops/8 untimed one-chunk writes at
//   random chunk offsets (so the index holds chunks with several versions), then the newest
//   right before the pass. Chunk size 16 KiB, unbounded diff area (a sparse diff file large
//   enough that the overflow policy never acts; if it did, the benchmark fails), no
//   compression.
// The timed pass is the writes followed by one flush() of the written volume (FileVolume or
// provider), so throughput includes that flush. Counters: see bench/README.md.
//
// Run: build-bench/bench/freezeframe_bench --benchmark_filter='^write/'
//      [--volume-mib=N] [--ops=N] [--direct] [--dir=PATH]
#include "common.h"

namespace freezeframe::bench {

void register_write_benchmarks() {
  const std::uint64_t request_sizes[] = {4096, 16384, 65536};
  const std::uint32_t snapshot_counts[] = {1, 8, 64};
  for (bool sequential : {false, true}) {
    const char* pattern = sequential ? "sequential" : "random";
    for (Provider provider : kAllProviders) {
      for (bool rewrite : {false, true}) {
        const char* phase = rewrite ? "rewrite" : "first";
        for (std::uint64_t request : request_sizes) {
          auto name_for = [&](Provider p, std::uint32_t snapshots) {
            return BenchName("write")
                .add("pattern", pattern)
                .add("provider", provider_name(p))
                .add("phase", phase)
                .add("bytes", request)
                .add("snapshots", snapshots)
                .str();
          };
          for (std::uint32_t snapshots : snapshot_counts) {
            WriteCase write_case;
            write_case.provider = provider;
            write_case.sequential = sequential;
            write_case.rewrite = rewrite;
            write_case.request_bytes = request;
            write_case.snapshots = provider == Provider::kRaw ? 0 : snapshots;
            write_case.name = name_for(provider, write_case.snapshots);
            if (provider != Provider::kRaw) {
              write_case.one_snapshot_name = name_for(provider, 1);
            }
            register_benchmark(write_case.name, [write_case](benchmark::State& state) {
              run_once(state, [&] { return run_write_case(state, write_case); });
            });
            if (provider == Provider::kRaw) {
              break;
            }
          }
        }
      }
    }
  }
}

}  // namespace freezeframe::bench
