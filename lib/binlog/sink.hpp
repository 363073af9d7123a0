// What the decoder hands out: row changes, transaction ends, DDL statements, warnings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "binlog/table_map.hpp"
#include "binlog/text_buffer.hpp"
#include "event/position.hpp"

namespace rowpipe::binlog {

// How a decoded value is written: its JSON text (numbers bare, strings quoted and escaped, MySQL
// JSON embedded) lives in Image::text at [begin, begin+size). kJsonDiff: a MySQL partial JSON update
// as logged (an array of {"op","path","value"} objects), before the decoder applies it.
enum class CellKind : uint8_t { kAbsent, kNull, kNumber, kString, kJson, kJsonDiff };
struct Cell {
  CellKind kind = CellKind::kAbsent;
  uint32_t begin = 0;
  uint32_t size = 0;
};

// One row image: a cell per table column (kAbsent for columns the image lacks). Buffers are reused
// from row to row: after warm-up, decoding allocates nothing.
struct Image {
  std::vector<Cell> cells;
  TextBuffer text;
  bool lacks_columns = false;  // MINIMAL/NOBLOB image

  std::string_view json(const Cell& c) const { return text.view().substr(c.begin, c.size); }
  void reset(size_t columns) {
    cells.assign(columns, Cell{});
    text.clear();
    lacks_columns = false;
  }
};

enum class RowKind : uint8_t { kInsert, kUpdate, kDelete };

// Transaction context shared by the rows of one transaction.
struct TransactionInfo {
  std::string gtid;  // "0-1-42", "UUID:N", "UUID:TAG:N"; empty when none
  uint32_t server_id = 0;
};

struct RowChange {
  RowKind kind = RowKind::kInsert;
  const TableMap* table = nullptr;
  const Position* position = nullptr;  // the event carrying the row
  uint64_t row = 0;                    // index of the row within that event (or payload)
  uint32_t timestamp = 0;              // event header time, epoch seconds
  const TransactionInfo* transaction = nullptr;
  const Image* before = nullptr;  // null for INSERT
  const Image* after = nullptr;   // null for DELETE
  // A MySQL partial JSON update could not be applied to the before image: `after` holds, for the
  // JSON columns concerned, the diff as logged (an array of {"op","path","value"}), see
  // rowpipe-events(5) `partial_json`.
  bool json_diff = false;
};

struct TransactionEnd {
  Position next;  // just after the transaction's last event
  std::optional<uint64_t> xid;
  uint64_t rows = 0;  // rows delivered in this transaction
  uint32_t timestamp = 0;
  const TransactionInfo* transaction = nullptr;
};

struct Ddl {
  std::string_view sql;                                     // UTF-8
  std::string_view db;                                      // the statement's default database
  std::vector<std::pair<std::string, std::string>> tables;  // (db, table) the statement names
  Position position;
  Position next;
  uint32_t timestamp = 0;
  const TransactionInfo* transaction = nullptr;
  bool ends_transaction = true;  // false for a statement inside BEGIN ... COMMIT
};

// Receives decoded events in log order. Pointers in the arguments are valid during the call only.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void on_row(const RowChange& row) = 0;
  virtual void on_transaction_end(const TransactionEnd& end) = 0;
  virtual void on_ddl(const Ddl& ddl) = 0;
  // A ROTATE event: the log continues in `next_file` at `position`.
  virtual void on_rotate(std::string_view /*next_file*/, uint64_t /*position*/) {}
  // Something the caller should report but that does not stop decoding (statement-based DML under
  // allow_statements, invalid text bytes, an incident event).
  virtual void on_warning(const Position& /*where*/, std::string_view /*message*/) {}
};

}  // namespace rowpipe::binlog
