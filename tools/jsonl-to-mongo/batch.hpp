// Group commit: the writes of several transactions held in input order (Batch), and what they amount
// to per document (Plan), which is what goes to the server.
//
// Every write is idempotent and keyed by _id (replace, $set, delete; a collection cleared by
// TRUNCATE), so only the last state of each document matters: a Plan keeps one net write per
// document. Applying a Plan again, or after part of it was applied, leaves the same documents; so
// does replaying the lines of a Plan whose checkpoint was not written (see jsonl-to-mongo(1),
// EXACTLY ONCE).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "event/position.hpp"

namespace rowpipe::mongo_sink {

enum class OpKind : uint8_t {
  kInsert,   // a whole document for a row the line says is new (INSERT, the new key of a moved row)
  kReplace,  // a whole document (UPDATE)
  kSet,      // some columns ($set, upsert): a partial image
  kDelete,   // DELETE, the old key of a moved row
  kClear,    // TRUNCATE: every document of the collection
};

struct Op {
  OpKind kind;
  uint32_t target;
  uint32_t line;     // index into the batch's lines
  uint32_t key_off;  // {_id: KEY} (BSON bytes in the arena); none for kClear
  uint32_t key_len;
  uint32_t doc_off;  // the document, or the fields to $set; none for kDelete and kClear
  uint32_t doc_len;
  RowPosition pos;  // --guard: the row's position
};

// One input line with writes in the batch: its text (for --dead-letter) and where it was read.
struct LineRecord {
  uint32_t text_off;
  uint32_t text_len;
  uint32_t where_off;
  uint32_t where_len;
  uint64_t number;  // input lines read up to and including this one (--ack counts)
};

class Batch {
 public:
  // Starts the writes of a new input line, the `number`th read.
  void add_line(std::string_view text, std::string_view where, uint64_t number = 0);
  // A write of the current line; `key` and `doc` are BSON documents (empty views where not used).
  void add(OpKind kind, uint32_t target, std::string_view key, std::string_view doc, const RowPosition& pos = {});

  const std::vector<Op>& ops() const { return ops_; }
  size_t lines() const { return lines_.size(); }
  std::string_view key(const Op& op) const { return {arena_.data() + op.key_off, op.key_len}; }
  std::string_view doc(const Op& op) const { return {arena_.data() + op.doc_off, op.doc_len}; }
  std::string_view text(uint32_t line) const { return {arena_.data() + lines_[line].text_off, lines_[line].text_len}; }
  std::string_view where(uint32_t line) const {
    return {arena_.data() + lines_[line].where_off, lines_[line].where_len};
  }
  uint64_t number(uint32_t line) const { return lines_[line].number; }
  size_t bytes() const { return arena_.size(); }
  bool empty() const { return ops_.empty(); }

  // Where the writes of complete transactions end (the open transaction's follow).
  struct Mark {
    size_t ops = 0;
    size_t lines = 0;
  };
  Mark mark() const { return {ops_.size(), lines_.size()}; }
  // Forgets everything before `m` (applied), keeping what follows (the open transaction).
  void drop_before(const Mark& m);
  void clear();

 private:
  std::string arena_;
  std::vector<Op> ops_;
  std::vector<LineRecord> lines_;
};

// One document's net write.
struct NetWrite {
  OpKind kind;  // kInsert (whole, likely new), kReplace (whole), kSet, kDelete
  uint32_t target;
  uint32_t first_line;  // the lines that contributed
  uint32_t last_line;
  std::string_view key;
  std::string_view doc;  // in the batch's arena or the plan's own
};

class Plan {
 public:
  // Folds ops [begin, end) of `batch` into one write per document, in first-seen order.
  void build(const Batch& batch, size_t begin, size_t end);

  const std::vector<NetWrite>& writes() const { return writes_; }
  // Targets TRUNCATE cleared (before any of the writes).
  const std::vector<uint32_t>& cleared() const { return cleared_; }
  size_t size() const { return writes_.size() + cleared_.size(); }

 private:
  std::string_view keep(std::string bytes);

  std::vector<NetWrite> writes_;
  std::vector<uint32_t> cleared_;
  std::deque<std::string> merged_;  // documents made by merging (a deque: views into it stay valid)
};

// BSON merges (exposed for tests): `base` with the fields of `set` put over it (same keys replaced in
// place, new ones appended).
std::string merge_fields(std::string_view base, std::string_view set);
// {_id: KEY} followed by the fields of `set`: what an upsert $set makes of a missing document.
std::string document_from_fields(std::string_view key, std::string_view set);

}  // namespace rowpipe::mongo_sink
