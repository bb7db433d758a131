// Uses the installed headers and libraries: a memory volume behind a simulated disk, a write,
// a crash after a flush, and a read back. Exits non-zero on any mismatch.
#include <freezeframe/memory_volume.h>
#include <freezeframe/sim/sim_volume.h>

#include <cstdio>
#include <vector>

int main() {
  auto base = freezeframe::MemoryVolume::create({.name = "consumer", .size_bytes = 1 << 20});
  if (!base.ok()) {
    std::fprintf(stderr, "create: %s\n", base.status().to_string().c_str());
    return 1;
  }
  auto sim = freezeframe::sim::SimVolume::create(std::move(base).value(), {.seed = 7});
  if (!sim.ok()) {
    std::fprintf(stderr, "sim: %s\n", sim.status().to_string().c_str());
    return 1;
  }
  auto& volume = *sim.value();
  std::vector<std::byte> data(4096, std::byte{0x5a});
  if (!volume.write(8192, data).ok() || !volume.flush().ok())
    return 1;
  volume.crash();
  std::vector<std::byte> back(4096);
  if (!volume.read(8192, back).ok() || back != data) {
    std::fprintf(stderr, "read back differs\n");
    return 1;
  }
  std::printf("consumer: %s ok\n", volume.identity().name.c_str());
  return 0;
}
