// The fixed 64-byte header in front of a .dlc file's FlatBuffer: magic, version and a checksum.
// The checksum makes accidental corruption (a flipped bit in a weight) an error instead of wrong
// numbers; the FlatBuffers verifier and the semantic checks guard against crafted files.
#pragma once

#include <cstdint>
#include <cstring>

namespace dlc::rt {

constexpr char kFileMagic[8] = {'D', 'L', 'C', 'A', 'R', 'T', '\r', '\n'};
constexpr uint32_t kFormatVersion = 3;     // 2: training state; 3: sparse (Bitmap) weights
constexpr uint32_t kMinFormatVersion = 2;  // the oldest this runtime reads (2 is 3 without encodings)
constexpr size_t kHeaderBytes = 64;  // keeps the FlatBuffer (and its weights) 64-byte aligned

struct FileHeader {
  char magic[8];
  uint32_t format_version;
  uint32_t header_bytes;
  uint64_t body_bytes;     // the FlatBuffer that follows
  uint64_t body_checksum;  // XXH64 (seed 0) of the body
  uint8_t reserved[32];
};
static_assert(sizeof(FileHeader) == kHeaderBytes, "header layout");

// XXH64 of `size` bytes (runtime/src/checksum.cc; the compiler side uses the same function).
uint64_t checksum(const void* data, size_t size);

// The header in front of `size` bytes of FlatBuffer.
inline FileHeader headerFor(const void* body, size_t size) {
  FileHeader h{};
  std::memcpy(h.magic, kFileMagic, sizeof h.magic);
  h.format_version = kFormatVersion;
  h.header_bytes = kHeaderBytes;
  h.body_bytes = size;
  h.body_checksum = checksum(body, size);
  return h;
}

}  // namespace dlc::rt
