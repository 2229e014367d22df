// `h5ser ls FILE --cpp`: C++ structs that load a Keras file's weights (and its optimizer's), for
// the user to paste and rename: h5ser::keras's mapping rules (docs/keras.md) decide the layout.
//
// One struct per layer with weights, in model order (by_order takes them so). A layer's fields are
// named after its weights when every name is a C++ identifier (they then map by name, as the
// mapping rules say), else w0, w1, ... (by position: Keras 3 stores' weights have no names). Each
// tensor is an empty h5ser::tensor of the file's element type and rank: a load gives it the
// file's shape. The optimizer's weights, in the file's order, are one struct of their own.
#pragma once

#include <h5ser/keras.hpp>

#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "internals.hpp"

namespace h5ser_cli {

/// The C++ element type of a dtype as h5ser names it ("float32" -> "float").
inline std::string cpp_element_type(const std::string& dtype) {
    if (dtype == "float32") return "float";
    if (dtype == "float64") return "double";
    if (dtype == "float16") return "h5ser::float16";
    if (dtype == "bfloat16") return "h5ser::bfloat16";
    if (dtype == "bool") return "bool";
    for (const char* integer : {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"})
        if (dtype == integer) return "std::" + dtype + "_t";
    return {};
}

inline bool cpp_identifier(const std::string& s) {
    if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
    for (const char c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
    return s.rfind("h5ser_", 0) != 0;  // reserved for h5ser's own attributes
}

/// `name` as a C++ identifier: other characters become '_', a leading digit gets one in front.
inline std::string cpp_name(const std::string& name) {
    std::string out;
    for (const char c : name) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0]))) out = "_" + out;
    return out;
}

/// The fields of one struct: a tensor per weight, named after it or w0, w1, ... (see above); `layer`
/// is empty for the optimizer's weights.
inline std::string cpp_fields(const std::string& layer, const std::vector<h5ser::keras::weight_info>& weights, std::string& unsupported) {
    std::vector<std::string> names;
    std::set<std::string> seen;
    bool named = true;
    for (const auto& w : weights) {
        // The optimizer's weights load in order whatever their fields are called: the last part of
        // each name ("adam/sequential_dense_kernel_momentum" -> sequential_dense_kernel_momentum).
        std::string name = internal::weight_name_in_layer(layer, w.name);
        if (layer.empty()) name = name.substr(name.rfind('/') == std::string::npos ? 0 : name.rfind('/') + 1);
        names.push_back(std::move(name));
        named = named && cpp_identifier(names.back()) && seen.insert(names.back()).second;
    }
    std::string out;
    for (std::size_t i = 0; i < weights.size(); ++i) {
        const auto& w = weights[i];
        const std::string element = cpp_element_type(w.dtype);
        if (element.empty()) unsupported += (unsupported.empty() ? "" : ", ") + w.name + " (" + w.dtype + ")";
        out += "    h5ser::tensor<" + (element.empty() ? "/* " + w.dtype + " */ void" : element) + ", " + std::to_string(w.shape.size()) +
               "> " + (named ? names[i] : "w" + std::to_string(i)) + ";  // " + w.name + " " + w.dtype + internal::dims_text(w.shape) +
               "\n";
    }
    return out;
}

/// The structs for `path`, a Keras file; an error for any other file.
inline std::string cpp_structs(const std::string& path, const h5ser::keras::model_config& keras) {
    std::string file = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
    std::string out = "// h5ser ls --cpp " + file + ": structs that load its weights (" + keras.format + ")\n";
    out += "//     Model model;\n//     h5ser::keras::load_weights(model, \"" + file + "\");\n";
    if (!keras.optimizer_weights.empty())
        out += "//     Optimizer optimizer;\n//     h5ser::keras::load_optimizer_weights(optimizer, \"" + file + "\");\n";
    out += "#include <h5ser/keras.hpp>\n\n#include <cstdint>\n";
    std::string unsupported, model;
    std::set<std::string> used;
    for (const auto& layer : keras.layers) {
        if (layer.weights.empty()) continue;  // weightless layers (Activation, Dropout) are skipped on both sides
        std::string field = cpp_name(layer.name);
        while (!used.insert(field).second) field += "_";
        const std::string type = field + "_weights";
        out += "\nstruct " + type + " {" + (layer.class_name.empty() ? "" : "  // " + layer.class_name) + "\n";
        out += cpp_fields(layer.name, layer.weights, unsupported) + "};\n";
        model += "    " + type + " " + field + ";\n";
    }
    out += "\nstruct Model {  // the layers with weights, in model order\n" + model + "};\n";
    if (!keras.optimizer_weights.empty())
        out += "\nstruct Optimizer {  // the optimizer's weights, in the file's order\n" +
               cpp_fields({}, keras.optimizer_weights, unsupported) + "};\n";
    if (!unsupported.empty())
        throw h5ser::error(
            path,
            h5ser::problem{
                h5ser::errc::dtype_mismatch, {}, {}, "element types h5ser loads", unsupported, "no h5ser::tensor holds these weights"});
    return out;
}

}  // namespace h5ser_cli
