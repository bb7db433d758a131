# Helpers that give every freezeframe target the same settings. Warnings (as errors) and
# sanitizers are PRIVATE: they apply to our code and never leak to consumers.

function(freezeframe_target_settings target)
  target_compile_features(${target} PUBLIC cxx_std_20)
  set_target_properties(${target} PROPERTIES CXX_EXTENSIONS OFF POSITION_INDEPENDENT_CODE ON)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE
      -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
      -Wimplicit-fallthrough -Werror
      # Designated initialisers that leave defaulted members out are the intended way to
      # pass options structs; GCC 12 warns about them under -Wextra.
      -Wno-missing-field-initializers)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
       AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
      # GCC 12 at -O3 reports impossible overlaps inside std::string's inlined memcpy for
      # `"literal" + std::string` (GCC bug 105329); its -Wrestrict is not usable there.
      target_compile_options(${target} PRIVATE -Wno-restrict)
    endif()
  elseif(MSVC)
    target_compile_options(${target} PRIVATE /W4 /WX)
  endif()
  string(TOLOWER "${FREEZEFRAME_SANITIZE}" sanitize)
  if(sanitize STREQUAL "thread")
    # ThreadSanitizer (scripts/tsan.sh). Debian's GoogleTest and libstdc++ are not
    # instrumented; TSan intercepts the pthread calls they make, which is what it needs.
    target_compile_options(${target} PRIVATE -fsanitize=thread -fno-omit-frame-pointer)
    target_link_options(${target} PUBLIC -fsanitize=thread)
  elseif(FREEZEFRAME_SANITIZE)
    target_compile_options(${target} PRIVATE
      -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
    target_link_options(${target} PUBLIC -fsanitize=address,undefined)
  endif()
  if(FREEZEFRAME_FUZZ)
    # Coverage instrumentation for libFuzzer; each fuzz executable links the fuzzer itself.
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link)
  endif()
endfunction()

# A C program of the C API's tests and examples: C11 without extensions, -Wall -Wextra -Werror
# -pedantic, and the build's sanitizers (as freezeframe_target_settings gives C++ targets).
function(freezeframe_c_program target)
  set_target_properties(${target} PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -pedantic)
  string(TOLOWER "${FREEZEFRAME_SANITIZE}" sanitize)
  if(sanitize STREQUAL "thread")
    set(flags -fsanitize=thread)
  elseif(FREEZEFRAME_SANITIZE)
    set(flags -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  endif()
  target_compile_options(${target} PRIVATE ${flags})
  if(flags AND CMAKE_C_COMPILER_ID MATCHES "Clang")
    # libfreezeframe.so is C++ instrumented with the C++ parts of the sanitizers (UBSan's
    # vptr checks), whose runtime clang links into the executable: link it as C++ (the code
    # stays C11).
    set_target_properties(${target} PROPERTIES LINKER_LANGUAGE CXX)
  endif()
  target_link_options(${target} PRIVATE ${flags})
  target_link_libraries(${target} PRIVATE freezeframe::c)
endfunction()

# A library target `freezeframe_<name>` with alias `freezeframe::<name>`, exported as
# `freezeframe::<name>`.
function(freezeframe_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES" ${ARGN})
  add_library(freezeframe_${name} ${ARG_SOURCES})
  add_library(freezeframe::${name} ALIAS freezeframe_${name})
  set_target_properties(freezeframe_${name} PROPERTIES
    EXPORT_NAME ${name} OUTPUT_NAME freezeframe_${name})
  freezeframe_target_settings(freezeframe_${name})
  target_include_directories(freezeframe_${name} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  install(TARGETS freezeframe_${name} EXPORT freezeframeTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()
