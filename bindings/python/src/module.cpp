// The `freezeframe` Python module (docs/bindings.md, "Python").
#include <pybind11/pybind11.h>

#include "bindings.h"

PYBIND11_MODULE(freezeframe, m) {
  namespace python = freezeframe::python;
  m.doc() = R"(freezeframe: consistent point-in-time snapshots of block volumes.

Volumes (MemoryVolume, FileVolume, SimVolume), copy-on-write and redirect-on-write snapshot
providers (create_cow, create_row, open_provider), the snapshot protocol (Coordinator,
BackupSession, Writer, WriterMetadata, DeterministicExecutor) and the simulator (SimClock, Workload, TransactionalApp,
ConsistencyChecker). Every engine error raises a freezeframe.Error subclass.)";
  m.attr("__version__") = FREEZEFRAME_VERSION;
  python::bind_errors(m);
  python::bind_volumes(m);
  // The simulator first: providers and coordinators take its SimClock.
  python::bind_sim(m);
  python::bind_providers(m);
  python::bind_protocol(m);
}
