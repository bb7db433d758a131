// The store's built-in writer: "freezeframe volume writer". Its components are the store's
// volumes (one per volume, logical path = the volume's name); at freeze it flushes the live
// volumes of the set, so every write a command completed is durable and in the snapshot.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "freezeframe/writer.h"
#include "store.h"

namespace freezeframe::cli {

class VolumeWriter final : public Writer {
 public:
  static constexpr std::string_view kName = "freezeframe volume writer";
  // `store` must outlive the writer.
  explicit VolumeWriter(Store& store);

  Result<WriterMetadata> identify() override;
  WriterResult prepare_snapshot(const WriterSessionInfo& session) override;
  WriterResult freeze(const WriterSessionInfo& session) override;
  WriterResult thaw(const WriterSessionInfo& session) override;
  void abort(const WriterSessionInfo& session) override;

  const Uuid& class_id() const { return class_id_; }
  const Uuid& instance_id() const { return instance_id_; }

 private:
  Store& store_;
  Uuid class_id_;
  Uuid instance_id_;
  std::mutex mutex_;
  std::vector<Volume*> volumes_;
};

}  // namespace freezeframe::cli
