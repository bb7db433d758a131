// Uses the installed headers and libraries: a memory volume behind a simulated disk, a write,
// a crash after a flush, and a read back; then an image file in a scratch directory, written,
// flushed, reopened and read back. Exits non-zero on any mismatch.
#include <freezeframe/file_volume.h>
#include <freezeframe/memory_volume.h>
#include <freezeframe/sim/sim_volume.h>
#include <stdlib.h>  // mkdtemp

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace {

int file_volume_round_trip() {
  std::string pattern = (std::filesystem::temp_directory_path() / "ff-consumer-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::filesystem::path dir = pattern;
  const std::string path = (dir / "volume.img").string();
  int result = 1;
  std::vector<std::byte> data(4096, std::byte{0x3c});
  {
    auto created = freezeframe::FileVolume::create(path, {.size_bytes = 1 << 20});
    if (!created.ok()) {
      std::fprintf(stderr, "file create: %s\n", created.status().to_string().c_str());
    } else if (!created.value()->write(4096, data).ok() || !created.value()->flush().ok()) {
      std::fprintf(stderr, "file write failed\n");
    } else {
      result = 0;
    }
  }
  if (result == 0) {
    auto opened = freezeframe::FileVolume::open(path, {.read_only = true});
    std::vector<std::byte> back(4096);
    if (!opened.ok() || !opened.value()->read(4096, back).ok() || back != data) {
      std::fprintf(stderr, "file read back differs\n");
      result = 1;
    } else {
      std::printf("consumer: file volume %s ok\n", opened.value()->uuid().to_string().c_str());
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return result;
}

}  // namespace

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
  return file_volume_round_trip();
}
