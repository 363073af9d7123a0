// The event model: one rowpipe-events(5) line, parsed and validated (reader) or assembled (writer).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "event/position.hpp"

namespace rowpipe {

enum class EventType : uint8_t { kInsert, kUpdate, kDelete, kDdl, kHeartbeat, kSnapshotBegin, kSnapshotEnd };

std::string_view event_type_name(EventType type);
std::optional<EventType> parse_event_type(std::string_view name);
inline bool is_row_event(EventType t) { return t <= EventType::kDelete; }

using JsonValue = rapidjson::Value;

// A parsed line. String views and value pointers point into the event's own storage and stay valid
// until the event is parsed into again or destroyed.
struct Event {
  EventType type = EventType::kHeartbeat;
  Position binlog;
  std::optional<uint64_t> row;  // absent in seed lines
  std::optional<uint32_t> server_id;
  std::string_view gtid;
  std::string_view db;
  std::string_view table;
  bool pk_known = false;              // the line had a `pk` field
  std::vector<std::string_view> pk;   // key column names (may be empty: table without a key)
  const JsonValue* types = nullptr;   // object of type words, or nullptr
  const JsonValue* before = nullptr;  // object, or nullptr when null/absent
  const JsonValue* after = nullptr;
  bool partial = false;
  bool snapshot = false;
  bool commit = false;
  // Written by the original system (rowpipe-events(5), SEED FORMAT): a row line without `row`, or
  // with a "" image. Each is a transaction of its own; `row` is numbered by the parser.
  bool seed = false;
  const Position* next = nullptr;  // the position after the transaction (on commit lines)
  std::optional<uint64_t> xid;
  std::string_view sql;
  std::string_view time;
  std::optional<int64_t> ts;

  // Back to an empty event, keeping the memory of its containers for the next line.
  void reset();

  // The image that identifies the row: `before` for DELETE, else `after`.
  const JsonValue* key_image() const { return type == EventType::kDelete ? before : after; }
  // Position of this row: (binlog, row or 0).
  RowPosition row_position() const { return RowPosition{binlog, row.value_or(0)}; }
  // The column's type word from `types`, or empty.
  std::string_view type_of(std::string_view column) const;
};

// Parses lines into Events, reusing its memory from line to line. Strict: a line that is not a
// valid rowpipe-events(5) line throws Error(kData) whose message says what is wrong (the caller adds
// the input position).
class EventParser {
 public:
  EventParser();
  ~EventParser();
  EventParser(const EventParser&) = delete;
  EventParser& operator=(const EventParser&) = delete;

  // The returned event is valid until the next call.
  const Event& parse(std::string_view line);

  // The parsed line (for tools that need fields beyond the model).
  const JsonValue& document() const { return *doc_; }

 private:
  // Values and the parser's stack both come from pools that are cleared per line; the value pool's
  // first block is our own buffer, so ordinary lines allocate nothing.
  using Document =
      rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>, rapidjson::MemoryPoolAllocator<>>;
  static constexpr size_t kPoolBytes = size_t{64} << 10;

  bool known_type_word(std::string_view word);

  std::string text_;
  std::unique_ptr<char[]> pool_buffer_;
  std::unique_ptr<rapidjson::MemoryPoolAllocator<>> pool_;
  std::unique_ptr<rapidjson::MemoryPoolAllocator<>> stack_pool_;
  std::unique_ptr<Document> doc_;
  rapidjson::Reader reader_;             // its stack is kept between lines
  Position next_;                        // storage for event_.next
  std::vector<std::string> type_words_;  // type words already validated
  Event event_;
  Position seed_position_;  // numbering of row-less lines that share a position
  uint64_t seed_row_ = 0;
};

// Appends a parsed JSON value as compact JSON, numbers as the writer renders them.
void append_json(std::string& out, const JsonValue& value);

// Renders a line for an event (canonical field order; rowpipe-events(5)). Images and types are taken
// from the event's values. Used for round trips and by tools that rewrite lines.
void append_event_line(std::string& out, const Event& event);

// A column value as text, the way a key template or a Redis field shows it: strings as is (binary
// columns decoded from base64 when `types` says so), numbers in decimal, JSON compact, NULL as nullopt.
std::optional<std::string> value_text(const Event& event, std::string_view column, const JsonValue& value);

}  // namespace rowpipe
