// The row-binlog decoder: complete events in (from a file or a replica stream), row changes,
// transaction ends and DDL out to an EventSink. Pure: no I/O.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "binlog/rows.hpp"
#include "binlog/sink.hpp"
#include "binlog/table_map.hpp"
#include "event/position.hpp"

namespace rowpipe::binlog {

// What the last FORMAT_DESCRIPTION_EVENT said.
struct FormatDescription {
  uint16_t binlog_version = 4;
  std::string server_version;
  bool mariadb = false;
  uint8_t header_length = 19;
  uint8_t checksum = 0;              // ChecksumAlg of the events that follow
  std::vector<uint8_t> post_header;  // post-header length by event type - 1
  uint8_t post_header_len(uint8_t type) const {
    return type >= 1 && type - 1u < post_header.size() ? post_header[type - 1u] : 0;
  }
};

struct DecoderOptions {
  // Statement-based DML (INSERT/UPDATE/DELETE in a QUERY event, LOAD DATA) cannot become rows: an
  // Error(kData) naming its position, or with this set, a warning and the statement is skipped.
  bool allow_statements = false;
  // A ROTATE event renames the file of the events after it (a replica stream); files leave it off
  // (a relay log's rotates name the source's files, not the one being read).
  bool follow_rotate = false;
  // Rows of a prepared XA transaction are held until its XA COMMIT; this bounds that memory
  // (bytes of rendered images over all prepared transactions). Over it: Error(kData).
  size_t max_xa_bytes = size_t{256} << 20;
  // Bound for one decompressed event inside a MySQL TRANSACTION_PAYLOAD or a MariaDB compressed
  // event (the server's max_allowed_packet is at most 1 GiB).
  size_t max_event_bytes = size_t{1} << 30;
  // Fills names, signedness, charsets and keys for tables logged without optional metadata.
  SchemaProvider* schema = nullptr;
};

struct DecoderStats {
  uint64_t events = 0;
  uint64_t rows = 0;
  uint64_t transactions = 0;
  uint64_t invalid_text_values = 0;  // values with bytes invalid in their charset (U+FFFD)
  uint64_t statements_skipped = 0;
};

class Decoder {
 public:
  explicit Decoder(EventSink& sink, DecoderOptions options = {});
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Names the file the following events come from (base name, as the server names it).
  void set_file(std::string file);
  const std::string& file() const { return pos_.file; }

  // Decodes one complete event: the common header, body and (per the format description) the
  // checksum, which is verified and cut off. `offset` is the event's position in its file. Throws
  // Error(kProtocol) for corrupt or truncated events (message names file and offset), kData for
  // unsupported ones.
  void decode_event(std::span<const uint8_t> event, uint64_t offset);

  // End of input. A transaction still open (a relay log cut mid-transaction) is reported as a
  // warning; its rows were already delivered.
  void finish();

  bool in_transaction() const { return txn_.open; }
  const FormatDescription& format() const { return fde_; }
  const DecoderStats& stats() const { return stats_; }

 private:
  struct Header {
    uint32_t timestamp;
    uint8_t type;
    uint32_t server_id;
    uint32_t size;
    uint32_t log_pos;
    uint16_t flags;
  };
  struct HeldRow {
    RowKind kind;
    std::shared_ptr<const TableMap> table;
    uint32_t timestamp;
    bool json_diff;
    std::unique_ptr<Image> before, after;
  };
  struct HeldXa {
    std::vector<HeldRow> rows;
    TransactionInfo info;
    size_t bytes = 0;
  };
  struct Txn {
    bool open = false;
    bool implicit = false;  // rows without BEGIN (autocommit statements of old servers)
    bool xa = false;        // between XA START and XA PREPARE: rows are held
    std::string xa_id;
    uint64_t rows = 0;
    TransactionInfo info;
  };

  void dispatch(const Header& h, Reader body, uint64_t end_offset);
  void format_description(const Header& h, Reader body, std::span<const uint8_t> event);
  void query(const Header& h, Reader body, uint64_t end_offset, bool compressed);
  void table_map(Reader body);
  void rows(const Header& h, Reader body, uint64_t end_offset);
  void payload(const Header& h, Reader body, uint64_t end_offset);
  void xa_prepare(const Header& h, Reader body, uint64_t end_offset);
  void inner_event(std::span<const uint8_t> event, uint64_t end_offset);

  void begin(const Header& h, bool implicit);
  void end(const Header& h, uint64_t end_offset, std::optional<uint64_t> xid);
  void statement_dml(std::string_view what);
  void deliver(RowChange& rc);
  void hold(const RowChange& rc);
  void release_xa(const std::string& id, const Header& h, uint64_t end_offset, bool commit);
  std::string uncompress_mariadb(Reader& r);

  EventSink& sink_;
  DecoderOptions options_;
  DecoderStats stats_;
  FormatDescription fde_;
  bool have_fde_ = false;
  Position pos_;
  Position next_;
  Txn txn_;
  std::string pending_gtid_;  // MySQL GTID event: the next transaction's id
  uint32_t event_server_id_ = 0;
  bool in_payload_ = false;
  uint64_t row_index_ = 0;  // row counter of the current event (or payload)

  struct CachedMap {
    std::string raw;
    std::shared_ptr<TableMap> map;
  };
  std::unordered_map<uint64_t, CachedMap> maps_;
  RowDecoder row_decoder_;
  Image before_, after_;
  std::string scratch_;
  HeldXa current_xa_;  // rows of the XA transaction being logged (XA START .. XA PREPARE)
  std::unordered_map<std::string, HeldXa> prepared_;
  size_t held_bytes_ = 0;
  struct ZstdState;
  std::unique_ptr<ZstdState> zstd_;
};

// Splits a binlog file's bytes, fed in arbitrary chunks, into complete events: checks the 4-byte
// magic, then reads each event's size from its header. Memory: one event plus one chunk.
class FileFramer {
 public:
  // `file` names the input in error messages ("FILE:OFFSET: ..."); empty: "offset OFFSET: ...".
  explicit FileFramer(std::string file = {}) : file_(std::move(file)) {}

  // Appends input; then call next() until it returns false.
  void push(const uint8_t* data, size_t size);
  // Or read straight into the buffer: room(n) gives space for n bytes, commit(k) appends the k
  // (<= n) bytes written there. Spans from next() end with the next room() or push().
  uint8_t* room(size_t size);
  void commit(size_t size) { end_ += size; }
  // The next complete event and its file offset; the span is valid until the next push() or room().
  bool next(std::span<const uint8_t>& event, uint64_t& offset);
  // End of input: throws Error(kProtocol) when the file ends inside an event (or before the magic).
  void finish() const;
  uint64_t offset() const { return consumed_; }

 private:
  std::string where(uint64_t offset) const;

  std::string file_;
  std::vector<uint8_t> buf_;  // storage: input is [start_, end_)
  size_t end_ = 0;
  size_t start_ = 0;       // first unconsumed byte in buf_
  uint64_t consumed_ = 0;  // file offset of buf_[start_]
  bool magic_checked_ = false;
};

}  // namespace rowpipe::binlog
