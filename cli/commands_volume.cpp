// The volume group of the freezeframe command: create, attach, list, remove, write, read,
// consolidate.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "command_context.h"
#include "output.h"
#include "parse.h"

namespace freezeframe::cli::command {

// ---- volume ----

// --sector (512 or 4096, default 512) and --provider (default cow) of volume create/attach.
struct VolumeFormat {
  std::uint32_t sector = 512;
  ProviderKind kind = ProviderKind::kCopyOnWrite;
};

Result<VolumeFormat> volume_format(Context& ctx) {
  FF_ASSIGN_OR_RETURN(std::uint64_t sector, bytes_option(ctx, "sector", 512));
  if (sector != 512 && sector != 4096)
    return usage_error(ctx, "--sector must be 512 or 4096, got " + std::to_string(sector));
  VolumeFormat format;
  format.sector = static_cast<std::uint32_t>(sector);
  if (auto p = ctx.options.get("provider")) {
    auto parsed = parse_provider_kind(*p);
    if (!parsed.ok())
      return usage_error(ctx, parsed.status().message());
    format.kind = *parsed;
  }
  return format;
}

Status volume_create(Context& ctx) {
  FF_ASSIGN_OR_RETURN(std::string name, one_positional(ctx, "a volume NAME"));
  FF_ASSIGN_OR_RETURN(std::uint64_t size, bytes_option(ctx, "size"));
  FF_ASSIGN_OR_RETURN(VolumeFormat format, volume_format(ctx));
  const auto [sector, kind] = format;
  if (size == 0 || size % sector != 0)
    return usage_error(ctx, "--size " + std::to_string(size) +
                                " must be a non-zero multiple of the sector size " +
                                std::to_string(sector));
  if (Status s = validate_volume_name(name); !s.ok())
    return usage_error(ctx, s.message());
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx));
  FF_TRY(store->create_volume(name, size, sector, kind));
  if (ctx.json)
    ctx.out << volume_json(*store, *store->find_volume(name)).dump(2) << "\n";
  else
    ctx.out << "Created volume '" << name << "': " << format_bytes(size) << ", " << sector
            << "-byte sectors, provider " << provider_kind_name(kind) << ".\n";
  return Status();
}

Status volume_attach(Context& ctx) {
  FF_ASSIGN_OR_RETURN(std::string name, one_positional(ctx, "a volume NAME"));
  FF_ASSIGN_OR_RETURN(std::string image, required(ctx, "image"));
  FF_ASSIGN_OR_RETURN(VolumeFormat format, volume_format(ctx));
  const auto [sector, kind] = format;
  if (Status s = validate_volume_name(name); !s.ok())
    return usage_error(ctx, s.message());
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx));
  FF_TRY(store->attach_volume(name, image, sector, kind));
  VolumeEntry& entry = *store->find_volume(name);
  if (ctx.json)
    ctx.out << volume_json(*store, entry).dump(2) << "\n";
  else
    ctx.out << "Attached volume '" << name << "': " << entry.image << ", "
            << format_bytes(entry.size_bytes) << ".\n";
  return Status();
}

// Lists every volume with its status; a damaged one makes the command fail (exit 1) after the
// whole list is printed, so scripts notice while the healthy volumes are still shown.
Status volume_list(Context& ctx) {
  FF_TRY(no_positionals(ctx));
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx, StoreAccess::kRead));
  json all = json::array();
  Table table({"NAME", "STATUS", "SIZE", "SECTOR", "PROVIDER", "SHADOW STORAGE", "MAXSIZE",
               "SHADOWS", "IMAGE"});
  std::vector<std::string> damaged;
  for (VolumeEntry& entry : store->catalog().volumes) {
    json v = volume_json(*store, entry);
    bool ok = v["status"] == "ok";
    if (!ok)
      damaged.push_back("'" + entry.name + "': " + entry.damage);
    table.add({entry.name, ok ? "ok" : "DAMAGED", format_bytes(entry.size_bytes),
               std::to_string(entry.sector_bytes), std::string(provider_kind_name(entry.provider)),
               entry.storage ? "on " + entry.storage->on : "-",
               entry.storage ? limit_text(entry.storage->limit) : "-",
               v["shadows"].is_null() ? "?" : std::to_string(v["shadows"].get<std::size_t>()),
               v["image"].get<std::string>()});
    all.push_back(std::move(v));
  }
  if (ctx.json)
    ctx.out << all.dump(2) << "\n";
  else if (table.empty())
    ctx.out << "No volumes in the store.\n";
  else
    table.print(ctx.out);
  if (!damaged.empty()) {
    std::string text =
        std::to_string(damaged.size()) + " damaged volume" + (damaged.size() == 1 ? "" : "s") + ":";
    for (const std::string& d : damaged)
      text += "\n  " + d;
    return corrupt(text);
  }
  return Status();
}

Status volume_remove(Context& ctx) {
  FF_ASSIGN_OR_RETURN(std::string name, one_positional(ctx, "a volume NAME"));
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx));
  FF_ASSIGN_OR_RETURN(VolumeEntry * entry, store->volume(name));
  std::string canonical = entry->name;
  FF_TRY(store->remove_volume(canonical));
  if (ctx.json)
    ctx.out << json{{"removed", canonical}}.dump() << "\n";
  else if (!ctx.options.has("quiet"))
    ctx.out << "Removed volume '" << canonical << "' and its shadow copies.\n";
  return Status();
}

// The overflow policy's deletions since `before` (ids of snapshots that are gone).
std::vector<Uuid> deleted_since(const std::vector<SnapshotInfo>& before,
                                const SnapshotProvider& provider) {
  std::vector<Uuid> gone;
  std::vector<SnapshotInfo> now = provider.snapshots();
  for (const SnapshotInfo& info : before)
    if (listed(info) && std::none_of(now.begin(), now.end(),
                                     [&](const SnapshotInfo& n) { return n.id == info.id; }))
      gone.push_back(info.id);
  return gone;
}

Status volume_write(Context& ctx) {
  FF_ASSIGN_OR_RETURN(std::string name, one_positional(ctx, "a volume NAME"));
  FF_ASSIGN_OR_RETURN(std::uint64_t offset, bytes_option(ctx, "offset", 0));
  FF_ASSIGN_OR_RETURN(std::string from, required(ctx, "from"));
  std::optional<std::uint64_t> length_option;
  if (ctx.options.has("length")) {
    FF_ASSIGN_OR_RETURN(length_option, bytes_option(ctx, "length"));
  }
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx));
  FF_ASSIGN_OR_RETURN(OpenVolume * opened, store->open_volume(name));
  Volume& volume = opened->live();
  const std::string& volume_name = opened->entry->name;
  std::uint64_t sector = volume.sector_bytes();
  if (offset % sector != 0)
    return usage_error(ctx, "--offset " + std::to_string(offset) +
                                " is not a multiple of the sector size " + std::to_string(sector) +
                                " of volume '" + volume_name + "'");
  if (offset > volume.size_bytes())
    return invalid_argument("volume '" + volume_name + "': out of range: --offset " +
                            std::to_string(offset) + " is past its end (" +
                            std::to_string(volume.size_bytes()) + " bytes)");
  const std::uint64_t room = volume.size_bytes() - offset;
  std::ifstream in(from, std::ios::binary);
  if (!in)
    return not_found("cannot open --from file '" + from + "': " + std::strerror(errno));
  // A regular file's length is known before anything is written; a pipe or a device is read
  // until its end (or --length), and refused as soon as it gives more than fits.
  std::error_code error;
  bool regular = std::filesystem::is_regular_file(from, error);
  std::optional<std::uint64_t> known;
  if (regular) {
    std::uint64_t file_bytes = std::filesystem::file_size(from, error);
    if (error)
      return io_error("cannot size --from file '" + from + "': " + error.message());
    if (length_option && *length_option > file_bytes)
      return invalid_argument("out of range: --length " + std::to_string(*length_option) +
                              " is more than the " + std::to_string(file_bytes) + " bytes of '" +
                              from + "'");
    known = length_option.value_or(file_bytes);
  } else if (length_option) {
    known = length_option;
  }
  if (known && *known > room)
    return invalid_argument("volume '" + volume_name + "': out of range: writing " +
                            std::to_string(*known) + " bytes at offset " + std::to_string(offset) +
                            " passes its end (" + std::to_string(volume.size_bytes()) + " bytes)");
  std::vector<SnapshotInfo> before;
  if (opened->provider)
    before = opened->provider->snapshots();
  Progress progress("writing " + volume_name, known.value_or(room));
  std::vector<std::byte> buffer;
  std::uint64_t done = 0;
  const std::uint64_t limit = known.value_or(room);
  while (done < limit) {
    std::uint64_t want = std::min<std::uint64_t>(kCopyBytes, limit - done);
    buffer.assign((want + sector - 1) / sector * sector, std::byte{0});
    in.read(reinterpret_cast<char*>(buffer.data()), static_cast<std::streamsize>(want));
    auto piece = static_cast<std::uint64_t>(in.gcount());
    if (in.bad())
      return io_error("cannot read --from file '" + from + "' at offset " + std::to_string(done));
    if (piece == 0)
      break;
    if (known && piece < want && in.eof())
      return io_error("--from '" + from + "' ended after " + std::to_string(done + piece) +
                      " of the " + std::to_string(*known) + " bytes expected; " +
                      std::to_string(done) + " bytes were written");
    std::uint64_t padded = (piece + sector - 1) / sector * sector;
    buffer.resize(padded);
    if (padded != piece) {
      // The data ends inside a sector: keep the rest of that sector as it is.
      std::vector<std::byte> tail(sector);
      FF_TRY(volume.read(offset + done + padded - sector, tail));
      std::copy(tail.begin() + static_cast<std::ptrdiff_t>(piece % sector), tail.end(),
                buffer.begin() + static_cast<std::ptrdiff_t>(piece));
    }
    FF_TRY(volume.write(offset + done, buffer));
    done += piece;
    progress.update(done);
    if (piece < want)
      break;
  }
  FF_TRY(volume.flush());
  progress.finish();
  std::vector<Uuid> deleted;
  if (opened->provider)
    deleted = deleted_since(before, *opened->provider);
  if (!known && done == room && in.peek() != std::char_traits<char>::eof()) {
    // Data was written, so this is a failure (exit 1), not a usage error.
    std::string text = "volume '" + volume_name + "': --from '" + from + "' gives more than the " +
                       std::to_string(room) + " bytes from offset " + std::to_string(offset) +
                       " to the end of the volume; the first " + std::to_string(done) +
                       " bytes were written (pass --length to write " + "part of it)";
    for (const Uuid& id : deleted)
      text += "; shadow copy " + braced(id) + " was deleted to make room";
    return limit_exceeded(text);
  }
  if (ctx.json) {
    json ids = json::array();
    for (const Uuid& id : deleted)
      ids.push_back(id.to_string());
    ctx.out << json{{"volume", volume_name},
                    {"offset", offset},
                    {"bytes", done},
                    {"shadows_deleted_for_space", ids}}
                   .dump()
            << "\n";
  } else {
    ctx.out << "Wrote " << done << " bytes to '" << volume_name << "' at offset " << offset
            << ".\n";
    for (const Uuid& id : deleted)
      ctx.out << "The shadow storage of '" << volume_name << "' was full: shadow copy "
              << braced(id) << " was deleted to make room.\n";
  }
  return Status();
}

Status copy_volume_to_file(Volume& volume, std::uint64_t offset, std::uint64_t length,
                           const std::filesystem::path& to, const std::string& label) {
  FF_ASSIGN_OR_RETURN(OutputFile file, OutputFile::create(to, /*exclusive=*/false));
  return copy_volume_to(volume, offset, length, file, label);
}

Status volume_read(Context& ctx) {
  FF_ASSIGN_OR_RETURN(std::string name, one_positional(ctx, "a volume NAME"));
  FF_ASSIGN_OR_RETURN(std::uint64_t offset, bytes_option(ctx, "offset", 0));
  FF_ASSIGN_OR_RETURN(std::string to, required(ctx, "to"));
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx, StoreAccess::kRead));
  FF_ASSIGN_OR_RETURN(VolumeEntry * entry, store->volume(name));
  auto opened = store->open_volume(*entry);
  std::unique_ptr<FileVolume> origin_only;
  if (!opened.ok()) {
    // CoW keeps the live data in the origin: with its diff area damaged, the origin alone
    // still reads right. RoW keeps part of it in the diff area, so it cannot.
    // Only damage found in the diff area itself; an interrupted revert (kReadOnly here) leaves
    // the origin half copied back, and then it is not the live data.
    if (!entry->storage || entry->provider != ProviderKind::kCopyOnWrite ||
        entry->damaged_part != VolumeEntry::Damage::kDiffArea ||
        entry->damage_code == ErrorCode::kReadOnly)
      return opened.status();
    auto origin = store->open_origin_read_only(*entry);
    if (!origin.ok())
      return opened.status();
    origin_only = std::move(origin).value();
    ctx.err << "freezeframe: warning: " << opened.status().message()
            << "\nfreezeframe: warning: reading the copy-on-write origin image directly "
               "(read-only)\n";
  }
  Volume& volume = origin_only ? static_cast<Volume&>(*origin_only) : (*opened)->live();
  std::uint64_t fallback = offset < volume.size_bytes() ? volume.size_bytes() - offset : 0;
  FF_ASSIGN_OR_RETURN(std::uint64_t length, bytes_option(ctx, "length", fallback));
  if (offset + length > volume.size_bytes() || offset + length < offset)
    return invalid_argument("volume '" + entry->name + "': out of range: reading " +
                            std::to_string(length) + " bytes at offset " + std::to_string(offset) +
                            " passes its end (" + std::to_string(volume.size_bytes()) + " bytes)");
  FF_TRY(store->check_output_path(to));
  FF_TRY(copy_volume_to_file(volume, offset, length, to, "reading " + entry->name));
  if (ctx.json)
    ctx.out << json{{"volume", entry->name}, {"offset", offset}, {"bytes", length}}.dump() << "\n";
  else
    ctx.out << "Read " << length << " bytes of '" << entry->name << "' into '" << to << "'.\n";
  return Status();
}

Status volume_consolidate(Context& ctx) {
  FF_ASSIGN_OR_RETURN(std::string name, one_positional(ctx, "a volume NAME"));
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx));
  FF_ASSIGN_OR_RETURN(OpenVolume * opened, store->open_volume(name));
  if (!opened->provider)
    return Status(ErrorCode::kBadState, "volume '" + opened->entry->name +
                                            "' has no shadow storage: nothing to consolidate");
  RowProvider* row = opened->provider->as_row();
  if (row == nullptr) {
    return Status(ErrorCode::kUnsupported, "volume '" + opened->entry->name +
                                               "': consolidate applies to redirect-on-write "
                                               "shadow storage; this one is copy-on-write");
  }
  Progress progress("consolidating " + opened->entry->name, 1);
  std::uint64_t before = row->stats().chunks_consolidated;
  FF_TRY(row->consolidate().with_context("volume '" + opened->entry->name + "'"));
  FF_TRY(opened->provider->flush());
  progress.finish();
  std::uint64_t chunks = opened->provider->stats().chunks_consolidated - before;
  if (ctx.json)
    ctx.out << json{{"volume", opened->entry->name}, {"chunks_consolidated", chunks}}.dump()
            << "\n";
  else
    ctx.out << "Consolidated " << chunks << " chunks of '" << opened->entry->name << "'.\n";
  return Status();
}

}  // namespace freezeframe::cli::command

namespace freezeframe::cli::command {

std::vector<CommandSpec> volume_commands() {
  const OptionSpec sector{"sector", "512|4096", "sector size in bytes (default 512)"};
  const OptionSpec provider{"provider", "cow|row",
                            "kind of diff area made when one is needed (default cow)"};
  return {
      {"volume create",
       "NAME",
       "Creates a sparse volume image in the store.",
       {{"size", "SIZE", "4096, 64M, 1G, 1.5GB... (binary units)", true}, sector, provider},
       volume_create},
      {"volume attach",
       "NAME",
       "Adopts an existing image file or block device; 'volume remove' leaves it in place.",
       {{"image", "PATH", "the image file or block device", true}, sector, provider},
       volume_attach},
      {"volume list", "", "Lists the volumes of the store.", {}, volume_list},
      {"volume remove",
       "NAME",
       "Deletes the volume's shadow copies and diff area, forgets the volume and deletes its "
       "image if the store created it.",
       {{"quiet", "", "print nothing"}},
       volume_remove},
      {"volume write",
       "NAME",
       "Writes FILE's bytes through the snapshot provider (shadow copies keep the old data).",
       {{"offset", "N", "where, a multiple of the sector size (default 0)"},
        {"from", "FILE", "a file, pipe or device; what does not fit is refused", true},
        {"length", "L", "write only the first L bytes"}},
       volume_write},
      {"volume read",
       "NAME",
       "Copies bytes of the live volume into FILE.",
       {{"offset", "N", "from where (default 0)"},
        {"length", "L", "how many (default: to the end)"},
        {"to", "FILE", "the file to write", true}},
       volume_read},
      {"volume consolidate",
       "NAME",
       "Redirect-on-write: folds redirected chunks that no shadow copy needs back into the "
       "image.",
       {},
       volume_consolidate},
  };
}

}  // namespace freezeframe::cli::command
