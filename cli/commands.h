// The freezeframe command's vssadmin-style commands and the pieces the diskshadow-style
// interpreter (script.h) shares with them.
//
// Exit codes (docs/cli.md): 0 success; 1 the operation failed; 2 bad usage (unknown command
// or option, bad value, malformed script line); 3 store busy (another command holds the
// store); 4 a named object (volume, shadow copy, set, writer, provider) does not exist; 5
// `check` found damage.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "freezeframe/status.h"
#include "store.h"

namespace freezeframe::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitBusy = 3;
constexpr int kExitNotFound = 4;
// `check` ran and found damage (or images the catalog does not name), or `verify` found a
// damaged backup.
constexpr int kExitDamaged = 5;

int exit_code_for(const Status& status);

// Runs one command line (without the program name). Output to `out`, errors to `err`.
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// Shared with the script interpreter.
nlohmann::json shadow_json(Store& store, const ShadowRef& shadow);
// Writes the snapshot's full image to `to` (replacing it), with a progress bar on a terminal.
Status export_shadow(Store& store, const ShadowRef& shadow, const std::filesystem::path& to);
Status revert_shadow(Store& store, const ShadowRef& shadow);
// Gives `entry` shadow storage of `kind` if it has none (on itself, UNBOUNDED, as vssadmin
// does on first use). With `kind` set and a diff area of the other kind holding no shadow
// copies, recreates it with the same association and maximum; with shadow copies, fails.
Status ensure_storage(Store& store, VolumeEntry& entry, std::optional<ProviderKind> kind);
// diskshadow-style listing of shadow copies.
void print_shadow_details(Store& store, const std::vector<ShadowRef>& shadows, std::ostream& out);

}  // namespace freezeframe::cli
