// Uses the installed headers and libraries: a memory volume behind a simulated disk, a write,
// a crash after a flush, and a read back; then an image file in a scratch directory, written,
// flushed, reopened and read back; then a backup repository in a scratch directory, a volume
// backed up and restored. Exits non-zero on any mismatch.
#include <freezeframe/backup.h>
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

int backup_round_trip() {
  std::string pattern = (std::filesystem::temp_directory_path() / "ff-consumer-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::filesystem::path dir = pattern;
  int result = 1;
  auto source = freezeframe::MemoryVolume::create({.name = "source", .size_bytes = 1 << 20});
  auto target = freezeframe::MemoryVolume::create({.name = "target", .size_bytes = 1 << 20});
  auto repo = freezeframe::Repository::init(dir / "repo", {});
  std::vector<std::byte> data(65536, std::byte{0x6b});
  std::vector<std::byte> back(65536);
  if (!source.ok() || !target.ok() || !repo.ok() || !source.value()->write(65536, data).ok()) {
    std::fprintf(stderr, "backup setup failed\n");
  } else {
    freezeframe::VolumeBackupRequest request;
    request.source = source.value().get();
    request.volume_name = "source";
    auto backup = freezeframe::backup_set(*repo.value(), std::span(&request, 1));
    if (!backup.ok()) {
      std::fprintf(stderr, "backup: %s\n", backup.status().to_string().c_str());
    } else if (!freezeframe::restore(*repo.value(), backup.value().set.volumes[0].id,
                                     *target.value())
                    .ok() ||
               !target.value()->read(65536, back).ok() || back != data) {
      std::fprintf(stderr, "restore differs\n");
    } else {
      std::printf("consumer: backup %s ok\n", backup.value().set.volumes[0].id.c_str());
      result = 0;
    }
  }
  repo = freezeframe::Status(freezeframe::ErrorCode::kAborted, "closed");
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
  if (file_volume_round_trip() != 0)
    return 1;
  return backup_round_trip();
}
