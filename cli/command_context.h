// What every command of the freezeframe command line gets (its Context), how a command is
// described (CommandSpec: its words, positionals and options, from which command_line.cpp
// builds the CLI11 parser and the usage text), and the option and output helpers the command
// groups share. Private to the command. One file per noun: commands_volume.cpp,
// commands_shadow.cpp, commands_storage.cpp; commands.cpp the rest; commands_vssadmin.cpp
// the vssadmin syntax over them.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "freezeframe/vss.h"
#include "parse.h"
#include "snapshot_sets.h"
#include "store.h"

namespace freezeframe::cli::command {

using nlohmann::json;

inline constexpr std::uint64_t kCopyBytes = 1 << 20;

// --wait: a day at most; a longer wait is a mistake, not a plan.
inline constexpr double kWaitSecondsMax = 86400;

struct Context {
  std::ostream& out;
  std::ostream& err;
  bool json = false;
  std::filesystem::path store_dir;
  Options options;
  std::string command;
  // --wait SECONDS: how long to wait for another command's store lock.
  std::chrono::milliseconds wait{0};
  // The exit code of a command that ran to the end but has a verdict to give (`check`: damage
  // found); 0 otherwise. Used only when the command's Status is OK.
  int exit_code = 0;
  // Inside `freezeframe serve`: the daemon's open store, which open_store() lends instead of
  // opening the store again (the daemon holds its lock).
  Store* served_store = nullptr;
  // Inside the daemon: presents export `name` (NAME@ID) as the file at `path` (over the
  // placeholder Store::expose_in_place() made), and takes it away again (kNotFound when
  // nothing is presented there). Empty elsewhere: `shadow expose` writes a copy.
  std::function<Status(const std::string& name, const std::filesystem::path& path)> present_file;
  std::function<Status(const std::filesystem::path& path)> withdraw_file;
  // Inside a daemon started with --nbd: the NBD URI of export `name` (NAME@ID). Empty
  // elsewhere: `shadow expose --nbd` then says a daemon with --nbd is needed.
  std::function<std::string(const std::string& name)> nbd_uri;
};

// A store a command uses: its own (opened and locked by the command), or one lent by the
// daemon that serves it (Context::served_store), which outlives the command.
struct StoreRelease {
  bool owned = true;
  void operator()(Store* store) const noexcept {
    if (owned)
      delete store;
  }
};
using StoreHandle = std::unique_ptr<Store, StoreRelease>;

// What run_command_line() does beyond parsing and running a command.
struct CommandHooks {
  // Called for a command that forwarded_command() names before it runs here: the exit code
  // when a daemon serving ctx.store_dir ran it (its output already written to ctx.out and
  // ctx.err), nullopt to run it here (no daemon). `args` is the whole command line.
  std::function<std::optional<int>(Context& ctx, const std::vector<std::string>& args)> forward;
  // Set inside the daemon: commands use this store (Context::served_store) and these
  // (Context::present_file, withdraw_file).
  Store* served_store = nullptr;
  std::function<Status(const std::string& name, const std::filesystem::path& path)> present_file;
  std::function<Status(const std::filesystem::path& path)> withdraw_file;
  std::function<std::string(const std::string& name)> nbd_uri;
};

// The commands a running `freezeframe serve` runs for the command line, so that they work
// while it holds the store: those that change served volumes' shadow copies and the listings.
bool forwarded_command(std::string_view words);

Status usage_error(const Context& ctx, const std::string& message);
Result<std::string> required(const Context& ctx, const std::string& name);
Result<std::string> one_positional(const Context& ctx, const std::string& what);
Status no_positionals(const Context& ctx);
// Reading commands take the store's lock shared and change nothing; writing ones take it
// exclusively.
// Inside the daemon, the daemon's store (Context::served_store).
Result<StoreHandle> open_store(const Context& ctx, StoreAccess access = StoreAccess::kWrite);
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

// One option of a command: `--name VALUE`, or a flag when `value` is empty. A required
// option is checked by the parser (and shown without brackets in the usage text).
struct OptionSpec {
  std::string name;
  std::string value;
  std::string description;
  bool required = false;
};

// One command: its words ("volume create", "script"), what its positionals are ("NAME",
// "FILE [PARAM...]"; empty: none), one line saying what it does, its options, the function
// that runs it and, optionally, more text for its --help.
struct CommandSpec {
  std::string words;
  std::string positionals;
  std::string summary;
  std::vector<OptionSpec> options;
  std::function<Status(Context&)> run;
  std::string details;
};

// Parses a whole command line (without the program name) and runs its command: the commands
// above, vssadmin, and `extra` (the executable's own: demo, version). Output to `out`, errors
// to `err`; returns the exit code.
int run_command_line(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                     const std::vector<CommandSpec>& extra, const CommandHooks& hooks = {});

// The commands of each group, in the order the usage text lists them.
std::vector<CommandSpec> volume_commands();
std::vector<CommandSpec> shadow_commands();
std::vector<CommandSpec> shadowstorage_commands();
// writers list, providers list, script, shell.
std::vector<CommandSpec> other_commands();
// check (commands_check.cpp).
std::vector<CommandSpec> check_commands();
// backup, backup list, restore, verify, prune (commands_backup.cpp).
std::vector<CommandSpec> backup_commands();
// sim (commands_sim.cpp).
std::vector<CommandSpec> sim_commands();
// vssadmin VERB NOUN /Switch=value...
CommandSpec vssadmin_command();

// Every command above (not vssadmin), and the one with these words (which must exist).
const std::vector<CommandSpec>& native_commands();
const CommandSpec& native_command(std::string_view words);

// Opens the store, gives each volume of `names` shadow storage as needed and takes one
// snapshot set of them (shadow create, vssadmin create shadow).
// The engine lives as long as the TakenSet (and goes before the store): an auto-release set
// is deleted when it goes.
struct TakenSet {
  StoreHandle store;
  std::unique_ptr<SetEngine> engine;
  CreatedSet set;
};
Result<TakenSet> take_set(Context& ctx, const std::string& names, std::optional<ProviderKind> kind,
                          SetRequest request);
json created_set_json(Store& store, const CreatedSet& set);
// "(C:)\\?\Volume{UUID}\", the volume as vssadmin names it (name, then GUID path).
std::string volume_spec(const VolumeEntry& volume);
// Where a shadow copy can be read: its exposure, else how to export it.
std::string shadow_copy_volume(Store& store, const SnapshotInfo& info);

// --provider vss (commands_vss.cpp): Windows' VSS, no store. `shadow create` takes a set,
// `shadow list` lists what VSS holds (--for, --set, --shadow filter it), `shadow delete
// --shadow ID` deletes one.
Status shadow_create_vss(Context& ctx, const std::string& names, SnapshotContext context);
Status shadow_list_vss(Context& ctx);
Status shadow_delete_vss(Context& ctx);
// VSS's shadow copies as vssadmin prints them (grouped by set), and as `--json` gives them.
void print_vss_shadows(const std::vector<VssShadowCopy>& shadows, std::ostream& out);
json vss_shadow_json(const VssShadowCopy& shadow);

}  // namespace freezeframe::cli::command
