// Read suite: read throughput and per-read latency of the live volume and of a snapshot, for
// the raw volume, the CoW provider and the RoW provider over image files.
//
//   read/target:{live,snapshot}/provider:{raw,cow,row}/pattern:{sequential,random}/
//        state:{fresh,fragmented}/bytes:{16384,65536}          (raw: target:live only)
//
// state:fresh: right after one snapshot. state:fragmented: after the snapshot, an untimed
// phase writes 16 KiB chunks at random over half of the chunks of the live volume: the RoW
// live volume then reads half its chunks from the diff area, a CoW snapshot half of its.
// Raw "fragmented" is the raw volume after the same write phase. Chunk size 16 KiB.
// The timed pass reads the whole volume sequentially, or as many bytes at random
// request-aligned offsets (with repeats). Reads do not change a setup, so each
// (provider, state) setup is built once and shared by the benchmarks registered after it,
// then removed. Counters: see bench/README.md.
//
// Run: build-bench/bench/freezeframe_bench --benchmark_filter='^read/'
//      [--volume-mib=N] [--direct] [--dir=PATH]
#include <map>
#include <utility>

#include "common.h"

namespace freezeframe::bench {
namespace {

struct ReadCase {
  std::string name;
  Provider provider = Provider::kRaw;
  bool snapshot_target = false;
  bool sequential = true;
  bool fragmented = false;
  std::uint64_t request_bytes = 16 * kKiB;
};

struct ReadSetup {
  Provider provider = Provider::kRaw;
  bool fragmented = false;
  std::unique_ptr<Stack> stack;
  std::unique_ptr<Volume> snapshot;
};

// The one setup alive at a time.
std::unique_ptr<ReadSetup>& current_setup() {
  static std::unique_ptr<ReadSetup> setup;
  return setup;
}

Result<ReadSetup*> setup_for(Provider provider, bool fragmented) {
  std::unique_ptr<ReadSetup>& setup = current_setup();
  if (setup && setup->provider == provider && setup->fragmented == fragmented) {
    return setup.get();
  }
  setup.reset();
  const Settings& s = settings();
  FF_ASSIGN_OR_RETURN(FileVolume * origin, shared_origin(s.volume_bytes));
  auto fresh = std::make_unique<ReadSetup>();
  fresh->provider = provider;
  fresh->fragmented = fragmented;
  FF_ASSIGN_OR_RETURN(fresh->stack, make_stack(provider, *origin));
  if (fresh->stack->snapshots) {
    FF_ASSIGN_OR_RETURN(SnapshotInfo info, fresh->stack->snapshots->create_snapshot());
    FF_ASSIGN_OR_RETURN(fresh->snapshot, fresh->stack->snapshots->open_snapshot(info.id));
  }
  if (fragmented) {
    Random random(derive_seed(2, provider_name(provider)));
    std::vector<std::byte> data(kDefaultChunkBytes);
    random.fill(data);
    const std::uint64_t chunks = s.volume_bytes / kDefaultChunkBytes;
    FF_TRY(write_all(
        *fresh->stack->live,
        random_distinct_offsets(s.volume_bytes, kDefaultChunkBytes, chunks / 2, random), data));
  }
  FF_TRY(fresh->stack->live->flush());
  if (fresh->stack->snapshots) {
    FF_TRY(check_no_overflow(*fresh->stack->snapshots));
  }
  setup = std::move(fresh);
  return setup.get();
}

Status run_read_case(benchmark::State& state, const ReadCase& read_case) {
  const Settings& s = settings();
  FF_ASSIGN_OR_RETURN(ReadSetup * setup, setup_for(read_case.provider, read_case.fragmented));
  Volume& target = read_case.snapshot_target ? *setup->snapshot : *setup->stack->live;
  const std::uint64_t request = read_case.request_bytes;
  const std::uint64_t count = s.volume_bytes / request;
  Random random(derive_seed(3, read_case.name));
  std::vector<std::uint64_t> offsets = read_case.sequential
                                           ? sequential_offsets(request, count)
                                           : random_offsets(s.volume_bytes, request, count, random);
  std::vector<std::byte> buffer(request);
  if (read_case.provider == Provider::kRaw) {
    FF_ASSIGN_OR_RETURN(PassResult pass, timed_pass(target, Io::kRead, offsets, buffer));
    report_pass(state, pass, Io::kRead);
    state.counters["ratio_to_raw"] = 1.0;
    return Status();
  }
  // The raw reference: the same reads of the origin itself, just before (see the write suite).
  FF_ASSIGN_OR_RETURN(FileVolume * origin, shared_origin(s.volume_bytes));
  FF_ASSIGN_OR_RETURN(PassResult raw, timed_pass(*origin, Io::kRead, offsets, buffer));
  FF_ASSIGN_OR_RETURN(PassResult pass, timed_pass(target, Io::kRead, offsets, buffer));
  report_pass(state, pass, Io::kRead);
  report_paired_ratio(state, read_case.name, pass, raw);
  return Status();
}

}  // namespace

void register_read_benchmarks() {
  const std::uint64_t request_sizes[] = {16384, 65536};
  // Grouped by setup (provider, state) so each setup is built once.
  for (Provider provider : kAllProviders) {
    for (bool fragmented : {false, true}) {
      for (bool snapshot_target : {false, true}) {
        if (snapshot_target && provider == Provider::kRaw) {
          continue;
        }
        for (bool sequential : {true, false}) {
          for (std::uint64_t request : request_sizes) {
            auto name_for = [&](Provider p, bool snapshot) {
              return BenchName("read")
                  .add("target", snapshot ? "snapshot" : "live")
                  .add("provider", provider_name(p))
                  .add("pattern", sequential ? "sequential" : "random")
                  .add("state", fragmented ? "fragmented" : "fresh")
                  .add("bytes", request)
                  .str();
            };
            ReadCase read_case;
            read_case.name = name_for(provider, snapshot_target);
            read_case.provider = provider;
            read_case.snapshot_target = snapshot_target;
            read_case.sequential = sequential;
            read_case.fragmented = fragmented;
            read_case.request_bytes = request;
            register_benchmark(read_case.name, [read_case](benchmark::State& state) {
              run_once(state, [&] { return run_read_case(state, read_case); });
            });
          }
        }
      }
    }
  }
}

void release_read_setup() {
  current_setup().reset();
}

}  // namespace freezeframe::bench
