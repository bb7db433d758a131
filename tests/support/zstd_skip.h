// Tests of compression in a build without zstd (FREEZEFRAME_WITH_ZSTD=OFF, the mingw-w64
// Windows build): skipped, saying why. What such a build does instead is tested by
// tests/engine/without_zstd_test.cpp.
#pragma once

#include <gtest/gtest.h>

#include "freezeframe/snapshot_provider.h"

#define FF_SKIP_WITHOUT_ZSTD(compressed)                                                      \
  do {                                                                                        \
    if ((compressed) && !::freezeframe::compression_available())                              \
      GTEST_SKIP() << "this build has no zstd (FREEZEFRAME_WITH_ZSTD=OFF), so no compressed " \
                      "diff areas";                                                           \
  } while (false)
