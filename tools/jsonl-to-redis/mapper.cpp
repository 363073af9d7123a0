// Keys, fields and JSON documents of rows.
#include "mapper.hpp"

#include "cli/error.hpp"
#include "event/json_writer.hpp"
#include "event/values.hpp"
#include "resp.hpp"

namespace rowpipe::redis_sink {
namespace {

std::string_view view(const JsonValue& v) { return {v.GetString(), v.GetStringLength()}; }

bool is_binary_word(std::string_view type) { return type == "binary" || type == "varbinary" || type == "blob"; }

// The type word of member `index` named `column`: `types` is usually in the image's column order.
std::string_view type_at(const Event& e, size_t index, std::string_view column) {
  if (e.types == nullptr) return {};
  if (index < e.types->MemberCount()) {
    const auto& m = e.types->MemberBegin()[static_cast<rapidjson::SizeType>(index)];
    if (view(m.name) == column) return m.value.IsString() ? view(m.value) : std::string_view();
  }
  return e.type_of(column);
}

}  // namespace

TableInfo& TableCache::get(std::string_view db, std::string_view table) {
  if (last_ != nullptr && last_->db == db && last_->table == table) return *last_;
  scratch_.assign(db);
  scratch_ += '.';
  scratch_ += table;
  auto it = tables_.find(std::string_view(scratch_));
  if (it == tables_.end()) {
    auto info = std::make_unique<TableInfo>();
    info->db = db;
    info->table = table;
    info->qualified = scratch_;
    init_(*info);
    it = tables_.emplace(scratch_, std::move(info)).first;
  }
  last_ = it->second.get();
  return *last_;
}

std::vector<std::string> template_columns(std::string_view text) {
  std::vector<std::string> out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '{') continue;
    if (i + 1 < text.size() && text[i + 1] == '{') {
      ++i;
      continue;
    }
    size_t close = text.find('}', i);
    if (close == std::string_view::npos) break;
    std::string_view name = text.substr(i + 1, close - i - 1);
    if (name.starts_with("col:") && name.size() > 4) out.emplace_back(name.substr(4));
    i = close;
  }
  return out;
}

bool append_value_text(std::string& out, std::string_view column, std::string_view type, const JsonValue& value) {
  switch (value.GetType()) {
    case rapidjson::kNullType: return false;
    case rapidjson::kStringType:
      if (is_binary_word(type)) {
        auto raw = base64_decode(view(value));
        if (!raw) fail(ErrorKind::kData, "column \"" + std::string(column) + "\" is not valid base64");
        out += *raw;
      } else {
        out += view(value);
      }
      return true;
    default: append_json(out, value); return true;
  }
}

Mapper::Mapper(const Config& config, KeyTemplate key)
    : config_(config), key_(std::move(key)), template_columns_(redis_sink::template_columns(key_.text())) {}

void Mapper::key(std::string& out, const Event& e, const JsonValue& image, const TableInfo& t) const {
  out.clear();
  key_.render(out, e, image, t.map_key);
}

void Mapper::partial_new_key(std::string& out, const Event& e, const TableInfo& t) {
  // Which template columns does the after image carry?
  size_t needed = 0, present = 0;
  auto count = [&](std::string_view col) {
    ++needed;
    if (e.after->HasMember(rapidjson::StringRef(col.data(), col.size()))) ++present;
  };
  if (key_.uses_pk())
    for (std::string_view col : key_columns(e, t)) count(col);
  for (const std::string& col : template_columns_) count(col);
  if (present == needed) return key(out, e, *e.after, t);
  if (present == 0) return key(out, e, *e.before, t);
  // Some key columns changed, others not: render from the before image overlaid with the after one.
  rapidjson::Document merged;
  merged.SetObject();
  auto& alloc = merged.GetAllocator();
  for (const auto& m : e.before->GetObject()) {
    if (e.after->HasMember(m.name)) continue;
    merged.AddMember(JsonValue(m.name, alloc), JsonValue(m.value, alloc), alloc);
  }
  for (const auto& m : e.after->GetObject())
    merged.AddMember(JsonValue(m.name, alloc), JsonValue(m.value, alloc), alloc);
  key(out, e, merged, t);
}

std::string_view Mapper::output_name(std::string_view column, const TableInfo& t) const {
  if (!t.filters_columns) return column;
  auto name = t.map->output_name(column);
  return name ? *name : std::string_view();
}

void Mapper::fields(const Event& e, const JsonValue& image, const TableInfo& t, std::string& set, size_t& pairs,
                    std::string& nulls, size_t& null_count) {
  size_t index = 0;
  for (const auto& m : image.GetObject()) {
    std::string_view column = view(m.name);
    size_t i = index++;
    std::string_view name = output_name(column, t);
    if (name.empty()) continue;
    switch (m.value.GetType()) {
      case rapidjson::kNullType:
        if (config_.null_as) {
          append_arg(set, name);
          append_arg(set, *config_.null_as);
          ++pairs;
        } else {
          append_arg(nulls, name);
          ++null_count;
        }
        continue;
      case rapidjson::kStringType:
        append_arg(set, name);
        // The type word matters only here (binary columns hold base64); the common case copies the
        // string straight into the command.
        if (!is_binary_word(type_at(e, i, column))) {
          append_arg(set, view(m.value));
        } else {
          value_.clear();
          append_value_text(value_, column, type_at(e, i, column), m.value);
          append_arg(set, value_);
        }
        break;
      case rapidjson::kNumberType:
        // Integers as append_json writes them (decimal), without a scratch buffer.
        append_arg(set, name);
        if (m.value.IsUint64()) {
          append_arg(set, m.value.GetUint64());
        } else if (m.value.IsInt64()) {
          append_arg(set, m.value.GetInt64());
        } else {
          value_.clear();
          append_json(value_, m.value);
          append_arg(set, value_);
        }
        break;
      default:
        append_arg(set, name);
        value_.clear();
        append_json(value_, m.value);
        append_arg(set, value_);
    }
    ++pairs;
  }
}

void Mapper::json_row(std::string& out, const Event&, const JsonValue& image, const TableInfo& t) const {
  out += '{';
  bool first = true;
  for (const auto& m : image.GetObject()) {
    std::string_view name = output_name(view(m.name), t);
    if (name.empty()) continue;
    if (!first) out += ',';
    first = false;
    json::append_string(out, name);
    out += ':';
    append_json(out, m.value);
  }
  out += '}';
}

}  // namespace rowpipe::redis_sink
