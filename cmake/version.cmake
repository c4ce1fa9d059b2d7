# SPDX-License-Identifier: GPL-2.0-only
# Run at every build (cli/CMakeLists.txt): writes OUT from cli/version.c.in
# with the project version and the commit of SOURCE_DIR, rewriting the file
# only when either changed, so a new commit relinks the tools and nothing
# else recompiles.
#   cmake -DSOURCE_DIR=... -DOUT=... -DZPOOL_VERSION=... -P version.cmake
set(ZPOOL_COMMIT unknown)
find_program(GIT git)
if(GIT)
  execute_process(COMMAND ${GIT} -C ${SOURCE_DIR} rev-parse --short=12 HEAD
    OUTPUT_VARIABLE head OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
  if(rc EQUAL 0 AND head)
    set(ZPOOL_COMMIT ${head})
    execute_process(COMMAND ${GIT} -C ${SOURCE_DIR} status --porcelain --untracked-files=no
      OUTPUT_VARIABLE dirty ERROR_QUIET)
    if(dirty)
      string(APPEND ZPOOL_COMMIT "-dirty")
    endif()
  endif()
endif()
configure_file(${SOURCE_DIR}/cli/version.c.in ${OUT} @ONLY)
