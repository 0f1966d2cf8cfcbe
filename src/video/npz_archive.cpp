#include "df/video/npz_archive.h"

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <vector>

#include "df/core/error.h"
#include "df/data/npy.h"

namespace df::video {
namespace {

using ReadArchive = std::unique_ptr<archive, decltype(&archive_read_free)>;
using WriteArchive = std::unique_ptr<archive, decltype(&archive_write_free)>;

std::string archive_message(archive* a) {
  const char* m = archive_error_string(a);
  return m ? m : "unknown libarchive error";
}

// .npy bytes of a tensor: the header of write_npy, extended to the byte and int32 types of TECO files.
std::string npy_bytes(const torch::Tensor& tensor, const std::string& name) {
  const auto data = tensor.detach().to(torch::kCPU).contiguous();
  std::string descr;
  switch (data.scalar_type()) {
    case torch::kUInt8:
      descr = "|u1";
      break;
    case torch::kBool:
      descr = "|b1";
      break;
    case torch::kInt32:
      descr = "<i4";
      break;
    default:
      break;
  }
  std::string header;
  if (descr.empty()) {
    header = npy_header(data);  // float32, float64, int64 (throws for the rest)
  } else {
    // Same layout as npy_header: build it for a float32 stand-in of the shape, then swap the descr.
    header = npy_header(torch::empty(data.sizes(), torch::kFloat32));
    header.replace(header.find("'<f4'"), 5, "'" + descr + "'");
  }
  check(!header.empty(), "write_npz: " + name + ": cannot encode");
  std::string bytes = header;
  bytes.append(static_cast<const char*>(data.data_ptr()), static_cast<size_t>(data.numel() * data.element_size()));
  return bytes;
}

}  // namespace

std::map<std::string, torch::Tensor> read_npz(const std::string& path) {
  ReadArchive a(archive_read_new(), archive_read_free);
  archive_read_support_format_zip(a.get());
  archive_read_support_filter_all(a.get());
  check(archive_read_open_filename(a.get(), path.c_str(), 1 << 16) == ARCHIVE_OK,
        path + ": cannot open as an .npz (zip) archive: " + archive_message(a.get()));
  std::map<std::string, torch::Tensor> arrays;
  archive_entry* entry = nullptr;
  while (true) {
    const int status = archive_read_next_header(a.get(), &entry);
    if (status == ARCHIVE_EOF) break;
    check(status == ARCHIVE_OK || status == ARCHIVE_WARN,
          path + ": not a readable .npz (zip) archive: " + archive_message(a.get()));
    std::string name = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
    std::string bytes;
    std::vector<char> buffer(1 << 16);
    while (true) {
      const la_ssize_t n = archive_read_data(a.get(), buffer.data(), buffer.size());
      check(n >= 0, path + ": member " + name + ": " + archive_message(a.get()));
      if (n == 0) break;
      bytes.append(buffer.data(), static_cast<size_t>(n));
    }
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    arrays[name] = parse_npy(bytes, path + ":" + name + ".npy");
  }
  return arrays;
}

void write_npz(const std::string& path, const std::map<std::string, torch::Tensor>& arrays, bool compressed) {
  WriteArchive a(archive_write_new(), archive_write_free);
  archive_write_set_format_zip(a.get());
  archive_write_set_options(a.get(), compressed ? "zip:compression=deflate" : "zip:compression=store");
  check(archive_write_open_filename(a.get(), path.c_str()) == ARCHIVE_OK,
        "write_npz: cannot create " + path + ": " + archive_message(a.get()));
  for (const auto& [name, tensor] : arrays) {
    const std::string bytes = npy_bytes(tensor, path + ":" + name);
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(entry.get(), (name + ".npy").c_str());
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(bytes.size()));
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0644);
    check(archive_write_header(a.get(), entry.get()) == ARCHIVE_OK,
          "write_npz: " + path + ": " + name + ": " + archive_message(a.get()));
    check(archive_write_data(a.get(), bytes.data(), bytes.size()) == static_cast<la_ssize_t>(bytes.size()),
          "write_npz: " + path + ": " + name + ": " + archive_message(a.get()));
  }
  check(archive_write_close(a.get()) == ARCHIVE_OK, "write_npz: " + path + ": " + archive_message(a.get()));
}

}  // namespace df::video
