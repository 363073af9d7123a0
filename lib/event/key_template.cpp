// Key template compilation and rendering.
#include "event/key_template.hpp"

#include "cli/error.hpp"

namespace rowpipe {
namespace {

const JsonValue& column_value(const JsonValue& image, std::string_view column) {
  auto it = image.FindMember(rapidjson::StringRef(column.data(), column.size()));
  if (it == image.MemberEnd())
    fail(ErrorKind::kData, "key column \"" + std::string(column) + "\" missing from the row image");
  return it->value;
}

void append_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c == '\\' || c == '_') out += '\\';
    out += c;
  }
}

}  // namespace

KeyTemplate KeyTemplate::compile(std::string_view text) {
  KeyTemplate t;
  t.text_ = text;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) t.parts_.push_back({Kind::kLiteral, std::move(literal)});
    literal.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '}') {
      if (i + 1 < text.size() && text[i + 1] == '}') {
        literal += '}';
        ++i;
        continue;
      }
      fail(ErrorKind::kUsage, "key template \"" + std::string(text) + "\": unmatched '}' (write '}}' for a brace)");
    }
    if (c != '{') {
      literal += c;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '{') {
      literal += '{';
      ++i;
      continue;
    }
    size_t close = text.find('}', i);
    if (close == std::string_view::npos)
      fail(ErrorKind::kUsage, "key template \"" + std::string(text) + "\": unclosed '{'");
    std::string_view name = text.substr(i + 1, close - i - 1);
    flush();
    if (name == "db") {
      t.parts_.push_back({Kind::kDb, {}});
    } else if (name == "table") {
      t.parts_.push_back({Kind::kTable, {}});
    } else if (name == "pk") {
      t.parts_.push_back({Kind::kPk, {}});
      t.uses_pk_ = t.uses_row_ = true;
    } else if (name.starts_with("col:") && name.size() > 4) {
      t.parts_.push_back({Kind::kColumn, std::string(name.substr(4))});
      t.uses_row_ = true;
    } else {
      fail(ErrorKind::kUsage, "key template \"" + std::string(text) + "\": unknown placeholder {" + std::string(name) +
                                  "} (known: {db} {table} {pk} {col:NAME})");
    }
    i = close;
  }
  flush();
  return t;
}

void KeyTemplate::render(std::string& out, const Event& event, const JsonValue& image,
                         const std::vector<std::string_view>& key_columns) const {
  for (const Part& part : parts_) {
    switch (part.kind) {
      case Kind::kLiteral: out += part.text; break;
      case Kind::kDb: out += event.db; break;
      case Kind::kTable: out += event.table; break;
      case Kind::kColumn: {
        auto text = value_text(event, part.text, column_value(image, part.text));
        out += text ? *text : "\\N";
        break;
      }
      case Kind::kPk: {
        const auto& cols = key_columns.empty() ? event.pk : key_columns;
        if (cols.empty())
          fail(ErrorKind::kData, "table " + std::string(event.db) + "." + std::string(event.table) +
                                     " has no key columns (no \"pk\" in the line and no --map entry)");
        bool composite = cols.size() > 1;
        for (size_t i = 0; i < cols.size(); ++i) {
          if (i > 0) out += '_';
          auto text = value_text(event, cols[i], column_value(image, cols[i]));
          if (!text)
            out += "\\N";
          else if (composite)
            append_escaped(out, *text);
          else
            out += *text;
        }
        break;
      }
    }
  }
}

}  // namespace rowpipe
