// .npz archives: the ZIP container (central directory, ZIP64 fields, stored/deflated members,
// CRC-32) around .npy members.
#include "tools/npz.h"

#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <fstream>

#include "tools/npy.h"

namespace dlc::npz {
namespace {

uint64_t le(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void put(std::string& out, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

struct Member {
  std::string name;
  uint32_t method = 0, crc = 0;
  uint64_t compressed = 0, size = 0, offset = 0;
};

// Reads the ZIP64 extended-information extra field of a central-directory entry: the values whose
// 32-bit fields are saturated, in the order size, compressed size, offset.
bool readZip64(const unsigned char* extra, size_t len, Member& m, bool need_size, bool need_comp, bool need_off) {
  size_t p = 0;
  while (p + 4 <= len) {
    uint32_t id = static_cast<uint32_t>(le(extra + p, 2)), n = static_cast<uint32_t>(le(extra + p + 2, 2));
    if (p + 4 + n > len) return false;
    if (id == 1) {
      size_t q = p + 4, end = p + 4 + n;
      auto take = [&](uint64_t& v) {
        if (q + 8 > end) return false;
        v = le(extra + q, 8);
        q += 8;
        return true;
      };
      return (!need_size || take(m.size)) && (!need_comp || take(m.compressed)) && (!need_off || take(m.offset));
    }
    p += 4 + n;
  }
  return !need_size && !need_comp && !need_off;
}

Expected<std::vector<Member>> centralDirectory(const std::string& data, const std::string& path) {
  auto bad = [&](const std::string& what) { return Status::error(str(path, ": not a valid .npz archive: ", what)); };
  const auto* b = reinterpret_cast<const unsigned char*>(data.data());
  if (data.size() < 22) return bad("too short for a ZIP file");
  // The end-of-central-directory record sits within the last 64 KiB + 22 bytes (its comment).
  size_t eocd = std::string::npos;
  for (size_t i = data.size() - 22 + 1; i-- > 0 && data.size() - i <= 65557;)
    if (le(b + i, 4) == 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd == std::string::npos) return bad("no end-of-central-directory record (truncated?)");
  uint64_t count = le(b + eocd + 10, 2), cd_size = le(b + eocd + 12, 4), cd_offset = le(b + eocd + 16, 4);
  if (count == 0xffff || cd_size == 0xffffffff || cd_offset == 0xffffffff) {
    if (eocd < 20 || le(b + eocd - 20, 4) != 0x07064b50) return bad("ZIP64 locator missing");
    uint64_t rec = le(b + eocd - 20 + 8, 8);
    if (rec + 56 > data.size() || le(b + rec, 4) != 0x06064b50) return bad("ZIP64 end record missing");
    count = le(b + rec + 32, 8);
    cd_size = le(b + rec + 40, 8);
    cd_offset = le(b + rec + 48, 8);
  }
  if (cd_offset > data.size() || cd_size > data.size() - cd_offset) return bad("central directory outside the file");
  std::vector<Member> members;
  size_t p = cd_offset;
  for (uint64_t k = 0; k < count; ++k) {
    if (p + 46 > data.size() || le(b + p, 4) != 0x02014b50) return bad("damaged central directory");
    Member m;
    m.method = static_cast<uint32_t>(le(b + p + 10, 2));
    m.crc = static_cast<uint32_t>(le(b + p + 16, 4));
    m.compressed = le(b + p + 20, 4);
    m.size = le(b + p + 24, 4);
    size_t name_len = le(b + p + 28, 2), extra_len = le(b + p + 30, 2), comment_len = le(b + p + 32, 2);
    m.offset = le(b + p + 42, 4);
    if (p + 46 + name_len + extra_len + comment_len > data.size()) return bad("damaged central directory");
    m.name.assign(data, p + 46, name_len);
    for (char c : m.name)  // names reach messages and array lookups: no line breaks or escapes
      if (static_cast<unsigned char>(c) < 0x20) return bad("a member name holds control characters");
    if (!readZip64(b + p + 46 + name_len, extra_len, m, m.size == 0xffffffff, m.compressed == 0xffffffff,
                   m.offset == 0xffffffff))
      return bad(str("damaged ZIP64 sizes of member '", m.name, "'"));
    members.push_back(m);
    p += 46 + name_len + extra_len + comment_len;
  }
  return members;
}

Expected<std::string> memberBytes(const std::string& data, const Member& m, const std::string& path) {
  auto bad = [&](const std::string& what) { return Status::error(str(path, ": member '", m.name, "': ", what)); };
  const auto* b = reinterpret_cast<const unsigned char*>(data.data());
  if (m.offset + 30 > data.size() || le(b + m.offset, 4) != 0x04034b50) return bad("local header missing");
  uint64_t start = m.offset + 30 + le(b + m.offset + 26, 2) + le(b + m.offset + 28, 2);
  if (start > data.size() || m.compressed > data.size() - start) return bad("data runs past the end of the file (truncated?)");
  if (m.size > (uint64_t{1} << 40)) return bad("larger than 1 TiB");
  std::string out;
  if (m.method == 0) {
    if (m.compressed != m.size) return bad("stored sizes disagree");
    out.assign(data, start, m.size);
  } else if (m.method == 8) {
    // Deflate expands at most ~1032:1, so a larger claimed size is damage, refused before the
    // buffer for it is allocated.
    if (m.size > m.compressed * 1100 + 1024) return bad(str("claims ", m.size, " bytes from ", m.compressed, " deflated ones"));
    out.resize(m.size);
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return bad("zlib failed to start");
    z.next_in = const_cast<Bytef*>(b + start);
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_in = z.avail_out = 0;
    // zlib counts in 32 bits: large members are fed and drained in windows of at most 1 GiB.
    uint64_t in_left = m.compressed, out_left = m.size;
    int rc = Z_OK;
    while (rc == Z_OK) {
      if (z.avail_in == 0 && in_left) {
        uInt n = static_cast<uInt>(std::min<uint64_t>(in_left, 1u << 30));
        z.avail_in = n;
      }
      if (z.avail_out == 0 && out_left) z.avail_out = static_cast<uInt>(std::min<uint64_t>(out_left, 1u << 30));
      uInt before_in = z.avail_in, before_out = z.avail_out;
      rc = inflate(&z, Z_NO_FLUSH);
      in_left -= before_in - z.avail_in;
      out_left -= before_out - z.avail_out;
      if (rc == Z_OK && before_in == z.avail_in && before_out == z.avail_out) rc = Z_BUF_ERROR;
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END || out_left != 0) return bad("deflated data is damaged");
  } else {
    return bad(str("compression method ", m.method, " is not supported (stored or deflated only)"));
  }
  uLong crc = crc32(0L, Z_NULL, 0);
  for (uint64_t off = 0; off < out.size(); off += 1u << 30)
    crc = crc32(crc, reinterpret_cast<const Bytef*>(out.data() + off), static_cast<uInt>(std::min<uint64_t>(out.size() - off, 1u << 30)));
  if (static_cast<uint32_t>(crc) != m.crc) return bad("CRC mismatch (the archive is damaged)");
  return out;
}

}  // namespace

Expected<Arrays> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(str("cannot open '", path, "'"));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse(data, path);
}

Expected<Arrays> parse(const std::string& data, const std::string& path) {
  DLC_ASSIGN_OR_RETURN(std::vector<Member> members, centralDirectory(data, path));
  Arrays arrays;
  for (const Member& m : members) {
    if (m.name.size() < 4 || m.name.compare(m.name.size() - 4, 4, ".npy") != 0)
      return Status::error(str(path, ": member '", m.name, "' is not a .npy array"));
    DLC_ASSIGN_OR_RETURN(std::string bytes, memberBytes(data, m, path));
    DLC_ASSIGN_OR_RETURN(Tensor t, npy::parse(bytes, str(path, ": ", m.name)));
    arrays.emplace_back(m.name.substr(0, m.name.size() - 4), std::move(t));
  }
  return arrays;
}

Status writeFile(const std::string& path, const Arrays& arrays) {
  std::string out, directory;
  for (const auto& [name, t] : arrays) {
    DLC_ASSIGN_OR_RETURN(std::string bytes, npy::serialize(t, path));
    std::string member = name + ".npy";
    if (bytes.size() >= 0xffffffffULL || out.size() >= 0xffffffffULL)
      return Status::error(str("'", path, "': array '", name, "' does not fit a ZIP without ZIP64 (4 GiB)"));
    uint32_t crc = static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
    uint64_t offset = out.size();
    put(out, 0x04034b50, 4);
    put(out, 20, 2);  // version needed
    put(out, 0, 2);   // flags
    put(out, 0, 2);   // stored
    put(out, 0, 4);   // time, date
    put(out, crc, 4);
    put(out, bytes.size(), 4);
    put(out, bytes.size(), 4);
    put(out, member.size(), 2);
    put(out, 0, 2);
    out += member;
    out += bytes;
    put(directory, 0x02014b50, 4);
    put(directory, 20, 2);
    put(directory, 20, 2);
    put(directory, 0, 2);
    put(directory, 0, 2);
    put(directory, 0, 4);
    put(directory, crc, 4);
    put(directory, bytes.size(), 4);
    put(directory, bytes.size(), 4);
    put(directory, member.size(), 2);
    put(directory, 0, 2);  // extra
    put(directory, 0, 2);  // comment
    put(directory, 0, 2);  // disk
    put(directory, 0, 2);  // internal attributes
    put(directory, 0, 4);  // external attributes
    put(directory, offset, 4);
    directory += member;
  }
  uint64_t cd_offset = out.size();
  out += directory;
  put(out, 0x06054b50, 4);
  put(out, 0, 4);
  put(out, arrays.size(), 2);
  put(out, arrays.size(), 2);
  put(out, directory.size(), 4);
  put(out, cd_offset, 4);
  put(out, 0, 2);
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return Status::error(str("cannot write '", tmp, "'"));
    f.write(out.data(), static_cast<std::streamsize>(out.size()));
    if (!f) {
      std::remove(tmp.c_str());
      return Status::error(str("cannot write '", tmp, "'"));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status::error(str("cannot replace '", path, "'"));
  }
  return Status::success();
}

}  // namespace dlc::npz
