// The mapping rules: which key a row lives under, and the fields (or JSON document) it is stored as.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config.hpp"
#include "event/event.hpp"
#include "event/key_template.hpp"
#include "event/map_file.hpp"

namespace rowpipe::redis_sink {

class Link;

// What the sink keeps per table, found once when the input switches to it.
struct TableInfo {
  std::string db;
  std::string table;
  std::string qualified;  // "db.table"
  const TableMap* map = nullptr;
  std::vector<std::string_view> map_key;  // key columns from the map file (empty: the line's pk)
  bool filters_columns = false;           // the map keeps, renames or drops columns
  Link* route = nullptr;                  // a fixed instance (--route or the map's target), else none
  std::string index_key;                  // rowpipe:index:db.table when keys are indexed (see purge.hpp)
  // Per link: the key columns last recorded for this table in rowpipe:tables (empty: not this run).
  std::vector<std::vector<std::string>> recorded;
};

// Tables by "db.table", with the last one used kept at hand (inputs mostly stay on one table).
class TableCache {
 public:
  using Init = std::function<void(TableInfo&)>;
  explicit TableCache(Init init) : init_(std::move(init)) {}
  TableInfo& get(std::string_view db, std::string_view table);

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  Init init_;
  std::unordered_map<std::string, std::unique_ptr<TableInfo>, Hash, std::equal_to<>> tables_;
  TableInfo* last_ = nullptr;
  std::string scratch_;
};

// Column names a template reads through {col:NAME}.
std::vector<std::string> template_columns(std::string_view key_template);

// Appends a column's value as Redis stores it (rowpipe-events(5) KEY TEMPLATES: strings as they are,
// binary columns as their raw bytes, numbers in decimal, JSON compact). Returns false for NULL.
// `type` is the column's type word ("" when unknown). Throws Error(kData) for bad base64.
bool append_value_text(std::string& out, std::string_view column, std::string_view type, const JsonValue& value);

class Mapper {
 public:
  Mapper(const Config& config, KeyTemplate key);

  const KeyTemplate& key_template() const { return key_; }
  const std::vector<std::string>& template_columns() const { return template_columns_; }

  // The key columns of a row: the map's, else the line's pk.
  const std::vector<std::string_view>& key_columns(const Event& e, const TableInfo& t) const {
    return t.map_key.empty() ? e.pk : t.map_key;
  }
  // Renders the key of `image`; throws Error(kData) when a column it needs is missing.
  void key(std::string& out, const Event& e, const JsonValue& image, const TableInfo& t) const;
  // The key after a partial UPDATE: template columns the after image lacks keep their before value.
  void partial_new_key(std::string& out, const Event& e, const TableInfo& t);

  // Appends the image's stored fields as bulk arguments "field value ..." to `set` (counting pairs in
  // `pairs`) and the names of NULL columns to `nulls` (counting them in `null_count`); with --null-as
  // NULLs are stored as the marker instead.
  void fields(const Event& e, const JsonValue& image, const TableInfo& t, std::string& set, size_t& pairs,
              std::string& nulls, size_t& null_count);
  // Appends the image as one compact JSON object (kept and renamed columns; values as in the line).
  void json_row(std::string& out, const Event& e, const JsonValue& image, const TableInfo& t) const;

  // The name a column is stored under, or empty when the map drops it.
  std::string_view output_name(std::string_view column, const TableInfo& t) const;

 private:
  const Config& config_;
  KeyTemplate key_;
  std::vector<std::string> template_columns_;
  std::string value_;
};

}  // namespace rowpipe::redis_sink
