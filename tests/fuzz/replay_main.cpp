// The replay driver linked with each fuzz target in every build (GCC included): CTest runs it
// over the target's committed corpus and regression inputs (tests/fuzz/corpus/<target>/,
// tests/fuzz/regressions/<target>/), so an input that once crashed keeps being checked by the
// ordinary suite. `--write-corpus DIR` writes the target's seed inputs instead.
//
//   <target>_fuzz_replay DIR_OR_FILE...     every file, in name order; fails if none is found
//   <target>_fuzz_replay --write-corpus DIR
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

#include "fuzz_support.h"

namespace fs = std::filesystem;

namespace {

int write_corpus(const fs::path& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) {
    std::fprintf(stderr, "cannot create %s: %s\n", dir.string().c_str(), error.message().c_str());
    return 1;
  }
  const std::vector<freezeframe::fuzz::Input> inputs = freezeframe::fuzz::seeds();
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "seed-%03zu", i);
    std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(inputs[i].data()),
              static_cast<std::streamsize>(inputs[i].size()));
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", (dir / name).string().c_str());
      return 1;
    }
  }
  std::printf("wrote %zu seed inputs to %s\n", inputs.size(), dir.string().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--write-corpus")
    return write_corpus(argv[2]);
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const fs::path path = argv[i];
    if (fs::is_directory(path)) {
      for (const auto& entry : fs::directory_iterator(path))
        if (entry.is_regular_file())
          files.push_back(entry.path());
    } else if (fs::is_regular_file(path)) {
      files.push_back(path);
    }
  }
  std::sort(files.begin(), files.end());
  // An empty run would pass while checking nothing (a moved corpus, a wrong path).
  if (files.empty()) {
    std::fprintf(stderr, "no input files found\n");
    return 1;
  }
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
    if (!in.eof() && !in) {
      std::fprintf(stderr, "cannot read %s\n", file.string().c_str());
      return 1;
    }
    std::fprintf(stderr, "replay %s (%zu bytes)\n", file.string().c_str(), bytes.size());
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  }
  std::printf("replayed %zu inputs\n", files.size());
  return 0;
}
