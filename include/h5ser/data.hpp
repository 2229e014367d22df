// h5ser/data.hpp: large arrays of rows (training data, activations, logs): appendable chunked
// datasets, read a row range or any batch of rows without reading the rest.
//
//     auto file = h5ser::data_file::create("train.h5");
//     auto images = file.create_rows<float, 2>("images", {28, 28});    // rows of 28x28
//     images.append(batch);                                             // tensor<float, 3> (n, 28, 28)
//     auto first_100 = images.read(0, 100);                             // tensor<float, 3>
//     auto picked = images.read_rows(std::vector<std::size_t>{7, 3, 900});
//     for (const auto& b : images.batches(64)) train(b);
//
//     struct Sample { std::int64_t id; float loss; bool kept; };       // a record: numpy structured array
//     auto log = file.create_rows<Sample>("log");
//     log.append_row(Sample{1, 0.5f, true});
//
// Rows are stored chunked with an unlimited first dimension (about 256 KiB per chunk unless
// rows_per_chunk says otherwise), so a read touches only the chunks holding the requested rows.
// Data files are modified in place: unlike model saves they are not atomic and carry no seal.
#pragma once

#include <hdf5.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <numeric>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "h5ser/detail/hdf5/dataset.hpp"
#include "h5ser/detail/hdf5/dtype.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/hdf5/records.hpp"
#include "h5ser/detail/posix/file.hpp"
#include "h5ser/element_type.hpp"
#include "h5ser/reflect.hpp"
#include "h5ser/storage_policy.hpp"
#include "h5ser/tensor.hpp"

namespace h5ser {

/// Rows of `T` (an element type, with rows of RowRank dimensions, or a record struct with RowRank 0)
/// in one chunked dataset whose first dimension grows.
template <class T, std::size_t RowRank = 0>
class row_dataset {
    static_assert(element_type<T> || detail::is_record<T>(),
                  "h5ser::row_dataset<T>: T must be an element type (float, int32_t, ...) or a record: an aggregate "
                  "struct whose fields are element types or std::arrays of them");
    static_assert(element_type<T> || RowRank == 0, "h5ser::row_dataset: record rows have RowRank 0");

public:
    using row_shape_type = std::array<std::size_t, RowRank>;
    /// Batches are tensors (rows first) for element types, vectors for records.
    using batch_type = std::conditional_t<element_type<T>, tensor<T, RowRank + 1>, std::vector<T>>;

    [[nodiscard]] std::size_t size() const { return extent()[0]; }
    [[nodiscard]] const row_shape_type& row_shape() const noexcept { return row_shape_; }
    [[nodiscard]] std::size_t row_elements() const noexcept {
        return std::accumulate(row_shape_.begin(), row_shape_.end(), std::size_t{1}, std::multiplies<>());
    }
    [[nodiscard]] const std::string& path() const noexcept { return at_.h5; }

    /// Appends `rows` rows from contiguous memory (rows x row elements).
    void append(const T* data, std::size_t rows) {
        if (rows == 0) return;
        detail::hdf5_scope hdf5;
        auto dims = extent();
        const hsize_t first = dims[0];
        dims[0] += rows;
        detail::check(H5Dset_extent(dataset_.get(), dims.data()), at_, "cannot extend dataset");
        select(first, rows, [&](hid_t memory, hid_t file) {
            detail::check(H5Dwrite(dataset_.get(), memory_type_.get(), memory, file, H5P_DEFAULT, data), at_, "cannot append rows");
        });
    }
    /// Appends a batch whose shape is (rows, row_shape...).
    void append(const batch_type& batch) requires element_type<T> {
        if (!std::equal(row_shape_.begin(), row_shape_.end(), batch.shape().begin() + 1)) {
            std::array<std::size_t, RowRank + 1> want{};
            want[0] = batch.shape()[0];
            std::copy(row_shape_.begin(), row_shape_.end(), want.begin() + 1);
            throw error(std::string(at_.file), problem{errc::shape_mismatch,
                                                       {},
                                                       at_.h5,
                                                       "rows " + detail::shape_text(dtype_name<T>(), want),
                                                       detail::shape_text(dtype_name<T>(), batch.shape()),
                                                       {}});
        }
        append(batch.data(), batch.shape()[0]);
    }
    void append(const batch_type& batch) requires(!element_type<T>) { append(batch.data(), batch.size()); }
    /// Appends one row: a tensor of the row shape (element types) or a record.
    template <class Row>
    void append_row(const Row& row) {
        if constexpr (element_type<T> && RowRank > 0) {
            static_assert(std::is_same_v<Row, tensor<T, RowRank>>, "append_row takes an h5ser::tensor<T, RowRank>");
            if (row.shape() != row_shape_) {
                throw error(std::string(at_.file), problem{errc::shape_mismatch,
                                                           {},
                                                           at_.h5,
                                                           "a row " + detail::shape_text(dtype_name<T>(), row_shape_),
                                                           detail::shape_text(dtype_name<T>(), row.shape()),
                                                           {}});
            }
            append(row.data(), 1);
        } else {
            static_assert(std::is_same_v<Row, T>, "append_row takes one row of T");
            append(&row, 1);
        }
    }

    /// Reads rows [first, first + count) into `out`, which holds count x row elements.
    void read(std::size_t first, std::size_t count, T* out) const {
        detail::hdf5_scope hdf5;
        check_range(first, count);
        if (count == 0) return;
        select(first, count, [&](hid_t memory, hid_t file) {
            detail::check(H5Dread(dataset_.get(), memory_type_.get(), memory, file, H5P_DEFAULT, out), at_, "cannot read rows");
        });
    }
    [[nodiscard]] batch_type read(std::size_t first, std::size_t count) const {
        check_range(first, count);
        batch_type batch = make_batch(count);
        read(first, count, batch.data());
        return batch;
    }

    /// Reads the rows at `indices` (any order, repeats allowed) into `out`, in that order. Only the
    /// chunks holding those rows are read.
    void read_rows(const std::vector<std::size_t>& indices, T* out) const {
        detail::hdf5_scope hdf5;
        const std::size_t rows = size();
        for (std::size_t i : indices)
            if (i >= rows) check_range(i, 1);
        std::vector<std::size_t> order(indices.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return indices[a] < indices[b]; });
        // Runs of consecutive rows, read in file order into a staging area, then placed as asked.
        std::vector<std::size_t> unique;
        for (std::size_t k : order)
            if (unique.empty() || unique.back() != indices[k]) unique.push_back(indices[k]);
        std::vector<T> staged(unique.size() * row_elements());
        std::size_t done = 0;
        for (std::size_t begin = 0; begin < unique.size();) {
            std::size_t end = begin + 1;
            while (end < unique.size() && unique[end] == unique[end - 1] + 1) ++end;
            read(unique[begin], end - begin, staged.data() + done * row_elements());
            done += end - begin;
            begin = end;
        }
        const std::size_t row_bytes = row_elements() * sizeof(T);
        for (std::size_t k = 0; k < indices.size(); ++k) {
            const auto pos = static_cast<std::size_t>(std::lower_bound(unique.begin(), unique.end(), indices[k]) - unique.begin());
            std::memcpy(static_cast<void*>(out + k * row_elements()), staged.data() + pos * row_elements(), row_bytes);
        }
    }
    [[nodiscard]] batch_type read_rows(const std::vector<std::size_t>& indices) const {
        batch_type batch = make_batch(indices.size());
        read_rows(indices, batch.data());
        return batch;
    }

    /// Consecutive batches of `rows` rows (the last may be shorter), read as iterated.
    class batch_range {
    public:
        struct sentinel {};
        class iterator {
        public:
            iterator(const row_dataset* d, std::size_t rows, std::size_t at) : data_(d), rows_(rows), at_(at) { load(); }
            const batch_type& operator*() const noexcept { return batch_; }
            iterator& operator++() {
                at_ += rows_;
                load();
                return *this;
            }
            bool operator==(sentinel) const noexcept { return at_ >= total_; }

        private:
            void load() {
                total_ = data_->size();
                if (at_ < total_) batch_ = data_->read(at_, std::min(rows_, total_ - at_));
            }
            const row_dataset* data_;
            std::size_t rows_, at_, total_ = 0;
            batch_type batch_;
        };
        batch_range(const row_dataset* d, std::size_t rows) : data_(d), rows_(rows == 0 ? 1 : rows) {}
        iterator begin() const { return iterator(data_, rows_, 0); }
        sentinel end() const noexcept { return {}; }

    private:
        const row_dataset* data_;
        std::size_t rows_;
    };
    [[nodiscard]] batch_range batches(std::size_t rows) const { return batch_range(this, rows); }

private:
    friend class data_file;
    row_dataset(detail::handle dataset, row_shape_type shape, detail::where at)
        : dataset_(std::move(dataset)), row_shape_(shape), at_(std::move(at)) {
        if constexpr (element_type<T>) memory_type_ = detail::memory_type<T>(at_);
        else memory_type_ = detail::record_type<T>(false, at_);
    }

    [[nodiscard]] std::array<hsize_t, RowRank + 1> extent() const {
        detail::handle space = detail::checked(H5Dget_space(dataset_.get()), at_, "H5Dget_space");
        std::array<hsize_t, RowRank + 1> dims{};
        H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
        return dims;
    }
    void check_range(std::size_t first, std::size_t count) const {
        const std::size_t rows = size();
        if (first > rows || count > rows - first) {
            throw error(std::string(at_.file), problem{errc::invalid_value,
                                                       {},
                                                       at_.h5,
                                                       "rows within [0, " + std::to_string(rows) + ")",
                                                       "rows [" + std::to_string(first) + ", " + std::to_string(first + count) + ")",
                                                       {}});
        }
    }
    batch_type make_batch(std::size_t rows) const {
        if constexpr (element_type<T>) {
            std::array<std::size_t, RowRank + 1> shape{};
            shape[0] = rows;
            std::copy(row_shape_.begin(), row_shape_.end(), shape.begin() + 1);
            return batch_type(shape, uninitialized);
        } else {
            return batch_type(rows);
        }
    }
    // Selects rows [first, first + count) in the file and a matching memory space.
    template <class F>
    void select(std::size_t first, std::size_t count, F&& io) const {
        detail::handle file_space = detail::checked(H5Dget_space(dataset_.get()), at_, "H5Dget_space");
        std::array<hsize_t, RowRank + 1> start{}, counts{};
        start[0] = first;
        counts[0] = count;
        for (std::size_t i = 0; i < RowRank; ++i) counts[i + 1] = row_shape_[i];
        detail::check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, counts.data(), nullptr), at_,
                      "H5Sselect_hyperslab");
        detail::handle memory_space = detail::checked(H5Screate_simple(RowRank + 1, counts.data(), nullptr), at_, "H5Screate_simple");
        io(memory_space.get(), file_space.get());
    }

    detail::handle dataset_;
    row_shape_type row_shape_;
    detail::where at_;
    detail::handle memory_type_;
};

/// An HDF5 file of row datasets, opened for appending and reading.
class data_file {
public:
    /// Creates (or truncates) `path`.
    static data_file create(const std::string& path) {
        detail::hdf5_scope hdf5;
        const detail::where at{path, {}, "/"};
        detail::handle fapl = detail::writer_file_access(at);
        const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get());
        if (id < 0) detail::throw_hdf5(at, "cannot create data file", errc::io);
        return data_file(detail::handle(id), path);
    }
    /// Opens an existing data file, for appending unless `writable` is false.
    static data_file open(const std::string& path, bool writable = true) {
        detail::hdf5_scope hdf5;
        if (!writable) return data_file(detail::open_for_reading(path, false), path);
        detail::handle probe = detail::open_for_reading(path, false);  // the usual "not found / not HDF5" errors
        probe.reset();
        const detail::where at{path, {}, "/"};
        detail::handle fapl = detail::writer_file_access(at);
        const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get());
        if (id < 0) detail::throw_hdf5(at, "cannot open data file for writing", errc::io);
        return data_file(detail::handle(id), path);
    }

    /// Creates an empty row dataset `name` with rows of `row_shape`. Storage policies choose filters
    /// (h5ser::shuffle, h5ser::deflate<N>, h5ser::blosc<...>, presets); the layout is always chunked.
    template <class T, std::size_t RowRank = 0, class... Policies>
    row_dataset<T, RowRank> create_rows(const std::string& name, std::array<std::size_t, RowRank> row_shape = {},
                                        std::size_t rows_per_chunk = 0) {
        detail::hdf5_scope hdf5;
        const detail::where at = root_.child(name);
        std::array<hsize_t, RowRank + 1> dims{}, max_dims{}, chunk{};
        max_dims[0] = H5S_UNLIMITED;
        std::size_t row_bytes = sizeof(T);
        for (std::size_t i = 0; i < RowRank; ++i) {
            dims[i + 1] = max_dims[i + 1] = chunk[i + 1] = std::max<std::size_t>(row_shape[i], 1);
            row_bytes *= std::max<std::size_t>(row_shape[i], 1);
        }
        chunk[0] = rows_per_chunk ? rows_per_chunk : std::max<std::size_t>(1, (std::size_t{256} << 10) / row_bytes);
        detail::handle space = detail::checked(H5Screate_simple(RowRank + 1, dims.data(), max_dims.data()), at, "H5Screate_simple");
        detail::handle dcpl = detail::checked(H5Pcreate(H5P_DATASET_CREATE), at, "H5Pcreate");
        detail::check(H5Pset_chunk(dcpl.get(), RowRank + 1, chunk.data()), at, "H5Pset_chunk");
        detail::add_filters(dcpl.get(), detail::storage_of<detail::flatten_t<Policies...>>::plan().filters, at);
        detail::handle type;
        if constexpr (element_type<T>) type = detail::file_type<T>(at);
        else type = detail::record_type<T>(true, at);
        detail::handle lcpl = detail::utf8_name_plist(H5P_LINK_CREATE, at);
        detail::check(H5Pset_create_intermediate_group(lcpl.get(), 1), at, "H5Pset_create_intermediate_group");
        detail::handle dataset =
            detail::checked(H5Dcreate2(file_.get(), name.c_str(), type.get(), space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT), at,
                            "cannot create row dataset");
        return row_dataset<T, RowRank>(std::move(dataset), row_shape, at);
    }

    /// Opens row dataset `name`; its element type and rank must be T and RowRank + 1.
    template <class T, std::size_t RowRank = 0>
    row_dataset<T, RowRank> rows(const std::string& name) const {
        detail::hdf5_scope hdf5;
        const detail::where at = root_.child(name);
        detail::handle dataset = detail::checked(H5Dopen2(file_.get(), name.c_str(), H5P_DEFAULT), at, "no such row dataset");
        const detail::dataset_view view = detail::inspect_dataset(dataset.get(), at);
        if constexpr (element_type<T>) {
            if (view.dtype != dtype_name<T>())
                throw error(std::string(at.file), problem{errc::dtype_mismatch, {}, at.h5, std::string(dtype_name<T>()), view.dtype, {}});
        } else {
            detail::handle want = detail::record_type<T>(true, at);
            if (H5Tget_class(view.type.get()) != H5T_COMPOUND || H5Tget_nmembers(view.type.get()) != H5Tget_nmembers(want.get()))
                throw error(std::string(at.file),
                            problem{errc::dtype_mismatch, {}, at.h5, "compound record of the struct's fields", view.dtype, {}});
        }
        if (view.shape.dims.size() != RowRank + 1)
            throw error(std::string(at.file), problem{errc::shape_mismatch,
                                                      {},
                                                      at.h5,
                                                      "rank " + std::to_string(RowRank + 1),
                                                      "rank " + std::to_string(view.shape.dims.size()),
                                                      {}});
        std::array<std::size_t, RowRank> shape{};
        for (std::size_t i = 0; i < RowRank; ++i) shape[i] = static_cast<std::size_t>(view.shape.dims[i + 1]);
        return row_dataset<T, RowRank>(std::move(dataset), shape, at);
    }

    /// Pushes appended rows to the operating system (HDF5's caches to the file).
    void flush() { detail::check(H5Fflush(file_.get(), H5F_SCOPE_GLOBAL), root_, "cannot flush data file"); }

private:
    data_file(detail::handle file, const std::string& path) : file_(std::move(file)), root_{path, {}, "/"} {}
    detail::handle file_;
    detail::where root_;  // owns the file's name: row datasets and moved data_files keep it
};

}  // namespace h5ser
