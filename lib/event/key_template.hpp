// Key templates (`{db}_{table}_{pk}`, `{col:NAME}`) shared by every tool that names things per row.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "event/event.hpp"

namespace rowpipe {

// A compiled template. Placeholders: {db}, {table}, {pk} (key values joined by `_`), {col:NAME};
// `{{` and `}}` are literal braces. Rendering rules (rowpipe-events(5), KEY TEMPLATES): values as
// their text (binary columns as raw bytes); a composite {pk} escapes `\` as `\\` and `_` as `\_` in
// each component and writes NULL as `\N`, so distinct keys never collide; a single-column {pk} and
// {col:NAME} are not escaped (NULL renders as `\N`), matching the original `db_table_id` keys.
class KeyTemplate {
 public:
  // Throws Error(kUsage) naming the problem (unbalanced brace, unknown placeholder).
  static KeyTemplate compile(std::string_view text);

  // Renders for `image` (usually event.key_image()). `key_columns` replaces the line's pk (from a
  // map file); empty means use event.pk. Throws Error(kData) when {pk} is needed but no key columns
  // are known, or a needed column is missing from the image.
  void render(std::string& out, const Event& event, const JsonValue& image,
              const std::vector<std::string_view>& key_columns = {}) const;
  std::string render(const Event& event, const JsonValue& image,
                     const std::vector<std::string_view>& key_columns = {}) const {
    std::string out;
    render(out, event, image, key_columns);
    return out;
  }

  bool uses_pk() const { return uses_pk_; }
  bool uses_row() const { return uses_row_; }  // {pk} or {col:...}: needs a row image
  const std::string& text() const { return text_; }

 private:
  enum class Kind { kLiteral, kDb, kTable, kPk, kColumn };
  struct Part {
    Kind kind;
    std::string text;  // literal text or column name
  };
  std::string text_;
  std::vector<Part> parts_;
  bool uses_pk_ = false;
  bool uses_row_ = false;
};

}  // namespace rowpipe
