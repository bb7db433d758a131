// CoordinatorCore: what a Coordinator holds and its sessions share (the registered writers,
// providers and volumes, the creation slot, the executor and deadline runner, the event
// log). Private to the engine.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "deadline_runner.h"
#include "freezeframe/coordinator.h"

namespace freezeframe {

class CoordinatorCore {
 public:
  CoordinatorCore(Clock& c, const CoordinatorOptions& o)
      : clock(c),
        options(o),
        own_executor(options.executor == nullptr ? ThreadPoolExecutor::create(options.threads)
                                                 : nullptr),
        executor(options.executor != nullptr ? *options.executor : *own_executor),
        runner(clock, executor) {}

  Clock& clock;
  const CoordinatorOptions options;
  // Declared before the runner: destroyed after it, joining the calls still running.
  std::unique_ptr<ThreadPoolExecutor> own_executor;
  Executor& executor;
  protocol_internals::DeadlineRunner runner;

  mutable std::mutex mutex;
  std::vector<Writer*> writers;
  ProviderRegistry registry;
  std::map<std::string, HoldableVolume*, std::less<>> volumes;
  const void* creating = nullptr;  // the session whose set is in creation
  Uuid creating_set;

  // REQUIRES: mutex held.
  Uuid new_set_id() {
    return options.random != nullptr ? Uuid::generate(*options.random) : Uuid::generate();
  }

  // Records one step that began at `start` and ends now.
  void log(const Uuid& set_id, ProtocolPhase phase, Participant participant, std::string name,
           Nanoseconds start, EventOutcome outcome, std::string message) {
    if (options.events == nullptr)
      return;
    ProtocolEvent event;
    event.set_id = set_id;
    event.phase = phase;
    event.participant = participant;
    event.name = std::move(name);
    event.start = start;
    event.duration = clock.now() - start;
    event.outcome = outcome;
    event.message = std::move(message);
    options.events->record(event);
  }
};

}  // namespace freezeframe
