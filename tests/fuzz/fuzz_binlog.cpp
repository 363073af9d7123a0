// libFuzzer target over the binlog framing and decoder: the input is a binlog file's bytes. The
// first input byte picks a preamble (none, or a MySQL 8 / MariaDB / MySQL 5.1 format description)
// so that mutations reach the event decoders without having to forge an FDE first.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "binlog/decoder.hpp"
#include "binlog/line_emitter.hpp"
#include "cli/error.hpp"

namespace {

// A v4 FDE without checksums: header (type 15), binlog version 4, server version, timestamp,
// header length 19, then post-header lengths for types 1..N.
std::vector<uint8_t> fde(const char* version, bool mariadb) {
  std::vector<uint8_t> post = {56, 13, 0, 8, 0, 18, 0, 4, 4,  4,  4,  18, 0,  0, 0,  95, 0, 4,  26, 8, 0,
                               0,  0,  8, 8, 8, 2,  0, 0, 10, 10, 10, 42, 42, 0, 18, 52, 0, 10, 40, 0, 42};
  if (mariadb) post.resize(163, 0);
  std::vector<uint8_t> e(19, 0);
  e[4] = 15;
  e[0x11] = 0;
  std::vector<uint8_t> body = {4, 0};
  std::vector<uint8_t> sv(50, 0);
  for (size_t i = 0; version[i] && i < 50; ++i) sv[i] = static_cast<uint8_t>(version[i]);
  body.insert(body.end(), sv.begin(), sv.end());
  body.insert(body.end(), {0, 0, 0, 0, 19});
  body.insert(body.end(), post.begin(), post.end());
  body.insert(body.end(), {0, 0, 0, 0, 0});  // checksum algorithm OFF + unused checksum
  e.insert(e.end(), body.begin(), body.end());
  uint32_t n = static_cast<uint32_t>(e.size());
  for (int i = 0; i < 4; ++i) e[9 + i] = static_cast<uint8_t>(n >> (8 * i));
  return e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const std::vector<uint8_t> kMysql = fde("8.0.40", false);
  static const std::vector<uint8_t> kMaria = fde("10.11.6-MariaDB-log", true);
  static const std::vector<uint8_t> kOld = fde("5.1.73-log", false);
  uint8_t mode = data[0] % 4;
  ++data;
  --size;
  rowpipe::binlog::LineEmitter sink;
  rowpipe::binlog::DecoderOptions options;
  options.allow_statements = true;
  options.max_event_bytes = 1 << 20;
  options.max_xa_bytes = 1 << 20;
  rowpipe::binlog::Decoder decoder(sink, options);
  decoder.set_file("fuzz.000001");
  try {
    rowpipe::binlog::FileFramer framer;
    const uint8_t magic[4] = {0xfe, 'b', 'i', 'n'};
    framer.push(magic, 4);
    if (mode == 1) framer.push(kMysql.data(), kMysql.size());
    if (mode == 2) framer.push(kMaria.data(), kMaria.size());
    if (mode == 3) framer.push(kOld.data(), kOld.size());
    framer.push(data, size);
    std::span<const uint8_t> event;
    uint64_t offset;
    while (framer.next(event, offset)) {
      decoder.decode_event(event, offset);
      if (sink.complete_size() > (1 << 16)) sink.clear_complete();
    }
    decoder.finish();
    sink.flush_pending();
  } catch (const rowpipe::Error&) {
  }
  return 0;
}
