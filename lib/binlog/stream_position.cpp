// Position tracking of a replica stream: rotates, heartbeats, artificial events, log_pos.
#include "binlog/stream_position.hpp"

#include <zlib.h>

#include "binlog/constants.hpp"
#include "binlog/reader.hpp"
#include "cli/error.hpp"

namespace rowpipe::binlog {
namespace {

constexpr uint16_t kArtificialFlag = 0x20;  // LOG_EVENT_ARTIFICIAL_F
constexpr size_t kMaxNameBytes = 512;

}  // namespace

std::string_view StreamPosition::name_in(std::span<const uint8_t> event, size_t from) const {
  // The name runs to the event's end, or to its checksum. Rotates and heartbeats are tiny: whether a
  // CRC32 ends them is decided by checking it (a name whose last 4 bytes happen to equal the CRC of
  // the rest has odds of 2^-32), which needs no format description (the first rotate has none).
  size_t end = event.size();
  if (end >= from + kChecksumLength) {
    uint32_t stored = static_cast<uint32_t>(load_le(event.data() + end - 4, 4));
    auto crc = static_cast<uint32_t>(crc32(0L, event.data(), static_cast<uInt>(end - 4)));
    if (stored == crc) end -= kChecksumLength;
  }
  std::string_view name(reinterpret_cast<const char*>(event.data()) + from, end - from);
  name = name.substr(0, std::min(name.find('\0'), name.size()));
  if (name.size() > kMaxNameBytes)
    fail(ErrorKind::kProtocol, pos_.str() + ": a file name longer than 512 bytes in the replica stream");
  return name;
}

StreamPosition::Step StreamPosition::next(std::span<const uint8_t> event) {
  auto where = [&] { return pos_.file.empty() ? std::string("replica stream") : pos_.str(); };
  if (event.size() < kHeaderLength)
    fail(ErrorKind::kProtocol, where() + ": an event of " + std::to_string(event.size()) + " bytes (header: 19)");
  const uint8_t* p = event.data();
  Step s;
  s.timestamp = static_cast<uint32_t>(load_le(p, 4));
  const uint8_t type = p[4];
  const auto size = static_cast<uint32_t>(load_le(p + 9, 4));
  const auto log_pos = static_cast<uint32_t>(load_le(p + 13, 4));
  const auto flags = static_cast<uint16_t>(load_le(p + 17, 2));
  if (size != event.size())
    fail(ErrorKind::kProtocol, where() + ": an event header says " + std::to_string(size) + " bytes, the packet has " +
                                   std::to_string(event.size()));

  if (type == kRotateEvent) {
    if (event.size() < kHeaderLength + 8) fail(ErrorKind::kProtocol, where() + ": a rotate event too short");
    uint64_t position = load_le(p + kHeaderLength, 8);
    std::string_view name = name_in(event, kHeaderLength + 8);
    if (name.empty()) fail(ErrorKind::kProtocol, where() + ": a rotate event without a file name");
    s.decode = false;
    s.file_changed = name != pos_.file;
    s.offset = pos_.offset;
    pos_.file.assign(name);
    pos_.offset = position;
    return s;
  }
  if (type == kHeartbeatEvent || type == kHeartbeatEventV2) {
    s.decode = false;
    s.heartbeat = true;
    s.offset = pos_.offset;
    if (type == kHeartbeatEvent) {
      // The body names the file the server reads; log_pos is how far it has sent. A heartbeat for
      // another file (a rotate not seen yet) says nothing about ours.
      std::string_view name = name_in(event, kHeaderLength);
      if (log_pos != 0 && (name.empty() || name == pos_.file) && log_pos >= pos_.offset) pos_.offset = log_pos;
    }
    return s;
  }
  if (log_pos == 0 || (flags & kArtificialFlag)) {
    // Format descriptions sent ahead of a later start, GTID lists of a GTID start: not at their own
    // place in the file. A GTID list's log_pos is where the stream continues.
    s.offset = pos_.offset;
    if (log_pos != 0 && log_pos > pos_.offset) pos_.offset = log_pos;
    return s;
  }
  if (log_pos < size)
    fail(ErrorKind::kProtocol,
         where() + ": an event ending at " + std::to_string(log_pos) + " is " + std::to_string(size) + " bytes long");
  s.offset = log_pos - size;
  pos_.offset = log_pos;
  return s;
}

}  // namespace rowpipe::binlog
