# Third-party code for a Windows build without vcpkg (mingw-w64 on Debian; docs/windows.md).
#
# Debian has no mingw builds of Boost, xxHash, nlohmann-json or CLI11, but each is usable
# header-only: Boost's headers, xxHash with XXH_INLINE_ALL, nlohmann-json and CLI11 as they
# are. Their headers reach the cross compiler through a directory of their own under the build
# tree, FREEZEFRAME_WINDOWS_DEPS, which links to the host's copies: never through /usr/include,
# whose glibc and Linux headers would shadow the target's. zstd has no header-only form and its
# source is not at hand, so this build has no compression (FREEZEFRAME_WITH_ZSTD=OFF).
#
# The targets defined here carry the names that find_package and pkg-config give on Linux, so
# the rest of the build does not know the difference.
set(FREEZEFRAME_WINDOWS_DEPS_SOURCE "/usr/include" CACHE PATH
    "Where the host's Boost, xxHash, nlohmann-json and CLI11 headers are")
set(deps ${CMAKE_BINARY_DIR}/windows-deps/include)
file(MAKE_DIRECTORY ${deps})
foreach(entry boost nlohmann CLI xxhash.h)
  if(NOT EXISTS ${FREEZEFRAME_WINDOWS_DEPS_SOURCE}/${entry})
    message(FATAL_ERROR "the Windows build needs ${FREEZEFRAME_WINDOWS_DEPS_SOURCE}/${entry}: "
                        "run scripts/setup.sh --windows")
  endif()
  if(entry STREQUAL "xxhash.h")
    # A copy, not a link: inlined into our code (XXH_INLINE_ALL), its code must be seen to come
    # from a system header, or GCC's late warnings (-Warray-bounds after inlining) would name
    # the link's target, which is no system header of the cross compiler's.
    file(COPY ${FREEZEFRAME_WINDOWS_DEPS_SOURCE}/${entry} DESTINATION ${deps})
  elseif(NOT EXISTS ${deps}/${entry})
    file(CREATE_LINK ${FREEZEFRAME_WINDOWS_DEPS_SOURCE}/${entry} ${deps}/${entry} SYMBOLIC)
  endif()
endforeach()

add_library(freezeframe_windows_headers INTERFACE IMPORTED)
target_include_directories(freezeframe_windows_headers SYSTEM INTERFACE ${deps})
foreach(alias Boost::headers nlohmann_json::nlohmann_json CLI11::CLI11)
  add_library(${alias} INTERFACE IMPORTED)
  target_link_libraries(${alias} INTERFACE freezeframe_windows_headers)
endforeach()
add_library(PkgConfig::xxhash INTERFACE IMPORTED)
target_link_libraries(PkgConfig::xxhash INTERFACE freezeframe_windows_headers)
target_compile_definitions(PkgConfig::xxhash INTERFACE XXH_INLINE_ALL)
# Empty: nothing links zstd when FREEZEFRAME_WITH_ZSTD is OFF.
add_library(PkgConfig::zstd INTERFACE IMPORTED)
set(nlohmann_json_FOUND TRUE)
set(CLI11_FOUND TRUE)
