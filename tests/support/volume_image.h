// Byte images for tests that read and write volumes: random content, a whole volume read
// back, and a check of what a volume holds at an offset. A failed read fails the test.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "freezeframe/random.h"
#include "freezeframe/volume.h"

namespace freezeframe::testing {

using Bytes = std::vector<std::byte>;

inline Bytes random_bytes(Random& random, std::uint64_t length) {
  Bytes data(length);
  random.fill(data);
  return data;
}

inline Bytes read_all(Volume& volume) {
  Bytes image(volume.size_bytes());
  Status status = volume.read(0, image);
  EXPECT_TRUE(status.ok()) << volume.name() << ": " << status.to_string();
  return image;
}

// What `volume` holds at [offset, offset + expected.size()) is `expected`.
inline void expect_holds(Volume& volume, std::uint64_t offset, const Bytes& expected) {
  Bytes back(expected.size());
  ASSERT_TRUE(volume.read(offset, back).ok());
  EXPECT_EQ(back, expected);
}

}  // namespace freezeframe::testing
