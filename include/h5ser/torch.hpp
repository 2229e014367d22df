// h5ser/torch.hpp: libtorch's tensors as h5ser tensors (opt-in: Debian libtorch-dev; CMake target
// h5ser::torch). Includes h5ser/h5ser.hpp.
//
//     #include <h5ser/torch.hpp>
//     struct Linear { torch::Tensor weight, bias; };
//     h5ser::save(Linear{torch::randn({4, 3}), torch::zeros({4})}, "linear.h5");
//
//     std::map<std::string, torch::Tensor> state;                  // a state dict, as the root
//     for (const auto& p : module->named_parameters()) state[p.key()] = p.value();
//     h5ser::save(state, "model.h5");                              // /fc1.weight, /fc1.bias, ...
//     auto loaded = h5ser::load<std::map<std::string, torch::Tensor>>("model.h5");
//
// A torch::Tensor (at::Tensor) is a dataset of its element type and shape: bool, int8, uint8,
// int16, int32, int64, float16, bfloat16 (h5ser's convention: Keras 3's), float32 or float64.
// Loading takes both from the file, whatever the field held; the loaded tensor is a view of the
// mapped file, or of memory h5ser read the dataset into, kept alive as long as the tensor (and any
// tensor sharing its storage) lives, so a load copies nothing more. Loaded tensors are on the CPU,
// and do not require gradients.
//
// Saved as they are: tensors in C order are written from their own memory; any other (a
// transposed or sliced view) is copied into C order first, so the file holds t[i][j] at [i, j].
// Refused with an h5ser::error naming the field: tensors that are not on the CPU (Debian's
// libtorch has no CUDA: move them with .cpu() first), undefined tensors (torch::Tensor()), and
// element types HDF5 files have no common form for (complex, quantized). A file holding uint16,
// uint32 or uint64, which libtorch 1.13 has no type for, does not load into a torch::Tensor.
//
// Compilers: GCC. Debian's libtorch 1.13 headers themselves do not compile with Clang 14 in C++20
// (c10::IValue is incomplete where std::vector needs it).
#pragma once

#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "h5ser/element_type.hpp"
#include "h5ser/h5ser.hpp"
#include "h5ser/tensor_adapter.hpp"

namespace h5ser {
namespace torch_detail {

/// The libtorch scalar type of `kind`, when libtorch has one.
inline bool scalar_type_of(element_kind kind, at::ScalarType& out) noexcept {
    switch (kind) {
        case element_kind::bool_:
            out = at::kBool;
            return true;
        case element_kind::int8:
            out = at::kChar;
            return true;
        case element_kind::uint8:
            out = at::kByte;
            return true;
        case element_kind::int16:
            out = at::kShort;
            return true;
        case element_kind::int32:
            out = at::kInt;
            return true;
        case element_kind::int64:
            out = at::kLong;
            return true;
        case element_kind::float16:
            out = at::kHalf;
            return true;
        case element_kind::bfloat16:
            out = at::kBFloat16;
            return true;
        case element_kind::float32:
            out = at::kFloat;
            return true;
        case element_kind::float64:
            out = at::kDouble;
            return true;
        case element_kind::uint16:
        case element_kind::uint32:
        case element_kind::uint64:
            break;
    }
    return false;
}

/// The element_kind of libtorch's `type`, when h5ser stores it.
inline bool element_kind_of(at::ScalarType type, element_kind& out) noexcept {
    for (const element_kind kind : all_element_kinds) {
        at::ScalarType candidate{};
        if (scalar_type_of(kind, candidate) && candidate == type) {
            out = kind;
            return true;
        }
    }
    return false;
}

}  // namespace torch_detail

template <>
struct tensor_adapter<at::Tensor> {
    using element_type = runtime_element;
    static constexpr std::size_t rank = dynamic_rank;

    static std::string refusal(const at::Tensor& t) {
        if (!t.defined()) return "an undefined tensor (torch::Tensor()): give it a value, or make the field std::optional";
        if (!t.device().is_cpu()) return "a tensor on " + t.device().str() + ": move it to the CPU first (.cpu())";
        if (t.layout() != at::kStrided) return "a sparse tensor: make it dense first (.to_dense())";
        element_kind kind{};
        if (!torch_detail::element_kind_of(t.scalar_type(), kind))
            return std::string("a tensor of ") + at::toString(t.scalar_type()) +
                   " elements, which h5ser does not store (bool, integers, float16, bfloat16, float32, float64)";
        return {};
    }
    static element_kind kind(const at::Tensor& t) {
        element_kind kind{};
        torch_detail::element_kind_of(t.scalar_type(), kind);  // refusal() vouched for it
        return kind;
    }
    static dynamic_shape shape(const at::Tensor& t) { return dynamic_shape(t.sizes()); }
    static const void* data(const at::Tensor& t) { return t.is_contiguous() ? t.data_ptr() : nullptr; }
    static void copy_to_c_order(const at::Tensor& t, void* out) {
        at::from_blob(out, t.sizes(), at::TensorOptions().dtype(t.scalar_type())).copy_(t);
    }
    static bool holds(element_kind kind) noexcept {
        at::ScalarType type{};
        return torch_detail::scalar_type_of(kind, type);
    }
    static at::Tensor view(element_kind kind, const dynamic_shape& shape, void* data, std::shared_ptr<const void> keep) {
        at::ScalarType type{};
        torch_detail::scalar_type_of(kind, type);  // holds(kind): the loader asked
        const std::vector<std::int64_t> sizes(shape.begin(), shape.end());
        const auto options = at::TensorOptions().dtype(type);
        if (shape.elements() == 0 || data == nullptr) return at::empty(sizes, options);
        // The deleter holds `keep` (the mapped file, or the memory the dataset was read into) for
        // as long as libtorch holds the storage.
        return at::from_blob(
            data, sizes, [keep = std::move(keep)](void*) mutable { keep.reset(); }, options);
    }
};

namespace detail {
/// at::Tensor's move assignment moves its intrusive pointer (it cannot throw) but is not declared
/// noexcept; loads commit by moving values into the model, which must not throw (commit.hpp).
template <>
struct moves_without_throwing<at::Tensor> : std::true_type {};
}  // namespace detail

}  // namespace h5ser
