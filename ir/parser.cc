// The textual IR parser: a recursive-descent reader of printGraph's output. Never aborts on bad
// input; every error is a Status "<source>:<line>:<col>: <what>".
#include "ir/parser.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include "ir/text_syntax.h"

namespace dlc {
namespace {

using text::Tok;
using text::Token;

constexpr int kMaxDepth = 200;  // nesting of regions/types; deeper input is rejected, not recursed

// Finds an op by its printed name (opName), whatever its domain.
std::optional<OpKind> opKindByName(const std::string& name) {
  for (int k = 0; k < kNumOpKinds; ++k)
    if (name == opName(static_cast<OpKind>(k))) return static_cast<OpKind>(k);
  return std::nullopt;
}

const char* attrKindWords(AttrType t) {
  switch (t) {
    case AttrType::Int: return "an integer";
    case AttrType::Float: return "a float";
    case AttrType::String: return "a string";
    case AttrType::Tensor: return "a tensor";
    case AttrType::Graph: return "a region";
    case AttrType::Ints: return "a list of integers";
    case AttrType::Floats: return "a list of floats";
    case AttrType::Strings: return "a list of strings";
    case AttrType::Tensors: return "a list of tensors";
    case AttrType::Graphs: return "a list of regions";
    case AttrType::TypeProto: return "a type";
  }
  return "?";
}

class Parser {
 public:
  Parser(std::string_view src, std::string source) : lex_(src), source_(std::move(source)) { advance(); }

  Expected<std::unique_ptr<Graph>> parse() {
    auto g = std::make_unique<Graph>();
    Status s = parseGraph(*g);
    if (!s.ok()) return s;
    return Expected<std::unique_ptr<Graph>>(std::move(g));
  }

 private:
  struct Def {
    Value* value;
    int line, col;
  };
  using Scope = std::map<std::string, Def>;

  // ---- tokens and errors ----
  void advance() { tok_ = lex_.next(); }
  Status errAt(const Token& t, const std::string& what) const {
    return Status::error(str(source_, ":", t.line, ":", t.col, ": ", what));
  }
  // "expected X, got Y", or the lexer's own message when the token is malformed.
  Status expected(const std::string& what) const {
    if (tok_.kind == Tok::Error) return errAt(tok_, tok_.text);
    return errAt(tok_, str("expected ", what, ", got ", tok_.describe()));
  }
  bool atPunct(char c) const { return tok_.punct(c); }
  bool atIdent(const char* word) const { return tok_.is(Tok::Ident, word); }
  Status expectPunct(char c) {
    if (!atPunct(c)) return expected(str("'", c, "'"));
    advance();
    return Status::success();
  }
  Status expectIdent(const char* word) {
    if (!atIdent(word)) return expected(str("'", word, "'"));
    advance();
    return Status::success();
  }
  Status expectString(std::string* out) {
    if (tok_.kind != Tok::String) return expected("a quoted string");
    *out = tok_.text;
    advance();
    return Status::success();
  }
  // Parses `item (',' item)*` up to the closing punctuation `close` (consumed); empty allowed.
  template <typename Fn>
  Status commaList(char close, Fn&& item) {
    if (atPunct(close)) {
      advance();
      return Status::success();
    }
    for (;;) {
      DLC_RETURN_IF_ERROR(item());
      if (atPunct(close)) {
        advance();
        return Status::success();
      }
      if (!atPunct(',')) return expected(str("',' or '", close, "'"));
      advance();
    }
  }
  Status enter() {
    if (++depth_ > kMaxDepth) return errAt(tok_, "nesting too deep");
    return Status::success();
  }

  // ---- numbers ----
  Status parseInt(int64_t* out) {
    if (tok_.kind != Tok::Int) return expected("an integer");
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(tok_.text.c_str(), &end, 10);
    if (errno == ERANGE) return errAt(tok_, str("integer ", tok_.text, " is out of range"));
    *out = v;
    advance();
    return Status::success();
  }
  Status parseFloat(float* out) {
    if (tok_.is(Tok::Ident, "inf")) {
      *out = INFINITY;
    } else if (tok_.is(Tok::Ident, "nan")) {
      Token at = tok_;
      advance();
      if (!atPunct('(')) {
        *out = NAN;
        return Status::success();
      }
      advance();  // nan(0xBITS): a NaN with a particular payload
      if (tok_.kind != Tok::Hex || tok_.text.empty() || tok_.text.size() > 8) return expected("32-bit hex NaN bits");
      auto bits = static_cast<uint32_t>(std::strtoul(tok_.text.c_str(), nullptr, 16));
      std::memcpy(out, &bits, 4);
      if (!std::isnan(*out)) return errAt(at, str("0x", tok_.text, " is not a NaN"));
      advance();
      return expectPunct(')');
    } else if (tok_.kind == Tok::Float || tok_.kind == Tok::Int) {
      errno = 0;
      float v = std::strtof(tok_.text.c_str(), nullptr);
      if (errno == ERANGE && std::isinf(v)) return errAt(tok_, str("float ", tok_.text, " is out of range"));
      *out = v;
    } else {
      return expected("a float");
    }
    advance();
    return Status::success();
  }

  // ---- values and scopes ----
  bool atValue() const { return tok_.kind == Tok::ValueName || tok_.kind == Tok::FreshValue; }
  // Scope key: named and fresh-numbered values live in separate namespaces (%"1" is not %1).
  static std::string key(const Token& t) { return (t.kind == Tok::ValueName ? "n" : "f") + t.text; }

  Status define(const Token& name, Value* v) {
    std::string k = key(name);
    for (const Scope& s : scopes_) {
      auto it = s.find(k);
      if (it != s.end())
        return errAt(name, str("redefinition of ", name.describe(), " (first defined at ", it->second.line, ":",
                               it->second.col, ")"));
    }
    scopes_.back()[k] = Def{v, name.line, name.col};
    if (name.kind == Tok::ValueName) v->setName(name.text);  // fresh numbers stay unnamed
    return Status::success();
  }
  // A value reference or `_` (absent); resolves through enclosing scopes (outer-value capture).
  Status parseRef(Value** out) {
    if (atIdent("_")) {
      *out = nullptr;
      advance();
      return Status::success();
    }
    if (!atValue()) return expected("a value (%name) or '_'");
    std::string k = key(tok_);
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      auto found = it->find(k);
      if (found != it->end()) {
        *out = found->second.value;
        advance();
        return Status::success();
      }
    }
    return errAt(tok_, str("undefined value ", tok_.describe()));
  }

  // ---- types ----
  Status parseType(Type* out) {
    DLC_RETURN_IF_ERROR(enter());
    Status s = parseTypeInner(out);
    --depth_;
    return s;
  }
  Status parseTypeInner(Type* out) {
    if (tok_.kind != Tok::Ident) return expected("a type");
    Token t = tok_;
    if (t.text == "seq" || t.text == "opt") {
      advance();
      DLC_RETURN_IF_ERROR(expectPunct('<'));
      Type elem;
      bool unknown = atPunct('?');
      if (unknown)
        advance();
      else
        DLC_RETURN_IF_ERROR(parseType(&elem));
      DLC_RETURN_IF_ERROR(expectPunct('>'));
      *out = t.text == "seq" ? Type::sequence(elem) : Type::optional(elem);
      if (unknown) out->element.reset();
      return Status::success();
    }
    DType dt = DType::Undefined;
    if (t.text != "undef") {
      auto d = dtypeFromName(t.text);
      if (!d) return errAt(t, str("unknown type '", t.text, "'"));
      dt = *d;
    }
    advance();
    DLC_RETURN_IF_ERROR(expectPunct('['));
    if (atPunct('*')) {
      advance();
      DLC_RETURN_IF_ERROR(expectPunct(']'));
      *out = Type::tensor(dt, Shape::unranked());
      return Status::success();
    }
    Shape shape;
    DLC_RETURN_IF_ERROR(commaList(']', [&]() -> Status {
      if (tok_.kind == Tok::Int) {
        if (tok_.text[0] == '-') return errAt(tok_, str("negative dimension ", tok_.text));
        int64_t v;
        DLC_RETURN_IF_ERROR(parseInt(&v));
        shape.dims.push_back(Dim::of(v));
      } else if (atPunct('?')) {
        shape.dims.push_back(Dim::unknown());
        advance();
      } else if (tok_.kind == Tok::Ident || tok_.kind == Tok::String) {
        shape.dims.push_back(Dim::sym(tok_.text));
        advance();
      } else {
        return expected("a dimension (integer, symbol or '?')");
      }
      return Status::success();
    }));
    *out = Type::tensor(dt, std::move(shape));
    return Status::success();
  }

  // ---- attributes ----
  Status parseTensor(Tensor* out) {
    DLC_RETURN_IF_ERROR(expectIdent("tensor"));
    DLC_RETURN_IF_ERROR(expectPunct('<'));
    if (tok_.kind != Tok::Ident) return expected("an element type");
    Token dt_tok = tok_;
    if (dt_tok.text == "undef") {
      advance();
      *out = Tensor();
      return expectPunct('>');
    }
    auto dt = dtypeFromName(dt_tok.text);
    if (!dt) return errAt(dt_tok, str("unknown element type '", dt_tok.text, "'"));
    advance();
    DLC_RETURN_IF_ERROR(expectPunct('['));
    std::vector<int64_t> shape;
    int64_t numel = 1;
    DLC_RETURN_IF_ERROR(commaList(']', [&]() -> Status {
      Token at = tok_;
      int64_t v;
      DLC_RETURN_IF_ERROR(parseInt(&v));
      if (v < 0) return errAt(at, str("negative dimension ", v, " in a tensor constant"));
      if (v > 0 && numel > (int64_t{1} << 40) / v) return errAt(at, "tensor constant is too large");
      numel *= v;
      shape.push_back(v);
      return Status::success();
    }));
    DLC_RETURN_IF_ERROR(expectPunct('>'));
    if (atPunct('<')) {
      Token at = tok_;
      advance();
      if (atIdent("elided")) return errAt(at, "constant is elided; re-import without eliding");
      return expected("'elided'");
    }
    if (*dt == DType::String) {
      std::vector<std::string> items;
      DLC_RETURN_IF_ERROR(expectPunct('['));
      DLC_RETURN_IF_ERROR(commaList(']', [&]() -> Status {
        std::string s;
        DLC_RETURN_IF_ERROR(expectString(&s));
        items.push_back(std::move(s));
        return Status::success();
      }));
      if (static_cast<int64_t>(items.size()) != numel)
        return errAt(dt_tok, str("string tensor has ", items.size(), " elements, its shape needs ", numel));
      *out = Tensor(DType::String, shape);
      out->strings() = std::move(items);
      return Status::success();
    }
    if (tok_.kind != Tok::Hex) return expected("tensor data (0x...)");
    size_t nbytes = dtypeStorageBytes(*dt, numel);
    if (tok_.text.size() != 2 * nbytes)
      return errAt(tok_, str("tensor data has ", tok_.text.size(), " hex digits, ", dtypeName(*dt), " with ", numel,
                             " elements needs ", 2 * nbytes));
    *out = Tensor(*dt, shape);
    auto* bytes = static_cast<unsigned char*>(out->raw());
    for (size_t i = 0; i < nbytes; ++i)
      bytes[i] = static_cast<unsigned char>(std::strtoul(tok_.text.substr(2 * i, 2).c_str(), nullptr, 16));
    advance();
    return Status::success();
  }

  Status parseRegionAttr(std::shared_ptr<Region>* out) {
    DLC_RETURN_IF_ERROR(expectIdent("region"));
    DLC_RETURN_IF_ERROR(enter());
    auto r = std::make_shared<Region>();
    Status s = parseRegion(*r);
    --depth_;
    if (!s.ok()) return s;
    *out = std::move(r);
    return Status::success();
  }

  // Whether the current token can begin a value of an attribute of type `type`.
  bool canStart(AttrType type) const {
    switch (type) {
      case AttrType::Int: return tok_.kind == Tok::Int;
      case AttrType::Float:
        return tok_.kind == Tok::Int || tok_.kind == Tok::Float || atIdent("inf") || atIdent("nan");
      case AttrType::String: return tok_.kind == Tok::String;
      case AttrType::Tensor: return atIdent("tensor");
      case AttrType::Graph: return atIdent("region");
      case AttrType::TypeProto: return tok_.kind == Tok::Ident;
      default: return atPunct('[');
    }
  }

  Status parseAttrValue(AttrType type, Attribute* a) {
    a->type = type;
    switch (type) {
      case AttrType::Int: return parseInt(&a->i);
      case AttrType::Float: return parseFloat(&a->f);
      case AttrType::String: return expectString(&a->s);
      case AttrType::Tensor: return parseTensor(&a->t);
      case AttrType::Graph: return parseRegionAttr(&a->g);
      case AttrType::TypeProto: return parseType(&a->type_value);
      default: break;
    }
    DLC_RETURN_IF_ERROR(expectPunct('['));
    return commaList(']', [&]() -> Status {
      switch (type) {
        case AttrType::Ints: return parseInt(&a->ints.emplace_back());
        case AttrType::Floats: return parseFloat(&a->floats.emplace_back());
        case AttrType::Strings: return expectString(&a->strings.emplace_back());
        case AttrType::Tensors: return parseTensor(&a->tensors.emplace_back());
        case AttrType::Graphs: return parseRegionAttr(&a->graphs.emplace_back());
        default: return Status::success();
      }
    });
  }

  // {name = value, ...}: each value is read as the type the op table gives that attribute.
  Status parseAttrs(Op* op) {
    std::set<std::string> seen;
    return commaList('}', [&]() -> Status {
      if (tok_.kind != Tok::Ident && tok_.kind != Tok::String) return expected("an attribute name");
      Token name = tok_;
      const AttrSpec* spec = op->info().findAttr(name.text);
      if (!spec) return errAt(name, str("unknown attribute '", name.text, "' for ", op->name()));
      if (!seen.insert(name.text).second) return errAt(name, str("duplicate attribute '", name.text, "'"));
      advance();
      DLC_RETURN_IF_ERROR(expectPunct('='));
      if (tok_.kind != Tok::Error && !canStart(spec->type))
        return errAt(tok_, str("attribute '", name.text, "' of ", op->name(), " must be ", attrKindWords(spec->type),
                               ", got ", tok_.describe()));
      Attribute a;
      DLC_RETURN_IF_ERROR(parseAttrValue(spec->type, &a));
      op->setAttr(name.text, std::move(a));
      return Status::success();
    });
  }

  // ---- ops and regions ----
  Status parseOp(Region& region) {
    std::vector<Token> results;
    if (atValue()) {
      for (;;) {
        if (!atValue()) return expected("a result name");
        results.push_back(tok_);
        advance();
        if (!atPunct(',')) break;
        advance();
      }
      DLC_RETURN_IF_ERROR(expectPunct('='));
    }
    if (tok_.kind != Tok::Ident) return expected("an op name");
    Token name = tok_;
    auto kind = opKindByName(name.text);
    if (!kind) return errAt(name, str("unknown op '", name.text, "'"));
    advance();
    DLC_RETURN_IF_ERROR(expectPunct('('));
    std::vector<Value*> operands;
    DLC_RETURN_IF_ERROR(commaList(')', [&]() -> Status { return parseRef(&operands.emplace_back()); }));
    Op* op = region.createOp(*kind, std::move(operands), std::vector<Type>(results.size()));
    if (atPunct('{')) {
      advance();
      DLC_RETURN_IF_ERROR(parseAttrs(op));
    }
    if (atIdent("loc")) {
      advance();
      DLC_RETURN_IF_ERROR(expectPunct('('));
      std::string loc;
      DLC_RETURN_IF_ERROR(expectString(&loc));
      DLC_RETURN_IF_ERROR(expectPunct(')'));
      op->setLocation(std::move(loc));
    }
    if (!results.empty()) {
      if (!atPunct(':')) return expected("':' and the result types");
      Token colon = tok_;
      advance();
      std::vector<Type> types;
      for (;;) {
        DLC_RETURN_IF_ERROR(parseType(&types.emplace_back()));
        if (!atPunct(',')) break;
        advance();
      }
      if (types.size() != results.size())
        return errAt(colon, str(name.text, " has ", results.size(), " results but ", types.size(), " types"));
      for (size_t i = 0; i < types.size(); ++i) op->result(static_cast<int>(i))->setType(std::move(types[i]));
    }
    // Results become visible only now: the op's own regions cannot use them.
    for (size_t i = 0; i < results.size(); ++i) DLC_RETURN_IF_ERROR(define(results[i], op->result(static_cast<int>(i))));
    return Status::success();
  }

  // (%arg: type, ...) { op* return refs }
  Status parseRegion(Region& region) {
    scopes_.emplace_back();
    Status s = parseRegionInScope(region);
    scopes_.pop_back();
    return s;
  }
  Status parseRegionInScope(Region& region) {
    DLC_RETURN_IF_ERROR(expectPunct('('));
    DLC_RETURN_IF_ERROR(commaList(')', [&]() -> Status {
      if (!atValue()) return expected("an argument name");
      Token name = tok_;
      advance();
      DLC_RETURN_IF_ERROR(expectPunct(':'));
      Type t;
      DLC_RETURN_IF_ERROR(parseType(&t));
      return define(name, region.addArgument(std::move(t)));
    }));
    DLC_RETURN_IF_ERROR(expectPunct('{'));
    while (!atIdent("return")) {
      if (tok_.kind == Tok::End || atPunct('}')) return expected("an op or 'return'");
      DLC_RETURN_IF_ERROR(parseOp(region));
    }
    advance();
    std::vector<Value*> outputs;
    if (!atPunct('}')) {
      for (;;) {
        DLC_RETURN_IF_ERROR(parseRef(&outputs.emplace_back()));
        if (!atPunct(',')) break;
        advance();
      }
    }
    region.setOutputs(std::move(outputs));
    return expectPunct('}');
  }

  // graph @name [opsets {"domain" = version, ...}] [producer "..."] (args) { ... }
  Status parseGraph(Graph& g) {
    DLC_RETURN_IF_ERROR(expectIdent("graph"));
    if (tok_.kind != Tok::GraphName) return expected("the graph name (@name)");
    g.name = tok_.text;
    advance();
    if (atIdent("opsets")) {
      advance();
      DLC_RETURN_IF_ERROR(expectPunct('{'));
      DLC_RETURN_IF_ERROR(commaList('}', [&]() -> Status {
        Token at = tok_;
        std::string domain;
        DLC_RETURN_IF_ERROR(expectString(&domain));
        DLC_RETURN_IF_ERROR(expectPunct('='));
        int64_t version;
        DLC_RETURN_IF_ERROR(parseInt(&version));
        if (!g.opset_imports.emplace(domain, version).second)
          return errAt(at, str("duplicate opset for domain ", text::quoteString(domain)));
        return Status::success();
      }));
    }
    if (atIdent("producer")) {
      advance();
      DLC_RETURN_IF_ERROR(expectString(&g.producer));
    }
    DLC_RETURN_IF_ERROR(parseRegion(g.body()));
    if (tok_.kind != Tok::End) return expected("end of input after the graph");
    return Status::success();
  }

  text::Lexer lex_;
  Token tok_;
  std::string source_;
  std::vector<Scope> scopes_;
  int depth_ = 0;
};

}  // namespace

Expected<std::unique_ptr<Graph>> parseGraph(std::string_view text, const std::string& source_name) {
  return Parser(text, source_name).parse();
}

}  // namespace dlc
