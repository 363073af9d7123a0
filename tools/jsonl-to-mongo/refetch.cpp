// Trigger mode: current rows from MySQL instead of the line's images.
#include "refetch.hpp"

#include "clients/url.hpp"

namespace rowpipe::mongo_sink {

Refetcher::Refetcher(const Config& config)
    : lookup_(parse_url(resolve_url_argument(config.refetch), Scheme::kMysql), std::chrono::seconds(config.retry_s)) {}

void Refetcher::fetch_image(const Event& e, TableInfo& t, Mapper& mapper, const JsonValue& image) {
  const auto& cols = mapper.key_columns(e, t);
  uint32_t target = mapper.target(e, t, image);
  mapper.key(key_, e, t, image);
  std::string key(key_.bytes());
  for (const Write& w : writes_)
    if (w.target == target && w.key == key) return;  // an UPDATE that kept its key: read once
  if (lookup_.fetch(e, cols, image, line_)) {
    const Event& row = parser_.parse(line_);
    uint32_t fresh_target = mapper.target(row, t, *row.after);
    mapper.key(key_, row, t, *row.after);
    mapper.document(doc_, row, t, *row.after, key_);
    writes_.push_back(Write{OpKind::kReplace, fresh_target, std::string(key_.bytes()), std::string(doc_.bytes())});
    if (fresh_target != target || key_.bytes() != key) writes_.push_back(Write{OpKind::kDelete, target, key, {}});
  } else {
    writes_.push_back(Write{OpKind::kDelete, target, key, {}});
  }
}

void Refetcher::fetch(const Event& e, TableInfo& t, Mapper& mapper) {
  writes_.clear();
  if (e.before != nullptr) fetch_image(e, t, mapper, *e.before);
  if (e.after != nullptr && !e.partial) fetch_image(e, t, mapper, *e.after);
  if (e.after != nullptr && e.partial) {
    // The new key of a partial image: its key columns from the after image, the rest from before.
    rapidjson::Document merged;
    merged.SetObject();
    auto& alloc = merged.GetAllocator();
    for (const auto& m : e.before->GetObject())
      if (!e.after->HasMember(m.name)) merged.AddMember(JsonValue(m.name, alloc), JsonValue(m.value, alloc), alloc);
    for (const auto& m : e.after->GetObject())
      merged.AddMember(JsonValue(m.name, alloc), JsonValue(m.value, alloc), alloc);
    fetch_image(e, t, mapper, merged);
  }
}

void Refetcher::emit(Batch& batch) {
  // Deletes first: a row that moved between two keys read here is written after its old key goes.
  for (const Write& w : writes_)
    if (w.kind == OpKind::kDelete) batch.add(w.kind, w.target, w.key, {});
  for (const Write& w : writes_)
    if (w.kind != OpKind::kDelete) batch.add(w.kind, w.target, w.key, w.doc);
}

}  // namespace rowpipe::mongo_sink
