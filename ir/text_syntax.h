// Lexical syntax of the textual IR, shared by the printer and the parser: identifiers, string and
// float spelling, and the tokenizer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dlc::text {

// True when `s` can be printed without quotes: [A-Za-z_][A-Za-z0-9_.]*.
bool isBareIdentifier(std::string_view s);
// A double-quoted string; `"`, `\` and non-printable ASCII are escaped, other bytes (UTF-8) are raw.
std::string quoteString(std::string_view s);
// Shortest spelling that reads back bit-exactly: always has '.', 'e', or is inf/-inf/nan;
// NaNs other than the canonical quiet NaN keep their bits as nan(0x7fc00001).
std::string formatFloat(float f);

enum class Tok : uint8_t {
  End,
  Error,       // text holds the message
  Ident,       // f32, Add, region, return, inf, ...
  ValueName,   // %name or %"quoted name"; text is the name
  FreshValue,  // %12: a printer-generated name for an unnamed value; text is the digits
  GraphName,   // @name or @"quoted"
  String,      // "..." unescaped
  Int,         // -12
  Float,       // 1.5, -2e-07, -inf
  Hex,         // 0x00ff; text is the hex digits
  Punct,       // one of ( ) { } [ ] < > , : = * ?
};

struct Token {
  Tok kind = Tok::End;
  std::string text;
  int line = 1;
  int col = 1;
  bool is(Tok k, std::string_view t) const { return kind == k && text == t; }
  bool punct(char c) const { return kind == Tok::Punct && text.size() == 1 && text[0] == c; }
  // How the token reads in an error message.
  std::string describe() const;
};

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {}
  Token next();

 private:
  char peek(size_t ahead = 0) const { return pos_ + ahead < src_.size() ? src_[pos_ + ahead] : '\0'; }
  void bump();
  void skipSpaceAndComments();
  // Reads a quoted string starting at the opening quote; false with `out` = message on error.
  bool readQuoted(std::string* out);
  Token lexNumber(Token t);

  std::string_view src_;
  size_t pos_ = 0;
  int line_ = 1;
  int col_ = 1;
};

}  // namespace dlc::text
