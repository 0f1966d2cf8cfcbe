#include "df/planning/d4rl_hdf5.h"

#include <hdf5.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "df/core/atomic_file.h"
#include "df/core/error.h"

namespace df::planning {

namespace {

// Owns one HDF5 identifier and closes it with the matching H5?close function.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~Handle() {
    if (id_ >= 0) closer_(id_);
  }
  Handle(Handle&& other) noexcept : id_(other.id_), closer_(other.closer_) { other.id_ = -1; }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle& operator=(Handle&&) = delete;
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_;
  Closer closer_;
};

// HDF5 prints its error stack to stderr by default; our errors are thrown as df::Error instead, so the
// printing is switched off while one of our calls runs and restored afterwards.
class QuietHdf5Errors {
 public:
  QuietHdf5Errors() {
    H5Eget_auto2(H5E_DEFAULT, &function_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietHdf5Errors() { H5Eset_auto2(H5E_DEFAULT, function_, data_); }
  QuietHdf5Errors(const QuietHdf5Errors&) = delete;
  QuietHdf5Errors& operator=(const QuietHdf5Errors&) = delete;

 private:
  H5E_auto2_t function_ = nullptr;
  void* data_ = nullptr;
};

// h5py stores numpy bools as an int8 enum {FALSE: 0, TRUE: 1}; writing the same type keeps files
// interchangeable.
Handle make_bool_type() {
  Handle type(H5Tenum_create(H5T_NATIVE_INT8), H5Tclose);
  const signed char no = 0;
  const signed char yes = 1;
  H5Tenum_insert(type.get(), "FALSE", &no);
  H5Tenum_insert(type.get(), "TRUE", &yes);
  return type;
}

void write_array(hid_t file, const std::string& path, const std::string& key, hid_t file_type, hid_t memory_type,
                 const void* data, hsize_t rows, hsize_t cols, bool compress) {
  const int rank = cols == 0 ? 1 : 2;
  const hsize_t dims[2] = {rows, cols};
  Handle space(H5Screate_simple(rank, dims, nullptr), H5Sclose);
  Handle link_props(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(link_props.get(), 1);  // "infos/goal" creates the "infos" group
  Handle create_props(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  if (compress && rows > 0 && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) {
    const hsize_t chunk[2] = {std::min<hsize_t>(rows, 16384), cols};
    H5Pset_chunk(create_props.get(), rank, chunk);
    H5Pset_deflate(create_props.get(), 4);
  }
  Handle dataset(H5Dcreate2(file, key.c_str(), file_type, space.get(), link_props.get(), create_props.get(),
                            H5P_DEFAULT),
                 H5Dclose);
  check(dataset.valid(), "write_d4rl_hdf5: cannot create dataset '" + key + "' in " + path);
  check(H5Dwrite(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0,
        "write_d4rl_hdf5: writing dataset '" + key + "' to " + path + " failed");
}

bool link_exists(hid_t file, const std::string& key) {
  // H5Lexists fails (rather than answering false) when an intermediate group is missing: check each level.
  std::size_t pos = 0;
  while (true) {
    pos = key.find('/', pos + 1);
    const std::string prefix = key.substr(0, pos);
    if (H5Lexists(file, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (pos == std::string::npos) return true;
  }
}

std::string shape_string(const std::vector<hsize_t>& dims) {
  std::string s = "(";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i) s.append(", ");
    s.append(std::to_string(dims[i]));
  }
  s.append(dims.size() == 1 ? ",)" : ")");
  return s;
}

// Opens `key`, checks its shape against [rows?, cols] (cols 0 = a vector; a trailing 1 is accepted) and
// returns the number of rows.
struct OpenedArray {
  Handle dataset;
  hsize_t rows = 0;
};

OpenedArray open_array(hid_t file, const std::string& path, const std::string& key, hsize_t cols) {
  check(link_exists(file, key), "read_d4rl_hdf5: " + path + " has no dataset '" + key + "'");
  OpenedArray out{Handle(H5Dopen2(file, key.c_str(), H5P_DEFAULT), H5Dclose)};
  check(out.dataset.valid(), "read_d4rl_hdf5: cannot open '" + key + "' in " + path);
  Handle space(H5Dget_space(out.dataset.get()), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  const bool vector_ok = cols == 0 && (rank == 1 || (rank == 2 && dims[1] == 1));
  const bool matrix_ok = cols > 0 && rank == 2 && dims[1] == cols;
  check(vector_ok || matrix_ok, "read_d4rl_hdf5: '" + key + "' in " + path + " has shape " + shape_string(dims) +
                                    ", expected " + (cols == 0 ? "(N,)" : "(N, " + std::to_string(cols) + ")"));
  out.rows = dims[0];
  return out;
}

std::vector<float> read_floats(hid_t file, const std::string& path, const std::string& key, hsize_t cols,
                               hsize_t expected_rows) {
  OpenedArray array = open_array(file, path, key, cols);
  check(array.rows == expected_rows, "read_d4rl_hdf5: '" + key + "' in " + path + " has " +
                                         std::to_string(array.rows) + " rows, 'observations' has " +
                                         std::to_string(expected_rows));
  std::vector<float> values(static_cast<std::size_t>(array.rows * std::max<hsize_t>(cols, 1)));
  check(H5Dread(array.dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0,
        "read_d4rl_hdf5: '" + key + "' in " + path + " is not numeric");
  return values;
}

std::vector<std::uint8_t> read_flags(hid_t file, const std::string& path, const std::string& key,
                                     hsize_t expected_rows) {
  OpenedArray array = open_array(file, path, key, 0);
  check(array.rows == expected_rows, "read_d4rl_hdf5: '" + key + "' in " + path + " has " +
                                         std::to_string(array.rows) + " rows, 'observations' has " +
                                         std::to_string(expected_rows));
  std::vector<std::uint8_t> values(static_cast<std::size_t>(array.rows));
  Handle file_type(H5Dget_type(array.dataset.get()), H5Tclose);
  herr_t status = -1;
  if (H5Tget_class(file_type.get()) == H5T_ENUM) {
    // h5py booleans: read the enum as stored (1-byte 0/1); HDF5 has no enum -> integer conversion.
    Handle memory_type(H5Tget_native_type(file_type.get(), H5T_DIR_ASCEND), H5Tclose);
    check(H5Tget_size(memory_type.get()) == 1,
          "read_d4rl_hdf5: '" + key + "' in " + path + " is an enum wider than one byte");
    status = H5Dread(array.dataset.get(), memory_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
  } else {
    status = H5Dread(array.dataset.get(), H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
  }
  check(status >= 0, "read_d4rl_hdf5: '" + key + "' in " + path + " is neither boolean nor numeric");
  for (auto& v : values) v = v != 0 ? 1 : 0;
  return values;
}

}  // namespace

namespace {

void write_d4rl_hdf5_file(const D4rlDataset& dataset, const std::string& path, bool compress) {
  QuietHdf5Errors quiet;
  Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  check(file.valid(), "write_d4rl_hdf5: cannot create " + path);
  const hsize_t n = dataset.size();
  const hid_t f32 = H5T_IEEE_F32LE;
  write_array(file.get(), path, "observations", f32, H5T_NATIVE_FLOAT, dataset.observations.data(), n, 4, compress);
  write_array(file.get(), path, "actions", f32, H5T_NATIVE_FLOAT, dataset.actions.data(), n, 2, compress);
  write_array(file.get(), path, "rewards", f32, H5T_NATIVE_FLOAT, dataset.rewards.data(), n, 0, compress);
  Handle bool_type = make_bool_type();
  write_array(file.get(), path, "terminals", bool_type.get(), bool_type.get(), dataset.terminals.data(), n, 0,
              compress);
  if (!dataset.timeouts.empty()) {
    write_array(file.get(), path, "timeouts", bool_type.get(), bool_type.get(), dataset.timeouts.data(), n, 0,
                compress);
  }
  if (!dataset.goals.empty()) {
    write_array(file.get(), path, "infos/goal", f32, H5T_NATIVE_FLOAT, dataset.goals.data(), n, 2, compress);
  }
  if (!dataset.qpos.empty()) {
    write_array(file.get(), path, "infos/qpos", f32, H5T_NATIVE_FLOAT, dataset.qpos.data(), n, 2, compress);
  }
  if (!dataset.qvel.empty()) {
    write_array(file.get(), path, "infos/qvel", f32, H5T_NATIVE_FLOAT, dataset.qvel.data(), n, 2, compress);
  }
}

}  // namespace

void write_d4rl_hdf5(const D4rlDataset& dataset, const std::string& path, bool compress) {
  dataset.check_consistent("write_d4rl_hdf5(" + path + ")");
  // Atomically: a reader (another run sharing a dataset cache) sees the old file or the whole new one, never a
  // half-written one, even when two runs write it at once or one is killed while writing.
  write_file_atomically(path, [&](const std::string& temp) { write_d4rl_hdf5_file(dataset, temp, compress); });
}

D4rlDataset read_d4rl_hdf5(const std::string& path) {
  check(std::filesystem::exists(path), "read_d4rl_hdf5: file " + path + " does not exist");
  QuietHdf5Errors quiet;
  check(H5Fis_hdf5(path.c_str()) > 0, "read_d4rl_hdf5: " + path + " is not an HDF5 file");
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  check(file.valid(), "read_d4rl_hdf5: cannot open " + path);

  D4rlDataset data;
  const hsize_t n = open_array(file.get(), path, "observations", 4).rows;
  data.observations = read_floats(file.get(), path, "observations", 4, n);
  data.actions = read_floats(file.get(), path, "actions", 2, n);
  data.rewards = read_floats(file.get(), path, "rewards", 0, n);
  data.terminals = read_flags(file.get(), path, "terminals", n);
  if (link_exists(file.get(), "timeouts")) data.timeouts = read_flags(file.get(), path, "timeouts", n);
  if (link_exists(file.get(), "infos/goal")) data.goals = read_floats(file.get(), path, "infos/goal", 2, n);
  if (link_exists(file.get(), "infos/qpos")) data.qpos = read_floats(file.get(), path, "infos/qpos", 2, n);
  if (link_exists(file.get(), "infos/qvel")) data.qvel = read_floats(file.get(), path, "infos/qvel", 2, n);
  return data;
}

}  // namespace df::planning
