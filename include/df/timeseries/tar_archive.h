// Reads the regular-file members of a (gzipped) tar archive: POSIX ustar with pax extended headers
// ('x'/'g', e.g. the SCHILY.* records macOS tar writes) and GNU long names ('L'). Our own reader, so
// that datasets load without shelling out to `tar`.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace df::timeseries {

struct TarMember {
  std::string path;   // member path as stored, e.g. "exchange_rate_nips/train/train.json"
  std::string bytes;  // file content
};

// Members of `archive_path` (gzip-compressed or plain tar) whose path satisfies `keep`, in archive
// order; directories, links and skipped members are not returned. Throws df::Error naming the archive
// and the member on a corrupt header or truncated data.
std::vector<TarMember> read_tar_members(const std::string& archive_path,
                                        const std::function<bool(const std::string&)>& keep);

}  // namespace df::timeseries
