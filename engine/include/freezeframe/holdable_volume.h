// HoldableVolume: a Volume filter whose writes can be held for the commit window.
//
// Applications write through a HoldableVolume stacked on any Volume (typically a
// SnapshotProvider). During a snapshot set's commit window the coordinator calls hold() on
// every volume of the set: writes, discards and flushes already in flight are drained, new
// ones wait, reads go on. release() lets the waiting requests proceed. Held on every volume
// at once, this gives the set one common instant: no request that spans two volumes can be
// half inside the set (the model of volsnap's flush-and-hold).
//
// hold() waits only for requests already inside the base volume, never for requests that
// are themselves waiting on the hold, so a thread blocked in write() cannot deadlock it.
// Holds nest: the volume is released when every hold() has been matched by a release().
// begin_hold() and wait_drained() split hold() in two, so a caller that gives up on a slow
// drain (the commit window closed) can release a hold it knows it raised.
//
// Thread-safety: every method may be called from any thread.
// Lifetime: `base` must outlive the HoldableVolume.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "freezeframe/volume_wrapper.h"

namespace freezeframe {

class HoldableVolume final : public VolumeWrapper {
 public:
  // `name`: the name the volume presents; empty: the base's name.
  explicit HoldableVolume(Volume& base, std::string name = {});
  ~HoldableVolume() override;

  const VolumeIdentity& identity() const noexcept override { return identity_; }

  // Makes new writes, discards and flushes wait, then waits until those in flight are done.
  // The same as begin_hold() followed by wait_drained().
  void hold();
  // Makes new writes, discards and flushes wait; returns at once. Counts as a hold: match
  // it with release(), whether or not the volume drained.
  void begin_hold();
  // Waits until no write, discard or flush is in flight, or until no hold remains (a hold
  // released while draining needs no drain). Returns whether the volume drained.
  bool wait_drained();
  // Undoes one hold() or begin_hold(); when none remains, waiting requests proceed.
  void release();
  bool held() const;
  // Requests currently waiting for a release (for tests and diagnostics).
  std::uint64_t waiting() const;

 protected:
  // Reads are never held: only changes and barriers wait for a release.
  Status do_write(std::uint64_t offset, std::span<const std::byte> data) override;
  Status do_flush() override;
  Status do_discard(std::uint64_t offset, std::uint64_t length) override;

 private:
  class Gate;  // holds, requests in flight and waiting; holdable_volume.cpp

  // Runs `request` once no hold stops it, counted as in flight while it runs.
  template <typename Request>
  Status through_gate(Request&& request);

  VolumeIdentity identity_;
  std::unique_ptr<Gate> gate_;
};

}  // namespace freezeframe
