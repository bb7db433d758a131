// The serve control protocol's encoding and decoding (serve/protocol.h).
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "protocol.h"

namespace freezeframe::serve {
namespace {

std::span<const std::byte> bytes_of(const std::string& text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

// The header of an encoded frame, after its prefix (which must give its length).
std::string header_of(const std::string& frame) {
  EXPECT_GE(frame.size(), kPrefixBytes);
  auto length = decode_prefix(bytes_of(frame.substr(0, kPrefixBytes)));
  EXPECT_TRUE(length.ok()) << length.status().to_string();
  EXPECT_EQ(*length, frame.size() - kPrefixBytes);
  return frame.substr(kPrefixBytes);
}

Status decode_error(const std::string& header) {
  auto request = decode_request(bytes_of(header));
  EXPECT_FALSE(request.ok()) << header;
  return request.ok() ? Status() : request.status();
}

TEST(ServeProtocol, RequestsRoundTrip) {
  Request write;
  write.id = 7;
  write.op = Op::kWrite;
  write.export_name = "data";
  write.offset = 4096;
  write.length = 8192;
  write.fua = true;
  auto decoded = decode_request(bytes_of(header_of(encode_request(write))));
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->id, 7u);
  EXPECT_EQ(decoded->op, Op::kWrite);
  EXPECT_EQ(decoded->export_name, "data");
  EXPECT_EQ(decoded->offset, 4096u);
  EXPECT_EQ(decoded->length, 8192u);
  EXPECT_TRUE(decoded->fua);
  EXPECT_EQ(request_data_bytes(*decoded), 8192u);

  Request command;
  command.op = Op::kCommand;
  command.argv = {"shadow", "create", "--for", "data", "--json"};
  decoded = decode_request(bytes_of(header_of(encode_request(command))));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->argv, command.argv);
  EXPECT_EQ(request_data_bytes(*decoded), 0u);
}

TEST(ServeProtocol, ExtentsRequestsCarryTheirSincePoint) {
  Request extents;
  extents.id = 3;
  extents.op = Op::kExtents;
  extents.export_name = "data@6dde9e8a-7698-4d6c-b318-a84676309a9a";
  extents.offset = 0;
  extents.length = 1 << 20;
  extents.since = "ffcbt1:0123";
  auto decoded = decode_request(bytes_of(header_of(encode_request(extents))));
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->since, "ffcbt1:0123");
  EXPECT_EQ(decoded->length, 1u << 20);
  extents.since.clear();
  decoded = decode_request(bytes_of(header_of(encode_request(extents))));
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->since.empty());

  EXPECT_NE(decode_error(R"({"op":"extents","export":"a","offset":0,"length":1,"since":7})")
                .message()
                .find("'since'"),
            std::string::npos);
  const std::string long_since(kSinceBytesMax + 1, 'x');
  EXPECT_NE(decode_error(R"({"op":"extents","export":"a","offset":0,"length":1,"since":")" +
                         long_since + R"("})")
                .message()
                .find("longer than"),
            std::string::npos);
  EXPECT_NE(decode_error(R"({"op":"read","export":"a","offset":0,"length":1,"since":"x"})")
                .message()
                .find("only for 'extents'"),
            std::string::npos);
}

TEST(ServeProtocol, ExtentsRepliesOverTheRunLimitAreRefused) {
  std::string runs;
  for (std::size_t i = 0; i <= kExtentRunsMax; ++i)
    runs += (i == 0 ? "" : ",") + std::string("[0,1,true]");
  auto reply = decode_reply(bytes_of(R"({"code":"ok","extents":[)" + runs + "]}"));
  ASSERT_FALSE(reply.ok());
  EXPECT_NE(reply.status().message().find("runs"), std::string::npos);
  runs = "[0,1,true]";
  reply = decode_reply(bytes_of(R"({"code":"ok","extents":[)" + runs + "]}"));
  ASSERT_TRUE(reply.ok()) << reply.status().to_string();
  EXPECT_EQ(reply->extents.size(), 1u);
}

TEST(ServeProtocol, RepliesRoundTrip) {
  Reply reply;
  reply.id = 3;
  reply.exports.push_back({"data@1", "data", "1", 1 << 20, 512, true, "cow"});
  reply.extents.push_back({0, 4096, true});
  reply.extents.push_back({4096, 4096, false});
  reply.exit_code = 4;
  reply.out = "out\n";
  reply.err = "err\n";
  auto decoded = decode_reply(bytes_of(header_of(encode_reply(reply))));
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_TRUE(decoded->ok());
  ASSERT_EQ(decoded->exports.size(), 1u);
  EXPECT_EQ(decoded->exports[0].name, "data@1");
  EXPECT_TRUE(decoded->exports[0].read_only);
  EXPECT_EQ(decoded->exports[0].size_bytes, 1u << 20);
  ASSERT_EQ(decoded->extents.size(), 2u);
  EXPECT_FALSE(decoded->extents[1].allocated);
  EXPECT_EQ(decoded->exit_code, 4);
  EXPECT_EQ(decoded->out, "out\n");
  EXPECT_EQ(decoded->err, "err\n");
}

TEST(ServeProtocol, ErrorRepliesKeepCodeAndMessage) {
  Reply reply;
  reply.id = 9;
  reply.code = ErrorCode::kReadOnly;
  reply.message = "export 'data@x' is a snapshot";
  auto decoded = decode_reply(bytes_of(header_of(encode_reply(reply))));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->code, ErrorCode::kReadOnly);
  EXPECT_EQ(decoded->message, reply.message);
  Request read;
  read.op = Op::kRead;
  read.length = 512;
  EXPECT_EQ(reply_data_bytes(read, *decoded), 0u) << "a failed read carries no data";
}

TEST(ServeProtocol, PrefixOutsideBoundsIsRefused) {
  const std::byte zero[4] = {};
  EXPECT_EQ(decode_prefix(zero).status().code(), ErrorCode::kInvalidArgument);
  const std::byte huge[4] = {std::byte{0xff}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff}};
  auto status = decode_prefix(huge).status();
  EXPECT_NE(status.message().find("outside"), std::string::npos) << status.message();
  const std::byte short_prefix[2] = {};
  EXPECT_FALSE(decode_prefix(short_prefix).ok());
}

TEST(ServeProtocol, MalformedRequestsNameTheProblem) {
  EXPECT_NE(decode_error("").message().find("empty"), std::string::npos);
  EXPECT_NE(decode_error("{not json").message().find("not valid JSON"), std::string::npos);
  EXPECT_NE(decode_error("[1,2]").message().find("not a JSON object"), std::string::npos);
  EXPECT_NE(decode_error("{}").message().find("'op' is missing"), std::string::npos);
  EXPECT_NE(decode_error(R"({"op":"explode"})").message().find("unknown op 'explode'"),
            std::string::npos);
  EXPECT_NE(decode_error(R"({"op":"read","offset":0,"length":1})").message().find("export"),
            std::string::npos);
  EXPECT_NE(decode_error(R"({"op":"read","export":"a"})").message().find("'offset'"),
            std::string::npos);
  EXPECT_NE(decode_error(R"({"op":"read","export":"a","offset":-1,"length":1})")
                .message()
                .find("'offset' is not an unsigned integer"),
            std::string::npos);
  EXPECT_NE(decode_error(R"({"op":"read","export":"a","offset":"0","length":1})")
                .message()
                .find("'offset'"),
            std::string::npos);
  EXPECT_NE(decode_error(R"({"op":"write","export":"a","offset":0,"length":4294967296000})")
                .message()
                .find("over the limit"),
            std::string::npos);
  EXPECT_NE(decode_error(R"({"op":"trim","export":"a","offset":18446744073709551615,"length":2})")
                .message()
                .find("overflows"),
            std::string::npos);
  EXPECT_NE(decode_error(R"({"op":"command","argv":"shadow create"})").message().find("argv"),
            std::string::npos);
  EXPECT_NE(decode_error(R"({"op":"command","argv":["a",1]})").message().find("argv"),
            std::string::npos);
  EXPECT_NE(decode_error(R"({"op":"read","export":"a","offset":0,"length":1,"fua":1})")
                .message()
                .find("'fua'"),
            std::string::npos);
  EXPECT_EQ(decode_error("{").code(), ErrorCode::kInvalidArgument);
}

TEST(ServeProtocol, MalformedRepliesAreRefused) {
  auto bad = [](const std::string& header) {
    auto reply = decode_reply(bytes_of(header));
    EXPECT_FALSE(reply.ok()) << header;
  };
  bad(R"({"code":"no-such-code"})");
  bad(R"({"code":"ok","length":99999999999})");
  bad(R"({"code":"ok","extents":[[1,2]]})");
  bad(R"({"code":"ok","exports":[{"sector_bytes":1e9}]})");
  bad(R"({"code":"ok","exit_code":300})");
}

TEST(ServeProtocol, ExportNamesSplitAtTheLastAt) {
  auto live = parse_export_name("data");
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(live->volume, "data");
  EXPECT_TRUE(live->snapshot.empty());
  auto snapshot = parse_export_name("my@vol@{1234}");
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ(snapshot->volume, "my@vol");
  EXPECT_EQ(snapshot->snapshot, "{1234}");
  EXPECT_FALSE(parse_export_name("@x").ok());
  EXPECT_FALSE(parse_export_name("data@").ok());
}

}  // namespace
}  // namespace freezeframe::serve
