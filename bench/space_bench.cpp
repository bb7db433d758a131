// Space suite: diff-area space and index memory per changed byte of the CoW and RoW
// providers, with and without compression, for incompressible and compressible data.
//
//   space/provider:{cow,row}/compress:{0,1}/data:{random,compressible}
//
// The chunks to change are first written (before the snapshot, in place) with data of the
// same kind, because CoW preserves that old content. After one snapshot, changed bytes (64 MiB;
// smoke 4 MiB; --full 256 MiB; at most half the origin) are written as 16 KiB first writes at
// distinct random chunk-aligned offsets, then the provider is flushed. data:random is random bytes;
// data:compressible is about 2:1: each 4 KiB block holds 2 KiB of random bytes followed by 2 KiB of
// zeros. Chunk size 16 KiB. The reported time is the write pass with its flush (not a figure of
// merit here). Counters: diff_bytes_per_changed_byte (usage().used_bytes),
// diff_file_bytes_per_changed_byte (storage the sparse diff file occupies, metadata included),
// index_bytes_per_chunk (index_memory_bytes() / changed chunks), changed_chunks.
//
// Run: build-bench/bench/freezeframe_bench --benchmark_filter='^space/' [--volume-mib=N]
//      [--direct] [--dir=PATH]
#include <algorithm>

#include "common.h"

namespace freezeframe::bench {
namespace {

// One chunk of random bytes or, compressible, of 4 KiB blocks that are 2 KiB of random bytes
// followed by 2 KiB of zeros (about 2:1 for zstd).
std::vector<std::byte> chunk_data(Random& random, bool compressible) {
  std::vector<std::byte> data(kDefaultChunkBytes);
  random.fill(data);
  if (compressible) {
    for (std::size_t block = 0; block < data.size(); block += 4096) {
      std::fill(data.begin() + static_cast<std::ptrdiff_t>(block + 2048),
                data.begin() + static_cast<std::ptrdiff_t>(block + 4096), std::byte{0});
    }
  }
  return data;
}

Status run_space(benchmark::State& state, const std::string& name, Provider provider, bool compress,
                 bool compressible) {
  const Settings& s = settings();
  FF_ASSIGN_OR_RETURN(FileVolume * origin, shared_origin(s.volume_bytes));
  FF_ASSIGN_OR_RETURN(std::unique_ptr<Stack> stack,
                      make_stack(provider, *origin, {.compress = compress}));
  Random random(derive_seed(6, name));
  // Before the snapshot, the chunks to change are given content of the same kind as the new
  // data: CoW preserves that old content, RoW stores the new data.
  std::vector<std::byte> old_data = chunk_data(random, compressible);
  std::vector<std::byte> data = chunk_data(random, compressible);
  const std::uint64_t chunks = s.space_changed_bytes / kDefaultChunkBytes;
  std::vector<std::uint64_t> offsets =
      random_distinct_offsets(s.volume_bytes, kDefaultChunkBytes, chunks, random);
  FF_TRY(write_all(*stack->live, offsets, old_data));
  FF_TRY(stack->snapshots->create_snapshot().status());
  FF_TRY(stack->live->flush());
  FF_ASSIGN_OR_RETURN(PassResult pass, timed_pass(*stack->live, Io::kWrite, offsets, data));
  FF_TRY(check_no_overflow(*stack->snapshots));
  report_pass(state, pass, Io::kWrite);

  const double changed_bytes = static_cast<double>(pass.bytes);
  FF_ASSIGN_OR_RETURN(std::uint64_t file_bytes, stack->diff->allocated_bytes());
  state.counters["changed_chunks"] = static_cast<double>(offsets.size());
  state.counters["diff_bytes_per_changed_byte"] =
      static_cast<double>(stack->snapshots->usage().used_bytes) / changed_bytes;
  state.counters["diff_file_bytes_per_changed_byte"] =
      static_cast<double>(file_bytes) / changed_bytes;
  state.counters["index_bytes_per_chunk"] =
      static_cast<double>(stack->snapshots->index_memory_bytes()) /
      static_cast<double>(offsets.size());
  return Status();
}

}  // namespace

void register_space_benchmarks() {
  for (Provider provider : {Provider::kCow, Provider::kRow}) {
    for (bool compress : {false, true}) {
      for (bool compressible : {false, true}) {
        std::string name = BenchName("space")
                               .add("provider", provider_name(provider))
                               .add("compress", compress ? 1 : 0)
                               .add("data", compressible ? "compressible" : "random")
                               .str();
        register_benchmark(name, [=](benchmark::State& state) {
          run_once(state, [&] { return run_space(state, name, provider, compress, compressible); });
        });
      }
    }
  }
}

}  // namespace freezeframe::bench
