// Names, keys and documents of rows.
#include "mapper.hpp"

#include "cli/error.hpp"

namespace rowpipe::mongo_sink {
namespace {

std::string_view view(const JsonValue& v) { return {v.GetString(), v.GetStringLength()}; }

const JsonValue* member(const JsonValue& image, std::string_view name) {
  auto it = image.FindMember(rapidjson::StringRef(name.data(), name.size()));
  return it == image.MemberEnd() ? nullptr : &it->value;
}

const JsonValue& empty_object() {
  static const JsonValue object(rapidjson::kObjectType);
  return object;
}

}  // namespace

uint32_t Targets::intern(std::string_view db, std::string_view collection) {
  scratch_.assign(db);
  scratch_ += '\0';
  scratch_ += collection;
  auto it = ids_.find(std::string_view(scratch_));
  if (it != ids_.end()) return it->second;
  auto id = static_cast<uint32_t>(targets_.size());
  targets_.push_back(Target{std::string(db), std::string(collection)});
  ids_.emplace(scratch_, id);
  return id;
}

void check_names(std::string_view db, std::string_view collection) {
  if (db.empty()) fail(ErrorKind::kData, "the database name is empty");
  if (db.size() > 63) fail(ErrorKind::kData, "database name " + std::string(db) + " is longer than 63 bytes");
  for (char c : db) {
    if (c == '\0' || std::string_view("/\\. \"$*<>:|?").find(c) != std::string_view::npos) {
      fail(ErrorKind::kData, "database name \"" + std::string(db) + "\" holds a character MongoDB refuses (" +
                                 (c == '\0' ? std::string("NUL") : std::string(1, c)) + ")");
    }
  }
  if (collection.empty()) fail(ErrorKind::kData, "the collection name is empty");
  if (collection.find('\0') != std::string_view::npos || collection.find('$') != std::string_view::npos)
    fail(ErrorKind::kData, "collection name \"" + std::string(collection) + "\" holds '$' or a NUL byte");
  if (collection.starts_with("system."))
    fail(ErrorKind::kData, "collection name \"" + std::string(collection) + "\" is reserved (system.)");
  if (db.size() + 1 + collection.size() > 255)
    fail(ErrorKind::kData,
         "namespace " + std::string(db) + "." + std::string(collection) + " is longer than 255 bytes");
}

Mapper::Mapper(const Config& config, const MapFile* map, ValueRules rules)
    : map_(map),
      rules_(std::move(rules)),
      database_(KeyTemplate::compile(config.database)),
      collection_(KeyTemplate::compile(config.collection)) {
  names_use_rows_ = database_.uses_row() || collection_.uses_row();
  auto names = [&](std::string_view p) {
    return config.database.find(p) != std::string::npos || config.collection.find(p) != std::string::npos;
  };
  names_name_table_ = names("{db}") && names("{table}");
}

TableInfo& Mapper::table(std::string_view db, std::string_view table) {
  if (last_ != nullptr && last_->db == db && last_->table == table) return *last_;
  scratch_.assign(db);
  scratch_ += '.';
  scratch_ += table;
  auto it = tables_.find(scratch_);
  if (it == tables_.end()) {
    auto info = std::make_unique<TableInfo>();
    info->db = db;
    info->table = table;
    info->qualified = scratch_;
    if (map_ != nullptr) info->map = map_->find(db, table);
    if (info->map != nullptr) {
      info->map_key = info->map->key_views();
      info->filters_columns = !info->map->columns.empty() || !info->map->exclude.empty();
    }
    if (info->map != nullptr && !info->map->target.empty()) {
      const std::string& target = info->map->target;
      size_t dot = target.find('.');
      if (dot == std::string::npos || dot == 0 || dot + 1 == target.size())
        fail(ErrorKind::kConfig, "map entry " + info->qualified + ": target \"" + target + "\" is not DB.COLLECTION");
      std::string_view tdb = std::string_view(target).substr(0, dot);
      std::string_view tcoll = std::string_view(target).substr(dot + 1);
      try {
        check_names(tdb, tcoll);
      } catch (const Error& e) {
        fail(ErrorKind::kConfig, "map entry " + info->qualified + ": " + e.what());
      }
      info->target = targets_.intern(tdb, tcoll);
      info->owns_target = true;
    }
    it = tables_.emplace(scratch_, std::move(info)).first;
  }
  last_ = it->second.get();
  return *last_;
}

const std::vector<std::string_view>& Mapper::key_columns(const Event& e, const TableInfo& t) const {
  const auto& cols = t.map_key.empty() ? e.pk : t.map_key;
  if (cols.empty()) {
    fail(ErrorKind::kData, "table " + t.qualified + " has no key columns" + (e.pk_known ? " (no primary key)" : "") +
                               ": name them in a --map entry");
  }
  return cols;
}

uint32_t Mapper::target(const Event& e, TableInfo& t, const JsonValue& image, const JsonValue* fallback) {
  if (t.target) return *t.target;
  const JsonValue* row = &image;
  rapidjson::Document merged;
  if (fallback != nullptr && names_use_rows_) {
    // A partial image: template columns it lacks keep their before values.
    merged.SetObject();
    auto& alloc = merged.GetAllocator();
    for (const auto& m : fallback->GetObject())
      if (!image.HasMember(m.name)) merged.AddMember(JsonValue(m.name, alloc), JsonValue(m.value, alloc), alloc);
    for (const auto& m : image.GetObject())
      merged.AddMember(JsonValue(m.name, alloc), JsonValue(m.value, alloc), alloc);
    row = &merged;
  }
  db_name_.clear();
  coll_name_.clear();
  database_.render(db_name_, e, names_use_rows_ ? *row : empty_object(), t.map_key);
  collection_.render(coll_name_, e, names_use_rows_ ? *row : empty_object(), t.map_key);
  check_names(db_name_, coll_name_);
  uint32_t id = targets_.intern(db_name_, coll_name_);
  if (!names_use_rows_) {
    t.target = id;
    t.owns_target = names_name_table_;
  }
  return id;
}

const ColumnType* Mapper::column_type(const Event& e, size_t index, std::string_view column) {
  if (e.types == nullptr) return nullptr;
  // binlog-tail writes `types` in the image's column order: try the same index first.
  if (index < e.types->MemberCount()) {
    const auto& m = e.types->MemberBegin()[static_cast<rapidjson::SizeType>(index)];
    if (view(m.name) == column) return types_.get(m.value.IsString() ? view(m.value) : std::string_view());
  }
  return types_.get(e.type_of(column));
}

void Mapper::key(Bson& sel, const Event& e, const TableInfo& t, const JsonValue& image, const JsonValue* fallback) {
  const auto& cols = key_columns(e, t);
  sel.reset();
  auto value_of = [&](std::string_view col) -> const JsonValue& {
    const JsonValue* v = member(image, col);
    if (v == nullptr && fallback != nullptr) v = member(*fallback, col);
    if (v == nullptr) fail(ErrorKind::kData, "the row image lacks key column \"" + std::string(col) + "\"");
    return *v;
  };
  if (cols.size() == 1) {
    append_value(sel.get(), "_id", cols[0], types_.get(e.type_of(cols[0])), value_of(cols[0]), rules_);
    return;
  }
  bson_t child;
  bson_append_document_begin(sel.get(), "_id", 3, &child);
  for (std::string_view col : cols) {
    check_key(col, col);
    append_value(&child, col, col, types_.get(e.type_of(col)), value_of(col), rules_);
  }
  bson_append_document_end(sel.get(), &child);
}

std::string_view Mapper::output_name(std::string_view column, const TableInfo& t) const {
  if (!t.filters_columns) return column;
  auto name = t.map->output_name(column);
  return name ? *name : std::string_view();
}

void Mapper::append_columns(bson_t* doc, const Event& e, const TableInfo& t, const JsonValue& image, bool for_set) {
  const auto& cols = key_columns(e, t);
  size_t index = 0;
  for (const auto& m : image.GetObject()) {
    std::string_view column = view(m.name);
    std::string_view name = output_name(column, t);
    ++index;
    if (name.empty()) continue;
    check_key(name, column);
    if (name == "_id") {
      // A column named _id that is the key already is the document's _id.
      if (cols.size() == 1 && cols[0] == column) continue;
      fail(ErrorKind::kData, "column \"" + std::string(column) +
                                 "\" would be stored as _id, which holds the row's key: rename it in a --map entry");
    }
    if (for_set && (name.find('.') != std::string_view::npos || name.front() == '$')) {
      fail(ErrorKind::kData, "column \"" + std::string(column) +
                                 "\": a name with '.' or a leading '$' cannot be merged into a document ($set)");
    }
    append_value(doc, name, column, column_type(e, index - 1, column), m.value, rules_);
  }
}

void Mapper::document(Bson& doc, const Event& e, const TableInfo& t, const JsonValue& image, const Bson& sel) {
  doc.reset();
  bson_iter_t it;
  if (bson_iter_init_find(&it, sel.get(), "_id")) bson_append_iter(doc.get(), "_id", 3, &it);
  append_columns(doc.get(), e, t, image, false);
}

void Mapper::fields(Bson& fields, const Event& e, const TableInfo& t, const JsonValue& image) {
  fields.reset();
  append_columns(fields.get(), e, t, image, true);
}

}  // namespace rowpipe::mongo_sink
