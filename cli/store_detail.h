// Helpers shared by the store's sources (store.cpp, store_catalog.cpp, store_exposures.cpp):
// where the store keeps its images, and how a path is checked to stay inside it. Private to
// the command.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "store.h"

namespace freezeframe::cli::store_detail {

inline constexpr char kVolumesDir[] = "volumes";
inline constexpr char kDiffDir[] = "diff";
// The store's reserve file and its size (see "Full file system" in store.h).
inline constexpr char kReserveFile[] = "reserve";
inline constexpr std::uint64_t kReserveBytes = 1 << 20;

// `relative` is a plain relative path whose first component is `subdir` and which has no
// "." or ".." component: it cannot name anything outside DIR/subdir without a symbolic link.
bool plain_store_path(const std::string& relative, std::string_view subdir);
// `path` resolved through symbolic links stays inside `root`.
bool resolves_inside(const std::filesystem::path& path, const std::filesystem::path& root);
// What is at `path` now, or nullopt if nothing (or it cannot be examined).
std::optional<ExposedFile> exposed_file_at(const std::filesystem::path& path);
bool is_image_name(const std::string& name);

}  // namespace freezeframe::cli::store_detail
