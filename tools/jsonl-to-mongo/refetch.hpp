// --refetch: a line is only a trigger; the row's current version is read from MySQL by its key and
// written whole, or its document deleted when the row is gone.
#pragma once

#include <string>
#include <vector>

#include "batch.hpp"
#include "config.hpp"
#include "event/event.hpp"
#include "mapper.hpp"
#include "sql/row_lookup.hpp"

namespace rowpipe::mongo_sink {

class Refetcher {
 public:
  explicit Refetcher(const Config& config);

  // Reads the rows behind `e` (its key; an UPDATE's old and new keys) and maps them. Throws
  // Error(kData) for a row that cannot be mapped, kUnavailable when MySQL stays away.
  void fetch(const Event& e, TableInfo& t, Mapper& mapper);
  // Adds the writes fetch() found to the batch's current line.
  void emit(Batch& batch);

 private:
  struct Write {
    OpKind kind;
    uint32_t target;
    std::string key;
    std::string doc;
  };
  void fetch_image(const Event& e, TableInfo& t, Mapper& mapper, const JsonValue& image);

  RowLookup lookup_;
  EventParser parser_;
  std::vector<Write> writes_;
  std::string line_;
  Bson key_, doc_;
};

}  // namespace rowpipe::mongo_sink
