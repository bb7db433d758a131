// Fuzz target: writer metadata's JSON form (writer_metadata_from_json, engine/src), which a
// requestor reads from writers it does not control. Any document must parse or fail with a
// status; one that parses must also survive a round trip (to_json, then from_json gives the
// same metadata), else the target traps.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "freezeframe/writer.h"
#include "fuzz_support.h"

namespace ff = freezeframe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = ff::writer_metadata_from_json(text);
  if (!parsed.ok())
    return 0;
  (void)parsed->volumes();
  const std::string json = ff::writer_metadata_to_json(*parsed);
  auto again = ff::writer_metadata_from_json(json);
  if (!again.ok() || !(*again == *parsed)) {
    std::fprintf(stderr, "writer metadata does not round-trip: %s\n", json.c_str());
    __builtin_trap();
  }
  return 0;
}

std::vector<ff::fuzz::Input> ff::fuzz::seeds() {
  std::vector<Input> out;
  ff::WriterMetadata metadata;
  metadata.name = "mail";
  metadata.class_id = ff::Uuid::from_name("class/mail");
  metadata.instance_id = ff::Uuid::from_name("instance/mail");
  metadata.instance_name = "mail server \"first\" \xc3\xa9";
  metadata.source = ff::WriterSource::kTransactedDatabase;
  metadata.level = ff::ApplicationLevel::kBackEnd;
  metadata.restore_method = ff::RestoreMethod::kStopRestoreStart;
  metadata.restore_service = "mail-svc";
  metadata.reboot_required = true;
  ff::WriterComponent store;
  store.type = ff::ComponentType::kDatabase;
  store.logical_path = "stores\\first";
  store.name = "store1";
  store.caption = "Mailbox store";
  store.selectable = false;
  store.notify_on_backup_complete = true;
  store.volumes = {"data", "log"};
  store.files = {{.path = "/data", .filespec = "*.edb", .recursive = false}};
  store.database_logs = {{.path = "/log",
                          .filespec = "*.log",
                          .recursive = true,
                          .alternate_location = "/alt",
                          .backup_type_mask = 0x3}};
  ff::WriterComponent config;
  config.name = "config";
  config.volumes = {"data", "system"};
  metadata.components = {store, config};
  metadata.excluded_files = {{.path = "/data/tmp", .filespec = "*", .recursive = true}};
  out.push_back(bytes_of(ff::writer_metadata_to_json(metadata)));
  out.push_back(bytes_of(R"({"format":"freezeframe-writer-metadata","version":1,"name":"w",)"
                         R"("class_id":"00000000-0000-0000-0000-000000000001",)"
                         R"("instance_id":"00000000-0000-0000-0000-000000000002",)"
                         R"("components":[{"name":"c"}]})"));
  return out;
}
