#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support.hpp"

namespace models {
struct Dense {
    h5ser::tensor<float, 2> kernel;
    h5ser::tensor<float, 1> bias;
    int units = 0;
    std::string activation = "relu";
};
struct Mlp {
    Dense layer_1;
    Dense layer_2;
};
template <class T>
struct Templated {
    T value_with_digits_123;
    std::vector<T> _leading_underscore;
};
// Braced default member initializers of strings crash GCC 12 inside Boost.PFR's own field counter;
// h5ser counts fields itself.
struct WithBracedDefaults {
    std::vector<std::string> names{"a", "b"};
    std::map<std::string, int> table{{"x", 1}};
    std::optional<double> maybe{2.5};
};
struct Base {
    int x;
};
struct Derived : Base {
    int y;
};
struct WithCArray {
    float bias;
    int weights[3];
};
struct WithConstructor {
    explicit WithConstructor(int v) : value(v) {}
    int value;
};
}  // namespace models

TEST_CASE("field names come from the struct definition") {
    CHECK(h5ser::field_names_v<models::Dense> == std::array<std::string_view, 4>{"kernel", "bias", "units", "activation"});
    CHECK(h5ser::field_names_v<models::Mlp> == std::array<std::string_view, 2>{"layer_1", "layer_2"});
    CHECK(h5ser::field_names_v<models::Templated<double>> ==
          std::array<std::string_view, 2>{"value_with_digits_123", "_leading_underscore"});
    CHECK(h5ser::field_names_v<models::WithBracedDefaults> == std::array<std::string_view, 3>{"names", "table", "maybe"});
}

TEST_CASE("a struct defined inside a function is reflected too") {
    struct Local {
        int alpha;
        float beta;
    };
    CHECK(h5ser::field_names_v<Local> == std::array<std::string_view, 2>{"alpha", "beta"});
}

TEST_CASE("type names are qualified") {
    CHECK(h5ser::type_name<models::Mlp>() == "models::Mlp");
    CHECK(h5ser::type_name<models::Templated<int>>() == "models::Templated<int>");
}

TEST_CASE("reflectability is checked before Boost.PFR is touched") {
    CHECK(h5ser::is_reflectable_v<models::Mlp>);
    CHECK(h5ser::is_reflectable_v<models::WithBracedDefaults>);
    CHECK_FALSE(h5ser::is_reflectable_v<models::Derived>);
    CHECK_FALSE(h5ser::is_reflectable_v<models::WithCArray>);
    CHECK_FALSE(h5ser::is_reflectable_v<models::WithConstructor>);
    CHECK(h5ser::detail::reflection_check<models::Derived>::has_base);
    CHECK(h5ser::detail::reflection_check<models::WithCArray>::has_c_array);
}

TEST_CASE("for_each_field visits every field in order with references") {
    models::Dense d;
    std::string seen;
    h5ser::for_each_field(d, [&](std::string_view name, auto& field) {
        seen += std::string(name) + ";";
        if constexpr (std::is_same_v<std::remove_cvref_t<decltype(field)>, int>) field = 42;
    });
    CHECK(seen == "kernel;bias;units;activation;");
    CHECK(d.units == 42);
}
