// What mq-pipe pub reads from a line: its message key and, for checkpoints, its position. Nothing more.
#pragma once

#include <rapidjson/document.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "confirm_window.hpp"
#include "event/event.hpp"
#include "event/key_template.hpp"
#include "event/position.hpp"

namespace rowpipe::mq {

// Views into the line (or the scanner): valid until the next scan.
struct LineInfo {
  std::string key;  // the rendered --key (empty without a template)
  bool has_position = false;
  std::string_view file;  // `binlog`, when has_position
  uint64_t offset = 0;
  uint64_t row = 0;                   // `row`, 0 when absent
  std::optional<uint32_t> server_id;  // `server_id`, when present
  std::optional<Boundary> boundary;   // a commit line: where the next transaction starts

  RowPosition position() const { return RowPosition{Position{std::string(file), offset}, row}; }
};

// Reads a line only as far as the key template and positions need. One pass over the top-level
// members skips every value it does not need without parsing it; `pk`, `types` and the key columns
// of the row image are parsed (RapidJSON, the numbers exactly as the strict parser reads them) only
// when the template uses them. Lenient: no UTF-8 validation (invalid UTF-8 is carried unchanged),
// no check of the fields it does not use.
class LineScanner {
 public:
  // `key`: the template, or nullopt for none; `positions`: read binlog/row/commit/next/server_id/gtid.
  LineScanner(std::optional<KeyTemplate> key, bool positions);
  ~LineScanner();
  LineScanner(const LineScanner&) = delete;
  LineScanner& operator=(const LineScanner&) = delete;

  // False when scan() would not look at the line at all (no template placeholder, no positions).
  bool needs_parse() const { return needs_parse_; }

  // Throws Error(kData) saying what is wrong (the caller adds the line's position). The result is
  // valid until the next call.
  const LineInfo& scan(std::string_view line);

 private:
  std::string_view string_value(std::string_view raw, const char* field);
  const JsonValue& parse_value(std::string_view raw, const char* field);
  const JsonValue* key_image(std::string_view raw, const std::vector<std::string_view>& pk);

  std::optional<KeyTemplate> key_;
  std::optional<KeyTemplate> row_less_;  // key_ without its row placeholders, for lines without a row
  bool positions_;
  bool needs_parse_;
  bool needs_row_ = false;
  std::vector<std::string> key_columns_;  // the {col:NAME} names of the template
  std::unique_ptr<rapidjson::MemoryPoolAllocator<>> pool_;
  std::deque<rapidjson::Document> docs_;  // small parses of this line (pk, types, values)
  size_t docs_used_ = 0;
  std::deque<std::string> decoded_;  // strings of this line that held escapes
  size_t decoded_used_ = 0;
  rapidjson::Value image_;  // the key columns of the row image
  LineInfo info_;
};

}  // namespace rowpipe::mq
