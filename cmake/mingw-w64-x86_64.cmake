# Cross-compiling freezeframe for 64-bit Windows with Debian's mingw-w64 (scripts/windows.sh,
# docs/windows.md):
#   cmake -S . -B build-win -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake
#
# The -posix variant of GCC: the default -win32 thread model of GCC 12 has no std::thread or
# std::mutex. Executables and freezeframe.dll link the C and C++ runtimes statically, so they
# run under Wine or on a Windows host without mingw's DLLs beside them.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(FREEZEFRAME_MINGW_TRIPLE x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${FREEZEFRAME_MINGW_TRIPLE}-gcc-posix)
set(CMAKE_CXX_COMPILER ${FREEZEFRAME_MINGW_TRIPLE}-g++-posix)
set(CMAKE_RC_COMPILER ${FREEZEFRAME_MINGW_TRIPLE}-windres)
# Only the target's own sysroot, never the host's /usr/include or /usr/lib: third-party
# headers come through a directory of their own (cmake/WindowsDeps.cmake).
set(CMAKE_FIND_ROOT_PATH /usr/${FREEZEFRAME_MINGW_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static")
# Test executables run under Wine on Linux (CTest prefixes each command with this).
find_program(FREEZEFRAME_WINE NAMES wine64 wine PATHS /usr/lib/wine NO_CMAKE_FIND_ROOT_PATH)
if(FREEZEFRAME_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${FREEZEFRAME_WINE})
endif()
