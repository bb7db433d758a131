// A program for process_windows_test: writes its arguments after the first, one per line, into
// the file named by the first, then the value of FF_PROCESS_TEST and of PATH, and exits with
// the status in FF_EXIT_CODE (0 if unset).
#include <cstdio>
#include <cstdlib>
#include <fstream>

int main(int argc, char** argv) {
  if (argc < 2)
    return 100;
  std::ofstream out(argv[1], std::ios::binary);
  for (int i = 2; i < argc; ++i)
    out << argv[i] << '\n';
  const char* test = std::getenv("FF_PROCESS_TEST");  // NOLINT(concurrency-mt-unsafe)
  const char* path = std::getenv("PATH");             // NOLINT(concurrency-mt-unsafe)
  out << "env=" << (test != nullptr ? test : "") << '|' << (path != nullptr ? path : "") << '\n';
  const char* code = std::getenv("FF_EXIT_CODE");  // NOLINT(concurrency-mt-unsafe)
  return code != nullptr ? std::atoi(code) : 0;
}
