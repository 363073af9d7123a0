// Where a replica stream is: the file its events come from and the offset after the last one,
// from the stream's rotate and heartbeat events and each event's log_pos. Pure: no I/O.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "event/position.hpp"

namespace rowpipe::binlog {

// https://mariadb.com/kb/en/replication-protocol/ (COM_BINLOG_DUMP): the server starts a stream
// with an artificial ROTATE naming the file (LOG_EVENT_ARTIFICIAL_F, log_pos 0; its checksum, when
// negotiated, is there although no format description came yet), then the file's format
// description (log_pos 0 when the stream starts past it), then the events, each header's log_pos
// being the offset just after it. A real ROTATE ends each file, followed by an artificial one and
// the next file's format description. HEARTBEAT events (type 27: the file name as body, log_pos the
// position reached) come when the server is idle. MariaDB sends artificial GTID_LIST events whose
// log_pos is where the stream continues.
class StreamPosition {
 public:
  struct Step {
    bool decode = true;         // hand the event to the decoder; false for rotates and heartbeats
    uint64_t offset = 0;        // the event's offset in file() (what Decoder::decode_event takes)
    bool file_changed = false;  // the events now come from another file: Decoder::set_file(file())
    bool heartbeat = false;     // a heartbeat: the server has nothing newer
    uint32_t timestamp = 0;     // the event header's time (0 for artificial events)
  };

  // `start`: where the dump was asked to begin (the file is empty for a GTID start: the first
  // rotate names it).
  explicit StreamPosition(Position start) : pos_(std::move(start)) {}

  // Takes the next event as the server sent it (common header, body, checksum when negotiated).
  // Throws Error(kProtocol), naming the position, for a header that does not match the bytes.
  Step next(std::span<const uint8_t> event);

  // Just after the last event: where a new dump would continue. A transaction boundary whenever the
  // decoder is not inside a transaction.
  const Position& position() const { return pos_; }
  bool file_known() const { return !pos_.file.empty(); }

 private:
  std::string_view name_in(std::span<const uint8_t> event, size_t from) const;

  Position pos_;
};

}  // namespace rowpipe::binlog
