// The weight layout of MatMulNBits (ir/ops.def): W [N, K] as `bits`-bit codes in blocks of
// `block_size` along K, each block with its own scale and zero point. One description, read by the
// quantizer that writes it, the reference kernel and the exporter's checks.
#pragma once

#include <cstdint>

namespace dlc::nbits {

struct Layout {
  int64_t k = 0, n = 0, bits = 4, block = 128;

  int64_t blocks() const { return (k + block - 1) / block; }  // per row of W (the last one zero-padded)
  int64_t blobBytes() const { return block * bits / 8; }       // one block's codes
  int64_t rowBytes() const { return blocks() * blobBytes(); }  // one row of W: B is [N, blocks, blob]
  int64_t zeroPointRowBytes() const { return (blocks() * bits + 7) / 8; }  // packed u8 zero points per row
  int defaultZeroPoint() const { return 1 << (bits - 1); }
  int maxCode() const { return (1 << bits) - 1; }
};

// Code i of a packed row (4-bit: two per byte, element 2j in the low nibble of byte j).
inline int code(const uint8_t* row, int64_t i, int64_t bits) {
  if (bits == 8) return row[i];
  const uint8_t b = row[i >> 1];
  return (i & 1) ? (b >> 4) : (b & 0xF);
}

inline void setCode(uint8_t* row, int64_t i, int64_t bits, int v) {
  if (bits == 8) {
    row[i] = static_cast<uint8_t>(v);
    return;
  }
  uint8_t& b = row[i >> 1];
  b = (i & 1) ? static_cast<uint8_t>((b & 0x0F) | (v << 4)) : static_cast<uint8_t>((b & 0xF0) | (v & 0xF));
}

}  // namespace dlc::nbits
