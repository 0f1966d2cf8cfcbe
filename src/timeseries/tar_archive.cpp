#include "df/timeseries/tar_archive.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>

#include "df/core/error.h"

namespace df::timeseries {
namespace {

constexpr size_t kBlock = 512;

// Streams bytes out of a gzFile (which also passes uncompressed files through).
class GzStream {
 public:
  explicit GzStream(const std::string& path) : path_(path), file_(gzopen(path.c_str(), "rb"), gzclose) {
    check(file_ != nullptr, path + ": cannot open archive: " + std::strerror(errno));
    gzbuffer(file_.get(), 1 << 17);
  }

  // Reads exactly `n` bytes into `out`; returns false at a clean end of file before any byte.
  bool read(char* out, size_t n, const std::string& what) {
    size_t done = 0;
    while (done < n) {
      const int got = gzread(file_.get(), out + done, static_cast<unsigned>(std::min<size_t>(n - done, 1u << 30)));
      if (got < 0) {
        int code = 0;
        throw Error(path_ + ": read error in " + what + ": " + gzerror(file_.get(), &code));
      }
      if (got == 0) {
        if (done == 0) return false;
        throw Error(path_ + ": truncated archive in " + what);
      }
      done += static_cast<size_t>(got);
    }
    return true;
  }

  void skip(size_t n, const std::string& what) {
    char buffer[1 << 15];
    while (n > 0) {
      const size_t step = std::min(n, sizeof(buffer));
      if (!read(buffer, step, what)) throw Error(path_ + ": truncated archive in " + what);
      n -= step;
    }
  }

 private:
  std::string path_;
  std::unique_ptr<gzFile_s, int (*)(gzFile)> file_;
};

std::string field_string(const char* field, size_t width) {
  return std::string(field, strnlen(field, width));
}

// Numeric header fields are NUL/space-terminated octal, or base-256 when the top bit is set (GNU).
uint64_t field_number(const char* field, size_t width, const std::string& where) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(field);
  if (bytes[0] & 0x80) {
    uint64_t value = bytes[0] & 0x7f;
    for (size_t i = 1; i < width; ++i) value = (value << 8) | bytes[i];
    return value;
  }
  uint64_t value = 0;
  size_t i = 0;
  while (i < width && field[i] == ' ') ++i;
  for (; i < width && field[i] >= '0' && field[i] <= '7'; ++i) value = value * 8 + static_cast<uint64_t>(field[i] - '0');
  check(i == width || field[i] == '\0' || field[i] == ' ', where + ": bad octal number in tar header");
  return value;
}

bool header_checksum_ok(const char* header) {
  uint64_t sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    const bool in_checksum_field = i >= 148 && i < 156;
    sum += in_checksum_field ? static_cast<unsigned char>(' ') : static_cast<unsigned char>(header[i]);
  }
  const uint64_t stored = field_number(header + 148, 8, "checksum");
  return sum == stored;
}

// pax records: "<length> <key>=<value>\n"; we only need "path" and "size".
void parse_pax(const std::string& data, std::string& path, uint64_t& size, bool& has_size, const std::string& where) {
  size_t pos = 0;
  while (pos < data.size()) {
    const size_t space = data.find(' ', pos);
    check(space != std::string::npos, where + ": malformed pax record");
    const uint64_t length = std::stoull(data.substr(pos, space - pos));
    check(length > 0 && pos + length <= data.size(), where + ": malformed pax record length");
    const std::string record = data.substr(space + 1, pos + length - space - 2);  // drop '\n'
    const size_t equals = record.find('=');
    if (equals != std::string::npos) {
      const std::string key = record.substr(0, equals);
      const std::string value = record.substr(equals + 1);
      if (key == "path") path = value;
      if (key == "size") {
        size = std::stoull(value);
        has_size = true;
      }
    }
    pos += length;
  }
}

size_t padded(uint64_t size) { return static_cast<size_t>((size + kBlock - 1) / kBlock * kBlock); }

}  // namespace

std::vector<TarMember> read_tar_members(const std::string& archive_path,
                                        const std::function<bool(const std::string&)>& keep) {
  GzStream stream(archive_path);
  std::vector<TarMember> members;
  std::string next_path;  // from a pax 'x' or GNU 'L' header, applies to the next member only
  uint64_t next_size = 0;
  bool next_has_size = false;
  char header[kBlock];
  int64_t member_index = 0;
  while (stream.read(header, kBlock, "header of member " + std::to_string(member_index))) {
    const bool all_zero = std::all_of(header, header + kBlock, [](char c) { return c == '\0'; });
    if (all_zero) break;  // end-of-archive marker
    const std::string where = archive_path + ": member " + std::to_string(member_index);
    check(header_checksum_ok(header), where + ": tar header checksum mismatch (not a tar archive or corrupt)");
    std::string name = field_string(header, 100);
    const std::string magic = field_string(header + 257, 6);
    if (magic.rfind("ustar", 0) == 0) {
      const std::string prefix = field_string(header + 345, 155);
      if (!prefix.empty()) name = prefix + "/" + name;
    }
    uint64_t size = field_number(header + 124, 12, where);
    const char type = header[156];

    if (type == 'x' || type == 'g' || type == 'L') {
      std::string data(padded(size), '\0');
      stream.read(data.data(), data.size(), where + " (extended header)");
      data.resize(size);
      if (type == 'x') parse_pax(data, next_path, next_size, next_has_size, where);
      if (type == 'L') next_path = field_string(data.data(), data.size());
      ++member_index;
      continue;  // 'g' (global) records carry nothing we need
    }
    if (!next_path.empty()) name = next_path;
    if (next_has_size) size = next_size;
    next_path.clear();
    next_has_size = false;
    while (name.rfind("./", 0) == 0) name = name.substr(2);

    const bool regular_file = type == '0' || type == '\0' || type == '7';
    if (regular_file && keep(name)) {
      TarMember member{name, std::string(size, '\0')};
      stream.read(member.bytes.data(), size, archive_path + ": member '" + name + "'");
      stream.skip(padded(size) - size, archive_path + ": member '" + name + "'");
      members.push_back(std::move(member));
    } else if (type != '1' && type != '2' && type != '3' && type != '4' && type != '5' && type != '6') {
      stream.skip(padded(size), archive_path + ": member '" + name + "'");  // unwanted file content
    }
    ++member_index;
  }
  return members;
}

}  // namespace df::timeseries
