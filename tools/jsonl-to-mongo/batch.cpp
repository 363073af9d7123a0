// Holding writes and folding them into one net write per document.
#include "batch.hpp"

#include <bson/bson.h>

#include <algorithm>
#include <unordered_map>

#include "cli/error.hpp"

namespace rowpipe::mongo_sink {
namespace {

bool init_view(bson_t& b, std::string_view bytes) {
  return bson_init_static(&b, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

std::string to_string(const bson_t* b) { return {reinterpret_cast<const char*>(bson_get_data(b)), b->len}; }

struct WriteKey {
  uint32_t target;
  std::string_view key;
  bool operator==(const WriteKey&) const = default;
};

}  // namespace

void Batch::add_line(std::string_view text, std::string_view where, uint64_t number) {
  LineRecord r{};
  r.number = number;
  r.text_off = static_cast<uint32_t>(arena_.size());
  r.text_len = static_cast<uint32_t>(text.size());
  arena_ += text;
  r.where_off = static_cast<uint32_t>(arena_.size());
  r.where_len = static_cast<uint32_t>(where.size());
  arena_ += where;
  lines_.push_back(r);
}

void Batch::add(OpKind kind, uint32_t target, std::string_view key, std::string_view doc, const RowPosition& pos) {
  if (arena_.size() + key.size() + doc.size() > UINT32_MAX / 2)
    fail(ErrorKind::kInternal, "a batch outgrew 2 GiB (lower --batch-bytes)");
  Op op{};
  op.kind = kind;
  op.target = target;
  op.line = static_cast<uint32_t>(lines_.size() - 1);
  op.key_off = static_cast<uint32_t>(arena_.size());
  op.key_len = static_cast<uint32_t>(key.size());
  arena_ += key;
  op.doc_off = static_cast<uint32_t>(arena_.size());
  op.doc_len = static_cast<uint32_t>(doc.size());
  arena_ += doc;
  op.pos = pos;
  ops_.push_back(std::move(op));
}

void Batch::drop_before(const Mark& m) {
  if (m.ops == 0 && m.lines == 0) return;
  if (m.ops >= ops_.size() && m.lines >= lines_.size()) {
    clear();
    return;
  }
  // What follows the mark was appended after it: one move of the arena's tail.
  uint32_t base = m.lines < lines_.size() ? lines_[m.lines].text_off : ops_[m.ops].key_off;
  arena_.erase(0, base);
  lines_.erase(lines_.begin(), lines_.begin() + static_cast<std::ptrdiff_t>(m.lines));
  for (auto& l : lines_) {
    l.text_off -= base;
    l.where_off -= base;
  }
  ops_.erase(ops_.begin(), ops_.begin() + static_cast<std::ptrdiff_t>(m.ops));
  for (auto& op : ops_) {
    op.key_off -= base;
    op.doc_off -= base;
    op.line -= static_cast<uint32_t>(m.lines);
  }
}

void Batch::clear() {
  arena_.clear();
  ops_.clear();
  lines_.clear();
}

std::string merge_fields(std::string_view base, std::string_view set) {
  bson_t b, s;
  if (!init_view(b, base) || !init_view(s, set)) fail(ErrorKind::kInternal, "merge_fields: invalid BSON");
  bson_t out = BSON_INITIALIZER;
  bson_iter_t it, found;
  bson_iter_init(&it, &b);
  while (bson_iter_next(&it)) {
    if (bson_iter_init_find_w_len(&found, &s, bson_iter_key(&it), static_cast<int>(bson_iter_key_len(&it))))
      bson_append_iter(&out, bson_iter_key(&it), static_cast<int>(bson_iter_key_len(&it)), &found);
    else
      bson_append_iter(&out, bson_iter_key(&it), static_cast<int>(bson_iter_key_len(&it)), &it);
  }
  bson_iter_init(&it, &s);
  while (bson_iter_next(&it)) {
    if (!bson_iter_init_find_w_len(&found, &b, bson_iter_key(&it), static_cast<int>(bson_iter_key_len(&it))))
      bson_append_iter(&out, bson_iter_key(&it), static_cast<int>(bson_iter_key_len(&it)), &it);
  }
  std::string bytes = to_string(&out);
  bson_destroy(&out);
  return bytes;
}

std::string document_from_fields(std::string_view key, std::string_view set) {
  bson_t k, s;
  if (!init_view(k, key) || !init_view(s, set)) fail(ErrorKind::kInternal, "document_from_fields: invalid BSON");
  bson_t out = BSON_INITIALIZER;
  bson_iter_t it;
  if (bson_iter_init_find(&it, &k, "_id")) bson_append_iter(&out, "_id", 3, &it);
  bson_iter_init(&it, &s);
  while (bson_iter_next(&it)) bson_append_iter(&out, bson_iter_key(&it), static_cast<int>(bson_iter_key_len(&it)), &it);
  std::string bytes = to_string(&out);
  bson_destroy(&out);
  return bytes;
}

std::string_view Plan::keep(std::string bytes) {
  merged_.push_back(std::move(bytes));
  return merged_.back();
}

void Plan::build(const Batch& batch, size_t begin, size_t end) {
  writes_.clear();
  cleared_.clear();
  merged_.clear();
  struct Hash {
    size_t operator()(const WriteKey& k) const noexcept { return std::hash<std::string_view>{}(k.key) * 31 + k.target; }
  };
  std::unordered_map<WriteKey, uint32_t, Hash> index;
  index.reserve(end - begin);
  // Per write: whether it is dead (its collection was cleared after it), and fresh (the document is
  // not expected to exist before the batch: its first write was an INSERT, or its collection was cleared).
  std::vector<uint8_t> dead, fresh;
  const auto& ops = batch.ops();
  for (size_t i = begin; i < end; ++i) {
    const Op& op = ops[i];
    if (op.kind == OpKind::kClear) {
      for (size_t w = 0; w < writes_.size(); ++w)
        if (writes_[w].target == op.target) dead[w] = 1;
      if (std::find(cleared_.begin(), cleared_.end(), op.target) == cleared_.end()) cleared_.push_back(op.target);
      continue;
    }
    std::string_view key = batch.key(op);
    std::string_view doc = batch.doc(op);
    bool after_clear = std::find(cleared_.begin(), cleared_.end(), op.target) != cleared_.end();
    auto [it, added] = index.try_emplace(WriteKey{op.target, key}, static_cast<uint32_t>(writes_.size()));
    if (!added && dead[it->second] != 0) {
      it->second = static_cast<uint32_t>(writes_.size());
      added = true;
    }
    if (added) {
      NetWrite w{op.kind, op.target, op.line, op.line, key, doc};
      bool is_fresh = op.kind == OpKind::kInsert || after_clear;
      if (after_clear && op.kind == OpKind::kSet) w.doc = keep(document_from_fields(key, doc));
      if (w.kind != OpKind::kDelete && (w.kind != OpKind::kSet || after_clear))
        w.kind = is_fresh ? OpKind::kInsert : OpKind::kReplace;
      writes_.push_back(w);
      dead.push_back(0);
      fresh.push_back(is_fresh ? 1 : 0);
      continue;
    }
    NetWrite& w = writes_[it->second];
    w.last_line = op.line;
    bool whole = fresh[it->second] != 0;
    switch (op.kind) {
      case OpKind::kInsert:
      case OpKind::kReplace:
        w.doc = doc;
        w.kind = whole ? OpKind::kInsert : OpKind::kReplace;
        break;
      case OpKind::kDelete:
        w.kind = OpKind::kDelete;
        w.doc = {};
        break;
      case OpKind::kSet:
        if (w.kind == OpKind::kDelete) {
          w.doc = keep(document_from_fields(key, doc));
          w.kind = whole ? OpKind::kInsert : OpKind::kReplace;
        } else {
          // A whole document stays whole; fields merge with fields.
          w.doc = keep(merge_fields(w.doc, doc));
        }
        break;
      case OpKind::kClear: break;
    }
  }
  if (std::find(dead.begin(), dead.end(), 1) != dead.end()) {
    size_t out = 0;
    for (size_t w = 0; w < writes_.size(); ++w)
      if (dead[w] == 0) writes_[out++] = writes_[w];
    writes_.resize(out);
  }
}

}  // namespace rowpipe::mongo_sink
