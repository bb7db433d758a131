// What every command of the freezeframe command line gets (its Context) and the option and
// output helpers the command groups share. Private to the command; commands.cpp holds the
// table of commands, commands_volume.cpp the volume group.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "parse.h"
#include "store.h"

namespace freezeframe::cli::command {

using nlohmann::json;

inline constexpr std::uint64_t kCopyBytes = 1 << 20;

struct Context {
  std::ostream& out;
  std::ostream& err;
  bool json = false;
  std::filesystem::path store_dir;
  Options options;
  std::string command;
  // --wait SECONDS: how long to wait for another command's store lock.
  std::chrono::milliseconds wait{0};
};

Status usage_error(const Context& ctx, const std::string& message);
Result<std::string> required(const Context& ctx, const std::string& name);
Result<std::string> one_positional(const Context& ctx, const std::string& what);
Status no_positionals(const Context& ctx);
// Reading commands take the store's lock shared and change nothing; writing ones take it
// exclusively.
Result<std::unique_ptr<Store>> open_store(const Context& ctx,
                                          StoreAccess access = StoreAccess::kWrite);
std::string braced(const Uuid& id);
std::vector<std::string> split_commas(const std::string& text);
Result<std::uint64_t> bytes_option(const Context& ctx, const std::string& name,
                                   std::optional<std::uint64_t> fallback = std::nullopt);
// Shadow copies a listing shows (see commands.cpp).
bool listed(const SnapshotInfo& info);
json volume_json(Store& store, VolumeEntry& entry);
Status copy_volume_to_file(Volume& volume, std::uint64_t offset, std::uint64_t length,
                           const std::filesystem::path& to, const std::string& label);

// Asks on a terminal before deleting `count` shadow copies (not with --quiet or --json).
bool confirm(Context& ctx, std::size_t count);

Status volume_create(Context& ctx);
Status volume_attach(Context& ctx);
Status volume_list(Context& ctx);
Status volume_remove(Context& ctx);
Status volume_write(Context& ctx);
Status volume_read(Context& ctx);
Status volume_consolidate(Context& ctx);

Status shadowstorage_add(Context& ctx);
Status shadowstorage_resize(Context& ctx);
Status shadowstorage_delete(Context& ctx);
Status shadowstorage_list(Context& ctx);
Status writers_list(Context& ctx);
Status providers_list(Context& ctx);

}  // namespace freezeframe::cli::command
