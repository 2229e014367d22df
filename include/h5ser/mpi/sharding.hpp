// h5ser/mpi/sharding.hpp: how the ranks hold each tensor of the model.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>

namespace h5ser::mpi {

/// How the ranks hold one tensor of the model.
class shard {
public:
    enum class kind { replicated, split, slice };

    /// Every rank holds the whole tensor (the default for tensors the sharding does not name).
    static constexpr shard replicated() noexcept { return {}; }
    /// Saving: the ranks' tensors are consecutive slices along `axis`, in rank order.
    /// Loading: each rank gets an even block along `axis` (the first ranks one index more).
    static constexpr shard split(std::size_t axis) noexcept { return {kind::split, axis, 0, 0}; }
    /// This rank's tensor is indices [offset, offset + count) along `axis`. Saving: the slices of
    /// all ranks must cover the axis exactly once. Loading: any slice, even overlapping.
    static constexpr shard slice(std::size_t axis, std::size_t offset, std::size_t count) noexcept {
        return {kind::slice, axis, offset, count};
    }

    [[nodiscard]] constexpr kind how() const noexcept { return kind_; }
    [[nodiscard]] constexpr std::size_t axis() const noexcept { return axis_; }
    [[nodiscard]] constexpr std::size_t offset() const noexcept { return offset_; }
    [[nodiscard]] constexpr std::size_t count() const noexcept { return count_; }

private:
    constexpr shard() noexcept = default;
    constexpr shard(kind k, std::size_t axis, std::size_t offset, std::size_t count) noexcept
        : kind_(k), axis_(axis), offset_(offset), count_(count) {}
    kind kind_ = kind::replicated;
    std::size_t axis_ = 0;
    std::size_t offset_ = 0;
    std::size_t count_ = 0;
};

/// The tensors that are not replicated, by C++ field path ("encoder.kernel", "layers[3].bias") or
/// HDF5 path ("/encoder/kernel"). Naming a field the model does not store as a tensor is an error.
using sharding = std::map<std::string, shard, std::less<>>;

}  // namespace h5ser::mpi
