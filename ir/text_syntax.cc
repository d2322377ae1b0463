// The textual IR's tokenizer and the spellings of identifiers, strings and floats.
#include "ir/text_syntax.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace dlc::text {
namespace {

bool isIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isIdentChar(char c) { return isIdentStart(c) || isDigit(c) || c == '.'; }
bool isHexDigit(char c) { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int hexValue(char c) { return isDigit(c) ? c - '0' : (c | 0x20) - 'a' + 10; }

}  // namespace

bool isBareIdentifier(std::string_view s) {
  if (s.empty() || !isIdentStart(s[0])) return false;
  for (char c : s)
    if (!isIdentChar(c)) return false;
  return true;
}

std::string quoteString(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += ch;  // printable ASCII and UTF-8 bytes stay readable
        }
    }
  }
  return out + "\"";
}

std::string formatFloat(float f) {
  if (std::isnan(f)) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    if (bits == 0x7fc00000u) return "nan";
    char buf[24];
    std::snprintf(buf, sizeof buf, "nan(0x%08x)", bits);
    return buf;
  }
  if (std::isinf(f)) return f < 0 ? "-inf" : "inf";
  // The shortest %g spelling that reads back to the same bits; 9 digits always suffice for a float.
  char buf[32];
  for (int digits = 1; digits <= 9; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, static_cast<double>(f));
    float back = std::strtof(buf, nullptr);
    if (std::memcmp(&back, &f, 4) == 0) {
      // %g switches to an exponent once the integer part outgrows the digits: 100 -> 1e+02.
      // Moderate magnitudes read better written out.
      double mag = std::fabs(static_cast<double>(f));
      if (std::strchr(buf, 'e') && mag >= 1.0 && mag < 1e7)
        std::snprintf(buf, sizeof buf, "%.*g", std::max(digits, 1 + static_cast<int>(std::log10(mag))),
                      static_cast<double>(f));
      break;
    }
  }
  std::string s = buf;
  if (s.find_first_of(".e") == std::string::npos) s += ".0";  // keep it distinct from an int
  return s;
}

std::string Token::describe() const {
  switch (kind) {
    case Tok::End: return "end of input";
    case Tok::Error: return text;
    case Tok::ValueName: return "%" + (isBareIdentifier(text) ? text : quoteString(text));
    case Tok::FreshValue: return "%" + text;
    case Tok::GraphName: return "@" + text;
    case Tok::String: return quoteString(text);
    case Tok::Hex: return "0x" + text.substr(0, 16) + (text.size() > 16 ? "..." : "");
    default: return "'" + text + "'";
  }
}

void Lexer::bump() {
  if (pos_ >= src_.size()) return;
  if (src_[pos_] == '\n') {
    ++line_;
    col_ = 1;
  } else {
    ++col_;
  }
  ++pos_;
}

void Lexer::skipSpaceAndComments() {
  for (;;) {
    char c = peek();
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      bump();
    } else if (c == '/' && peek(1) == '/') {
      while (pos_ < src_.size() && peek() != '\n') bump();
    } else {
      return;
    }
  }
}

bool Lexer::readQuoted(std::string* out) {
  bump();  // opening quote
  std::string s;
  for (;;) {
    if (pos_ >= src_.size()) {
      *out = "unterminated string";
      return false;
    }
    char c = peek();
    if (c == '"') {
      bump();
      *out = std::move(s);
      return true;
    }
    if (c == '\n') {
      *out = "newline in string (write \\n)";
      return false;
    }
    if (c != '\\') {
      s += c;
      bump();
      continue;
    }
    bump();
    char e = peek();
    switch (e) {
      case '"': s += '"'; break;
      case '\\': s += '\\'; break;
      case 'n': s += '\n'; break;
      case 't': s += '\t'; break;
      case 'r': s += '\r'; break;
      case 'x':
        if (!isHexDigit(peek(1)) || !isHexDigit(peek(2))) {
          *out = "\\x must be followed by two hex digits";
          return false;
        }
        s += static_cast<char>(hexValue(peek(1)) * 16 + hexValue(peek(2)));
        bump();
        bump();
        break;
      default: {
        // The character itself may be unprintable (a line break): named by its code then.
        char shown[8] = "";
        if (e >= 0x20 && e < 0x7f) std::snprintf(shown, sizeof shown, "%c", e);
        else if (e) std::snprintf(shown, sizeof shown, "x%02x", static_cast<unsigned char>(e));
        *out = std::string("unknown escape '\\") + shown + "' in string";
        return false;
      }
    }
    bump();
  }
}

Token Lexer::lexNumber(Token t) {
  size_t start = pos_;
  if (peek() == '-') bump();
  if (peek() == 'i' && peek(1) == 'n' && peek(2) == 'f' && !isIdentChar(peek(3))) {
    bump(), bump(), bump();
    t.kind = Tok::Float;
    t.text = std::string(src_.substr(start, pos_ - start));
    return t;
  }
  if (pos_ == start && peek() == '0' && (peek(1) == 'x' || peek(1) == 'X')) {
    bump(), bump();
    size_t h = pos_;
    while (isHexDigit(peek())) bump();
    t.kind = Tok::Hex;
    t.text = std::string(src_.substr(h, pos_ - h));
    return t;
  }
  if (!isDigit(peek())) {
    t.kind = Tok::Error;
    t.text = "expected a number after '-'";
    return t;
  }
  t.kind = Tok::Int;
  while (isDigit(peek())) bump();
  if (peek() == '.' && isDigit(peek(1))) {
    t.kind = Tok::Float;
    bump();
    while (isDigit(peek())) bump();
  }
  if ((peek() == 'e' || peek() == 'E') &&
      (isDigit(peek(1)) || ((peek(1) == '-' || peek(1) == '+') && isDigit(peek(2))))) {
    t.kind = Tok::Float;
    bump();
    if (peek() == '-' || peek() == '+') bump();
    while (isDigit(peek())) bump();
  }
  t.text = std::string(src_.substr(start, pos_ - start));
  if (isIdentChar(peek())) {
    t.kind = Tok::Error;
    t.text = "malformed number '" + t.text + peek() + "'";
  }
  return t;
}

Token Lexer::next() {
  skipSpaceAndComments();
  Token t;
  t.line = line_;
  t.col = col_;
  if (pos_ >= src_.size()) return t;  // End
  char c = peek();
  if (isIdentStart(c)) {
    size_t start = pos_;
    while (isIdentChar(peek())) bump();
    t.kind = Tok::Ident;
    t.text = std::string(src_.substr(start, pos_ - start));
    return t;
  }
  if (isDigit(c) || c == '-') return lexNumber(std::move(t));
  if (c == '"') {
    t.kind = readQuoted(&t.text) ? Tok::String : Tok::Error;
    return t;
  }
  if (c == '%' || c == '@') {
    bump();
    char d = peek();
    if (d == '"') {
      t.kind = readQuoted(&t.text) ? (c == '%' ? Tok::ValueName : Tok::GraphName) : Tok::Error;
    } else if (isIdentStart(d)) {
      size_t start = pos_;
      while (isIdentChar(peek())) bump();
      t.kind = c == '%' ? Tok::ValueName : Tok::GraphName;
      t.text = std::string(src_.substr(start, pos_ - start));
    } else if (c == '%' && isDigit(d)) {
      size_t start = pos_;
      while (isDigit(peek())) bump();
      t.kind = Tok::FreshValue;
      t.text = std::string(src_.substr(start, pos_ - start));
      if (isIdentChar(peek())) {
        t.kind = Tok::Error;
        t.text = "a value name starting with a digit must be quoted: %\"...\"";
      }
    } else {
      t.kind = Tok::Error;
      t.text = std::string("expected a name after '") + c + "'";
    }
    return t;
  }
  if (std::strchr("(){}[]<>,:=*?", c)) {
    bump();
    t.kind = Tok::Punct;
    t.text = std::string(1, c);
    return t;
  }
  t.kind = Tok::Error;
  auto u = static_cast<unsigned char>(c);
  if (u < 0x20 || u >= 0x7f) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "unexpected byte 0x%02x", u);
    t.text = buf;
  } else {
    t.text = std::string("unexpected character '") + c + "'";
  }
  return t;
}

}  // namespace dlc::text
