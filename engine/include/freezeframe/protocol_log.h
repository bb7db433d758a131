// The structured event log of the snapshot protocol.
//
// The coordinator reports every step of a session to an EventSink: each writer event, each
// provider call, the I/O hold and release, and the outcome of the set. Phases, participants
// and outcomes are enums here; their names (protocol_phase_name() and friends) are the
// strings of the JSON form. JsonLinesEventSink writes one JSON object per line (schema in
// docs/protocol.md):
//
//   {"set":"<uuid>","phase":"freeze","participant":"writer","name":"mail",
//    "start_ns":1000,"duration_ns":250,"outcome":"ok","message":""}
//
// Thread-safety: record() may be called from any thread; the coordinator calls it from the
// thread that drives the session, after the step finished (or was given up on).
// Lifetime: a sink is borrowed by the coordinator and must outlive it.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "freezeframe/clock.h"
#include "freezeframe/protocol_phase.h"
#include "freezeframe/uuid.h"

namespace freezeframe {

// Who took a step, or who ended a snapshot set.
enum class Participant : std::uint8_t {
  kWriter = 1,
  kProvider = 2,
  kVolume = 3,       // an I/O hold that could not drain in the commit window
  kRequestor = 4,    // abort()
  kCoordinator = 5,  // a deadline that belongs to no single participant
};
// "writer", "provider", "volume", "requestor", "coordinator".
std::string_view participant_name(Participant participant) noexcept;

enum class EventOutcome : std::uint8_t {
  kOk = 1,
  kFailed = 2,
  kTimeout = 3,  // the step's own deadline passed
  kAborted = 4,  // cut short because the set ended for another reason
};
// "ok", "failed", "timeout", "aborted".
std::string_view event_outcome_name(EventOutcome outcome) noexcept;

struct ProtocolEvent {
  Uuid set_id{};  // nil before the set is started
  ProtocolPhase phase = ProtocolPhase::kInitial;
  Participant participant = Participant::kCoordinator;
  std::string name{};       // the writer's, provider's or volume's name; empty otherwise
  Nanoseconds start{0};     // Clock::now() when the step began
  Nanoseconds duration{0};  // until it finished or was given up on
  EventOutcome outcome = EventOutcome::kOk;
  std::string message{};  // why, for anything but kOk
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void record(const ProtocolEvent& event) = 0;
};

// One JSON line for `event`, without the newline.
std::string protocol_event_to_json(const ProtocolEvent& event);

// An EventSink that writes each event to `out` as one JSON line, flushed, one line at a
// time when called from several threads. `out` must outlive the sink.
std::unique_ptr<EventSink> make_json_lines_event_sink(std::ostream& out);

}  // namespace freezeframe
