// Fuzz target: the store catalog (cli/store_catalog.cpp), read by every command from
// DIR/catalog.json. Each input becomes the catalog of a scratch store that the target opens
// for reading (as `freezeframe check` and `list` do), then resolves every volume's image and
// diff-area paths and lists the shadow copies. Byte 0 picks how: even, the rest is the whole
// catalog text; odd, the rest is patches (a 16-bit little-endian offset and a byte, 3 bytes
// each) over the catalog of a real store, built once with a CoW volume with shadow storage
// and a RoW volume, so that the entries' checks run against images that exist.
//
// A catalog may name an attached image by absolute path, which a read-only open opens; an
// input naming one is skipped, so the target never opens a device or a file outside its
// scratch directory (and never blocks on one). A store opened for reading writes nothing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "fuzz_support.h"
#include "store.h"

namespace ff = freezeframe;
namespace cli = freezeframe::cli;
namespace fs = std::filesystem;

namespace {

fs::path scratch_dir(const char* what) {
  const char* base = std::getenv("FREEZEFRAME_TEST_TMPDIR");
  fs::path dir =
      (base != nullptr ? fs::path(base) : fs::temp_directory_path()) /
      ("freezeframe-fuzz-" + std::string(what) + "-" + std::to_string(std::random_device()()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A store with two volumes, one with shadow storage; its catalog text. Aborts if it cannot
// be built (a broken harness, not a finding).
std::string build_store(const fs::path& dir) {
  auto store = cli::Store::open(dir, {.access = cli::StoreAccess::kWrite});
  if (!store.ok())
    std::abort();
  if (!(*store)->create_volume("data", 1 << 20, 512, ff::ProviderKind::kCopyOnWrite).ok() ||
      !(*store)->create_volume("logs", 1 << 20, 512, ff::ProviderKind::kRedirectOnWrite).ok())
    std::abort();
  cli::VolumeEntry* data = (*store)->find_volume("data");
  if (data == nullptr || !(*store)
                              ->create_storage(*data, "data", ff::DiffAreaLimit::unbounded(),
                                               ff::ProviderKind::kCopyOnWrite)
                              .ok())
    std::abort();
  store->reset();
  return read_text(dir / "catalog.json");
}

struct Fixture {
  fs::path real = scratch_dir("catalog-real");
  std::string real_catalog = build_store(real);
  fs::path scratch = scratch_dir("catalog");
  Fixture() = default;
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;
  ~Fixture() {
    std::error_code ignored;
    fs::remove_all(real, ignored);
    fs::remove_all(scratch, ignored);
  }
};

Fixture& fixture() {
  static Fixture instance;
  return instance;
}

bool names_absolute_path(const nlohmann::json& j) {
  if (j.is_string()) {
    const auto& text = j.get_ref<const std::string&>();
    return !text.empty() && (text[0] == '/' || text[0] == '\\');
  }
  if (j.is_structured()) {
    for (const auto& item : j)
      if (names_absolute_path(item))
        return true;
  }
  return false;
}

void open_catalog(const fs::path& dir, const std::string& text) {
  const nlohmann::json parsed = nlohmann::json::parse(text, nullptr, false);
  if (parsed.is_discarded() || names_absolute_path(parsed))
    return;
  {
    std::ofstream out(dir / "catalog.json", std::ios::binary | std::ios::trunc);
    out << text;
  }
  std::ostringstream notices;
  auto store = cli::Store::open(dir, {.access = cli::StoreAccess::kRead, .notices = &notices});
  if (!store.ok())
    return;
  for (cli::VolumeEntry* entry : (*store)->check_volumes()) {
    (void)(*store)->image_path(*entry);
    (void)(*store)->diff_path(*entry);
  }
  (void)(*store)->shadows();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Fixture& f = fixture();
  ff::fuzz::Reader in(data, size);
  if ((in.byte() & 1) == 0) {
    const std::span<const std::byte> rest = in.rest();
    open_catalog(f.scratch, std::string(reinterpret_cast<const char*>(rest.data()), rest.size()));
    return 0;
  }
  std::string text = f.real_catalog;
  while (in.remaining() >= 3) {
    std::uint32_t offset = in.byte();
    offset |= std::uint32_t{in.byte()} << 8;
    text[offset % text.size()] = static_cast<char>(in.byte());
  }
  open_catalog(f.real, text);
  return 0;
}

std::vector<ff::fuzz::Input> ff::fuzz::seeds() {
  const fs::path dir = scratch_dir("catalog-seed");
  std::vector<Input> out;
  out.push_back(bytes_of(std::string(1, '\0') + build_store(dir)));
  out.push_back(bytes_of(std::string(1, '\0') +
                         R"({"format":"freezeframe-store-catalog","version":2,)"
                         R"("volumes":[],"exposures":[],"pending":[]})"));
  out.push_back({1});
  out.push_back({1, 40, 0, '"'});
  fs::remove_all(dir);
  return out;
}
