#include "intake/json_body.h"

#include <string>
#include <vector>

namespace vigil::intake {
namespace {

using json = nlohmann::json;

// Builds the document like nlohmann's own DOM parser while keeping the path of the value being
// read, so that each refusal can name its field.
class StrictBuilder final : public nlohmann::json_sax<json> {
 public:
  json root;
  std::vector<core::FieldError> errors;
  bool syntax_error = false;

  bool null() override { return add(json(nullptr)); }
  bool boolean(bool v) override { return add(json(v)); }
  bool number_integer(number_integer_t v) override { return add(json(v)); }
  bool number_unsigned(number_unsigned_t v) override { return add(json(v)); }
  bool number_float(number_float_t v, const string_t&) override { return add(json(v)); }
  bool binary(binary_t& v) override { return add(json(std::move(v))); }
  bool string(string_t& v) override {
    if (v.find('\0') != std::string::npos) note(path(), "must not contain NUL characters");
    return add(json(std::move(v)));
  }
  bool start_object(std::size_t) override { return open(json::object()); }
  bool start_array(std::size_t) override { return open(json::array()); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool key(string_t& k) override {
    Frame& top = stack_.back();
    const bool duplicate = top.value->contains(k);
    top.key = k;
    if (k.find('\0') != std::string::npos) note(path(), "the key must not contain NUL characters");
    if (duplicate) {
      note(path(), "appears more than once in the same object");
      return false;
    }
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
    if (ex.id == 406) {  // out_of_range.406: number overflow
      note(path().empty() ? "(body)" : path(), "is a number out of range");
    } else {
      syntax_error = true;
      note("(body)", "invalid JSON at byte " + std::to_string(position));
    }
    return false;
  }

 private:
  struct Frame {
    json* value;
    std::string key;  // objects: the key whose value is being read
  };

  // The path of the value about to be added: a.b[2].c
  std::string path() const {
    std::string p;
    for (size_t i = 0; i < stack_.size(); ++i) {
      const Frame& f = stack_[i];
      if (f.value->is_object()) {
        if (!p.empty()) p += '.';
        p += f.key;
      } else {
        // An outer array already holds the container being read; the innermost one's next
        // element is the value about to be added.
        const size_t n = f.value->size();
        p += '[' + std::to_string(i + 1 < stack_.size() ? n - 1 : n) + ']';
      }
    }
    return p;
  }

  void note(std::string field, std::string detail) {
    if (errors.size() < kMaxErrors) errors.push_back({std::move(field), std::move(detail)});
  }

  json* place(json&& v) {
    if (stack_.empty()) {
      root = std::move(v);
      return &root;
    }
    Frame& top = stack_.back();
    if (top.value->is_array()) {
      top.value->push_back(std::move(v));
      return &top.value->back();
    }
    json& slot = (*top.value)[top.key];
    slot = std::move(v);
    return &slot;
  }
  bool add(json&& v) {
    place(std::move(v));
    return true;
  }
  bool open(json&& container) {
    json* where = place(std::move(container));
    stack_.push_back({where, {}});
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }

  static constexpr size_t kMaxErrors = 1000;  // the problem document caps what it shows anyway
  std::vector<Frame> stack_;
};

}  // namespace

core::Result<json> parseStrictJson(std::string_view text, bool* syntax_error) {
  StrictBuilder builder;
  const bool complete = json::sax_parse(text.begin(), text.end(), &builder, json::input_format_t::json, true);
  if (syntax_error) *syntax_error = builder.syntax_error;
  if (builder.errors.empty() && complete) return std::move(builder.root);
  if (builder.errors.empty()) builder.errors.push_back({"(body)", "is not a complete JSON document"});
  return core::Status::invalid(builder.syntax_error ? "the body is not valid JSON" : "the body has invalid fields",
                               std::move(builder.errors));
}

}  // namespace vigil::intake
