// Human-readable output: aligned tables, and a progress bar on stderr that draws only when
// stderr is a terminal.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace freezeframe::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : rows_{std::move(headers)} {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.size() == 1; }
  void print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

class Progress {
 public:
  // Draws nothing unless stderr is a terminal.
  Progress(std::string label, std::uint64_t total);
  ~Progress();
  void update(std::uint64_t done);
  // As update(), with `detail` (a rate, a time left) after the percentage.
  void update(std::uint64_t done, const std::string& detail);
  void finish();

 private:
  std::string label_;
  std::uint64_t total_;
  bool enabled_;
  int last_percent_ = -1;
  std::string last_detail_;
  bool finished_ = false;
};

}  // namespace freezeframe::cli
