#include "volume_writer.h"

namespace freezeframe::cli {

VolumeWriter::VolumeWriter(Store& store)
    : store_(store), class_id_(Uuid::from_name(kName)), instance_id_(Uuid::generate()) {}

Result<WriterMetadata> VolumeWriter::identify() {
  WriterMetadata metadata;
  metadata.name = std::string(kName);
  metadata.class_id = class_id_;
  metadata.instance_id = instance_id_;
  metadata.instance_name = store_.dir().string();
  metadata.usage = WriterUsage::kUserData;
  metadata.source = WriterSource::kOther;
  metadata.level = ApplicationLevel::kSystem;
  for (const VolumeEntry& entry : store_.catalog().volumes) {
    WriterComponent component;
    component.type = ComponentType::kFileGroup;
    component.logical_path = entry.name;
    component.name = entry.name;
    component.caption = "volume " + entry.name;
    component.volumes = {entry.name};
    metadata.components.push_back(std::move(component));
  }
  return metadata;
}

WriterResult VolumeWriter::prepare_snapshot(const WriterSessionInfo& session) {
  std::lock_guard lock(mutex_);
  volumes_.clear();
  for (const std::string& name : session.volumes) {
    auto opened = store_.open_volume(name);
    if (!opened.ok())
      return WriterResult::fail(WriterFailure::kInconsistentSnapshot, opened.status().message());
    volumes_.push_back(&opened.value()->live());
  }
  return WriterResult::success();
}

WriterResult VolumeWriter::freeze(const WriterSessionInfo&) {
  std::lock_guard lock(mutex_);
  for (Volume* volume : volumes_) {
    if (Status s = volume->flush(); !s.ok())
      return WriterResult::fail(WriterFailure::kRetryable, s.message());
  }
  return WriterResult::success();
}

WriterResult VolumeWriter::thaw(const WriterSessionInfo&) {
  return WriterResult::success();
}

void VolumeWriter::abort(const WriterSessionInfo&) {
  std::lock_guard lock(mutex_);
  volumes_.clear();
}

}  // namespace freezeframe::cli
