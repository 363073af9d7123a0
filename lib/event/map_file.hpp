// The --map FILE format: per-table key columns, kept/renamed/excluded columns, and targets.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rowpipe {

struct TableMap {
  std::string pattern;                                       // "db.table" or "db.*"
  std::vector<std::string> key;                              // key columns; empty = use the line's pk
  std::vector<std::pair<std::string, std::string>> columns;  // keep only these (source -> output name)
  std::vector<std::string> exclude;                          // drop these
  std::string target;                                        // tool-specific destination; empty = default

  // The name a column is written under, or nullopt when the map drops it.
  std::optional<std::string_view> output_name(std::string_view column) const;
  std::vector<std::string_view> key_views() const { return {key.begin(), key.end()}; }
};

class MapFile {
 public:
  // Reads and validates a map file; errors are Error(kConfig) naming the file and the entry.
  static MapFile load(const std::string& path);
  static MapFile parse(std::string_view json, std::string_view origin);

  // The entry for db.table: an exact entry first, else `db.*`, else nullptr.
  const TableMap* find(std::string_view db, std::string_view table) const;
  size_t size() const { return tables_.size(); }

 private:
  std::vector<TableMap> tables_;
};

}  // namespace rowpipe
