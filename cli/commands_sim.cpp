// `freezeframe sim`: runs the simulator (sim/world.h) over one seed, a range of seeds, or
// random seeds until stopped, and shrinks a failing run.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "command_context.h"
#include "freezeframe/hex.h"
#include "freezeframe/plant.h"
#include "freezeframe/sim/world.h"
#include "parse.h"

namespace freezeframe::cli::command {
namespace {

constexpr unsigned kJobsMax = 64;
constexpr std::uint64_t kStepsMax = 1'000'000;
constexpr std::uint64_t kSeedsMax = 100'000'000;
// Bytes of a --choices tape.
constexpr std::size_t kChoicesMax = 1 << 16;
// Exit code of a run in which some seed broke an invariant (docs/cli.md).
constexpr int kExitFinding = 6;

Result<std::uint64_t> number_option(const Context& ctx, const std::string& name,
                                    std::uint64_t fallback, std::uint64_t min, std::uint64_t max) {
  auto text = ctx.options.get(name);
  if (!text)
    return fallback;
  char* end = nullptr;
  errno = 0;
  const std::uint64_t value = std::strtoull(text->c_str(), &end, 0);
  if (text->empty() || *end != '\0' || errno != 0 || (*text)[0] == '-' || value < min ||
      value > max)
    return Status(ErrorCode::kInvalidArgument, "--" + name + " takes a number from " +
                                                   std::to_string(min) + " to " +
                                                   std::to_string(max) + ", got '" + *text + "'");
  return value;
}

// --choices HEX: the world's choice tape (sim/world.h, WorldOptions::choices).
Result<std::vector<std::uint8_t>> choices_option(const std::string& text) {
  auto bytes = parse_hex(text);
  if (!bytes || bytes->size() > kChoicesMax)
    return Status(ErrorCode::kInvalidArgument,
                  "--choices takes bytes in hex (an even number of digits 0-9, a-f; at most " +
                      std::to_string(kChoicesMax) + " bytes), got '" + text.substr(0, 80) +
                      (text.size() > 80 ? "...'" : "'"));
  return std::move(*bytes);
}

// "A-B" or "A" (inclusive).
Result<std::pair<std::uint64_t, std::uint64_t>> seed_range(const std::string& text) {
  const auto dash = text.find('-');
  auto parse = [&](const std::string& part) -> std::optional<std::uint64_t> {
    char* end = nullptr;
    errno = 0;
    const std::uint64_t value = std::strtoull(part.c_str(), &end, 0);
    if (part.empty() || *end != '\0' || errno != 0 || part[0] == '-')
      return std::nullopt;
    return value;
  };
  auto first = parse(text.substr(0, dash));
  auto last = dash == std::string::npos ? first : parse(text.substr(dash + 1));
  if (!first || !last || *last < *first || *last - *first >= kSeedsMax)
    return Status(ErrorCode::kInvalidArgument,
                  "--seeds takes A-B (A <= B, at most 100000000 seeds), got '" + text + "'");
  return std::pair{*first, *last};
}

struct Outcome {
  sim::WorldCounts counts{};
  std::vector<sim::WorldFinding> findings{};
  std::vector<std::string> errors{};
};

// Runs `seeds` (drawn by `next` until it returns nullopt) on `jobs` threads.
template <typename NextSeed>
Outcome run_seeds(const sim::WorldOptions& base, unsigned jobs, NextSeed next,
                  const std::function<void(const Outcome&)>& progress = {}) {
  Outcome outcome;
  std::mutex mutex;
  auto work = [&] {
    for (;;) {
      std::optional<std::uint64_t> seed;
      {
        std::lock_guard lock(mutex);
        seed = next();
      }
      if (!seed)
        return;
      sim::WorldOptions options = base;
      options.seed = *seed;
      auto report = sim::run_world(options);
      std::lock_guard lock(mutex);
      if (!report.ok()) {
        outcome.errors.push_back("seed " + std::to_string(*seed) + ": " +
                                 report.status().to_string());
        continue;
      }
      outcome.counts += report->counts;
      if (report->finding)
        outcome.findings.push_back(*report->finding);
      if (progress)
        progress(outcome);
    }
  };
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < jobs; ++i)
    threads.emplace_back(work);
  work();
  for (std::thread& thread : threads)
    thread.join();
  std::sort(outcome.findings.begin(), outcome.findings.end(),
            [](const sim::WorldFinding& a, const sim::WorldFinding& b) { return a.seed < b.seed; });
  return outcome;
}

// Reduces a failing run: the steps after the finding go, then each simplification that still
// fails no later is kept (fewer volumes, smaller volumes, no backups, no snapshot sets).
Result<sim::WorldFinding> shrink(sim::WorldOptions options, sim::WorldFinding finding,
                                 std::ostream& out) {
  auto attempt = [&](const sim::WorldOptions& candidate) -> Result<bool> {
    FF_ASSIGN_OR_RETURN(sim::WorldReport report, sim::run_world(candidate));
    if (!report.finding || report.finding->step > finding.step)
      return false;
    finding = *report.finding;
    options = candidate;
    options.steps = std::min(options.steps, finding.step + 1);
    return true;
  };
  options.steps = std::min(options.steps, finding.step + 1);
  FF_TRY(attempt(options).status());
  std::vector<std::function<void(sim::WorldOptions&)>> simplifications = {
      [](sim::WorldOptions& o) { o.volumes = 1; },
      [](sim::WorldOptions& o) { o.volumes = 2; },
      [](sim::WorldOptions& o) { o.volume_bytes = 64 << 10; },
      [](sim::WorldOptions& o) { o.scratch_dir.clear(); },
      [](sim::WorldOptions& o) { o.snapshot_sets = false; },
  };
  for (const auto& simplify : simplifications) {
    sim::WorldOptions candidate = options;
    simplify(candidate);
    if (sim::world_arguments(candidate) == sim::world_arguments(options))
      continue;
    FF_ASSIGN_OR_RETURN(bool kept, attempt(candidate));
    out << "shrink: " << sim::world_arguments(candidate) << (kept ? ": still fails" : ": passes")
        << "\n";
  }
  finding.arguments = sim::world_arguments(options);
  return finding;
}

std::string replay_with_plants(const sim::WorldFinding& finding) {
  const PlantSet active = active_plants();
  return (active.empty() ? std::string() : "FREEZEFRAME_PLANT=" + plant_set_names(active) + " ") +
         finding.replay_command();
}

json counts_json(const sim::WorldCounts& counts) {
  return json{{"seeds", counts.seeds},
              {"steps", counts.steps},
              {"crashes", counts.crashes},
              {"faults", counts.faults},
              {"checks", counts.checks},
              {"snapshot_sets", counts.snapshot_sets},
              {"snapshot_sets_failed", counts.snapshot_sets_failed},
              {"backups", counts.backups},
              {"incremental_backups", counts.incremental_backups},
              {"restores", counts.restores},
              {"prunes", counts.prunes},
              {"change_resets", counts.change_resets}};
}

Status sim_command(Context& ctx) {
  FF_TRY(no_positionals(ctx));
  FF_TRY(plants_from_environment());
  if (auto plants = ctx.options.get("plant")) {
    FF_ASSIGN_OR_RETURN(PlantSet set, parse_plants(*plants));
    FF_TRY(set_plants(set));
  }
  sim::WorldOptions options;
  FF_ASSIGN_OR_RETURN(options.steps, number_option(ctx, "steps", 400, 1, kStepsMax));
  FF_ASSIGN_OR_RETURN(std::uint64_t volumes, number_option(ctx, "volumes", 0, 1, 4));
  options.volumes = static_cast<std::uint32_t>(volumes);
  FF_ASSIGN_OR_RETURN(std::uint64_t volume_kib, number_option(ctx, "volume-kib", 256, 64, 65536));
  options.volume_bytes = volume_kib << 10;
  FF_ASSIGN_OR_RETURN(std::uint64_t jobs, number_option(ctx, "jobs", 1, 1, kJobsMax));
  options.snapshot_sets = !ctx.options.has("no-sets");
  std::filesystem::path scratch;
  if (!ctx.options.has("no-backups")) {
    scratch = ctx.options.get("scratch").value_or(std::filesystem::temp_directory_path().string());
    options.scratch_dir = scratch;
  }
  const bool long_run = ctx.options.has("long");
  if (long_run && (ctx.options.has("seed") || ctx.options.has("seeds")))
    return usage_error(ctx, "--long draws its own seeds; it takes no --seed or --seeds");
  if (ctx.options.has("shrink") && (long_run || ctx.options.has("seeds")))
    return usage_error(ctx, "--shrink takes one --seed");
  if (auto choices = ctx.options.get("choices")) {
    if (long_run || ctx.options.has("seeds"))
      return usage_error(ctx, "--choices replays one world; it takes one --seed");
    FF_ASSIGN_OR_RETURN(options.choices, choices_option(*choices));
  }

  std::uint64_t first = 0;
  std::uint64_t last = 0;
  if (auto range = ctx.options.get("seeds")) {
    FF_ASSIGN_OR_RETURN(auto seeds, seed_range(*range));
    first = seeds.first;
    last = seeds.second;
  } else {
    FF_ASSIGN_OR_RETURN(first, number_option(ctx, "seed", 1, 0, UINT64_MAX));
    last = first;
  }
  FF_ASSIGN_OR_RETURN(std::uint64_t duration_s,
                      number_option(ctx, "duration", 0, 1, std::uint64_t{365} * 86400));

  if (!ctx.json) {
    ctx.out << "sim: "
            << (long_run        ? std::string("random seeds")
                : first == last ? "seed " + std::to_string(first)
                                : "seeds " + std::to_string(first) + "-" + std::to_string(last))
            << ", " << options.steps << " steps each, plants: " << plant_set_names(active_plants())
            << "\n";
  }
  Outcome outcome;
  if (long_run) {
    // Until stopped (or --duration): random seeds, a progress line every 100 seeds.
    std::random_device entropy;
    std::mt19937_64 seeds((std::uint64_t{entropy()} << 32) | entropy());
    const auto stop_at = std::chrono::steady_clock::now() + std::chrono::seconds(duration_s);
    std::uint64_t reported = 0;
    outcome = run_seeds(
        options, static_cast<unsigned>(jobs),
        [&]() -> std::optional<std::uint64_t> {
          if (duration_s != 0 && std::chrono::steady_clock::now() >= stop_at)
            return std::nullopt;
          return seeds();
        },
        [&](const Outcome& so_far) {
          for (; reported < so_far.findings.size(); ++reported)
            ctx.out << so_far.findings[reported].to_string() << "\n";
          if (so_far.counts.seeds % 100 == 0)
            ctx.out << "sim: " << so_far.counts.to_string() << ", " << so_far.findings.size()
                    << " failed\n"
                    << std::flush;
        });
  } else {
    std::uint64_t next = first;
    bool done = false;
    outcome =
        run_seeds(options, static_cast<unsigned>(jobs), [&]() -> std::optional<std::uint64_t> {
          if (done)
            return std::nullopt;
          done = next == last;
          return next++;
        });
  }
  for (const std::string& error : outcome.errors)
    ctx.err << "sim: " << error << "\n";
  if (!outcome.errors.empty())
    return Status(ErrorCode::kInvalidArgument, "the simulator could not build its world");

  std::optional<sim::WorldFinding> shrunk;
  if (ctx.options.has("shrink") && !outcome.findings.empty()) {
    sim::WorldOptions failing = options;
    failing.seed = outcome.findings.front().seed;
    FF_ASSIGN_OR_RETURN(shrunk,
                        shrink(failing, outcome.findings.front(), ctx.json ? ctx.err : ctx.out));
  }

  if (ctx.json) {
    json findings = json::array();
    for (const sim::WorldFinding& finding : outcome.findings) {
      findings.push_back(json{{"seed", finding.seed},
                              {"step", finding.step},
                              {"operation", finding.operation},
                              {"detail", finding.detail},
                              {"replay", replay_with_plants(finding)}});
    }
    json document{{"counts", counts_json(outcome.counts)},
                  {"plants", plant_set_names(active_plants())},
                  {"passed", outcome.findings.empty()},
                  {"findings", findings}};
    if (shrunk)
      document["shrunk"] = json{{"step", shrunk->step},
                                {"operation", shrunk->operation},
                                {"detail", shrunk->detail},
                                {"replay", replay_with_plants(*shrunk)}};
    ctx.out << document.dump(2) << "\n";
  } else {
    if (!long_run) {
      for (const sim::WorldFinding& finding : outcome.findings)
        ctx.out << "sim: seed " << finding.seed << ", step " << finding.step << ", "
                << finding.operation << ": " << finding.detail
                << "\nreplay: " << replay_with_plants(finding) << "\n";
    }
    if (shrunk)
      ctx.out << "shrunk: step " << shrunk->step << ", " << shrunk->operation << ": "
              << shrunk->detail << "\nreplay: " << replay_with_plants(*shrunk) << "\n";
    ctx.out << "sim: " << outcome.counts.to_string() << "\n"
            << (outcome.findings.empty()
                    ? std::string("sim: every invariant held")
                    : "sim: " + std::to_string(outcome.findings.size()) + " of " +
                          std::to_string(outcome.counts.seeds) + " seeds broke an invariant")
            << "\n";
  }
  if (!outcome.findings.empty())
    ctx.exit_code = kExitFinding;
  return Status();
}

}  // namespace

std::vector<CommandSpec> sim_commands() {
  return {
      {"sim",
       "",
       "Runs the simulator: seeded worlds of CoW and RoW volumes, snapshot sets, crashes, "
       "faults, backups and restores, checking every invariant after every step.",
       {{"seed", "N", "the world's seed (default 1)"},
        {"seeds", "A-B", "every seed from A to B"},
        {"steps", "K", "steps per world (default 400)"},
        {"long", "", "random seeds until stopped (or --duration)"},
        {"duration", "SECONDS", "with --long: stop after this long"},
        {"shrink", "", "reduce a failing run to a shorter one and print its replay command"},
        {"jobs", "N", "worlds run at once (default 1)"},
        {"volumes", "N", "volumes per world, 1 to 4 (default: 2 or 3, from the seed)"},
        {"volume-kib", "KIB", "size of each volume (default 256)"},
        {"no-backups", "", "no backup, restore or prune steps"},
        {"no-sets", "", "no snapshot sets through the protocol"},
        {"choices", "HEX",
         "a choice tape: these bytes decide the world's choices before the seed does (as the "
         "sim_world fuzz target's findings print them)"},
        {"scratch", "DIR", "where the worlds keep their backup repositories (default: /tmp)"},
        {"plant", "NAME[,NAME...]",
         "switch planted defects on (a test build only; also FREEZEFRAME_PLANT)"}},
       sim_command,
       "A failing seed prints the step, what failed, and the command that replays it; the exit\n"
       "code is then 6. docs/testing.md describes the world, its faults and its checks.\n"},
  };
}

}  // namespace freezeframe::cli::command
