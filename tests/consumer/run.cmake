# Installs h5ser into a scratch prefix, then uses it as users' projects do (tests/consumer):
# - a C++-only CMake project without components, on a machine where libtorch and MPI cannot be
#   found (CMAKE_DISABLE_FIND_PACKAGE_*): the core and h5ser::compiled build and run;
# - the same with COMPONENTS keras remote eigen xtensor: h5ser::keras and h5ser::remote build and run;
# - COMPONENTS torch where libtorch cannot be found: configuration fails and says why;
# - COMPONENTS mpi torch where both are found (when h5ser was built with them): h5ser::mpi builds
#   and runs as one rank;
# - pkg-config: every installed .pc file resolves, and a program builds with `pkg-config --cflags
#   --libs h5ser-compiled` and runs.
# Arguments: BUILD, SOURCE, WORK, CXX, SANITIZE, BUILT (the optional parts h5ser's build has).
cmake_minimum_required(VERSION 3.20)  # for if(IN_LIST) in script mode
file(REMOVE_RECURSE ${WORK})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD} --prefix ${WORK}/prefix RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "install failed")
endif()
# Under the sanitizers, the installed libh5ser.a is instrumented: the consumer links the runtimes.
set(link_flags "")
if(SANITIZE)
  set(link_flags "-fsanitize=${SANITIZE}")
endif()
# Open MPI refuses to run as root (as CI does) without these.
set(ENV{OMPI_ALLOW_RUN_AS_ROOT} 1)
set(ENV{OMPI_ALLOW_RUN_AS_ROOT_CONFIRM} 1)

function(run_program program file)
  execute_process(COMMAND ${program} ${WORK}/${file} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${program} failed (${rc}):\n${out}")
  endif()
  message(STATUS "ran ${program}")
endfunction()

# Configures (and builds, unless it is expected to fail) the consumer project in WORK/<name>.
function(consumer name components expect)
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE} -B ${WORK}/${name} -DCMAKE_PREFIX_PATH=${WORK}/prefix
                          -DCMAKE_CXX_COMPILER=${CXX} "-DCMAKE_EXE_LINKER_FLAGS=${link_flags}"
                          "-DH5SER_CONSUMER_COMPONENTS=${components}" ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(expect STREQUAL "builds")
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "configuring the consumer (${name}) failed:\n${out}")
    endif()
    execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK}/${name} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "building the consumer (${name}) failed:\n${out}")
    endif()
  else()
    if(rc EQUAL 0)
      message(FATAL_ERROR "configuring the consumer (${name}) succeeded although it should fail with '${expect}'")
    endif()
    string(FIND "${out}" "${expect}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "configuring the consumer (${name}) failed without saying '${expect}':\n${out}")
    endif()
    message(STATUS "${name}: configuration refused, saying '${expect}'")
  endif()
endfunction()

set(no_torch_no_mpi -DCMAKE_DISABLE_FIND_PACKAGE_Torch=ON -DCMAKE_DISABLE_FIND_PACKAGE_MPI=ON)
consumer(core "" builds ${no_torch_no_mpi})
run_program(${WORK}/core/consumer m.h5)
run_program(${WORK}/core/consumer_compiled m-compiled.h5)

set(parts)
foreach(part keras remote eigen xtensor)
  if(part IN_LIST BUILT)
    list(APPEND parts ${part})
  endif()
endforeach()
if(parts)
  consumer(parts "${parts}" builds ${no_torch_no_mpi})
  if("keras" IN_LIST parts)
    run_program(${WORK}/parts/consumer_keras keras.h5)
  endif()
  if("remote" IN_LIST parts)
    run_program(${WORK}/parts/consumer_remote unused)
  endif()
endif()

consumer(no_torch "torch" "libtorch not found" ${no_torch_no_mpi})
consumer(unknown "tensorflow" "'tensorflow' is not a component of h5ser")

if("mpi" IN_LIST BUILT AND "torch" IN_LIST BUILT)
  consumer(mpi_torch "mpi;torch" builds)
  run_program(${WORK}/mpi_torch/consumer_mpi mpi.h5)
endif()

# pkg-config.
find_program(PKG_CONFIG pkg-config REQUIRED)
set(ENV{PKG_CONFIG_PATH} ${WORK}/prefix/lib/pkgconfig)
file(GLOB pc_files ${WORK}/prefix/lib/pkgconfig/*.pc)
foreach(pc IN LISTS pc_files)
  get_filename_component(module ${pc} NAME_WE)
  execute_process(COMMAND ${PKG_CONFIG} --cflags --libs ${module} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config ${module} failed:\n${out}")
  endif()
endforeach()
list(LENGTH pc_files count)
if(count LESS 2)
  message(FATAL_ERROR "expected h5ser.pc and h5ser-compiled.pc at least, found ${pc_files}")
endif()
execute_process(COMMAND ${PKG_CONFIG} --cflags --libs h5ser-compiled OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE)
separate_arguments(flags UNIX_COMMAND "${flags}")
execute_process(COMMAND ${CXX} -std=c++20 ${SOURCE}/main.cpp -o ${WORK}/pkgconfig_consumer ${flags} ${link_flags}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building with pkg-config's flags failed:\n${out}")
endif()
run_program(${WORK}/pkgconfig_consumer m-pkgconfig.h5)
