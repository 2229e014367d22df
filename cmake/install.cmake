# Installation and the two ways a project finds an installed h5ser:
# - CMake: find_package(h5ser [COMPONENTS keras remote eigen xtensor torch mpi]). The core (h5ser::h5ser,
#   h5ser::compiled) is always there; each optional part has a targets file of its own, loaded,
#   with its dependency, only when its component is asked for, so a machine without libtorch or MPI
#   can use the rest.
# - pkg-config: h5ser, h5ser-compiled, and h5ser-<part> for each optional part built.
#
# HDF5 and MPI are recorded as this build found them (include directories, libraries, flags) and
# become the imported targets h5ser::hdf5_c and h5ser::mpi_c of the package, instead of being found
# again in the user's project: FindHDF5 and FindMPI's C component compile C, and fail in a project
# that enables only CXX (`project(app CXX)`, the usual one). The package checks that the recorded
# files still exist and says to rebuild h5ser when they do not.
include(CMakePackageConfigHelpers)

set(H5SER_INSTALL_CMAKEDIR ${CMAKE_INSTALL_DATADIR}/h5ser/cmake)
set(H5SER_INSTALL_PKGCONFIGDIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS h5ser h5ser_compiled EXPORT h5serTargets)
install(EXPORT h5serTargets NAMESPACE h5ser:: DESTINATION ${H5SER_INSTALL_CMAKEDIR})
foreach(part IN LISTS H5SER_COMPONENTS)
  install(TARGETS h5ser_${part} EXPORT h5ser_${part}_targets)
  install(EXPORT h5ser_${part}_targets NAMESPACE h5ser:: DESTINATION ${H5SER_INSTALL_CMAKEDIR}
          FILE h5ser-${part}-targets.cmake)
endforeach()

# What the package configuration records (cmake/h5serConfig.cmake.in).
set(H5SER_RECORDED_HDF5_INCLUDE_DIRS ${HDF5_INCLUDE_DIRS})
set(H5SER_RECORDED_HDF5_LIBRARIES ${HDF5_C_LIBRARIES})
set(H5SER_RECORDED_HDF5_DEFINITIONS ${HDF5_DEFINITIONS})
if(TARGET h5ser_mpi)
  set(H5SER_RECORDED_MPI_INCLUDE_DIRS ${MPI_C_INCLUDE_DIRS})
  set(H5SER_RECORDED_MPI_LIBRARIES ${MPI_C_LIBRARIES})
  set(H5SER_RECORDED_MPI_DEFINITIONS ${MPI_C_COMPILE_DEFINITIONS})
  set(H5SER_RECORDED_MPI_OPTIONS ${MPI_C_COMPILE_OPTIONS})
  separate_arguments(H5SER_RECORDED_MPI_LINK_OPTIONS UNIX_COMMAND "${MPI_C_LINK_FLAGS}")
endif()
configure_package_config_file(cmake/h5serConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/h5serConfig.cmake
  INSTALL_DESTINATION ${H5SER_INSTALL_CMAKEDIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/h5serConfigVersion.cmake
  COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/h5serConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/h5serConfigVersion.cmake
  DESTINATION ${H5SER_INSTALL_CMAKEDIR})

# pkg-config. Directories the compiler searches anyway are left out of the flags (an explicit
# -I/usr/include reorders the system headers).
function(h5ser_include_flags out)
  set(flags)
  foreach(dir IN LISTS ARGN)
    if(NOT dir IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
      list(APPEND flags "-I${dir}")
    endif()
  endforeach()
  list(REMOVE_DUPLICATES flags)
  string(JOIN " " flags ${flags})
  set(${out} "${flags}" PARENT_SCOPE)
endfunction()
function(h5ser_definition_flags out)
  set(flags)
  foreach(definition IN LISTS ARGN)
    string(REGEX REPLACE "^-D" "" definition "${definition}")
    list(APPEND flags "-D${definition}")
  endforeach()
  string(JOIN " " flags ${flags})
  set(${out} "${flags}" PARENT_SCOPE)
endfunction()
# Writes h5ser-<name>.pc (h5ser.pc for the core); the text may hold generator expressions.
function(h5ser_pkgconfig name description requires cflags libs)
  set(file h5ser-${name}.pc)
  if(name STREQUAL "core")
    set(file h5ser.pc)
  endif()
  file(RELATIVE_PATH H5SER_PC_PREFIX_FROM_PCFILEDIR /${H5SER_INSTALL_PKGCONFIGDIR} /)
  string(REGEX REPLACE "/$" "" H5SER_PC_PREFIX_FROM_PCFILEDIR "${H5SER_PC_PREFIX_FROM_PCFILEDIR}")
  string(REGEX REPLACE "[.]pc$" "" H5SER_PC_NAME ${file})
  set(H5SER_PC_DESCRIPTION "${description}")
  set(H5SER_PC_REQUIRES "${requires}")
  set(H5SER_PC_CFLAGS "${cflags}")
  set(H5SER_PC_LIBS "${libs}")
  configure_file(${PROJECT_SOURCE_DIR}/cmake/h5ser.pc.in ${CMAKE_CURRENT_BINARY_DIR}/pkgconfig/${file}.in @ONLY)
  file(GENERATE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/pkgconfig/${file} INPUT ${CMAKE_CURRENT_BINARY_DIR}/pkgconfig/${file}.in)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/pkgconfig/${file} DESTINATION ${H5SER_INSTALL_PKGCONFIGDIR})
endfunction()

h5ser_include_flags(h5ser_pc_includes ${HDF5_INCLUDE_DIRS} ${Boost_INCLUDE_DIRS} ${H5SER_XXHASH_INCLUDE_DIR})
h5ser_definition_flags(h5ser_pc_definitions ${HDF5_DEFINITIONS})
string(JOIN " " h5ser_pc_hdf5_libs ${HDF5_C_LIBRARIES})
h5ser_pkgconfig(core "Save and load C++ model structs to HDF5 (header-only; compile with -std=c++20)" ""
  "-I\${includedir} ${h5ser_pc_includes} ${h5ser_pc_definitions}" "${h5ser_pc_hdf5_libs} -pthread")
h5ser_pkgconfig(compiled "h5ser with its non-template core compiled once, in libh5ser.a" "h5ser"
  "-DH5SER_COMPILED_CORE" "-L\${libdir} -lh5ser")
if(TARGET h5ser_keras)
  h5ser_pkgconfig(keras "h5ser's Keras interop (h5ser/keras.hpp)" "h5ser libzip" "" "")
endif()
if(TARGET h5ser_remote)
  h5ser_pkgconfig(remote "h5ser's loads of URLs (h5ser/remote.hpp)" "h5ser libcurl" "" "")
endif()
if(TARGET h5ser_eigen)
  h5ser_pkgconfig(eigen "h5ser's Eigen adapter (h5ser/eigen.hpp)" "h5ser eigen3" "" "")
endif()
if(TARGET h5ser_xtensor)
  # xtensor's own pkg-config file is not always installed: its include directories, as found.
  get_target_property(h5ser_xtensor_dirs xtensor INTERFACE_INCLUDE_DIRECTORIES)
  h5ser_include_flags(h5ser_pc_xtensor_includes ${h5ser_xtensor_dirs})
  h5ser_pkgconfig(xtensor "h5ser's xtensor adapter (h5ser/xtensor.hpp)" "h5ser" "${h5ser_pc_xtensor_includes}" "")
endif()
if(TARGET h5ser_torch)
  # libtorch installs no pkg-config file: its include directories, flags and libraries as its
  # CMake package gives them. libtorch_cpu registers its operators from static initialisers, so it
  # is linked even though no symbol of it is referenced directly (as its CMake target does).
  h5ser_include_flags(h5ser_pc_torch_includes ${TORCH_INCLUDE_DIRS})
  h5ser_pkgconfig(torch "h5ser's libtorch adapter (h5ser/torch.hpp)" "h5ser" "${h5ser_pc_torch_includes} ${TORCH_CXX_FLAGS}"
    "$<TARGET_FILE:torch> -Wl,--no-as-needed $<TARGET_FILE:torch_cpu> -Wl,--as-needed $<TARGET_FILE:c10>")
endif()
if(TARGET h5ser_mpi)
  # Parallel HDF5 instead of the serial library: this file does not require h5ser.pc.
  h5ser_include_flags(h5ser_pc_mpi_includes ${MPI_C_INCLUDE_DIRS} ${Boost_INCLUDE_DIRS} ${H5SER_XXHASH_INCLUDE_DIR})
  h5ser_definition_flags(h5ser_pc_mpi_definitions ${MPI_C_COMPILE_DEFINITIONS} OMPI_SKIP_MPICXX MPICH_SKIP_MPICXX)
  string(JOIN " " h5ser_pc_mpi_libs ${MPI_C_LIBRARIES} ${MPI_C_LINK_FLAGS})
  h5ser_pkgconfig(mpi "h5ser's sharded checkpoints over parallel HDF5 and MPI (h5ser/mpi.hpp)" "${H5SER_PHDF5_MODULE_NAME}"
    "-I\${includedir} ${h5ser_pc_mpi_includes} ${h5ser_pc_mpi_definitions}" "${h5ser_pc_mpi_libs} -pthread")
endif()
