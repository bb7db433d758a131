// `freezeframe check [NAME...] [--repair]`: verifies the store's catalog, each volume's image
// and each diff area (freezeframe/integrity.h), in the manner of `qemu-img check`. The report
// is built as one JSON document; the text output is drawn from it, so both say the same.
// --repair drops damaged shadow copies (repair_diff_area) and then checks again.
#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>

#include "command_context.h"
#include "commands.h"
#include "freezeframe/integrity.h"

namespace freezeframe::cli::command {
namespace {

namespace fs = std::filesystem;

constexpr const char* kOk = "ok";
constexpr const char* kDamaged = "damaged";
// The check itself could not run on this part (the volumes could not be read).
constexpr const char* kUnchecked = "unchecked";

json status_or_null(const Status& status) {
  return status.ok() ? json(nullptr) : json(status.to_string());
}

json diff_area_json(const DiffAreaCheck& check) {
  json snapshots = json::array();
  for (const SnapshotCheck& s : check.snapshots)
    snapshots.push_back({{"id", s.id.to_string()},
                         {"sequence", s.sequence},
                         {"status", s.damaged ? kDamaged : kOk},
                         {"damaged_chunks", s.damaged_chunks},
                         {"detail", s.detail.empty() ? json(nullptr) : json(s.detail)}});
  json chunks = json::array();
  for (const ChunkDamage& c : check.chunks) {
    json readers = json::array();
    for (const Uuid& id : c.snapshots)
      readers.push_back(id.to_string());
    chunks.push_back({{"chunk", c.chunk},
                      {"offset", c.offset},
                      {"slot", c.slot},
                      {"slot_offset", c.slot_offset},
                      {"shadows", std::move(readers)},
                      {"live", c.live},
                      {"detail", c.detail}});
  }
  return {{"status", check.ok() ? kOk : kDamaged}, {"format_version", check.format_version},
          {"fatal", status_or_null(check.fatal)},  {"journal", status_or_null(check.journal)},
          {"live_damaged", check.live_damaged},    {"chunks_checked", check.chunks_checked},
          {"shadows", std::move(snapshots)},       {"damaged_chunks", std::move(chunks)},
          {"accounting", check.accounting},        {"notes", check.notes}};
}

// What remains readable when the diff area of `entry` cannot be opened at all.
std::string unopenable_note(const VolumeEntry& entry) {
  if (entry.provider == ProviderKind::kCopyOnWrite)
    return "its origin stays readable: copy-on-write keeps the live data in the image "
           "('volume read " +
           entry.name + "' reads it); its shadow copies are lost ('shadowstorage delete --for " +
           entry.name + " --force' removes the diff area)";
  return "redirect-on-write keeps part of the live data in the diff area: the live volume "
         "cannot be read until the diff area is brought back";
}

// Checks one volume: its catalog entry, its image, its diff area.
json check_volume(Store& store, VolumeEntry& entry) {
  json v = {{"name", entry.name},       {"status", kOk},    {"provider", nullptr},
            {"catalog_entry", nullptr}, {"image", nullptr}, {"diff_area", nullptr},
            {"notes", json::array()}};
  auto damaged = [&v] { v["status"] = kDamaged; };
  if (entry.catalog_damaged) {
    damaged();
    v["catalog_entry"] = entry.damage;
    v["notes"].push_back(
        "nothing the entry records is used; the images it named are listed as orphan images "
        "('volume remove " +
        entry.name + "' forgets the entry and deletes nothing)");
    return v;
  }
  v["provider"] = provider_kind_name(entry.provider);
  auto image = store.image_path(entry);
  auto opened = store.open_volume(entry);
  if (!image.ok() || (!opened.ok() && entry.damaged_part == VolumeEntry::Damage::kImage)) {
    damaged();
    v["image"] = {{"status", kDamaged},
                  {"path", image.ok() ? json(image->string()) : json(nullptr)},
                  {"detail", entry.damage}};
    if (entry.storage)
      v["notes"].push_back("the diff area was not checked: it cannot be checked without the image");
    return v;
  }
  v["image"] = {{"status", kOk}, {"path", image->string()}, {"detail", nullptr}};
  if (!entry.storage)
    return v;
  // Damage open_volume() found that the check below might not name (the diff area's file).
  std::string open_damage = opened.ok() ? std::string() : entry.damage;
  auto diff_file = store.diff_path(entry);
  auto files = store.open_diff_area_files(entry);
  if (!files.ok()) {
    damaged();
    v["diff_area"] = {{"status", kDamaged},
                      {"path", diff_file.ok() ? json(diff_file->string()) : json(nullptr)},
                      {"fatal", files.status().to_string()}};
    v["notes"].push_back(unopenable_note(entry));
    return v;
  }
  auto check = check_diff_area(*files->origin, *files->diff);
  if (!check.ok()) {
    v["status"] = kUnchecked;
    v["diff_area"] = {{"status", kUnchecked},
                      {"path", diff_file->string()},
                      {"fatal", check.status().to_string()}};
    return v;
  }
  v["diff_area"] = diff_area_json(*check);
  v["diff_area"]["path"] = diff_file->string();
  if (!check->ok())
    damaged();
  if (!check->fatal.ok())
    v["notes"].push_back(unopenable_note(entry));
  else if (!open_damage.empty()) {
    damaged();
    v["diff_area"]["status"] = kDamaged;
    v["diff_area"]["fatal"] = open_damage;
  }
  return v;
}

// Where the catalog's damaged entries may have named `relative`.
std::string orphan_note(Store& store, const UnnamedImage& image) {
  if (image.pending)
    return "left by a command that did not finish; the next writing command removes it";
  for (const VolumeEntry& entry : store.catalog().volumes)
    if (entry.catalog_damaged && entry.raw_entry.find(image.relative) != std::string::npos)
      return "not named by the catalog; possibly the file of the damaged catalog entry '" +
             entry.name + "'; left in place";
  return "not named by the catalog; left in place (the store did not make it, or its catalog "
         "entry was lost: inspect it, then remove it by hand if it is not needed)";
}

json check_store(Store& store, const std::vector<VolumeEntry*>& volumes, bool whole_store) {
  json report = {{"store", store.dir().string()},
                 {"status", kOk},
                 {"catalog", {{"status", kOk}, {"detail", nullptr}, {"damaged_entries", 0}}},
                 {"volumes", json::array()},
                 {"orphan_images", json::array()}};
  std::size_t damaged_entries = 0;
  std::size_t damaged_volumes = 0;
  std::size_t unchecked = 0;
  std::size_t damaged_shadows = 0;
  for (VolumeEntry* entry : volumes) {
    json v = check_volume(store, *entry);
    damaged_entries += entry->catalog_damaged ? 1 : 0;
    damaged_volumes += v["status"] == kDamaged ? 1 : 0;
    unchecked += v["status"] == kUnchecked ? 1 : 0;
    if (v["diff_area"].is_object() && v["diff_area"].contains("shadows"))
      for (const json& s : v["diff_area"]["shadows"])
        damaged_shadows += s["status"] == kDamaged ? 1 : 0;
    report["volumes"].push_back(std::move(v));
  }
  // Exposure entries belong to no volume: looked at with the whole store only.
  const std::vector<std::string> no_exposures;
  const auto& exposures = whole_store ? store.catalog().damaged_exposures : no_exposures;
  report["catalog"]["damaged_exposures"] = exposures;
  if (damaged_entries > 0 || !exposures.empty()) {
    report["catalog"]["status"] = kDamaged;
    report["catalog"]["damaged_entries"] = damaged_entries;
    report["catalog"]["detail"] = std::to_string(damaged_entries) + " damaged volume entries, " +
                                  std::to_string(exposures.size()) + " damaged exposure entries";
  }
  std::size_t orphans = 0;
  if (whole_store)
    for (const UnnamedImage& image : store.unnamed_images()) {
      ++orphans;
      report["orphan_images"].push_back({{"path", image.relative},
                                         {"pending", image.pending},
                                         {"note", orphan_note(store, image)}});
    }
  report["summary"] = {{"volumes", volumes.size()},
                       {"damaged_volumes", damaged_volumes},
                       {"unchecked_volumes", unchecked},
                       {"damaged_shadows", damaged_shadows},
                       {"orphan_images", orphans}};
  if (damaged_volumes > 0 || orphans > 0 || !exposures.empty())
    report["status"] = kDamaged;
  else if (unchecked > 0)
    report["status"] = kUnchecked;
  report["ok"] = report["status"] == kOk;
  return report;
}

std::string upper(const json& status) {
  std::string text = status.get<std::string>();
  std::transform(text.begin(), text.end(), text.begin(), [](char c) {
    return static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  });
  return text;
}

std::string text_or(const json& value, const std::string& fallback) {
  return value.is_string() ? value.get<std::string>() : fallback;
}

void print_diff_area(const json& d, std::ostream& out) {
  out << "  diff area: " << upper(d["status"]);
  if (!d["fatal"].is_null()) {
    out << ": " << d["fatal"].get<std::string>() << "\n";
    return;
  }
  out << " (format version " << d["format_version"] << ", " << d["chunks_checked"]
      << " chunks checked, " << d["shadows"].size() << " shadow copies)\n";
  if (!d["journal"].is_null())
    out << "    journal: " << d["journal"].get<std::string>() << "\n";
  if (d["live_damaged"].get<bool>())
    out << "    live volume: DAMAGED (it reads a damaged chunk, or the journal is damaged)\n";
  for (const json& s : d["shadows"])
    out << "    shadow copy {" << s["id"].get<std::string>() << "} (#" << s["sequence"]
        << "): " << upper(s["status"]) << (s["detail"].is_null() ? "" : ": ")
        << text_or(s["detail"], "") << "\n";
  for (const json& c : d["damaged_chunks"]) {
    out << "    chunk " << c["chunk"] << " (origin offset " << c["offset"] << ", diff slot "
        << c["slot"] << "): " << c["detail"].get<std::string>();
    std::vector<std::string> readers;
    for (const json& id : c["shadows"])
      readers.push_back("{" + id.get<std::string>() + "}");
    if (c["live"].get<bool>())
      readers.emplace_back("the live volume");
    if (!readers.empty())
      out << "; read by " << join(readers, ", ");
    out << "\n";
  }
  for (const json& line : d["accounting"])
    out << "    accounting: " << line.get<std::string>() << "\n";
  for (const json& line : d["notes"])
    out << "    note: " << line.get<std::string>() << "\n";
}

void print_report(const json& report, std::ostream& out) {
  out << "Store '" << report["store"].get<std::string>() << "'\n";
  out << "Catalog: " << upper(report["catalog"]["status"])
      << (report["catalog"]["detail"].is_null() ? "" : ": ")
      << text_or(report["catalog"]["detail"], "") << "\n";
  for (const json& line : report["catalog"]["damaged_exposures"])
    out << "  " << line.get<std::string>() << "\n";
  for (const json& v : report["volumes"]) {
    out << "Volume '" << v["name"].get<std::string>() << "'"
        << (v["provider"].is_null() ? "" : " (" + v["provider"].get<std::string>() + ")") << ": "
        << upper(v["status"]) << "\n";
    if (!v["catalog_entry"].is_null())
      out << "  catalog entry: DAMAGED: " << v["catalog_entry"].get<std::string>() << "\n";
    if (v["image"].is_object())
      out << "  image: " << upper(v["image"]["status"])
          << (v["image"]["detail"].is_null() ? "" : ": ") << text_or(v["image"]["detail"], "")
          << "\n";
    if (v["diff_area"].is_object())
      print_diff_area(v["diff_area"], out);
    for (const json& note : v["notes"])
      out << "  note: " << note.get<std::string>() << "\n";
  }
  for (const json& o : report["orphan_images"])
    out << "Orphan image '" << o["path"].get<std::string>() << "': " << o["note"].get<std::string>()
        << "\n";
  const json& s = report["summary"];
  out << "Result: " << upper(report["status"]) << " (" << s["volumes"] << " volumes checked, "
      << s["damaged_volumes"] << " damaged, " << s["unchecked_volumes"] << " not checked; "
      << s["damaged_shadows"] << " damaged shadow copies; " << s["orphan_images"]
      << " orphan images)\n";
}

// Repairs what can be repaired: the diff areas that open but hold damage. Returns the
// "repair" member of the report.
json repair_store(Store& store, const std::vector<VolumeEntry*>& volumes, const json& before) {
  json repair = {
      {"dropped", json::array()}, {"actions", json::array()}, {"not_repaired", json::array()}};
  std::size_t index = 0;
  for (VolumeEntry* entry : volumes) {
    const json& v = before["volumes"][index++];
    if (v["status"] != kDamaged)
      continue;
    auto not_repaired = [&](const std::string& why) {
      repair["not_repaired"].push_back({{"volume", entry->name}, {"reason", why}});
    };
    if (!v["catalog_entry"].is_null() || v["diff_area"].is_null() || v["image"]["status"] != kOk) {
      not_repaired(!v["catalog_entry"].is_null()
                       ? "its catalog entry is damaged ('volume remove " + entry->name +
                             "' forgets it and deletes nothing)"
                       : "its image cannot be used; bring the image back");
      continue;
    }
    const json& d = v["diff_area"];
    if (!d["fatal"].is_null()) {
      not_repaired(
          "its diff area cannot be opened at all, so there is nothing to repair from "
          "('shadowstorage delete --for " +
          entry->name + " --force' removes it and its shadow copies)");
      continue;
    }
    auto files = store.open_diff_area_files(*entry);
    if (!files.ok()) {
      not_repaired(files.status().to_string());
      continue;
    }
    auto repaired = repair_diff_area(*files->origin, *files->diff);
    files->diff.reset();
    files->origin.reset();
    store.forget_damage(*entry);
    if (!repaired.ok()) {
      not_repaired("the repair failed: " + repaired.status().to_string());
      continue;
    }
    for (const Uuid& id : repaired->dropped) {
      repair["dropped"].push_back({{"volume", entry->name}, {"shadow", id.to_string()}});
      if (store.exposure_of(id)) {
        auto path = store.unexpose(id);
        repair["actions"].push_back(
            {{"volume", entry->name},
             {"action", path.ok()
                            ? "unexposed '" + *path + "' of dropped shadow copy " + id.to_string()
                            : "could not unexpose dropped shadow copy " + id.to_string() + ": " +
                                  path.status().message()}});
      }
    }
    for (const std::string& action : repaired->actions)
      repair["actions"].push_back({{"volume", entry->name}, {"action", action}});
    if (repaired->after.live_damaged)
      not_repaired(
          "its live volume (redirect-on-write) still reads damaged data, and the live volume "
          "cannot be dropped: write the damaged ranges again, or 'shadow revert' to an intact "
          "shadow copy");
  }
  return repair;
}

void print_repair(const json& repair, std::ostream& out) {
  out << "\nRepair:\n";
  for (const json& d : repair["dropped"])
    out << "  volume '" << d["volume"].get<std::string>() << "': dropped damaged shadow copy {"
        << d["shadow"].get<std::string>() << "}\n";
  for (const json& a : repair["actions"])
    out << "  volume '" << a["volume"].get<std::string>() << "': " << a["action"].get<std::string>()
        << "\n";
  for (const json& n : repair["not_repaired"])
    out << "  volume '" << n["volume"].get<std::string>()
        << "': not repaired: " << n["reason"].get<std::string>() << "\n";
  if (repair["dropped"].empty() && repair["actions"].empty() && repair["not_repaired"].empty())
    out << "  nothing to repair\n";
  out << "\nAfter the repair:\n";
}

// A catalog that cannot be read as a whole: nothing else can be checked.
json unreadable_catalog(const fs::path& dir, const Status& status) {
  return {{"store", fs::absolute(dir).string()},
          {"status", kDamaged},
          {"ok", false},
          {"catalog",
           {{"status", kDamaged},
            {"detail", status.to_string()},
            {"damaged_entries", 0},
            {"damaged_exposures", json::array()}}},
          {"volumes", json::array()},
          {"orphan_images", json::array()},
          {"summary",
           {{"volumes", 0},
            {"damaged_volumes", 0},
            {"unchecked_volumes", 0},
            {"damaged_shadows", 0},
            {"orphan_images", 0}}}};
}

Status check_command(Context& ctx) {
  const bool repair = ctx.options.has("repair");
  std::error_code error;
  if (!fs::exists(ctx.store_dir, error))
    return bad_state("store '" + fs::absolute(ctx.store_dir).string() +
                     "' does not exist; nothing to check");
  auto store = open_store(ctx, repair ? StoreAccess::kWrite : StoreAccess::kRead);
  if (!store.ok()) {
    if (store.status().code() != ErrorCode::kCorrupt)
      return store.status();
    json report = unreadable_catalog(ctx.store_dir, store.status());
    if (repair)
      report["repair"] = {
          {"dropped", json::array()},
          {"actions", json::array()},
          {"not_repaired", json::array({{{"volume", nullptr},
                                         {"reason", "the catalog cannot be read as a whole"}}})}};
    if (ctx.json)
      ctx.out << report.dump(2) << "\n";
    else
      print_report(report, ctx.out);
    ctx.exit_code = kExitDamaged;
    return Status();
  }
  std::vector<VolumeEntry*> volumes;
  const auto& names = ctx.options.positionals();
  for (const std::string& name : names) {
    FF_ASSIGN_OR_RETURN(VolumeEntry * entry, (*store)->volume(name));
    if (std::find(volumes.begin(), volumes.end(), entry) == volumes.end())
      volumes.push_back(entry);
  }
  if (names.empty())
    for (VolumeEntry& entry : (*store)->catalog().volumes)
      volumes.push_back(&entry);
  json report = check_store(**store, volumes, names.empty());
  if (repair) {
    json before = std::move(report);
    json done = repair_store(**store, volumes, before);
    if (!ctx.json) {
      print_report(before, ctx.out);
      print_repair(done, ctx.out);
    }
    report = check_store(**store, volumes, names.empty());
    done["before"] = std::move(before);
    report["repair"] = std::move(done);
  } else {
    report["repair"] = nullptr;
  }
  if (ctx.json)
    ctx.out << report.dump(2) << "\n";
  else
    print_report(report, ctx.out);
  if (report["status"] == kDamaged)
    ctx.exit_code = kExitDamaged;
  else if (report["status"] == kUnchecked)
    return io_error("the check could not read every volume (see the volumes marked UNCHECKED)");
  return Status();
}

}  // namespace

std::vector<CommandSpec> check_commands() {
  return {
      {"check",
       "[NAME...]",
       "Verifies the catalog, the volumes' images and their diff areas (all volumes without "
       "NAME); --repair drops damaged shadow copies.",
       {{"repair", "",
         "take the store exclusively, drop every damaged shadow copy, remove images left "
         "pending, then check again"}},
       check_command,
       "Reports each volume and shadow copy as OK or DAMAGED, naming damaged chunks (chunk\n"
       "number, origin offset, diff slot), journal damage, accounting discrepancies and images\n"
       "under volumes/ or diff/ that the catalog does not name (never deleted by check; --repair\n"
       "removes only images the catalog lists as pending). Exit status: 0 all OK, 5 damage\n"
       "found, 1 the check could not run (or could not read some volume), 2 bad usage, 3 store\n"
       "busy, 4 no such volume. See docs/cli.md for the --json schema.\n"},
  };
}

}  // namespace freezeframe::cli::command
