// TRUNCATE and DROP TABLE: deleting exactly one table's keys.
//
// Keys are found by scanning (SCAN MATCH with the template's literal parts, {db} and {table} filled
// in) and each candidate is verified by reading back the columns the template is made of (HMGET, or
// the JSON document) and rendering the key again as a row of that table: a key is the table's only if
// it renders to itself. So `user` and `user_roles` never touch each other's keys whatever the
// template, and the write path pays nothing for it (no per-table index to maintain). The key columns
// of a table come from the map file, else from the registry hash rowpipe:tables (field "db.table",
// the key column names as a JSON array), which the sink writes in the same MULTI as the rows.
//
// A template without both {db} and {table} (`u:{col:email}`) renders the same key for a row of any
// table, so a stored row cannot say which table wrote it. With such a template the sink keeps an index
// instead: the set rowpipe:index:db.table of the table's keys, updated in the same MULTI as the rows
// (SADD on write, SREM on delete), and a purge deletes the keys the index lists.
//
// A purge is paged (bounded memory), so in ordered mode it cannot be one MULTI with its checkpoint:
// every page but the last is deleted in a MULTI that also stores the purge marker (see PurgeMarker in
// link.hpp), and the last page is appended to the open batch, which carries the checkpoint past the
// statement and deletes the marker. A crash in between leaves the marker naming the statement; the
// restart, resuming before it, purges the table again (deleting is idempotent; the scan starts over,
// since a SCAN cursor means nothing to a restarted Redis, whose hash seed is new).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config.hpp"
#include "link.hpp"
#include "mapper.hpp"

namespace rowpipe::redis_sink {

// True when the template names both {db} and {table}: a key then tells its table (scan and verify);
// otherwise tables are indexed.
bool template_names_table(std::string_view key_template);

// The SCAN MATCH pattern for a table's keys: the template with {db} and {table} filled in and glob
// characters escaped, every row-dependent placeholder a `*`.
std::string scan_pattern(std::string_view key_template, std::string_view db, std::string_view table);

// Whether the stored row `key` belongs to table `t`: `values` are the stored texts of `columns` (nullopt
// when absent), which must be exactly the columns the template reads.
bool key_belongs(const Mapper& mapper, const TableInfo& t, std::string_view key,
                 const std::vector<std::string>& key_columns, const std::vector<std::string>& columns,
                 const std::vector<std::optional<std::string>>& values, const std::optional<std::string>& null_as);

// How a purge deletes the keys it finds.
struct PurgeMode {
  // --guard, --reconcile: each key through the guard script (with its SHA), deleted only when its
  // stored position is older than this one, leaving a tombstone.
  std::optional<std::string> guard_position;
  // Ordered mode: the statement's marker, stored with every page but the last, which is appended to
  // the link's open batch as the commands of input line `line`.
  std::optional<PurgeMarker> marker;
  LineOrdinal line = 0;
};

// Deletes the table's keys on `link` (whose pipeline must be drained). Returns the number of keys
// deleted (in ordered mode, counting the last page's, which the next batch deletes).
uint64_t purge_table(Link& link, const Mapper& mapper, const Config& config, const TableInfo& t, const PurgeMode& mode);

}  // namespace rowpipe::redis_sink
