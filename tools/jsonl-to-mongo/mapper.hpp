// The mapping rules: which database and collection a row goes to, its `_id`, and its typed document.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "clients/mongo.hpp"
#include "config.hpp"
#include "event/event.hpp"
#include "event/key_template.hpp"
#include "event/map_file.hpp"
#include "values.hpp"

namespace rowpipe::mongo_sink {

// A destination collection. Targets are numbered as they are first met; the number names them in
// batches.
struct Target {
  std::string db;
  std::string collection;
  std::string ns() const { return db + "." + collection; }
};

class Targets {
 public:
  // The number of db.collection, adding it when new.
  uint32_t intern(std::string_view db, std::string_view collection);
  const Target& get(uint32_t id) const { return targets_[id]; }
  size_t size() const { return targets_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::vector<Target> targets_;
  std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> ids_;
  std::string scratch_;
};

// What the sink keeps per source table, found once when the input switches to it.
struct TableInfo {
  std::string db;
  std::string table;
  std::string qualified;  // "db.table"
  const TableMap* map = nullptr;
  std::vector<std::string_view> map_key;  // key columns from the map file (empty: the line's pk)
  bool filters_columns = false;           // the map keeps, renames or drops columns
  std::optional<uint32_t> target;         // set when the names do not depend on row values
  // TRUNCATE and DROP act on the collection only when it holds this table's rows alone: a map target,
  // or name templates that name both {db} and {table}.
  bool owns_target = false;
};

// Checks a database and a collection name the server would refuse (rendered from templates, so
// from data). Throws Error(kData) saying which rule the name breaks.
void check_names(std::string_view db, std::string_view collection);

class Mapper {
 public:
  Mapper(const Config& config, const MapFile* map, ValueRules rules);

  TableInfo& table(std::string_view db, std::string_view table);
  Targets& targets() { return targets_; }
  const ValueRules& rules() const { return rules_; }
  void set_rules(ValueRules rules) { rules_ = std::move(rules); }

  // The key columns of a row: the map's, else the line's pk. Throws Error(kData) when there are none.
  const std::vector<std::string_view>& key_columns(const Event& e, const TableInfo& t) const;

  // The collection of the row `image` (names rendered from templates; cached per table when they do
  // not read row values). `fallback` supplies columns a partial image lacks.
  uint32_t target(const Event& e, TableInfo& t, const JsonValue& image, const JsonValue* fallback = nullptr);

  // `sel` becomes {_id: KEY}: the key column's typed value, or a sub-document of the key columns in key
  // order. Columns `image` lacks are taken from `fallback` (the before image of a partial UPDATE).
  void key(Bson& sel, const Event& e, const TableInfo& t, const JsonValue& image, const JsonValue* fallback = nullptr);
  // `doc` becomes the whole document: the _id of `sel`, then the image's (kept, renamed) columns.
  void document(Bson& doc, const Event& e, const TableInfo& t, const JsonValue& image, const Bson& sel);
  // `fields` becomes the image's columns as they go into $set (a partial image).
  void fields(Bson& fields, const Event& e, const TableInfo& t, const JsonValue& image);

  // The type of column `index` of `image` named `column` (nullptr: untyped).
  const ColumnType* column_type(const Event& e, size_t index, std::string_view column);

 private:
  std::string_view output_name(std::string_view column, const TableInfo& t) const;
  void append_columns(bson_t* doc, const Event& e, const TableInfo& t, const JsonValue& image, bool for_set);

  const MapFile* map_;
  ValueRules rules_;
  KeyTemplate database_;
  KeyTemplate collection_;
  bool names_use_rows_;
  bool names_name_table_;
  Targets targets_;
  TypeCache types_;
  std::unordered_map<std::string, std::unique_ptr<TableInfo>> tables_;
  TableInfo* last_ = nullptr;
  std::string scratch_, db_name_, coll_name_;
};

}  // namespace rowpipe::mongo_sink
