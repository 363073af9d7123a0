// Row images of rows events: column values decoded from their binlog form and rendered as JSON.
#pragma once

#include <cstdint>
#include <string>

#include "binlog/charset.hpp"
#include "binlog/reader.hpp"
#include "binlog/sink.hpp"
#include "binlog/table_map.hpp"

namespace rowpipe::binlog {

class RowDecoder {
 public:
  // Decodes one row image at `r`: a NULL bitmap over the columns present in `present` (an LSB-first
  // bitmap over the table's columns), then each present non-NULL value. `partial_json` (may be null)
  // is the after image's bitmap over the table's JSON columns whose value is a diff.
  void decode(Reader& r, const TableMap& table, const uint8_t* present, Image& image, const uint8_t* partial_json);

  // Values whose text had bytes invalid in their character set (replaced by U+FFFD) since the last
  // call; resets the count.
  uint64_t take_invalid_text() {
    uint64_t n = invalid_text_;
    invalid_text_ = 0;
    return n;
  }

  // Decodes one value of column `c` into `image` (exposed for the unit tests).
  void value(Reader& r, const ColumnInfo& c, Image& image, Cell& cell, bool json_diff = false);

 private:
  void value_inline(Reader& r, const ColumnInfo& c, Image& image, Cell& cell, bool json_diff);
  void text(std::string_view bytes, const ColumnInfo& c, Image& image, Cell& cell);
  void json_diff(Reader& r, std::string& out);

  TextConverter conv_;
  std::string scratch_;   // converted text, padded binary, WKT
  std::string scratch2_;  // values rendered through the std::string writers, then copied
  uint64_t invalid_text_ = 0;
};

}  // namespace rowpipe::binlog
