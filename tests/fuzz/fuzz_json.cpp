// libFuzzer target: any bytes through h5ser's JSON reader (Keras's model_config, config.json and
// metadata.json) and what h5ser reads from the result (layer class names, keras_version). It must
// throw std::runtime_error or succeed: no crash, no stack overflow however deep the nesting.
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

#include <h5ser/keras.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace k = h5ser::keras::detail;
    try {
        const k::json_value v = k::parse_json(std::string_view(reinterpret_cast<const char*>(data), size));
        std::map<std::string, std::string> classes;
        k::class_names(v, classes);
        (void)v.string_at("keras_version");
    } catch (const std::runtime_error&) {}
    return 0;
}
