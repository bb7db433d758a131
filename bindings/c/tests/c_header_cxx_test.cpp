// The C header compiles as C++ and links from C++: the declarations carry C linkage.
#include <cstdio>
#include <cstring>
#include <type_traits>

#include "freezeframe.h"

static_assert(
    std::is_same_v<decltype(&ff_volume_read), int (*)(ff_volume*, uint64_t, void*, uint64_t)>);
static_assert(FF_UUID_STRING_BYTES == 37);

int main() {
  int major = -1;
  const char* text = ff_version(&major, nullptr, nullptr);
  ff_volume* volume = nullptr;
  const int rc = ff_memory_volume_create("cxx", 65536, 512, &volume);
  const bool ok = major == FF_VERSION_MAJOR && std::strlen(text) > 0 && rc == FF_OK &&
                  std::strcmp(ff_volume_name(volume), "cxx") == 0;
  ff_volume_destroy(volume);
  std::printf("c header from c++: %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
