// `freezeframe demo`: the end-to-end demonstration run by the README's first command.
#pragma once

#include <cstdint>
#include <ostream>

namespace freezeframe::cli {

// Runs the demo with `seed`, printing to `out`. Returns the process exit code: 0 when every
// check the demo makes holds.
int run_demo(std::uint64_t seed, std::ostream& out);

// The protocol part of the demo (demo_protocol.cpp). Returns true when every check held.
bool protocol_demo(std::uint64_t seed, std::ostream& out);

}  // namespace freezeframe::cli
