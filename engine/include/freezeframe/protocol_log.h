// The structured event log of the snapshot protocol.
//
// The coordinator reports every step of a session to an EventSink: each writer event, each
// provider call, the I/O hold and release, and the outcome of the set. JsonLinesEventSink
// writes one JSON object per line (schema in docs/protocol.md):
//
//   {"set":"<uuid>","phase":"freeze","participant":"writer","name":"mail",
//    "start_ns":1000,"duration_ns":250,"outcome":"ok","message":""}
//
// Thread-safety: record() may be called from any thread; the coordinator calls it from the
// thread that drives the session, after the step finished (or was given up on).
// Lifetime: a sink is borrowed by the coordinator and must outlive it.
#pragma once

#include <mutex>
#include <ostream>
#include <string>

#include "freezeframe/clock.h"
#include "freezeframe/uuid.h"

namespace freezeframe {

struct ProtocolEvent {
  Uuid set_id{};              // nil before the set is started
  std::string phase{};        // "identify", "freeze", "commit", "hold-io", "snapshot-set", ...
  std::string participant{};  // "writer", "provider", "volume", "requestor" or "coordinator"
  std::string name{};         // the writer's, provider's or volume's name; empty otherwise
  Nanoseconds start{0};       // Clock::now() when the step began
  Nanoseconds duration{0};    // until it finished or was given up on
  std::string outcome{};      // "ok", "failed", "timeout" or "aborted"
  std::string message{};      // why, for anything but "ok"
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void record(const ProtocolEvent& event) = 0;
};

class JsonLinesEventSink final : public EventSink {
 public:
  // `out` must outlive the sink.
  explicit JsonLinesEventSink(std::ostream& out) : out_(out) {}
  void record(const ProtocolEvent& event) override;

 private:
  std::mutex mutex_;
  std::ostream& out_;
};

// One JSON line for `event`, without the newline.
std::string protocol_event_to_json(const ProtocolEvent& event);

}  // namespace freezeframe
