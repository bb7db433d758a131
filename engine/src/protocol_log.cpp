#include "freezeframe/protocol_log.h"

#include <nlohmann/json.hpp>

namespace freezeframe {

std::string protocol_event_to_json(const ProtocolEvent& event) {
  nlohmann::ordered_json line{
      {"set", event.set_id.is_nil() ? std::string() : event.set_id.to_string()},
      {"phase", event.phase},
      {"participant", event.participant},
      {"name", event.name},
      {"start_ns", event.start.count()},
      {"duration_ns", event.duration.count()},
      {"outcome", event.outcome},
      {"message", event.message}};
  // Replace invalid UTF-8 (a writer's message is free text) instead of throwing.
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void JsonLinesEventSink::record(const ProtocolEvent& event) {
  std::string line = protocol_event_to_json(event);
  std::lock_guard lock(mutex_);
  out_ << line << '\n';
  out_.flush();
}

}  // namespace freezeframe
