// Internal to df_timeseries: tar / gzip reading through libarchive for the GluonTS and LSTNet readers.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace df::timeseries::detail {

struct ArchiveMember {
  std::string path;   // as stored, without a leading "./", e.g. "exchange_rate_nips/train/train.json"
  std::string bytes;  // file content (still compressed if the member itself is a .gz file)
};

// Regular-file members of a tar archive (plain or gzip-compressed) whose path satisfies `keep`, in archive
// order. Throws df::Error naming the archive (and the member) when it cannot be read.
std::vector<ArchiveMember> read_archive_members(const std::string& archive_path,
                                                const std::function<bool(const std::string&)>& keep);

// The content of `path`, gunzipped when it is gzip data. A name ending in ".gz" must hold gzip data.
std::string read_maybe_gzipped_file(const std::string& path);

// The same for bytes already in memory (an archive member); `source` names them in errors and, like a
// file name, requires gzip data when it ends in ".gz".
std::string gunzip_if_needed(std::string_view bytes, const std::string& source);

}  // namespace df::timeseries::detail
