#!/usr/bin/env python3
"""Turns every ```cpp block of README.md and docs/*.md into a translation unit, so the build compiles
the documentation's code and it cannot rot (nlohmann/json's unit-readme habit, automated).

A block's declarations (structs, templates, functions, #includes) go to namespace scope and its
statements into a function body. What a fragment takes for granted is given, invisibly, by HTML
comments right before the block:

    <!-- snippet-global: struct Model { h5ser::tensor<float, 1> w; }; -->   declarations before it
    <!-- snippet-setup: Model model; -->                                      statements before it
    <!-- snippet-no-run: it reads a file of the user's -->                   compiled, not run

Every other snippet is also run (tests/docs/run_snippet.py: in an empty directory, so what it
reads, a setup or the snippet itself must write), and when a block `<!-- output: NAME -->` follows it
right after (only blank lines between), what it prints must match that block.

usage: extract_snippets.py OUT_DIR FILE.md...
writes OUT_DIR/{core,keras,mpi,remote,adapters,torch}/<name>.cpp, each a program, and beside it
<name>.cmake, which sets snippet_document, snippet_line, snippet_runs and snippet_output.
"""
import pathlib
import re
import sys

BLOCK = re.compile(r"((?:<!-- snippet-(?:global|setup|no-run): .*? -->\n)*)```cpp\n(.*?)```", re.S)
HINT = re.compile(r"<!-- snippet-(global|setup|no-run): (.*?) -->", re.S)
OUTPUT = re.compile(r"^<!-- output: (.*?) -->$", re.M)
DECLARATION = re.compile(r"^(struct|class|template|enum|namespace|using|static_assert|inline|constexpr|void|int main)\b")


def statements(code):
    """Top-level statements (with the comment lines before them), by brace and parenthesis depth."""
    out, current, depth = [], [], 0
    for line in code.splitlines():
        current.append(line)
        stripped = re.sub(r'"(\\.|[^"\\])*"', '""', line.split("//")[0])
        depth += stripped.count("{") + stripped.count("(") - stripped.count("}") - stripped.count(")")
        ends = stripped.rstrip().endswith((";", "}")) or line.startswith("#")
        if depth == 0 and ends:
            out.append("\n".join(current))
            current = []
    if current:
        out.append("\n".join(current))
    return out


def translation_unit(code, hints):
    includes, declarations, body = [], [], []
    for kind, text in hints:
        if kind != "no-run":
            (declarations if kind == "global" else body).append(text)
    for statement in statements(code):
        first = next((l.strip() for l in statement.splitlines() if l.strip() and not l.strip().startswith("//")), "")
        if first.startswith("#"):
            includes.append(statement)
        elif DECLARATION.match(first) and not first.startswith("using namespace"):
            declarations.append(statement)
        else:
            body.append(statement)
    if "h5ser::remote" in code or "h5ser/remote.hpp" in code or "set_remote_options" in code:
        part, headers = "remote", ["h5ser/h5ser.hpp", "h5ser/remote.hpp"]
    elif "h5ser::mpi" in code or "h5ser/mpi.hpp" in code:
        part, headers = "mpi", ["h5ser/mpi.hpp"]
    elif "torch::" in code or "at::" in code:
        part, headers = "torch", ["h5ser/torch.hpp"]
    elif "Eigen::" in code or "xt::" in code:  # the adapters (with Keras, whose loaders take them too)
        part, headers = "adapters", ["h5ser/eigen.hpp", "h5ser/xtensor.hpp", "h5ser/keras.hpp"]
    elif "h5ser::keras" in code:
        part, headers = "keras", ["h5ser/keras.hpp"]
    else:
        part, headers = "core", ["h5ser/h5ser.hpp"]
    text = "\n".join([*(f"#include <{h}>" for h in headers), "#include <cstdio>", "#include <exception>", *includes, "",
                      *declarations, "", "static void snippet_body() {", *body, "}", "",
                      OWN_MAIN if re.search(r"^int main\(", code, re.M) else MAIN])
    return part, text


# The program runs the setup and the snippet's statements; what it throws it shows.
MAIN = """int main() {
    try {
        snippet_body();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "the snippet threw: %s\\n", e.what());
        return 1;
    }
}
"""
# A snippet with its own main(): the setup runs before it (an exception there ends the program
# with its message, as one from the snippet's main() does).
OWN_MAIN = "[[maybe_unused]] static const bool snippet_set_up = (snippet_body(), true);\n"


def cmake_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    out = pathlib.Path(sys.argv[1])
    for part in ("core", "keras", "mpi", "remote", "adapters", "torch"):
        (out / part).mkdir(parents=True, exist_ok=True)
        for old in [*(out / part).glob("*.cpp"), *(out / part).glob("*.cmake")]:
            old.unlink()
    count = 0
    for md in sys.argv[2:]:
        path = pathlib.Path(md)
        text = path.read_text(encoding="utf-8")
        for m in BLOCK.finditer(text):
            line = text[: m.start(2)].count("\n") + 1
            hints = HINT.findall(m.group(1))
            part, source = translation_unit(m.group(2), hints)
            name = f"{path.stem.lower()}_line{line}"
            (out / part / f"{name}.cpp").write_text(f"// From {path.name}, line {line} (generated by tests/docs/extract_snippets.py).\n" + source)
            # What it prints is shown by an output block right after it (only blank lines between).
            shown = OUTPUT.match(text[m.end():].lstrip("\n"))
            runs = not any(kind == "no-run" for kind, _ in hints)
            (out / part / f"{name}.cmake").write_text(
                f"set(snippet_document {cmake_string(str(path.resolve()))})\n"
                f"set(snippet_line {line})\n"
                f"set(snippet_runs {'TRUE' if runs else 'FALSE'})\n"
                f"set(snippet_output {cmake_string(shown.group(1) if shown and runs else '')})\n")
            count += 1
    print(f"extract_snippets: {count} snippets")


if __name__ == "__main__":
    main()
