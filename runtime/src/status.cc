// Status objects, message formatting, the default allocator and dtype sizes of the C API.
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "runtime/src/internal.h"

struct dlc_status_t {
  dlc_status_code code;
  std::string message;
};

namespace dlc::rt {

dlc_status makeStatus(dlc_status_code code, std::string message) {
  // One line, whatever a file put into a name it quotes (principle 7: say what and where).
  for (char& c : message)
    if (static_cast<unsigned char>(c) < 0x20) c = c == '\n' ? ' ' : '?';
  auto* s = new (std::nothrow) dlc_status_t{code, std::move(message)};
  // Out of memory while reporting: a static status carries the code (never freed, see below).
  static dlc_status_t oom{DLC_OUT_OF_MEMORY, "out of memory"};
  return s ? s : &oom;
}

std::string format(const char* fmt, ...) {
  char buffer[512];
  va_list args;
  va_start(args, fmt);
  int n = vsnprintf(buffer, sizeof buffer, fmt, args);
  va_end(args);
  if (n < 0) return "?";
  if (static_cast<size_t>(n) < sizeof buffer) return std::string(buffer, static_cast<size_t>(n));
  std::string out(static_cast<size_t>(n), '\0');
  va_start(args, fmt);
  vsnprintf(out.data(), out.size() + 1, fmt, args);
  va_end(args);
  return out;
}

namespace {
void* mallocAligned(void*, size_t size, size_t alignment) {
  if (alignment < sizeof(void*)) alignment = sizeof(void*);
  size = (size + alignment - 1) / alignment * alignment;  // aligned_alloc wants a multiple
  return aligned_alloc(alignment, size ? size : alignment);
}
void freeAligned(void*, void* p) { free(p); }
}  // namespace

const dlc_allocator& defaultAllocator() {
  static const dlc_allocator a{nullptr, mallocAligned, freeAligned};
  return a;
}

uint64_t dtypeBytes(int32_t dtype, uint64_t count, bool* ok) {
  *ok = true;
  switch (dtype) {
    case DLC_DTYPE_U8: case DLC_DTYPE_I8: case DLC_DTYPE_BOOL: return count;
    case DLC_DTYPE_U16: case DLC_DTYPE_I16: case DLC_DTYPE_F16: case DLC_DTYPE_BF16: return count * 2;
    case DLC_DTYPE_F32: case DLC_DTYPE_I32: case DLC_DTYPE_U32: return count * 4;
    case DLC_DTYPE_F64: case DLC_DTYPE_I64: case DLC_DTYPE_U64: return count * 8;
    case DLC_DTYPE_U4: case DLC_DTYPE_I4: return (count + 1) / 2;
    default: *ok = false; return 0;
  }
}

}  // namespace dlc::rt

using namespace dlc::rt;

extern "C" {

dlc_status_code dlc_status_code_get(dlc_status status) { return status ? status->code : DLC_OK; }
const char* dlc_status_message(dlc_status status) { return status ? status->message.c_str() : ""; }
void dlc_status_free(dlc_status status) {
  if (status && !(status->code == DLC_OUT_OF_MEMORY && status->message == "out of memory")) delete status;
}

const char* dlc_dtype_name(int32_t dtype) {
  switch (dtype) {
    case DLC_DTYPE_F32: return "f32";
    case DLC_DTYPE_U8: return "u8";
    case DLC_DTYPE_I8: return "i8";
    case DLC_DTYPE_U16: return "u16";
    case DLC_DTYPE_I16: return "i16";
    case DLC_DTYPE_I32: return "i32";
    case DLC_DTYPE_I64: return "i64";
    case DLC_DTYPE_BOOL: return "bool";
    case DLC_DTYPE_F16: return "f16";
    case DLC_DTYPE_F64: return "f64";
    case DLC_DTYPE_U32: return "u32";
    case DLC_DTYPE_U64: return "u64";
    case DLC_DTYPE_BF16: return "bf16";
    case DLC_DTYPE_U4: return "u4";
    case DLC_DTYPE_I4: return "i4";
    default: return "?";
  }
}

}  // extern "C"
