// The serve daemon in process (serve/daemon.h, serve/server.h): exports, byte-range I/O,
// request validation, commands run on its store, and the control socket.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <sstream>
#include <thread>
#include <tuple>

#include "commands.h"
#include "connection.h"
#include "daemon.h"
#include "server.h"
#include "temp_path.h"

namespace freezeframe::serve {
namespace {

std::vector<std::byte> pattern(std::size_t bytes, unsigned seed) {
  std::vector<std::byte> out(bytes);
  for (std::size_t i = 0; i < bytes; ++i)
    out[i] = static_cast<std::byte>((i * 31 + seed * 7) & 0xff);
  return out;
}

class ServeDaemon : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::filesystem::path(store_file_.path().string() + ".store");
    std::filesystem::remove_all(store_);
    run({"volume", "create", "cow", "--size", "4M"});
    run({"volume", "create", "row", "--size", "4M", "--provider", "row"});
    auto daemon = Daemon::open(store_, log_);
    ASSERT_TRUE(daemon.ok()) << daemon.status().to_string();
    daemon_ = std::move(*daemon);
  }
  void TearDown() override {
    daemon_.reset();
    std::filesystem::remove_all(store_);
  }
  void run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--store", store_.string()});
    std::ostringstream out;
    std::ostringstream err;
    ASSERT_EQ(cli::run_cli(args, out, err), 0) << err.str();
  }
  Reply command(std::vector<std::string> argv) {
    Request request;
    request.op = Op::kCommand;
    request.argv = std::move(argv);
    std::vector<std::byte> out;
    return daemon_->handle(request, {}, out);
  }
  // The id of the one snapshot of `volume` the daemon exports.
  std::string snapshot_export(const std::string& volume) {
    for (const ExportInfo& e : daemon_->exports())
      if (e.volume == volume && !e.snapshot.empty())
        return e.name;
    ADD_FAILURE() << "no snapshot of " << volume << " exported";
    return {};
  }

  testing::TempPath store_file_{"store"};
  std::filesystem::path store_;
  std::ostringstream log_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(ServeDaemon, ExportsEveryVolumeReadWrite) {
  auto exports = daemon_->exports();
  ASSERT_EQ(exports.size(), 2u);
  for (const ExportInfo& e : exports) {
    EXPECT_FALSE(e.read_only) << e.name;
    EXPECT_EQ(e.size_bytes, 4u << 20);
  }
}

TEST_F(ServeDaemon, SnapshotsTakenThroughItKeepTheirContent) {
  for (std::string volume : {"cow", "row"}) {
    auto before = pattern(64 * 1024, 1);
    ASSERT_TRUE(daemon_->write(volume, 0, before).ok());
    ASSERT_TRUE(daemon_->flush(volume).ok());
    Reply reply = command({"shadow", "create", "--for", volume, "--json"});
    ASSERT_TRUE(reply.ok()) << reply.message;
    ASSERT_EQ(reply.exit_code, 0) << reply.err;
    EXPECT_NE(reply.out.find("\"set_id\""), std::string::npos) << reply.out;
    auto after = pattern(64 * 1024, 2);
    ASSERT_TRUE(daemon_->write(volume, 0, after).ok());
    std::string snapshot = snapshot_export(volume);
    std::vector<std::byte> read(before.size());
    ASSERT_TRUE(daemon_->read(snapshot, 0, read).ok());
    EXPECT_EQ(read, before) << volume;
    ASSERT_TRUE(daemon_->read(volume, 0, read).ok());
    EXPECT_EQ(read, after) << volume;
    Status refused = daemon_->write(snapshot, 0, after);
    EXPECT_EQ(refused.code(), ErrorCode::kReadOnly) << refused.to_string();
  }
}

TEST_F(ServeDaemon, UnalignedIoReadsAndMergesPartialSectors) {
  auto base = pattern(4096, 3);
  ASSERT_TRUE(daemon_->write("cow", 0, base).ok());
  auto patch = pattern(100, 4);
  ASSERT_TRUE(daemon_->write("cow", 1000, patch).ok());
  std::copy(patch.begin(), patch.end(), base.begin() + 1000);
  std::vector<std::byte> read(3001);
  ASSERT_TRUE(daemon_->read("cow", 7, read).ok());
  EXPECT_TRUE(std::equal(read.begin(), read.end(), base.begin() + 7));
  ASSERT_TRUE(daemon_->zero("cow", 999, 102).ok());
  std::fill(base.begin() + 999, base.begin() + 1101, std::byte{0});
  std::vector<std::byte> whole(4096);
  ASSERT_TRUE(daemon_->read("cow", 0, whole).ok());
  EXPECT_EQ(whole, base);
}

TEST_F(ServeDaemon, InvalidRequestsGetErrorsNamingThem) {
  std::vector<std::byte> buffer(512);
  Status status = daemon_->read("cow", (4u << 20) - 256, buffer);
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(status.message().find("out of range"), std::string::npos) << status.message();
  status = daemon_->read("nothing", 0, buffer);
  EXPECT_EQ(status.code(), ErrorCode::kNotFound);
  EXPECT_NE(status.message().find("'nothing'"), std::string::npos) << status.message();
  status = daemon_->read("cow@not-a-uuid", 0, buffer);
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
  status = daemon_->trim("cow", 4u << 20, 1);
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
  // The daemon still serves.
  EXPECT_TRUE(daemon_->read("cow", 0, buffer).ok());
}

// The runs of a map as (offset, length, allocated) triples.
std::vector<std::tuple<std::uint64_t, std::uint64_t, bool>> runs_of(
    const std::vector<ExtentInfo>& extents) {
  std::vector<std::tuple<std::uint64_t, std::uint64_t, bool>> out;
  for (const ExtentInfo& e : extents)
    out.emplace_back(e.offset, e.length, e.allocated);
  return out;
}

TEST_F(ServeDaemon, ExtentsReportDataOnlyWhereWritten) {
  constexpr std::uint64_t kSize = 4u << 20;
  for (std::string volume : {"cow", "row"}) {
    auto empty = daemon_->extents(volume, 0, kSize, "");
    ASSERT_TRUE(empty.ok()) << empty.status().to_string();
    using Runs = decltype(runs_of(*empty));
    EXPECT_EQ(runs_of(*empty), (Runs{{0, kSize, false}})) << volume;
    ASSERT_TRUE(daemon_->write(volume, 1 << 20, pattern(64 * 1024, 5)).ok());
    ASSERT_TRUE(daemon_->flush(volume).ok());
    auto written = daemon_->extents(volume, 0, kSize, "");
    ASSERT_TRUE(written.ok()) << written.status().to_string();
    // Allocation is reported at the file system's or the read piece's granularity: the written
    // range is data, and nothing reported unallocated reads other than zeros.
    bool covered = false;
    for (const ExtentInfo& e : *written) {
      if (e.allocated && e.offset <= (1u << 20) && e.offset + e.length >= (1u << 20) + 65536)
        covered = true;
      if (!e.allocated) {
        std::vector<std::byte> read(e.length);
        ASSERT_TRUE(daemon_->read(volume, e.offset, read).ok());
        EXPECT_TRUE(
            std::all_of(read.begin(), read.end(), [](std::byte b) { return b == std::byte{0}; }))
            << volume << " offset " << e.offset;
      }
    }
    EXPECT_TRUE(covered) << volume;
  }
}

TEST_F(ServeDaemon, ExtentsSinceASnapshotListTheChangedChunks) {
  constexpr std::uint64_t kSize = 4u << 20;
  for (std::string volume : {"cow", "row"}) {
    ASSERT_TRUE(daemon_->write(volume, 0, pattern(kSize, 6)).ok());
    Reply reply = command({"shadow", "create", "--for", volume, "--json"});
    ASSERT_EQ(reply.exit_code, 0) << reply.err;
    std::string snapshot = snapshot_export(volume);
    const std::string id = snapshot.substr(snapshot.find('@') + 1);
    ASSERT_TRUE(daemon_->write(volume, 2u << 20, pattern(4096, 7)).ok());
    auto changed = daemon_->extents(volume, 0, kSize, id);
    ASSERT_TRUE(changed.ok()) << changed.status().to_string();
    std::uint64_t data_bytes = 0;
    for (const ExtentInfo& e : *changed) {
      if (!e.allocated)
        continue;
      data_bytes += e.length;
      EXPECT_LE(e.offset, 2u << 20) << volume;
      EXPECT_GE(e.offset + e.length, (2u << 20) + 4096) << volume;
    }
    EXPECT_GT(data_bytes, 0u) << volume;
    EXPECT_LE(data_bytes, 64u * 1024) << volume;  // one chunk
    auto bad = daemon_->extents(volume, 0, kSize, "not-an-id");
    EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(bad.status().message().find("neither a change id"), std::string::npos)
        << bad.status().message();
  }
}

TEST_F(ServeDaemon, RunsOnlyTheCommandsItServes) {
  Reply reply = command({"volume", "remove", "cow"});
  EXPECT_NE(reply.exit_code, 0);
  EXPECT_NE(reply.err.find("runs only"), std::string::npos) << reply.err;
  EXPECT_EQ(daemon_->exports().size(), 2u);
}

TEST_F(ServeDaemon, ControlSocketServesClientsAfterBadFrames) {
  std::filesystem::path socket =
      std::filesystem::temp_directory_path() / ("ffserve-" + std::to_string(::getpid()) + ".sock");
  auto server = Server::listen(*daemon_, socket);
  ASSERT_TRUE(server.ok()) << server.status().to_string();
  std::thread thread([&] { (*server)->run(); });
  {
    // A malformed header: an error reply, the connection stays usable.
    auto connection = Connection::connect(socket);
    ASSERT_TRUE(connection.ok()) << connection.status().to_string();
    std::string junk = "{\"op\":";
    std::string frame(kPrefixBytes, '\0');
    frame[0] = static_cast<char>(junk.size());
    ASSERT_TRUE(connection->send(frame + junk).ok());
    auto header = connection->receive_header();
    ASSERT_TRUE(header.ok() && header->has_value());
    auto reply = decode_reply(**header);
    ASSERT_TRUE(reply.ok());
    EXPECT_EQ(reply->code, ErrorCode::kInvalidArgument);
    Request hello;
    hello.op = Op::kHello;
    auto answer = connection->call(hello);
    ASSERT_TRUE(answer.ok()) << answer.status().to_string();
    EXPECT_EQ(answer->version, kProtocolVersion);
  }
  {
    // A prefix over the limit: an error reply, then the connection is closed.
    auto connection = Connection::connect(socket);
    ASSERT_TRUE(connection.ok());
    ASSERT_TRUE(connection->send(std::string("\xff\xff\xff\x7f", 4)).ok());
    auto header = connection->receive_header();
    ASSERT_TRUE(header.ok() && header->has_value());
    EXPECT_FALSE(decode_reply(**header)->ok());
  }
  auto connection = Connection::connect(socket);
  ASSERT_TRUE(connection.ok());
  Request write;
  write.op = Op::kWrite;
  write.export_name = "row";
  write.offset = 8192;
  write.length = 4096;
  write.fua = true;
  auto data = pattern(4096, 9);
  auto written = connection->call(write, data);
  ASSERT_TRUE(written.ok() && written->ok()) << written->message;
  Request read = write;
  read.op = Op::kRead;
  std::vector<std::byte> back;
  auto got = connection->call(read, {}, &back);
  ASSERT_TRUE(got.ok() && got->ok());
  EXPECT_EQ(back, data);
  read.offset = 4u << 20;
  got = connection->call(read, {}, &back);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->code, ErrorCode::kInvalidArgument);
  Request list;
  list.op = Op::kList;
  got = connection->call(list);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->exports.size(), 2u);
  (*server)->stop();
  thread.join();
  server->reset();
  EXPECT_FALSE(std::filesystem::exists(socket));
}

}  // namespace
}  // namespace freezeframe::serve
